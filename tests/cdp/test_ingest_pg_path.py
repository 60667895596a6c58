"""The PostgreSQL path reads every value exactly as the row-by-row parser does, whichever path a row takes."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from django.db import DatabaseError, connection, transaction

from cdp.ingest import receipt_scan
from cdp.ingest.reader import CsvSource
from cdp.ingest.rows import RowContext, parse_transaction
from cdp.ingest.types import ImportOptions, RowRejected
from cdp.models import Receipt, ReceiptLine
from tests.cdp.importing import TRANSACTIONS_HEADER as HEADER
from tests.cdp.importing import read_errors, run_command, write
from tests.cdp.importing import receipt_line as _line

pytestmark = pytest.mark.django_db

ROWS = [
    "R1,1,,2025-03-14T10:23:00+02:00,S1,store,A1,Pain,bakery,1,2.50,0.00",  # offset
    "R2,1,,2025-03-14T10:23:00Z,S1,web,A2,Pain,bakery,2,2.5,0",  # Z, one decimal
    "R3,1,,2025-03-14T10:23:45+0100,S1,app,A3,Pain,bakery,-1,2,",  # compact offset, seconds, return, no discount
    "R4,1,,2025-03-14 10:23,S1,Website,A4,Pain,bakery,02,10.00,1.50",  # naive local time, channel synonym
    "R5,1,,2025-03-15,S1,store,A5,Pain,bakery,1,3.00,0",  # a date alone: local midnight
    "R6,1,,2025-10-26 02:30,S1,store,A6,Pain,bakery,1,3.00,0",  # ambiguous local time (clocks go back)
    "R7,1,,2025-03-30 02:30,S1,store,A7,Pain,bakery,1,3.00,0",  # local time that does not exist
    'R8,1,,2025-03-14T10:23:00+01:00,S1,store,A8,Pain  complet,Fresh Food,1,"1,204.99",0',  # spacing, key, thousands
    "R9,1,, 2025-03-14T10:23:00+01:00 ,S1, store ,A9 ,Crème brûlée,desserts,1,0.125,0",  # edges, rounding
]


def expected(path, rows_count):
    options = ImportOptions().resolved()
    source = CsvSource.open(path, options)
    ctx = RowContext(options=options, columns=frozenset(source.fields))
    try:
        return [parse_transaction(raw, ctx) for _, raw in source.rows()][:rows_count]
    finally:
        source.close()


def test_both_paths_read_every_shape_alike(tmp_path, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("the COPY path runs on PostgreSQL")
    rows = ROWS
    path = write(tmp_path / "t.csv", HEADER, *rows)
    read_by_python = []

    def spy(raw, ctx):
        read_by_python.append(raw["receipt_id"])
        return parse_transaction(raw, ctx)

    monkeypatch.setattr(receipt_scan, "parse_transaction", spy)
    # when the file goes through the COPY path
    code, out = run_command("import_transactions", path, "till")
    assert code == 0, out
    # the plain rows were read by SQL, the others by Python
    assert sorted(raw.strip() for raw in read_by_python) == ["R6", "R7", "R8", "R9"]
    # then every stored value is what the Python parser reads from the same row
    for row in expected(path, len(rows)):
        line = ReceiptLine.objects.select_related("receipt__store", "product__category").get(
            receipt__receipt_id=row.receipt_id
        )
        receipt = line.receipt
        # compared in UTC: Python never finds an ambiguous local time equal to a time in another zone (PEP 495)
        assert receipt.purchased_at == row.purchased_at.astimezone(dt.UTC), row.receipt_id
        assert (receipt.channel, receipt.store.code) == (row.channel, row.store), row.receipt_id
        assert (line.quantity, line.unit_price_minor, line.discount_minor) == (
            row.quantity,
            row.unit_price_minor,
            row.discount_minor,
        ), row.receipt_id
        assert (line.product.sku, line.product.name, line.product.category.key) == (
            row.sku,
            row.product_name,
            row.category,
        ), row.receipt_id


@pytest.mark.parametrize("extra", [",extra", ",extra,more"])
def test_a_row_with_values_too_many_is_refused_whichever_path_reads_the_file(tmp_path, extra):
    if connection.vendor != "postgresql":
        pytest.skip("the COPY path runs on PostgreSQL")
    # given a row with one value too many (DuckDB reads it), or two (DuckDB stops: the row-by-row path reads the file)
    path = write(tmp_path / "t.csv", HEADER, ROWS[0], ROWS[1] + extra)
    # when it is imported
    code, out = run_command("import_transactions", path, "till", errors=str(tmp_path / "e.csv"))
    # then the good row is kept and the bad one rejected with its reason, as on SQLite
    assert code == 1
    assert "created 1" in out
    assert "more values than columns" in (tmp_path / "e.csv").read_text(encoding="utf-8")


EDGE_TIMESTAMPS = [
    "2024-02-29T10:00:00+01:00",  # a leap day
    "2025-02-29T10:00:00+01:00",  # not a leap year
    "2100-02-29T10:00:00+01:00",  # a century that is not a leap year
    "2000-02-29T10:00:00+01:00",  # a century that is
    "2025-04-31T10:00:00+01:00",  # April has 30 days
    "2025-13-01T10:00:00+01:00",  # no month 13
    "2025-01-01T24:00:00+01:00",  # no hour 24
    "2025-01-01T10:60:00+01:00",  # no minute 60
    "2025-01-01T10:00:60+01:00",  # no leap second either
    "2025-01-01T10:00:00+16:30",  # an offset beyond what PostgreSQL reads: Python decides
    "2025-01-01T10:00:00-14:00",  # the largest offsets in use
    "2025-01-01T10:00:00+25:00",  # not an offset
    "2025-01-01T10:00:00+0130",  # a compact offset
    "2025-01-01T10:00:00+01:60",  # minutes out of range
    "2025-01-01 10:00",  # a local time
    "2025-01-01",  # a date
    "1799-12-31T23:59:59+00:00",  # before the years the fast shape takes
    "2025-0a-01T10:00:00+01:00",  # a letter where a digit belongs
    "2025-01-01X10:00:00+01:00",  # not the separator
    "2025-01-01T10:00:00+01:0",  # one digit short
]


def test_edge_timestamps_are_read_or_refused_alike(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the COPY path runs on PostgreSQL")
    rows = [f"E{i},1,,{ts},S1,store,A1,Pain,bakery,1,2.50,0" for i, ts in enumerate(EDGE_TIMESTAMPS)]
    path = write(tmp_path / "t.csv", HEADER, *rows)
    options = ImportOptions().resolved()
    source = CsvSource.open(path, options)
    ctx = RowContext(options=options, columns=frozenset(source.fields))
    accepted, refused = {}, {}
    try:
        for _, raw in source.rows():
            try:
                accepted[raw["receipt_id"]] = parse_transaction(raw, ctx).purchased_at
            except RowRejected as exc:
                refused[raw["receipt_id"]] = "; ".join(exc.reasons)
    finally:
        source.close()
    # (the list holds both kinds)
    assert accepted
    assert refused
    # when the file goes through the COPY path
    code, _ = run_command("import_transactions", path, "till", errors=str(tmp_path / "e.csv"))
    assert code == 1
    # then the same rows are stored, at the same instants, and the same rows refused, for the same reasons
    stored = dict(Receipt.objects.values_list("receipt_id", "purchased_at"))
    assert stored == {key: value.astimezone(dt.UTC) for key, value in accepted.items()}
    assert {row["receipt_id"]: row["reasons"] for row in read_errors(tmp_path / "e.csv")} == refused


def test_repeated_lines_are_refused_in_new_and_existing_receipts_alike(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the COPY path runs on PostgreSQL")
    run_command("import_transactions", write(tmp_path / "a.csv", HEADER, _line("R1", 1, "A1", 1)), "till")
    # given a file repeating a line of a receipt already stored and a line of a new one
    rows = [_line("R1", 1, "A1", 1), _line("R1", 1, "A1", 5), _line("R2", 1, "A1", 2), _line("R2", 1, "A1", 7)]
    rows.append(_line("R2", 2, "A2", 3))
    code, out = run_command(
        "import_transactions", write(tmp_path / "b.csv", HEADER, *rows), "till", errors=str(tmp_path / "e.csv")
    )
    # then the first of each pair is kept and the second refused with the row it repeats
    assert code == 1
    assert "created 2, updated 0, unchanged 1, rejected 2" in out
    errors = read_errors(tmp_path / "e.csv")
    assert [(e["row"], e["reasons"]) for e in errors] == [("3", "duplicate of row 2"), ("5", "duplicate of row 4")]
    # and the totals count the kept lines only
    totals = dict(Receipt.objects.values_list("receipt_id", "total_minor"))
    assert totals == {"R1": 200, "R2": 2 * 200 + 3 * 200}


def _role_setting() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('session_replication_role')")
        return cursor.fetchone()[0]


def test_the_foreign_key_checks_are_back_after_the_import(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the COPY path runs on PostgreSQL")
    code, _ = run_command("import_transactions", write(tmp_path / "t.csv", HEADER, *ROWS[:3]), "till")
    assert code == 0
    assert _role_setting() == "origin"


def test_a_role_that_may_not_skip_the_triggers_imports_the_same(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the COPY path runs on PostgreSQL")
    # given a database role with the application's rights but not the right to turn triggers off
    role = f"cdp_importer_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {role} NOLOGIN")  # rolled back with the test's transaction
        cursor.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}")
        cursor.execute(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}")
        cursor.execute(f"GRANT CREATE ON SCHEMA public TO {role}")
        cursor.execute(f"SET LOCAL ROLE {role}")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('session_replication_role', 'replica', true)")
    # when a file is imported
    code, out = run_command("import_transactions", write(tmp_path / "t.csv", HEADER, *ROWS[:5]), "till")
    # then it is imported as with any other role
    assert code == 0, out
    assert "created 5" in out
    assert ReceiptLine.objects.filter(receipt__receipt_id="R4").get().unit_price_minor == 1000
