"""The personal-data registry covers every model that holds a customer's data, and checks what it is given."""

from __future__ import annotations

import pytest

from django.core.exceptions import ImproperlyConfigured

from cdp.models import Customer, Receipt, ReceiptLine, Store
from consent.registry import Erasure, Registry, models_holding_subject_data, registry
from tests.cdp.factories import InteractionFactory, ReceiptLineFactory, SourceRecordFactory


def test_every_model_that_points_at_a_customer_is_registered():
    # given every installed model that reaches a customer within two relations, and their history tables
    holding = models_holding_subject_data()
    # then each one has an export and erasure rule
    missing = sorted(model._meta.label for model in holding if not registry.covers(model))
    assert missing == [], f"register these with consent.registry.register_personal_data: {missing}"
    # and the walk finds what it must (a test that found nothing would prove nothing)
    labels = {model._meta.label for model in holding}
    assert {"cdp.Customer", "cdp.ReceiptLine", "cdp.HistoricalSourceRecord", "consent.ConsentEvent"} <= labels
    assert "cdp.Store" not in labels


def test_what_erasure_keeps_has_a_legal_reason():
    for entry in registry.entries():
        if entry.erasure != Erasure.DELETE:
            assert entry.reason, entry.model._meta.label
    assert registry.get(Receipt).erasure == Erasure.ANONYMISE
    assert registry.get(ReceiptLine).erasure == Erasure.KEEP


@pytest.mark.django_db
def test_rows_of_finds_only_the_subjects_rows():
    line = ReceiptLineFactory()
    customer = line.receipt.customer
    InteractionFactory(customer=customer)
    SourceRecordFactory(customer=customer)
    other = ReceiptLineFactory()
    assert list(registry.get(ReceiptLine).rows_of(customer.pk)) == [line]
    assert registry.get(Customer).rows_of(customer.pk).get() == customer
    assert registry.get(Receipt).rows_of(other.receipt.customer_id).get() == other.receipt


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"subject": "store"}, "does not lead to cdp.Customer"),
        ({"subject": "customer", "erasure": "shred"}, "erasure must be one of"),
        ({"subject": "customer", "erasure": Erasure.KEEP}, "needs its legal reason"),
        ({"subject": "customer", "erasure": Erasure.ANONYMISE, "reason": "law"}, "names the fields to clear"),
        ({"subject": "customer", "erasure": Erasure.ANONYMISE, "anonymise": ["nope"], "reason": "law"}, "nope"),
    ],
)
def test_the_registry_checks_what_it_is_given(kwargs, message):
    fresh = Registry()
    kwargs = {"erasure": Erasure.DELETE, **kwargs}
    with pytest.raises(ImproperlyConfigured, match=message):
        fresh.register(Receipt, **kwargs)


def test_a_model_is_registered_once():
    fresh = Registry()
    fresh.register(Store, subject="receipts__customer", erasure=Erasure.DELETE)
    with pytest.raises(ImproperlyConfigured, match="registered twice"):
        fresh.register(Store, subject="receipts__customer", erasure=Erasure.DELETE)


def test_every_registered_model_has_an_export_rule_naming_real_fields():
    for entry in registry.entries():
        label = entry.model._meta.label
        concrete = {f.name for f in entry.model._meta.concrete_fields}
        assert entry.export, label
        # a path through a relation names what an id stands for: it starts at a field of the model
        assert {name.split("__")[0] for name in entry.export} <= concrete, label
    # the person's data is exported; the platform's working keys are not
    customer = registry.get(Customer)
    assert {"first_name", "last_name", "email", "phone", "birth_date"} <= set(customer.export)
    assert "search_name" not in customer.export


def test_unlinked_rows_are_found_by_the_subjects_external_ids():
    from consent.models import ConsentEvent
    from consent.registry import SubjectKeys

    for model in (Receipt, ConsentEvent):
        assert registry.get(model).unlinked, model._meta.label
    keys = SubjectKeys(external_ids=frozenset({("crm", "C1")}))
    condition = str(registry.get(ConsentEvent).condition(["x"], keys))
    assert "subject_external_id" in condition
    assert "source_key" in condition


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"export": ["nope"]}, "export names unknown fields"),
        ({"export": []}, "the export names no field"),
        ({"files": ["nope"]}, "files names unknown fields"),
        ({"subject_ids": ["nope"]}, "subject_ids names unknown fields"),
        ({"unlinked": [("source__key", "nope")]}, "unlinked names unknown fields"),
    ],
)
def test_the_registry_checks_the_export_and_lookup_rules(kwargs, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        Registry().register(Receipt, subject="customer", erasure=Erasure.DELETE, **kwargs)
