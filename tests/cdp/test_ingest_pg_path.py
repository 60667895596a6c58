"""The PostgreSQL COPY path reads every value exactly as the row-by-row parser does, whichever path a row takes."""

from __future__ import annotations

import datetime as dt

import pytest

from django.db import connection

from cdp.ingest import pg_transactions
from cdp.ingest.reader import CsvSource
from cdp.ingest.rows import RowContext, parse_transaction
from cdp.ingest.types import ImportOptions
from cdp.models import ReceiptLine
from tests.cdp.importing import run_command, write

pytestmark = pytest.mark.django_db

HEADER = (
    "receipt_id,line,customer_external_id,timestamp,store,channel,sku,product_name,category,quantity,"
    "unit_price,discount"
)
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

    monkeypatch.setattr(pg_transactions, "parse_transaction", spy)
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


def test_a_file_copy_cannot_read_falls_back_to_the_row_by_row_path(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the COPY path runs on PostgreSQL")
    # given a row with one value too many, which COPY refuses for the whole file
    path = write(tmp_path / "t.csv", HEADER, ROWS[0], ROWS[1] + ",extra")
    # when it is imported
    code, out = run_command("import_transactions", path, "till", errors=str(tmp_path / "e.csv"))
    # then the good row is kept and the bad one rejected with its reason, as on SQLite
    assert code == 1
    assert "created 1" in out
    assert "more values than columns" in (tmp_path / "e.csv").read_text(encoding="utf-8")
