"""Database helpers for bulk work (cdp.db): lookups by many values, by key tuples, and set-based re-pointing."""

from __future__ import annotations

import datetime as dt

import pytest

from django.db import connection
from django.test.utils import CaptureQueriesContext

from cdp.db import ANALYZE_AFTER, repoint, rows_by_any_keys, rows_by_keys, rows_update, statistics_refresh
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


@pytest.mark.parametrize("many", [False, True])
def test_rows_by_keys_compares_the_first_word_of_a_column_when_asked(many, monkeypatch):
    # given records of one postcode and family name at several house numbers (and one without an address)
    if many:
        monkeypatch.setattr("cdp.db.HASH_JOIN_KEYS", 1)  # the temporary table's path on PostgreSQL
    source = SourceFactory(key="crm")
    twelve = SourceRecordFactory(source=source, postcode="7500", match_family="M635", match_address="12 rue haute")
    alone = SourceRecordFactory(source=source, postcode="7500", match_family="M635", match_address="12b")
    SourceRecordFactory(source=source, postcode="7500", match_family="M635", match_address="120 rue haute")
    SourceRecordFactory(source=source, postcode="7500", match_family="M635", match_address="")
    SourceRecordFactory(source=source, postcode="7501", match_family="M635", match_address="12 rue haute")
    columns = ("postcode", "match_family", "match_address")
    # when they are looked up by postcode, family name and house number
    found = rows_by_keys(
        SourceRecord, columns, [("7500", "M635", "12"), ("7500", "M635", "12b")], first_word=("match_address",)
    )
    # then the house number is the address's first word, whole: not a prefix of another, not the whole address
    assert sorted(found) == sorted([(twelve.pk,), (alone.pk,)])
    assert rows_by_keys(SourceRecord, columns, [("7500", "M635", "12")]) == []


@pytest.mark.parametrize("many", [False, True])
def test_rows_by_any_keys_finds_what_each_lookup_finds_once(many, monkeypatch):
    # given records found by e-mail, by family name and birth date, by house number, by several keys, and by none
    if many:
        monkeypatch.setattr("cdp.db.HASH_JOIN_KEYS", 1)  # one pass over the table on PostgreSQL
    source = SourceFactory(key="crm")
    born = dt.date(1980, 7, 14)
    by_email = SourceRecordFactory(source=source, email="a@example.org")
    by_birth = SourceRecordFactory(source=source, match_family="M635", birth_date=born)
    by_number = SourceRecordFactory(source=source, postcode="7500", match_family="D520", match_address="12 rue haute")
    by_all = SourceRecordFactory(source=source, email="b@example.org", match_family="M635", birth_date=born)
    SourceRecordFactory(source=source, email="c@example.org", match_family="M635", birth_date=dt.date(1981, 1, 1))
    SourceRecordFactory(source=source, postcode="7500", match_family="D520", match_address="12b rue haute")
    lookups = [
        (("email",), [("a@example.org",), ("b@example.org",)]),
        (("match_family", "birth_date"), [("M635", born)]),
        (("postcode", "match_family", "match_address"), [("7500", "D520", "12")], ("match_address",)),
        (("phone",), []),
    ]
    # when they are looked up by all the keys at once
    found = rows_by_any_keys(SourceRecord, lookups)
    # then each record a lookup finds is there once, and no other
    assert sorted(found) == sorted(record.pk for record in (by_email, by_birth, by_number, by_all))
    assert rows_by_any_keys(SourceRecord, [(("email",), [])]) == []


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


@pytest.mark.parametrize("copied", [False, True])
def test_rows_update_writes_each_row_its_own_values(copied, monkeypatch):
    # given customers, changed in memory: a date, a JSON field, a foreign key, a time, a text (and one left alone)
    if copied:
        monkeypatch.setattr("cdp.db.COPY_UPDATE_ROWS", 1)  # the temporary table's path on PostgreSQL
    survivor, first, second, untouched = CustomerFactory(), CustomerFactory(), CustomerFactory(), CustomerFactory()
    at = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC)
    for index, customer in enumerate((first, second)):
        customer.birth_date = dt.date(1970 + index, 1, 2)
        customer.field_sources = {"first_name": f"crm{index}", "city": "pos"}
        customer.merged_into = survivor
        customer.status = Customer.Status.MERGED
        customer.updated_at = at
        customer.search_name = f"key {index}"
    before = Customer.objects.values().get(pk=untouched.pk)
    # when they are updated in bulk
    fields = ["birth_date", "field_sources", "merged_into", "status", "updated_at", "search_name"]
    rows_update(Customer, [first, second], fields)
    # then each row holds its own values, and no other row changed
    for index, customer in enumerate((first, second)):
        stored = Customer.objects.get(pk=customer.pk)
        assert stored.birth_date == dt.date(1970 + index, 1, 2)
        assert stored.field_sources == {"first_name": f"crm{index}", "city": "pos"}
        assert stored.merged_into_id == survivor.pk
        assert stored.status == Customer.Status.MERGED
        assert stored.updated_at == at
        assert stored.search_name == f"key {index}"
    assert Customer.objects.values().get(pk=untouched.pk) == before


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite plans without statistics (CI's second run)")
def test_statistics_are_refreshed_after_a_bulk_write():
    """After many rows went in at once, the planner knows how many there are."""
    source = SourceFactory()
    for _ in range(40):
        SourceRecordFactory(source=source)
    table = SourceRecord._meta.db_table
    with connection.cursor() as cursor:
        statistics_refresh(SourceRecord, written=ANALYZE_AFTER - 1)  # a small write: nothing is refreshed
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
        before = cursor.fetchone()[0]
        statistics_refresh(SourceRecord, written=ANALYZE_AFTER)
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
        after = cursor.fetchone()[0]
    assert before != SourceRecord.objects.count()
    assert after == SourceRecord.objects.count() == 40
