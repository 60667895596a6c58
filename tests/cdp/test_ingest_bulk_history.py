"""The bulk write path of the customer import writes the rows and history rows django-simple-history would write."""

from __future__ import annotations

import datetime as dt

import pytest
from simple_history.models import HistoricalRecords
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from django.contrib.auth import get_user_model
from django.test import RequestFactory

from cdp.db import history_insert, objects_insert
from cdp.identity.golden import golden_values
from cdp.models import Customer, Identifier, SourceRecord
from tests.cdp.factories import SourceFactory

pytestmark = pytest.mark.django_db

# Columns that differ between two otherwise identical rows written at different moments or under another key.
VOLATILE = {"history_id", "history_date", "id", "external_id", "created_at", "updated_at", "customer_id", "value"}


def _records(source, prefix: str) -> list[SourceRecord]:
    return [
        SourceRecord(
            source=source,
            external_id=f"{prefix}{n}",
            first_name="Élodie",
            last_name="Laurent",
            email=f"e{n}@example.org",
            birth_date=dt.date(1988, 11, 24),
            attributes={"tier": "gold", "note": "café"},
            content_hash="x" * 64,
        )
        for n in range(3)
    ]


def _history(model, objs) -> list[dict]:
    rows = model.history.filter(id__in=[obj.pk for obj in objs]).order_by("history_id").values()
    return [{name: value for name, value in row.items() if name not in VOLATILE} for row in rows]


def _rows(records) -> list[dict]:
    rows = SourceRecord.objects.filter(pk__in=[r.pk for r in records]).order_by("external_id").values()
    return [{name: value for name, value in row.items() if name not in VOLATILE} for row in rows]


def _history_of(model, obj) -> list:
    return list(model.history.filter(id=obj.pk).values_list("history_type", "id"))


def test_fast_path_writes_the_rows_and_history_simple_history_writes():
    # given the same records for two sources' worth of external ids
    source = SourceFactory(key="crm")
    slow, fast = _records(source, "S"), _records(source, "F")
    # when one set goes through simple-history and the other through the bulk path
    bulk_create_with_history(slow, SourceRecord)
    objects_insert(SourceRecord, fast)
    history_insert(SourceRecord, fast, change_reason=None)
    # then each fast instance got the id of its own row, and one "+" history row of that id
    stored = dict(SourceRecord.objects.filter(external_id__startswith="F").values_list("external_id", "id"))
    assert {record.external_id: record.pk for record in fast} == stored
    assert all(_history_of(SourceRecord, record) == [("+", record.pk)] for record in fast)
    # and rows and history rows hold the same values as simple-history's
    assert _history(SourceRecord, fast) == _history(SourceRecord, slow)
    assert _history(SourceRecord, fast)[0]["history_change_reason"] is None
    assert _rows(slow) == _rows(fast)
    reloaded = SourceRecord.objects.get(external_id="F0")
    assert reloaded.attributes == {"tier": "gold", "note": "café"}
    assert reloaded.birth_date == dt.date(1988, 11, 24)
    assert reloaded.created_at == fast[0].created_at


def test_fast_path_ids_follow_rows_written_before_in_the_same_transaction():
    # given rows already written by the ORM
    source = SourceFactory(key="crm")
    first = SourceRecord.objects.create(source=source, external_id="A")
    records = _records(source, "F")
    # when more are written by the bulk path, then identifiers pointing at them
    objects_insert(SourceRecord, records)
    identifiers = [Identifier(kind=Identifier.Kind.EMAIL, value=r.email, source_record=r) for r in records]
    objects_insert(Identifier, identifiers)
    history_insert(Identifier, identifiers, change_reason=None)
    # then every id is the stored row's, and the identifiers point at the right records
    assert all(record.pk > first.pk for record in records)
    stored = dict(Identifier.objects.values_list("value", "source_record__external_id"))
    assert stored == {r.email: r.external_id for r in records}
    assert all(_history_of(Identifier, identifier) == [("+", identifier.pk)] for identifier in identifiers)


def test_customer_history_with_a_request_user_matches_simple_history():
    # given a request by a signed-in user, as the history middleware records it
    user = get_user_model().objects.create_user(username="analyst")
    request = RequestFactory().post("/api/v1/ingest/customers")
    request.user = user
    HistoricalRecords.context.request = request
    try:
        slow = [Customer(first_name="Jean", field_sources={"first_name": "crm"}) for _ in range(2)]
        fast = [Customer(first_name="Jean", field_sources={"first_name": "crm"}) for _ in range(2)]
        # when customers are created, then updated, through each path
        bulk_create_with_history(slow, Customer)
        objects_insert(Customer, fast)
        history_insert(Customer, fast, change_reason=None)
        for customer in (*slow, *fast):
            customer.last_name = "Dupont"
        bulk_update_with_history(slow, Customer, ["last_name"])
        Customer.objects.filter(pk__in=[c.pk for c in fast]).update(last_name="Dupont")
        history_insert(Customer, fast, update=True, change_reason=None)
    finally:
        del HistoricalRecords.context.request
    # then both wrote the same history rows, in the user's name
    slow_rows = _history(Customer, slow)
    assert slow_rows == _history(Customer, fast)
    assert [(r["history_type"], r["history_user_id"], r["last_name"]) for r in slow_rows] == [
        ("+", user.pk, ""),
        ("+", user.pk, ""),
        ("~", user.pk, "Dupont"),
        ("~", user.pk, "Dupont"),
    ]


def test_golden_values_of_one_record_are_what_the_rules_give_for_it():
    # given a record with some fields empty, and the same record held twice by its source
    source = SourceFactory(key="crm", priority=10)
    record = SourceRecord(
        source=source, first_name="Jean", email="j@example.org", address="1 rue X", city="Paris", gender=""
    )
    # when the golden values are taken of the record alone and through the general rules
    single = golden_values([record])
    general = golden_values([record, record])
    # then they agree, empty fields keep their empty value and no origin
    assert single == general
    assert single[0]["birth_date"] is None
    assert single[0]["last_name"] == ""
    assert single[1] == {"first_name": "crm", "email": "crm", "address": "crm", "city": "crm"}
