"""Database helpers for bulk work (cdp.db): lookups by many values, by key tuples, and set-based re-pointing."""

from __future__ import annotations

import datetime as dt

import pytest

from django.db import connection
from django.test.utils import CaptureQueriesContext

from cdp.db import repoint, rows_by_keys
from cdp.models import Customer, Identifier, SourceRecord
from tests.cdp.factories import CustomerFactory, IdentifierFactory, SourceFactory, SourceRecordFactory

pytestmark = pytest.mark.django_db


def test_any_lookup_finds_what_in_finds_with_one_parameter():
    # given records with and without birth dates
    source = SourceFactory(key="crm")
    born = dt.date(1980, 7, 14)
    kept = [SourceRecordFactory(source=source, birth_date=born) for _ in range(3)]
    SourceRecordFactory(source=source, birth_date=dt.date(1990, 1, 1))
    ids = [record.pk for record in kept] + [10**9]
    # when they are looked up by many values
    with CaptureQueriesContext(connection) as queries:
        found = set(SourceRecord.objects.filter(pk__any=ids).values_list("pk", flat=True))
    # then the rows are those __in finds, and on PostgreSQL the values travel as one array
    assert found == set(SourceRecord.objects.filter(pk__in=ids).values_list("pk", flat=True)) == set(ids[:3])
    assert set(SourceRecord.objects.filter(birth_date__any=[born])) == set(kept)
    customers = [record.customer_id for record in kept]
    assert set(SourceRecord.objects.filter(customer_id__any=customers)) == set(kept)
    assert SourceRecord.objects.filter(pk__any=[]).count() == 0
    if connection.vendor == "postgresql":
        assert "= ANY(" in queries.captured_queries[0]["sql"]


def test_rows_by_keys_matches_whole_tuples_only():
    source = SourceFactory(key="crm")
    born = dt.date(1980, 7, 14)
    a = SourceRecordFactory(source=source, match_family="M635", birth_date=born, match_address="12 rue haute")
    SourceRecordFactory(source=source, match_family="M635", birth_date=dt.date(1981, 1, 1))
    SourceRecordFactory(source=source, match_family="D520", birth_date=born)
    # the tuple (M635, born) only: neither of the half matches
    found = rows_by_keys(SourceRecord, ("match_family", "birth_date"), [("M635", born), ("X000", born)])
    assert found == [(a.pk,)]
    found = rows_by_keys(SourceRecord, ("match_family", "birth_date"), [("M635", born)], ("pk", "match_address"))
    assert found == [(a.pk, "12 rue haute")]
    assert rows_by_keys(SourceRecord, ("email",), []) == []


def test_repoint_moves_rows_and_says_which_moved_from_where():
    # given two customers to be merged into two others, with identifiers
    old_a, old_b, new_a, new_b = CustomerFactory(), CustomerFactory(), CustomerFactory(), CustomerFactory()
    ids_a = [IdentifierFactory(customer=old_a, source_record__customer=old_a).pk for _ in range(2)]
    ids_b = [IdentifierFactory(customer=old_b, source_record__customer=old_b).pk]
    untouched = IdentifierFactory(customer=new_a, source_record__customer=new_a).pk
    # when their identifiers are re-pointed
    moved = repoint(Identifier._meta.get_field("customer"), {old_a.pk: new_a.pk, old_b.pk: new_b.pk})
    # then each moved to its new customer, and the answer names what moved from where
    assert {key: sorted(value) for key, value in moved.items()} == {old_a.pk: sorted(ids_a), old_b.pk: ids_b}
    assert set(Identifier.objects.filter(customer=new_a).values_list("pk", flat=True)) == {*ids_a, untouched}
    assert list(Identifier.objects.filter(customer=new_b).values_list("pk", flat=True)) == ids_b
    assert not Identifier.objects.filter(customer__in=[old_a, old_b]).exists()
    assert Customer.objects.count() == 4
