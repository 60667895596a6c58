"""Erasure after an unmerge: the golden record of the customer a subject was once merged into keeps none of the
subject's person values in its history, only its own (and the values both people share)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from cdp.identity import customers_refresh_golden
from cdp.identity.services import customer_merge, customer_unmerge
from cdp.models import Customer, SourceRecord
from consent.services.erasure import subject_erase
from tests.cdp.factories import CustomerFactory, SourceFactory, SourceRecordFactory

pytestmark = pytest.mark.django_db

SUBJECT = {
    "first_name": "Claire",
    "last_name": "Martin",  # the family name both carry
    "email": "claire.martin@example.org",
    "birth_date": dt.date(1990, 5, 17),
    "gender": "f",
    "address": "12 avenue Jean Jaures",
    "postcode": "69007",
    "city": "Lyon",  # the city both live in
}
PARTNER = {
    "first_name": "Bernard",
    "last_name": "Martin",
    "email": "bernard.martin@example.org",
    "birth_date": dt.date(1961, 2, 3),
    "address": "3 rue Lafayette",
    "postcode": "69003",
    "city": "Lyon",
}


def _customer(source_key: str, priority: int, external_id: str, values: dict) -> Customer:
    """A customer as an import leaves it: one source record and the golden record built from it (over a first
    version that both customers' histories share: the postcode and city they had before)."""
    source = SourceFactory(key=source_key, priority=priority)
    names = {name: values[name] for name in ("first_name", "last_name", "email")}
    customer = CustomerFactory(**names, postcode="75011", city="Paris", country="FR")
    SourceRecordFactory(source=source, external_id=external_id, customer=customer, **values)
    customers_refresh_golden([customer.pk])
    customer.refresh_from_db()
    return customer


def _row(customer: Customer) -> dict:
    names = [f.attname for f in Customer._meta.concrete_fields]
    return Customer.objects.filter(pk=customer.pk).values(*names).get()


def test_erasure_leaves_no_person_value_of_the_subject_in_a_former_merge_partners_history():
    # given a subject whose source ranks first, merged into a partner: the golden record takes the subject's values
    partner = _customer("crm", 100, "C1", PARTNER)
    subject = _customer("eshop", 10, "W1", SUBJECT)
    bystander = _customer("shop", 50, "S1", {**SUBJECT, "email": "claire.m@example.net", "last_name": "Dupuis"})
    customer_merge(survivor=partner, duplicate=subject, actor=None, reason="same household e-mail domain")
    history = Customer.history.model.objects
    assert history.filter(id=partner.pk, first_name="Claire", address=SUBJECT["address"]).exists()
    # and then split out again
    customer_unmerge(customer=Customer.objects.get(pk=subject.pk), actor=None, reason="two people after all")
    partner_row = _row(partner)
    assert partner_row["first_name"] == "Bernard"
    # when the subject is erased
    receipt = subject_erase(customer=Customer.objects.get(pk=subject.pk), reason="Art. 17")
    # then no history row of the partner, or of anyone, holds the subject's own values
    record_history = SourceRecord.history.model.objects
    for rows in (history.exclude(id=bystander.pk), record_history.exclude(id__in=bystander.source_records.all())):
        assert not rows.filter(first_name="Claire").exists()
        assert not rows.filter(birth_date=SUBJECT["birth_date"]).exists()
        assert not rows.filter(address=SUBJECT["address"]).exists()
        assert not rows.filter(postcode=SUBJECT["postcode"]).exists()
        assert not rows.filter(gender="f").exists()
    # the partner keeps its history rows, its own values and the values both share
    partner_history = history.filter(id=partner.pk)
    assert partner_history.count() >= 3  # created, merged with the subject's values, split again
    assert not partner_history.filter(last_name="").exists()  # "Martin" is the partner's own family name too
    assert not partner_history.filter(city="").exists()  # so is "Lyon"
    assert partner_history.filter(first_name="Bernard", birth_date=PARTNER["birth_date"]).exists()
    assert partner_history.filter(address=PARTNER["address"], postcode=PARTNER["postcode"]).exists()
    # its history from before the merge can hold nothing of the subject's, and stays whole
    assert partner_history.filter(history_type="+", postcode="75011", city="Paris", country="FR").exists()
    assert _row(partner) == partner_row  # the partner's current record is not touched
    # a customer that never took part in a merge with the subject keeps its history, the same first name included
    assert history.filter(id=bystander.pk, first_name="Claire", address=SUBJECT["address"]).exists()
    assert record_history.filter(external_id="S1", birth_date=SUBJECT["birth_date"]).exists()
    # the receipt counts what was redacted and names no value
    redacted = {line["model"]: line["rows"] for line in receipt.summary if line["action"] == "redacted"}
    assert sum(redacted.values()) > 0
    text = json.dumps(receipt.summary)
    assert "Claire" not in text
    assert SUBJECT["address"] not in text


def test_a_chain_of_merges_carries_the_subjects_values_and_erasure_follows_it():
    # given a subject merged into a partner, and that partner merged into a third customer: the third customer's
    # golden record takes the subject's values through the partner
    partner = _customer("crm", 100, "C1", PARTNER)
    subject = _customer("eshop", 10, "W1", SUBJECT)
    third = _customer("shop", 50, "S1", {**PARTNER, "first_name": "Paul", "email": "paul.martin@example.net"})
    customer_merge(survivor=partner, duplicate=subject, actor=None, reason="same person")
    customer_merge(survivor=third, duplicate=Customer.objects.get(pk=partner.pk), actor=None, reason="same person")
    history = Customer.history.model.objects
    assert history.filter(id=third.pk, first_name="Claire").exists()
    # and both merges undone, the partner first
    customer_unmerge(customer=Customer.objects.get(pk=partner.pk), actor=None, reason="three people after all")
    if Customer.objects.get(pk=subject.pk).status == Customer.Status.MERGED:
        customer_unmerge(customer=Customer.objects.get(pk=subject.pk), actor=None, reason="three people after all")
    third_row = _row(third)
    # when the subject is erased
    subject_erase(customer=Customer.objects.get(pk=subject.pk), reason="Art. 17")
    # then the third customer's history holds none of the subject's values either, and keeps its own
    third_history = history.filter(id=third.pk)
    assert not third_history.filter(first_name="Claire").exists()
    assert not third_history.filter(birth_date=SUBJECT["birth_date"]).exists()
    assert not third_history.filter(address=SUBJECT["address"]).exists()
    assert third_history.filter(first_name="Paul").exists()
    assert _row(third) == third_row
