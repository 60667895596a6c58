"""Database invariants of the core model."""

from __future__ import annotations

import pytest

from django.db import IntegrityError, transaction

from cdp.models import Customer, SourceRecord
from tests.cdp.factories import (
    CustomerFactory,
    ReceiptFactory,
    ReceiptLineFactory,
    SourceFactory,
    SourceRecordFactory,
)

pytestmark = pytest.mark.django_db


def test_external_id_is_unique_per_source():
    record = SourceRecordFactory(external_id="C1")
    with pytest.raises(IntegrityError), transaction.atomic():
        SourceRecordFactory(external_id="C1", source=record.source)
    # the same id in another source is another record
    SourceRecordFactory(external_id="C1", source=SourceFactory(key="eshop"))
    assert SourceRecord.objects.filter(external_id="C1").count() == 2


def test_receipt_id_is_unique_per_source():
    receipt = ReceiptFactory(receipt_id="R1")
    with pytest.raises(IntegrityError), transaction.atomic():
        ReceiptFactory(receipt_id="R1", source=receipt.source)


def test_receipt_line_numbers_are_unique_within_a_receipt():
    line = ReceiptLineFactory(line_no=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        ReceiptLineFactory(receipt=line.receipt, line_no=1)


def test_negative_prices_are_refused_by_the_database():
    with pytest.raises(IntegrityError), transaction.atomic():
        ReceiptLineFactory(unit_price_minor=-1)


def test_a_merged_customer_must_name_its_survivor():
    customer = CustomerFactory()
    customer.status = Customer.Status.MERGED
    with pytest.raises(IntegrityError), transaction.atomic():
        customer.save()
    customer.merged_into = CustomerFactory()
    customer.save()
    assert Customer.objects.active().count() == 1


def test_returns_are_negative_quantities():
    receipt = ReceiptFactory(item_count=-1, total_minor=-1250)
    ReceiptLineFactory(receipt=receipt, quantity=-1, unit_price_minor=1250)
    assert receipt.is_return
    assert receipt.total_display == "-€12.50"
    assert receipt.lines.get().amount_minor == -1250


def test_profile_changes_are_kept_in_history():
    customer = CustomerFactory(last_name="Martin")
    customer.last_name = "Martin-Durand"
    customer.save(update_fields=["last_name"])
    assert list(customer.history.order_by("history_date").values_list("last_name", flat=True)) == [
        "Martin",
        "Martin-Durand",
    ]
