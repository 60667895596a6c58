"""DuckDB's reading of receipt-line files: the same rows, values, reasons and row numbers as Python's reader.

The scan needs no database of its own; the tests that write through PostgreSQL compare the fast path with the
row-by-row path on the same file.
"""

from __future__ import annotations

import datetime as dt
import re
import threading

import duckdb
import pytest

from django.db import connection

from cdp.ingest import pg_bookkeeping, pg_transactions, pg_writer, receipt_scan
from cdp.ingest.reader import CsvSource
from cdp.ingest.receipt_scan import ReceiptLineScan, ScanUnusable
from cdp.ingest.rows import RowContext, parse_transaction
from cdp.ingest.types import ImportOptions, RowRejected
from cdp.models import Receipt, ReceiptLine
from consent.services.suppression import Kind, external_id_value, suppression_add
from tests.cdp.importing import TRANSACTIONS_HEADER as HEADER
from tests.cdp.importing import read_errors, run_command, write

pytestmark = pytest.mark.django_db

ROWS = [
    "R1,1,C1,2025-03-14T10:23:00+02:00,S1,store,A1,Pain,bakery,1,2.50,0.00",  # the usual shape
    'R1,2,C1,2025-03-14T10:23:00+02:00,S1,store,A2,"Vin, rouge",wine,2,12.9,',  # a quoted comma, no discount
    "R2,,,2025-03-14 10:23,S1,Website,A3,Crème brûlée,desserts,-1,3,0",  # no line number, local time, synonym
    "R3,1,,2025-03-15,S2,app,A4,Cre\u0300me,desserts,1,3.00,0",  # a name not in NFC: Python normalises it
    "R4,1,,2025-10-26 02:30,S1,store,A5,Pain,bakery,1,3.00,0",  # an ambiguous local time
    "   ",  # a line of blanks: skipped, as Python skips it
    'R5,1,,2025-03-14T10:23:00Z,S1,store,A6,Pain  complet,Fresh Food,1,"1,204.99",0',  # spacing, key, thousands
    "R6,1,,2099-01-01T00:00:00+00:00,S1,store,A1,Pain,bakery,1,2.50,0",  # in the future: refused
    "R7,1,,2025-03-14T10:23:00+01:00,S1,fax,A1,Pain,bakery,1,2.50,0",  # unknown channel: refused
    "R8,1,,2025-03-14T10:23:00+01:00,S1,store,A1,Pain,bakery,1,2.50,0,",  # a value too many: refused
    "R9,1,,2025-03-14T10:23:00+01:00,S1,store,A1",  # a short row: its missing values are empty
    'R10,1,,2025-03-14T10:23:00+01:00,S1,store,A7,"",,1,2.50,0',  # a quoted empty name
    "R11,3,C2,2025-02-29T10:00:00+01:00,S1,store,A1,Pain,bakery,1,2.50,0",  # no such day: refused
    "R12,1,C2,2024-02-29T23:59:59-05:30,S1,pos,A1,Pain,bakery,7,0.99,0.50",  # a leap day, a negative offset
]


def _python_reading(path, options):
    """(row number -> parsed row) and (row number -> reasons), as the row-by-row path reads the file."""
    source = CsvSource.open(path, options)
    ctx = RowContext(options=options, columns=frozenset(source.fields))
    parsed, refused = {}, {}
    try:
        for row_no, raw in source.rows():
            try:
                parsed[row_no] = parse_transaction(raw, ctx)
            except RowRejected as exc:
                refused[row_no] = "; ".join(exc.reasons)
    finally:
        source.close()
    return parsed, refused


def _scan(path, options, ctx=None):
    """(row number -> typed row) and (row number -> reasons), as the scan reads the file."""
    source = CsvSource.open(path, options)
    fields = source.fields
    source.close()
    ctx = ctx or RowContext(options=options, columns=frozenset(fields))
    valid, refused, read = {}, {}, 0
    with ReceiptLineScan(path, fields, options, ctx) as scan:
        for batch in scan.batches():
            read += batch.rows
            for row in batch.valid.to_pylist():
                valid[row["row_no"]] = row
            refused.update({row_no: reasons for row_no, reasons, _ in batch.rejected})
        assert read == scan.rows_read
    return valid, refused, read


def _same(typed: dict, row) -> bool:
    expected = {name: getattr(row, name) for name in receipt_scan.TYPED_COLUMNS[1:] if name != "purchased_at"}
    purchased_at = row.purchased_at.astimezone(dt.UTC).replace(tzinfo=None)
    return {name: typed[name] for name in expected} == expected and typed["purchased_at"] == purchased_at


@pytest.mark.parametrize("decimal_comma", [False, True])
def test_the_scan_reads_every_row_as_the_python_reader_does(tmp_path, decimal_comma):
    rows = ROWS
    if decimal_comma:  # the same file as a French spreadsheet writes it: "2,50", "1 204,99"
        rows = [re.sub(r"(\d+)\.(\d+)", r'"\1,\2"', row.replace('"1,204.99"', "?")) for row in rows]
        rows = [row.replace("?", '"1 204,99"') for row in rows]
    path = write(tmp_path / "t.csv", HEADER, *rows)
    options = ImportOptions(decimal_comma=decimal_comma).resolved()
    parsed, refused_by_python = _python_reading(path, options)
    # (the file holds both kinds)
    assert len(parsed) >= 8
    assert len(refused_by_python) >= 5
    # when DuckDB reads it
    valid, refused, read = _scan(path, options)
    # then the same rows are read, with the same row numbers, values and reasons
    assert read == len(parsed) + len(refused_by_python)
    assert refused == refused_by_python
    assert sorted(valid) == sorted(parsed)
    different = [row_no for row_no, row in parsed.items() if not _same(valid[row_no], row)]
    assert different == []


# Files written with a custom date format: each row's timestamp in that format, a few of them odd or refused.
CUSTOM_TIMES = {
    "%d/%m/%Y %H:%M": [
        "14/03/2025 10:23",
        "1/3/2025 9:05",  # single digits, which strptime takes
        "26/10/2025 02:30",  # an hour the autumn change repeats
        "30/03/2025 02:30",  # an hour the spring change skips
        "31/02/2025 10:00",  # no such day: refused
        "2025-03-14T10:23:00+01:00",  # another format: refused
        "14/03/2099 10:00",  # in the future: refused
        "  14/03/2025   10:23 ",  # blanks around and inside
        "",  # missing: refused
        "14/03/2025 10:23",  # the first row's value again
    ],
    "%d.%m.%y %H:%M:%S %z": [
        "14.03.25 10:23:00 +0100",
        "29.02.24 23:59:59 -0530",
        "14.03.25 10:23:00",
        "01.01.70 00:00:00 +0000",
    ],
    "%m/%d/%Y %I:%M %p": ["03/14/2025 10:23 PM", "03/14/2025 12:00 AM", "13/14/2025 10:23 PM"],
}


@pytest.mark.parametrize("date_format", list(CUSTOM_TIMES))
def test_a_custom_date_format_is_read_as_the_python_reader_reads_it(tmp_path, date_format):
    rows = [f"R{i},1,C1,{value},S1,store,A1,Pain,bakery,1,2.50,0" for i, value in enumerate(CUSTOM_TIMES[date_format])]
    path = write(tmp_path / "t.csv", HEADER, *rows)
    options = ImportOptions(date_format=date_format).resolved()
    parsed, refused_by_python = _python_reading(path, options)
    assert parsed  # (the file holds rows Python reads)
    # when DuckDB reads it, Python reading each distinct timestamp
    valid, refused, read = _scan(path, options)
    # then the same rows are read, with the same values and reasons
    assert read == len(parsed) + len(refused_by_python)
    assert refused == refused_by_python
    assert sorted(valid) == sorted(parsed)
    assert [row_no for row_no, row in parsed.items() if not _same(valid[row_no], row)] == []


@pytest.fixture
def read_by_python(monkeypatch) -> list[str]:
    """The receipt ids of the rows Python's parser reads, in order."""
    seen = []

    def spy(raw, ctx):
        seen.append(raw["receipt_id"])
        return parse_transaction(raw, ctx)

    monkeypatch.setattr(receipt_scan, "parse_transaction", spy)
    return seen


def test_rows_with_plain_shapes_never_reach_the_python_parser(tmp_path, read_by_python):
    path = write(tmp_path / "t.csv", HEADER, *ROWS)
    _scan(path, ImportOptions().resolved())
    # the usual shapes are read by DuckDB; Python reads what needs normalising or what it refuses
    assert sorted(read_by_python) == sorted(["R3", "R4", "R5", "R6", "R7", "R8", "R9", "R11"])


def test_a_value_of_another_shape_sends_each_of_its_rows_to_python_with_every_raw_value(tmp_path, read_by_python):
    header = f"{HEADER},note"  # a column the import does not map: kept with the row's values all the same
    rows = [f"R{i},1,,2025-01-01,S1,store,A1,Pain,bakery,1,2.50,0,n{i}" for i in range(1, 9)]
    for i in (3, 6):  # the same odd value (two spaces) on two rows
        rows[i - 1] = f"R{i},1,,2025-01-01,S1,store,A1,Pain  blanc,bakery,1,2.50,0,n{i}"
    rows[6] = "R7,1,,2025-01-01,S1,fax,A1,Pain,bakery,1,2.50,0,n7"  # refused (unknown channel)
    path = write(tmp_path / "t.csv", header, *rows)
    options = ImportOptions().resolved()
    source = CsvSource.open(path, options)
    fields = source.fields
    source.close()
    with ReceiptLineScan(path, fields, options, RowContext(options=options, columns=frozenset(fields))) as scan:
        batches = list(scan.batches())
    valid = {row["row_no"]: row for batch in batches for row in batch.valid.to_pylist()}
    rejected = [entry for batch in batches for entry in batch.rejected]
    # every row holding the odd value is read by Python (and normalised); the refused row keeps all its values
    assert sorted(read_by_python) == ["R3", "R6", "R7"]
    assert valid[4]["product_name"] == valid[7]["product_name"] == "Pain blanc"
    assert valid[2]["product_name"] == "Pain"
    assert [(row_no, values) for row_no, _, values in rejected] == [
        (8, ["R7", "1", "", "2025-01-01", "S1", "fax", "A1", "Pain", "bakery", "1", "2.50", "0", "n7"])
    ]


@pytest.mark.parametrize(
    ("lines", "why"),
    [
        (["R1,1,,2025-01-01,S1,store,A1,Pain,bakery,1,2.50,0", "", "R2,1,,2025-01-01,S1,store,A1,P,x,1,2,0"], "blank"),
        (['R1,1,,2025-01-01,S1,store,A1,"Pain\nde mie",bakery,1,2.50,0'], "a line break inside a value"),
        (['R1,1,,2025-01-01,S1,store,A1,"Pain"x,bakery,1,2.50,0'], "a quote inside a value"),
        (["R1,1,,2025-01-01,S1,store,A1,Pain,bakery,1,2.50,0,x,y"], "two values too many"),
    ],
)
def test_a_file_duckdb_would_read_otherwise_is_left_to_the_row_by_row_path(tmp_path, lines, why):
    path = write(tmp_path / "t.csv", HEADER, *lines)
    with pytest.raises(ScanUnusable):
        _scan(path, ImportOptions().resolved())


def test_other_encodings_are_decoded_by_python_first(tmp_path):
    # given a Windows export: cp1252 has the euro sign and œ where Latin-1 has control characters
    rows = ["R1,1,,2025-01-01,S1,store,A1,Bœuf 5 €,viande,1,2.50,0", "R2,1,,2025-01-01,S1,store,A2,Café,épicerie,1,3,0"]
    path = write(tmp_path / "t.csv", HEADER, *rows, encoding="cp1252")
    options = ImportOptions(encoding="cp1252").resolved()
    parsed, _ = _python_reading(path, options)
    valid, refused, _ = _scan(path, options)
    assert refused == {}
    assert valid[2]["product_name"] == "Bœuf 5 €" == parsed[2].product_name
    assert valid[3]["category"] == "epicerie" == parsed[3].category


def test_bytes_invalid_in_the_encoding_leave_the_file_to_the_row_by_row_path(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes((HEADER + "\nR1,1,,2025-01-01,S1,store,A1,Caf\xe9,x,1,2.50,0\n").encode("latin-1"))
    with pytest.raises(ScanUnusable):
        _scan(path, ImportOptions().resolved())  # read as UTF-8
    valid, _, _ = _scan(path, ImportOptions(encoding="latin-1").resolved())
    assert valid[2]["product_name"] == "Café"


def test_batches_come_in_file_order_with_the_file_s_row_numbers(tmp_path, monkeypatch):
    monkeypatch.setattr(receipt_scan, "FIRST_BATCH_ROWS", 3)
    monkeypatch.setattr(receipt_scan, "BATCH_ROWS", 7)
    monkeypatch.setattr(receipt_scan, "CHUNK_ROWS", 2)
    rows = [f"R{i},1,,2025-01-01,S1,store,A1,Pain,bakery,{i},2.50,0" for i in range(1, 41)]
    rows[10] = "  "  # a blank line in the eleventh batch position
    path = write(tmp_path / "t.csv", HEADER, *rows)
    source = CsvSource.open(path, ImportOptions().resolved())
    fields = source.fields
    source.close()
    options = ImportOptions().resolved()
    with ReceiptLineScan(path, fields, options, RowContext(options=options, columns=frozenset(fields))) as scan:
        batches = list(scan.batches())
    assert len(batches) > 3
    numbers = [row_no for batch in batches for row_no in batch.valid.column("row_no").to_pylist()]
    assert numbers == [n for n in range(2, 42) if n != 12]
    quantities = [q for batch in batches for q in batch.valid.column("quantity").to_pylist()]
    assert quantities == [n - 1 for n in numbers]


# ---------------------------------------------------------------------------------------------------------------------
# Through PostgreSQL: the fast path writes what the row-by-row path writes


def _stored(source: str) -> tuple[list, list]:
    receipts = sorted(
        Receipt.objects.filter(source__key=source).values_list(
            "receipt_id",
            "customer_external_id",
            "store__code",
            "channel",
            "purchased_at",
            "total_minor",
            "discount_minor",
            "item_count",
            "currency",
        )
    )
    lines = sorted(
        ReceiptLine.objects.filter(receipt__source__key=source).values_list(
            "receipt__receipt_id",
            "line_no",
            "product__sku",
            "quantity",
            "unit_price_minor",
            "discount_minor",
            "amount_minor",
        )
    )
    return receipts, lines


# A receipt whose lines are far apart (R1), lines without numbers across batches (R2), a receipt that disagrees on its
# header (R3), a repeated line (R4), rows refused in between.
SPREAD = [
    "R1,1,C1,2025-01-01T10:00:00+01:00,S1,store,A1,Pain,bakery,1,2.00,0",
    "R2,,C2,2025-01-02T10:00:00+01:00,S2,web,A2,Vin,wine,2,9.90,1.00",
    "R2,,C2,2025-01-02T10:00:00+01:00,S2,web,A3,Fromage,cheese,1,4.50,0",
    "R3,1,C3,2025-01-03T10:00:00+01:00,S1,store,A1,Pain,bakery,3,2.00,0",
    "R4,1,,2025-01-04T10:00:00+01:00,S1,store,A1,Pain,bakery,1,2.00,0",
    "R2,,C2,2025-01-02T10:00:00+01:00,S2,web,A1,Pain,bakery,-1,2.00,0",
    "R3,2,C9,2025-01-03T11:00:00+01:00,S2,web,A2,Vin,wine,1,9.90,0",
    "R9,1,,2099-01-01,S1,store,A1,Pain,bakery,1,2.00,0",
    "R1,2,C1,2025-01-01T10:00:00+01:00,S1,store,A4,Crème brûlée,desserts,2,3.50,0.50",
    "R4,1,,2025-01-04T10:00:00+01:00,S1,store,A1,Pain,bakery,5,2.00,0",
    "R2,,C2,2025-01-02T10:00:00+01:00,S2,web,A3,Fromage,cheese,1,4.50,0",
    "R1,3,C1,2025-01-01T10:00:00+01:00,S1,store,A2,Vin,wine,1,9.90,0",
]


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(receipt_scan, "FIRST_BATCH_ROWS", 2)
    monkeypatch.setattr(receipt_scan, "BATCH_ROWS", 3)


@pytest.mark.parametrize("bulk", [False, True])
def test_receipts_spread_over_batches_are_written_as_the_row_by_row_path_writes_them(
    tmp_path, monkeypatch, settings, small_batches, bulk
):
    if connection.vendor != "postgresql":
        pytest.skip("the fast path writes through PostgreSQL")
    settings.INGEST_BULK_LOAD_MIN_LINES = 3 if bulk else 10**9
    path = write(tmp_path / "t.csv", HEADER, *SPREAD)
    # when the file goes through the fast path, in batches of three rows, and through the row-by-row path
    code, out = run_command("import_transactions", path, "fast", errors=str(tmp_path / "fast.csv"))
    assert code == 1, out
    monkeypatch.setattr(pg_transactions, "supported", lambda options: False)
    code, slow_out = run_command("import_transactions", path, "slow", errors=str(tmp_path / "slow.csv"))
    assert code == 1, slow_out
    # then both wrote the same receipts (sums, item counts, first row's header) and the same lines
    fast, slow = _stored("fast"), _stored("slow")
    assert fast == slow
    assert [line[:2] for line in fast[1] if line[0] == "R2"] == [("R2", 1), ("R2", 2), ("R2", 3), ("R2", 4)]
    assert fast[0][2][:4] == ("R3", "C3", "S1", "store")
    # and refused the same rows for the same reasons, counted alike
    assert read_errors(tmp_path / "fast.csv") == read_errors(tmp_path / "slow.csv")
    assert [(e["row"], e["reasons"]) for e in read_errors(tmp_path / "fast.csv")] == [
        ("9", "timestamp 2099-01-01T00:00:00+01:00 is in the future"),
        ("11", "duplicate of row 6"),
    ]
    assert out.split(":")[1].split(" in ")[0] == slow_out.split(":")[1].split(" in ")[0]


def test_an_updated_file_changes_exactly_the_changed_rows_through_the_fast_path(tmp_path, small_batches):
    if connection.vendor != "postgresql":
        pytest.skip("the fast path writes through PostgreSQL")
    run_command("import_transactions", write(tmp_path / "a.csv", HEADER, *SPREAD), "till")
    # given the same file with one price changed, one line added to a stored receipt and one new receipt
    rows = [*SPREAD, "R1,4,C1,2025-01-01T10:00:00+01:00,S1,store,A3,Fromage,cheese,1,4.50,0"]
    rows.append("R10,1,C1,2025-01-05T10:00:00+01:00,S1,store,A3,Fromage,cheese,1,4.50,0")
    rows[0] = rows[0].replace(",2.00,0", ",2.20,0")
    code, out = run_command("import_transactions", write(tmp_path / "b.csv", HEADER, *rows), "till")
    # then the counts say so, and the totals follow
    assert code == 1, out
    assert "read 14, created 2, updated 1, unchanged 9, rejected 2" in out
    totals = dict(Receipt.objects.values_list("receipt_id", "total_minor"))
    assert totals["R1"] == 220 + 2 * 350 - 50 + 990 + 450
    assert totals["R10"] == 450
    # and a third import of the same file changes nothing
    code, out = run_command("import_transactions", write(tmp_path / "b.csv", HEADER, *rows), "till")
    assert "created 0, updated 0, unchanged 12, rejected 2" in out


def test_rows_of_an_erased_subject_are_kept_anonymous_and_unlinked(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the fast path writes through PostgreSQL")
    # given an erased customer C2 of the till
    suppression_add(identifiers=[(Kind.EXTERNAL_ID, external_id_value("till", "C2"))])
    # when a file holding C2's receipt lines is imported
    code, out = run_command(
        "import_transactions", write(tmp_path / "t.csv", HEADER, *SPREAD), "till", errors=str(tmp_path / "e.csv")
    )
    # then the lines are kept for accounting, anonymous and unlinked, like the receipts the erasure kept
    assert not [e for e in read_errors(tmp_path / "e.csv") if e["reasons"] == "erased subject"], out
    kept = Receipt.objects.get(receipt_id="R2")
    assert (kept.customer_id, kept.customer_external_id) == (None, "")
    assert kept.lines.count() == 4
    assert not Receipt.objects.filter(customer_external_id="C2").exists()


def test_ids_reserved_for_fewer_lines_than_the_file_has_are_topped_up(tmp_path, monkeypatch, settings, small_batches):
    if connection.vendor != "postgresql":
        pytest.skip("the fast path writes through PostgreSQL")
    # given a bulk load whose first megabyte suggested a much shorter file
    settings.INGEST_BULK_LOAD_MIN_LINES = 3
    monkeypatch.setattr(pg_transactions, "estimated_lines", lambda path: 3)
    rows = [f"R{i},1,,2025-01-01T10:00:00+01:00,S1,store,A1,Pain,bakery,1,2.00,0" for i in range(20)]
    code, out = run_command("import_transactions", write(tmp_path / "t.csv", HEADER, *rows), "till")
    # then more ids were drawn as the batches needed them, every one unique
    assert code == 0, out
    assert "created 20" in out
    assert Receipt.objects.values("id").distinct().count() == 20
    assert ReceiptLine.objects.values("id").distinct().count() == 20
    assert sorted(ReceiptLine.objects.values_list("receipt__receipt_id", flat=True)) == sorted(
        f"R{i}" for i in range(20)
    )


def test_an_interruption_while_batches_are_written_leaves_nothing_and_stops_the_reading(
    tmp_path, monkeypatch, small_batches
):
    if connection.vendor != "postgresql":
        pytest.skip("the fast path writes through PostgreSQL")
    calls = {"lines": 0}
    real_lines = pg_writer.Writer._lines

    def interrupted(self, chunk):
        calls["lines"] += 1
        real_lines(self, chunk)
        if calls["lines"] == 2:  # two batches of lines written, the reading thread ahead of the writing
            raise KeyboardInterrupt

    monkeypatch.setattr(pg_writer.Writer, "_lines", interrupted)
    folders = []
    real_init = ReceiptLineScan.__post_init__

    def opened(self):
        real_init(self)
        folders.append(self.folder)

    monkeypatch.setattr(ReceiptLineScan, "__post_init__", opened)
    with pytest.raises(KeyboardInterrupt):
        run_command("import_transactions", write(tmp_path / "t.csv", HEADER, *SPREAD), "till")
    # then nothing of the file is in the database, the reading thread has stopped and its folder is gone
    assert not Receipt.objects.exists()
    assert not ReceiptLine.objects.exists()
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("receipt-")]
    assert len(folders) == 1
    assert not folders[0].exists()


def test_a_scan_out_of_memory_leaves_the_file_to_the_row_by_row_path(tmp_path, monkeypatch, small_batches, caplog):
    if connection.vendor != "postgresql":
        pytest.skip("the fast path writes through PostgreSQL")
    path = write(tmp_path / "t.csv", HEADER, *SPREAD)
    run_command("import_transactions", path, "slow", errors=str(tmp_path / "slow.csv"))
    calls = {"batches": 0}
    real_catalogue = pg_bookkeeping.Bookkeeping._catalogue

    def exhausted(self):
        calls["batches"] += 1
        if calls["batches"] == 2:  # a batch already written, DuckDB short of memory on the next
            raise duckdb.OutOfMemoryException("Out of Memory Error: could not allocate block")
        yield from real_catalogue(self)

    monkeypatch.setattr(pg_bookkeeping.Bookkeeping, "_catalogue", exhausted)
    code, out = run_command("import_transactions", path, "fast", errors=str(tmp_path / "fast.csv"))
    # then the import went row by row from the start: the same rows, reasons and counts, and a warning says why
    assert code == 1, out
    assert calls["batches"] == 2
    assert _stored("fast") == _stored("slow")
    assert read_errors(tmp_path / "fast.csv") == read_errors(tmp_path / "slow.csv")
    assert "INGEST_SCAN_MEMORY" in caplog.text


def test_a_custom_date_format_goes_the_fast_path_and_writes_what_the_row_by_row_path_writes(tmp_path, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("the fast path writes through PostgreSQL")
    date_format = "%d/%m/%Y %H:%M"
    rows = [
        f"R{i % 4},{i // 4 + 1},C{i % 3},{value},S1,store,A{i % 2},Pain,bakery,1,2.50,0"
        for i, value in enumerate(CUSTOM_TIMES[date_format])
    ]
    path = write(tmp_path / "t.csv", HEADER, *rows)
    written = []
    real_write = pg_transactions.write_file

    def spy(job, scan, **options):
        written.append(job.options.date_format)
        return real_write(job, scan, **options)

    monkeypatch.setattr(pg_transactions, "write_file", spy)
    code, out = run_command(
        "import_transactions", path, "fast", errors=str(tmp_path / "fast.csv"), date_format=date_format
    )
    assert code == 1, out
    assert written == [date_format]  # the fast path took it
    monkeypatch.setattr(pg_transactions, "supported", lambda options: False)
    code, slow_out = run_command(
        "import_transactions", path, "slow", errors=str(tmp_path / "slow.csv"), date_format=date_format
    )
    assert code == 1, slow_out
    assert _stored("fast") == _stored("slow")
    assert read_errors(tmp_path / "fast.csv") == read_errors(tmp_path / "slow.csv")
    assert out.split(":")[1].split(" in ")[0] == slow_out.split(":")[1].split(" in ")[0]
