"""A big import into small receipt tables drops their indexes for its inserts and builds them again."""

from __future__ import annotations

import psycopg
import pytest

from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from cdp.ingest import pg_bulk_load, pg_transactions
from cdp.models import Receipt, ReceiptLine
from tests.cdp.importing import TRANSACTIONS_HEADER as HEADER
from tests.cdp.importing import read_errors, run_command, write
from tests.cdp.importing import receipt_line as _line

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _postgresql(settings):
    if connection.vendor != "postgresql":
        pytest.skip("the bulk load is the PostgreSQL COPY path's")
    settings.INGEST_BULK_LOAD_MIN_LINES = 3
    with connection.cursor() as cursor:  # the size estimate the import reads, as it is now (earlier tests moved it)
        cursor.execute(f"ANALYZE {', '.join(pg_bulk_load.BULK_TABLES)}")


def _indexes() -> list[tuple]:
    """(table, index, definition, constraint, kind) of every index a bulk load drops."""
    with connection.cursor() as cursor:
        cursor.execute(pg_bulk_load.BULK_INDEXES, [list(pg_bulk_load.BULK_TABLES)])
        return [row[:5] for row in cursor.fetchall()]


def _import(tmp_path, *rows: str, name: str = "t.csv") -> tuple[int, str, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        code, out = run_command(
            "import_transactions", write(tmp_path / name, HEADER, *rows), "till", errors=str(tmp_path / "e.csv")
        )
    return code, out, [query["sql"] for query in queries.captured_queries]


def _bulk(statements: list[str]) -> bool:
    return any(sql.startswith("LOCK TABLE cdp_receipt, cdp_receiptline") for sql in statements)


def test_a_bulk_load_builds_the_indexes_again_as_they_were(tmp_path):
    before = _indexes()
    names = [row[:2] for row in before]
    assert ("cdp_receiptline", "receiptline_unique_line") in names
    # the lines' primary key too; not the receipts', which the lines' foreign key refers to
    assert ("cdp_receiptline", "cdp_receiptline_pkey") in names
    assert ("cdp_receipt", "cdp_receipt_pkey") not in names
    # when a file of four lines goes into empty tables
    rows = [_line("R1", 1, "A1", 1), _line("R1", 2, "A2", 3), _line("R2", 1, "A1", 2), _line("R3", 1, "A3", -1)]
    code, out, statements = _import(tmp_path, *rows)
    # then it is a bulk load: the indexes were dropped and built again, with the same names and definitions
    assert code == 0, out
    assert "created 4" in out
    assert _bulk(statements)
    assert any("DROP CONSTRAINT receiptline_unique_line" in sql for sql in statements)
    assert any("ADD CONSTRAINT cdp_receiptline_pkey PRIMARY KEY USING INDEX" in sql for sql in statements)
    assert _indexes() == before
    # and the data is the same as any import's
    totals = dict(Receipt.objects.values_list("receipt_id", "total_minor"))
    assert totals == {"R1": 200 + 3 * 200, "R2": 400, "R3": -200}
    assert ReceiptLine.objects.count() == 4
    # and the rebuilt unique constraint and primary key hold
    line = ReceiptLine.objects.first()
    with pytest.raises(IntegrityError), transaction.atomic():
        ReceiptLine.objects.create(
            receipt_id=line.receipt_id,
            line_no=line.line_no,
            product_id=line.product_id,
            quantity=1,
            unit_price_minor=1,
            amount_minor=1,
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        ReceiptLine.objects.create(
            id=line.id,
            receipt_id=line.receipt_id,
            line_no=99,
            product_id=line.product_id,
            quantity=1,
            unit_price_minor=1,
            amount_minor=1,
        )


def test_a_repeated_line_in_a_bulk_load_is_refused_as_in_any_import(tmp_path):
    before = _indexes()
    # given a file repeating a line of a new receipt
    rows = [_line("R1", 1, "A1", 1), _line("R1", 1, "A1", 5), _line("R2", 1, "A1", 2), _line("R2", 2, "A2", 3)]
    code, out, statements = _import(tmp_path, *rows)
    # then the unique index, built again, finds it: the merge is done again without the repeated row
    assert _bulk(statements)
    assert code == 1
    assert "created 3, updated 0, unchanged 0, rejected 1" in out
    assert [(e["row"], e["reasons"]) for e in read_errors(tmp_path / "e.csv")] == [("3", "duplicate of row 2")]
    assert dict(Receipt.objects.values_list("receipt_id", "total_minor")) == {"R1": 200, "R2": 400 + 600}
    assert _indexes() == before


def test_a_file_smaller_than_the_tables_keeps_the_indexes(tmp_path):
    rows = [_line(f"R{i}", 1, "A1", 1) for i in range(6)]
    assert _bulk(_import(tmp_path, *rows)[2])
    # the catalogue's estimate of the lines held, as any analysed table has it (other tests' rolled-back rows may have
    # left it at anything: ANALYZE writes it outside their transactions)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE cdp_receiptline")
    # when a smaller file follows (the daily delta)
    code, out, statements = _import(tmp_path, _line("R9", 1, "A1", 1), *rows[:3], name="delta.csv")
    # then the indexes stay and the tables are not locked
    assert code == 0, out
    assert "created 1, updated 0, unchanged 3" in out
    assert not _bulk(statements)
    assert not any(" DROP CONSTRAINT " in sql or sql.startswith("DROP INDEX") for sql in statements)


def test_readers_holding_the_tables_keep_the_indexes(tmp_path, monkeypatch):
    monkeypatch.setattr(pg_bulk_load, "BULK_LOCK_TIMEOUT", "200ms")
    before = _indexes()
    db = connection.settings_dict
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('lock_timeout', '7s', true)")
    # given another session reading receipts in an open transaction
    with psycopg.connect(
        dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"], host=db["HOST"], port=db["PORT"]
    ) as reader:
        reader.execute("SELECT count(*) FROM cdp_receipt")
        # when a big file is imported meanwhile
        rows = [_line(f"R{i}", 1, "A1", 1) for i in range(5)]
        code, out, statements = _import(tmp_path, *rows)
        # then the import waited a moment for the lock, gave up on the bulk load, and imported with the indexes
        assert code == 0, out
        assert "created 5" in out
        assert not any(" DROP CONSTRAINT " in sql or sql.startswith("DROP INDEX") for sql in statements)
        reader.rollback()
    with connection.cursor() as cursor:  # the session's own lock timeout is back after the import's wait
        cursor.execute("SELECT current_setting('lock_timeout')")
        assert cursor.fetchone()[0] == "7s"
    assert _indexes() == before


def test_an_interrupted_bulk_load_leaves_the_indexes(tmp_path, monkeypatch):
    before = _indexes()
    real_write = pg_transactions.write_file

    def crash_after_writing(job, scan, **options):
        real_write(job, scan, **options)
        assert _indexes() == before  # built again inside the import's transaction
        raise KeyboardInterrupt

    monkeypatch.setattr(pg_transactions, "write_file", crash_after_writing)
    with pytest.raises(KeyboardInterrupt):
        _import(tmp_path, *[_line(f"R{i}", 1, "A1", 1) for i in range(5)])
    assert Receipt.objects.count() == 0
    assert _indexes() == before
