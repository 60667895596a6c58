"""Merge and unmerge: everything moves with the customer, an unmerge gives back the state before, both are audited."""

from __future__ import annotations

import datetime as dt

import pytest

from django.utils import timezone

from cdp.identity import customers_refresh_golden, golden_values
from cdp.identity.rules import CONFLICT_MESSAGE
from cdp.identity.services import (
    NOT_MERGED,
    REASON_REQUIRED,
    IdentityError,
    customer_merge,
    customer_unmerge,
)
from cdp.models import Customer, Identifier, Interaction, MergeEvent, Receipt, SourceRecord
from consent.models import ConsentEvent
from tests.cdp.factories import (
    CustomerFactory,
    InteractionFactory,
    ReceiptFactory,
    SourceFactory,
    SourceRecordFactory,
)
from tests.consent.factories import ConsentEventFactory

pytestmark = pytest.mark.django_db


def person(source_key: str, external_id: str, **fields) -> SourceRecord:
    """A source record with its own customer, identifiers, a receipt and an interaction, as the importers leave it."""
    source = SourceFactory(key=source_key)
    customer = CustomerFactory(**{k: v for k, v in fields.items() if k in ("first_name", "last_name", "email")})
    record = SourceRecordFactory(source=source, external_id=external_id, customer=customer, **fields)
    Identifier.objects.create(
        kind="external_id", value=f"{source_key}:{external_id}", customer=customer, source_record=record
    )
    if record.email:
        Identifier.objects.create(kind="email", value=record.email, customer=customer, source_record=record)
    ReceiptFactory(source=source, customer=customer, customer_external_id=external_id)
    InteractionFactory(source=source, customer=customer, customer_external_id=external_id)
    ConsentEventFactory(source_key=source_key, customer=customer, subject_external_id=external_id)
    customers_refresh_golden([customer.pk])  # the golden record of its one source record, as at import
    return record


def snapshot() -> dict:
    """What a merge changes and an unmerge must give back."""
    customer_fields = [f.attname for f in Customer._meta.concrete_fields if f.attname not in ("updated_at",)]
    return {
        "customers": sorted(Customer.objects.values_list(*customer_fields)),
        "records": sorted(SourceRecord.objects.values_list("pk", "customer_id")),
        "identifiers": sorted(Identifier.objects.values_list("pk", "customer_id")),
        "receipts": sorted(Receipt.objects.values_list("pk", "customer_id")),
        "interactions": sorted(Interaction.objects.values_list("pk", "customer_id")),
        "consents": sorted(ConsentEvent.objects.values_list("pk", "customer_id")),
    }


def test_merge_moves_everything_then_unmerge_restores_the_state_before(django_user_model):
    # given two customers, each with a record, identifiers, a receipt and an interaction
    actor = django_user_model.objects.create_user("crm-agent")
    left = person("crm", "C1", first_name="Anne", last_name="Roux", email="anne@example.org")
    right = person("eshop", "W1", first_name="Anne", last_name="Roux", email="a.roux@example.org")
    survivor, duplicate = left.customer, right.customer
    before = snapshot()
    # when they are merged
    event = customer_merge(survivor=survivor, duplicate=duplicate, actor=actor, reason="same person on the phone")
    # then every row of the duplicate points at the survivor, and the merge is audited
    duplicate.refresh_from_db()
    assert (duplicate.status, duplicate.merged_into_id) == (Customer.Status.MERGED, survivor.pk)
    for model in (SourceRecord, Identifier, Receipt, Interaction, ConsentEvent):  # consent: found, not imported
        assert not model.objects.filter(customer=duplicate).exists()
    assert (event.actor, event.reason, event.source_record_ids) == (actor, "same person on the phone", [right.pk])
    assert survivor.source_records.count() == 2
    # when the merge is undone
    unmerge = customer_unmerge(customer=duplicate, actor=actor, reason="two people after all")
    # then the database is as it was before the merge, and both steps are in the audit trail
    assert snapshot() == before
    assert unmerge.kind == MergeEvent.Kind.UNMERGE
    assert unmerge.actor == actor
    assert MergeEvent.objects.get(pk=event.pk).undone


def test_unmerge_takes_along_receipts_that_arrived_after_the_merge():
    left = person("crm", "C1", first_name="Anne", last_name="Roux")
    right = person("eshop", "W1", first_name="Anne", last_name="Roux")
    customer_merge(survivor=left.customer, duplicate=right.customer, actor=None, reason="same")
    late = ReceiptFactory(source=right.source, customer=left.customer, customer_external_id="W1")
    customer_unmerge(customer=right.customer, actor=None, reason="not the same")
    late.refresh_from_db()
    assert late.customer_id == right.customer_id


def test_merge_is_refused_when_strong_identifiers_conflict():
    left = person("crm", "C1", first_name="Anne", last_name="Roux", email="anne@example.org", phone="+33611111111")
    right = person("eshop", "W1", first_name="Anne", last_name="Roux", email="ar@example.net", phone="+33622222222")
    with pytest.raises(IdentityError, match=CONFLICT_MESSAGE):
        customer_merge(survivor=left.customer, duplicate=right.customer, actor=None, reason="looks alike")
    assert Customer.objects.active().count() == 2


def test_merge_and_unmerge_need_a_reason_and_a_merged_customer():
    left = person("crm", "C1", first_name="Anne", last_name="Roux")
    right = person("eshop", "W1", first_name="Anne", last_name="Roux")
    with pytest.raises(IdentityError, match=REASON_REQUIRED):
        customer_merge(survivor=left.customer, duplicate=right.customer, actor=None, reason=" ")
    with pytest.raises(IdentityError, match=NOT_MERGED):
        customer_unmerge(customer=right.customer, actor=None, reason="why not")


def test_survivorship_takes_source_priority_then_the_most_recent_value_and_says_where_from():
    # given the CRM (priority 10) without a phone, and two loyalty records (priority 30) of different ages
    crm = SourceFactory(key="crm", priority=10)
    loyalty = SourceFactory(key="loyalty", priority=30)
    now = timezone.now()
    records = [
        SourceRecord(source=crm, external_id="C1", first_name="Anne", email="anne@example.org", updated_at=now),
        SourceRecord(source=loyalty, external_id="L1", first_name="Annie", phone="+33611111111", updated_at=now),
        SourceRecord(
            source=loyalty,
            external_id="L2",
            phone="+33622222222",
            birth_date=dt.date(1980, 1, 2),
            updated_at=now - dt.timedelta(days=30),
        ),
    ]
    # when the golden values are chosen
    values, origins = golden_values(records)
    # then the CRM wins where it has a value, else the most recent loyalty record, and each field names its source
    assert (values["first_name"], origins["first_name"]) == ("Anne", "crm")
    assert (values["phone"], origins["phone"]) == ("+33611111111", "loyalty")
    assert (values["birth_date"], origins["birth_date"]) == (dt.date(1980, 1, 2), "loyalty")
    assert "address" not in origins


def test_a_record_matched_at_import_is_written_into_its_customer_and_can_be_split_out(tmp_path):
    from tests.cdp.identity_data import import_rows
    from tests.cdp.importing import TRANSACTIONS_HEADER, receipt_line, run_command, write

    # given a CRM customer, and e-shop receipts waiting for an e-shop customer not yet imported
    import_rows(tmp_path / "crm.csv", "crm", "C1,Anne,Roux,anne.roux@example.org,,1980-01-01,F,,,,,")
    crm_customer = SourceRecord.objects.get(external_id="C1").customer
    line = receipt_line("W-1", 1, "SKU1", 1).replace(",,2025", ",W1,2025", 1)
    run_command("import_transactions", write(tmp_path / "t.csv", TRANSACTIONS_HEADER, line), "eshop")
    # when the e-shop sends the same person
    import_rows(tmp_path / "shop.csv", "eshop", "W1,ANNE,ROUX,anne.roux@example.org,0612345678,,,,,,,")
    # then the new record, its identifiers and its waiting receipt are the CRM customer's, with no second merge
    shop = SourceRecord.objects.get(external_id="W1")
    assert shop.customer_id == crm_customer.pk
    assert set(Identifier.objects.filter(source_record=shop).values_list("customer_id", flat=True)) == {crm_customer.pk}
    assert Receipt.objects.get(receipt_id="W-1").customer_id == crm_customer.pk
    event = MergeEvent.objects.get()
    assert (event.reason, event.survivor_id, event.source_record_ids) == (
        "matched at import",
        crm_customer.pk,
        [shop.pk],
    )
    own = Customer.objects.get(pk=event.other_id)
    assert (own.status, own.merged_into_id) == (Customer.Status.MERGED, crm_customer.pk)
    crm_customer.refresh_from_db()
    assert crm_customer.phone == "+33612345678"  # the golden record took the new record's values
    # and an unmerge splits it out with what arrived for it
    customer_unmerge(customer=own, actor=None, reason="two people")
    shop.refresh_from_db()
    own.refresh_from_db()
    assert shop.customer_id == own.pk
    assert own.status == Customer.Status.ACTIVE
    assert set(Identifier.objects.filter(source_record=shop).values_list("customer_id", flat=True)) == {own.pk}
    assert Receipt.objects.get(receipt_id="W-1").customer_id == own.pk
    assert own.email == "anne.roux@example.org"
    assert own.phone == "+33612345678"
