"""Reading and checking a receipt-line file with DuckDB: every core parses and checks, rows arrive in file order.

DuckDB (already the engine of identity resolution) reads the CSV with all the machine's cores and converts every
row in one vectorised pass. The rows come back in file order, in batches, so their numbers are exact. A row is "fast"
(taken as DuckDB typed it) when each of its values has its plain, common shape (ISO timestamps, plain decimals, clean
codes): the shapes are matched once per distinct value of a batch (a file names the same stores, products, prices
and customers on many rows), by Arrow. Every other row is read from its raw values by the same Python parser as the
row-by-row path (`parse_transaction`): a value is accepted, converted or refused the same way whichever side reads
it, with the same reasons.

DuckDB reads a file the way Python's csv module does when the file is plain CSV; where they could differ it stops
instead (strict mode: a row with too many or too few values, a stray quote, bytes invalid in the encoding), and the
import then goes the row-by-row way. A line break inside a quoted value, or a blank line between rows, would shift
the row numbers: the scan counts the file's lines and gives up when they do not match its rows.

Memory is bounded: DuckDB streams the file (its own memory is capped, and what it keeps between batches spills to a
temporary folder), and Python holds one batch at a time.
"""

from __future__ import annotations

import codecs
import datetime as dt
import itertools
import os
import shutil
import tempfile
import unicodedata
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from django.conf import settings

from cdp.ingest import types as t
from cdp.ingest.rows import (
    CHANNEL_SYNONYMS,
    FUTURE_TOLERANCE,
    TRANSACTION_FIELDS,
    TRANSACTION_MAX_LENGTHS,
    RowContext,
    parse_transaction,
)
from cdp.normalise import NormalisationError, parse_timestamp

# Encodings DuckDB reads itself; a file in another encoding is decoded by Python into a UTF-8 copy first.
DUCKDB_ENCODINGS = {"utf-8": "utf-8", "iso8859-1": "latin-1"}
NO_NULL = "\x01no null\x01"  # DuckDB's NULL string: no file holds it, so an empty value stays ''
BATCH_ROWS = 500_000  # rows handed on at a time: enough to keep every step set-based, small enough to stay bounded
FIRST_BATCH_ROWS = 50_000
CHUNK_ROWS = 50_000  # rows DuckDB hands over at a time (a batch gathers chunks): its buffers stay small
COPY_BLOCK = 1 << 20

# Every character Python's str.split() treats as whitespace (RE2 syntax); a "plain" code has none of them but single
# spaces between other characters, so normalise_code and normalise_text leave it as it is.
_SPACES = r"\t\n\x0b\x0c\r\x1c-\x1f \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}"
PLAIN_KEY = r"(?:[a-z0-9]+(?:_[a-z0-9]+)*)?"  # already what normalise_key returns
PLAIN_INTEGER = r"-?[0-9]{1,9}"
LINE_NUMBER = r"(?:[0-9]{1,9})?"
AMOUNT_POINT = r"[0-9]{1,13}(?:\.[0-9]{1,2})?"  # two decimals at most: exact in minor units, no rounding
AMOUNT_COMMA = r"[0-9]{1,13}(?:,[0-9]{1,2})?"
CHANNEL_SHAPE = r"[A-Za-z_]*"  # ASCII only: lower() then means what normalise_key means
# ISO 8601 as the fast pass reads it: a date, a date and time, with or without seconds and offset.
# Hours, minutes, seconds and offsets in range: DuckDB's cast reads the rest (and refuses a day the month does not
# have). An offset as large as 23:59 is one Python reads.
ISO_TIMESTAMP = (
    r"(?:1[89]|2[0-9])[0-9]{2}-[0-9]{2}-[0-9]{2}"
    r"(?:[T ](?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9])?(?:Z|[+-](?:[01][0-9]|2[0-3]):?[0-5][0-9])?)?"
)


# Control characters the whitespace above leaves out (cdp.ingest.reader.CONTROL_CHARACTERS): a value holding one is
# read by Python, which refuses its row.
_CONTROLS = r"\x{0}-\x{8}\x{e}-\x{1b}\x{7f}-\x{9f}"


def _plain(*, required: bool = False, exclude: str = "") -> str:
    """Text that normalise_code leaves as it is: runs of other characters with single spaces between them."""
    solid = f"[^{_SPACES}{_CONTROLS}{exclude}]"
    runs = f"{solid}+(?: {solid}+)*"
    return runs if required else f"(?:{runs})?"


@lru_cache(maxsize=1)
def _not_nfc_quick() -> str:
    """An RE2 class of the characters that can make a text not NFC: a text without them is NFC (Unicode's quick
    check says yes), so normalise_text leaves it as it is. Combining marks, characters NFC replaces, characters that
    compose with the one before them (second halves of canonical pairs, Hangul vowels and trailing consonants)."""
    flagged = set(range(0x1161, 0x1176)) | set(range(0x11A8, 0x11C3))
    # Planes 4 to 13 hold no character, 15 and 16 private use only: nothing there composes or decomposes.
    for code in itertools.chain(range(0x80, 0xD800), range(0xE000, 0x40000), range(0xE0000, 0xF0000)):
        char = chr(code)
        if unicodedata.combining(char) or unicodedata.normalize("NFC", char) != char:
            flagged.add(code)
        decomposition = unicodedata.decomposition(char)
        if decomposition and not decomposition.startswith("<") and len(parts := decomposition.split()) == 2:
            flagged.add(int(parts[1], 16))
    ranges: list[list[int]] = []
    for code in sorted(flagged):
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return "".join(f"\\x{{{a:x}}}" if a == b else f"\\x{{{a:x}}}-\\x{{{b:x}}}" for a, b in ranges)


def field_shapes(decimal_comma: bool) -> dict[str, str]:
    """Each field's plain shape, anchored: a value of that shape is read here as Python would read it."""
    amount = AMOUNT_COMMA if decimal_comma else AMOUNT_POINT
    shapes = {
        "receipt_id": _plain(required=True),
        "line": LINE_NUMBER,
        "customer_external_id": _plain(),
        "timestamp": ISO_TIMESTAMP,
        "store": _plain(),
        "channel": CHANNEL_SHAPE,
        "sku": _plain(required=True),
        "product_name": _plain(exclude=_not_nfc_quick()),
        "category": PLAIN_KEY,
        "quantity": PLAIN_INTEGER,
        "unit_price": amount,
        "discount": f"(?:{amount})?",
    }
    return {name: f"^(?:{shapes[name]})$" for name in TRANSACTION_FIELDS}


# Fields handed on as their raw text when their shape is plain (a plain value is what normalisation returns).
PLAIN_TEXT_FIELDS = ("receipt_id", "customer_external_id", "store", "sku", "product_name", "category")

# The typed columns of a row, as the writer reads them (rows Python reads are given the same shape).
TYPED_SCHEMA = pa.schema(
    [
        ("row_no", pa.int64()),
        ("receipt_id", pa.string()),
        ("line", pa.int32()),
        ("customer_external_id", pa.string()),
        ("store", pa.string()),
        ("channel", pa.string()),
        ("sku", pa.string()),
        ("product_name", pa.string()),
        ("category", pa.string()),
        ("quantity", pa.int32()),
        ("unit_price_minor", pa.int64()),
        ("discount_minor", pa.int64()),
        ("purchased_at", pa.timestamp("us")),  # UTC
    ]
)
TYPED_COLUMNS = tuple(TYPED_SCHEMA.names)


class ScanUnusable(Exception):
    """DuckDB cannot read the file as Python would (or not at all): the import goes the row-by-row way."""


def duck_literal(value: str) -> str:
    """A string literal for DuckDB's SQL."""
    return "'" + value.replace("'", "''") + "'"


@dataclass
class Batch:
    """Rows in file order: the typed valid ones, and the refused ones with their reasons and raw values."""

    first_row: int  # the row number (file line) of the batch's first row
    rows: int
    valid: pa.Table  # TYPED_SCHEMA
    rejected: list[tuple[int, str, list[str]]] = field(default_factory=list)  # (row number, reasons, raw values)


@dataclass
class ReceiptLineScan:
    """One file's scan: a private DuckDB database (in memory, spilling to a temporary folder) and the file's rows."""

    path: Path
    fields: list[str]
    options: t.ImportOptions
    ctx: RowContext
    folder: Path = field(init=False)
    db: duckdb.DuckDBPyConnection = field(init=False)
    read_path: Path = field(init=False)
    rows_read: int = 0  # rows with values
    lines_scanned: int = 0  # lines after the header, blank ones included

    def __post_init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="clientele-scan-"))
        self.db = duckdb.connect(":memory:", config={"threads": os.cpu_count() or 1})
        self.db.execute(f"SET memory_limit = {duck_literal(settings.INGEST_SCAN_MEMORY)}")
        self.db.execute(f"SET temp_directory = {duck_literal(str(self.folder / 'spill'))}")
        self.db.execute("SET preserve_insertion_order = true")
        self.db.execute("SET TimeZone = 'UTC'")  # a TIMESTAMPTZ cast to TIMESTAMP gives UTC
        # Memory freed by a query goes back to the system soon: batches come and go, the process stays small.
        self.db.execute("SET allocator_flush_threshold = '16MB'")
        self.db.execute("SET allocator_bulk_deallocation_flush_threshold = '16MB'")
        self.read_path = self.path

    def close(self) -> None:
        self.db.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> ReceiptLineScan:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ----------------------------------------------------------------------------------------------------------------
    # Reading the file

    @cached_property
    def _encoding(self) -> str:
        """The encoding DuckDB reads; other encodings are decoded into a UTF-8 copy (strictly: a bad byte stops)."""
        name = codecs.lookup(self.options.encoding).name
        if name in DUCKDB_ENCODINGS:
            return DUCKDB_ENCODINGS[name]
        copy = self.folder / "utf8.csv"
        decoder = codecs.getincrementaldecoder(name)("strict")
        try:
            with self.path.open("rb") as source, copy.open("wb") as target:
                while block := source.read(COPY_BLOCK):
                    target.write(decoder.decode(block).encode("utf-8"))
                target.write(decoder.decode(b"", final=True).encode("utf-8"))
        except UnicodeDecodeError as exc:
            raise ScanUnusable("bytes invalid in the encoding") from exc
        self.read_path = copy
        return "utf-8"

    def _source(self) -> str:
        """The file as DuckDB reads it: every value text, an empty value '' and a missing one NULL (a short row is
        padded, as Python pads it), and one column more than the header for a value too many, which Python refuses."""
        columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(self.fields))) + ", 'extra': 'VARCHAR'}"
        encoding = self._encoding  # (first: a file it decodes is read from its UTF-8 copy)
        return (
            f"read_csv({duck_literal(str(self.read_path))}, header = true, columns = {columns}, "
            f"delim = {duck_literal(self.options.delimiter)}, quote = '\"', escape = '\"', "
            f"encoding = {duck_literal(encoding)}, nullstr = {duck_literal(NO_NULL)}, allow_quoted_nulls = false, "
            "null_padding = true, auto_detect = false, strict_mode = true, parallel = true)"
        )

    def _raw(self, name: str) -> str:
        """The raw text of a field ('' when the file has no such column, or the cell is empty)."""
        return f"coalesce(c{self.fields.index(name)}, '')" if name in self.fields else "''"

    @cached_property
    def _text_columns(self) -> dict[str, str]:
        """Where the scan's output holds each field's raw text: the text fields are handed on as they are (a plain
        value is its own normal form), the others beside their typed value."""
        return {name: name if name in PLAIN_TEXT_FIELDS else f"text_{name}" for name in TRANSACTION_FIELDS}

    def _raw_columns(self) -> list[str]:
        """The output columns that give a row's raw values, in the file's column order."""
        texts = self._text_columns
        return [texts.get(name, f"raw_{i}") for i, name in enumerate(self.fields)]

    def scan_sql(self) -> str:
        """Every row, typed as far as its values allow, with their raw text; `fast` when nothing but the shapes of
        its values (checked per batch, on distinct values: `_shapes`) stands between the row and its typed values.

        A local time without offset is read in the retailer's time zone, and left to Python when it is ambiguous or
        does not exist (the hours clocks repeat or skip). Every conversion is a TRY_ one: a value of another shape
        becomes NULL here and its row goes to Python.
        """
        lengths = " AND ".join(  # characters counted only when the bytes are too many
            f"CASE WHEN strlen(k_{name}) <= {limit} THEN true ELSE length(k_{name}) <= {limit} END"
            for name, limit in TRANSACTION_MAX_LENGTHS.items()
        )
        number = "replace({}, ',', '.')" if self.options.decimal_comma else "{}"
        channels = " ".join(f"WHEN '{key}' THEN '{value}'" for key, value in CHANNEL_SYNONYMS.items())
        canonical = " ".join(f"WHEN '{value}' THEN '{value}'" for value in sorted(set(CHANNEL_SYNONYMS.values())))
        tz = duck_literal(settings.TIME_ZONE)
        keys = ", ".join(f"{self._raw(name)} AS k_{name}" for name in TRANSACTION_FIELDS)
        raw = ", ".join(f"c{i}" for i in range(len(self.fields)))
        texts = ", ".join(f"k_{name} AS {column}" for name, column in self._text_columns.items())
        others = "".join(
            f", coalesce(c{i}, '') AS {column}" for i, column in enumerate(self._raw_columns()) if column == f"raw_{i}"
        )
        one_value = "true" if len(self.fields) == 1 else "c1 IS NULL"
        usual = "length(k_timestamp) = 25 AND substr(k_timestamp, 11, 1) = 'T'"
        if self.options.date_format:  # a custom format: Python reads each distinct timestamp (`_custom_times`)
            purchased_at, time_checks = "NULL::TIMESTAMP", "true"
        else:
            purchased_at = f"""CASE
                 WHEN usual_time THEN CAST(try_strptime(k_timestamp, '%Y-%m-%dT%H:%M:%S%z') AS TIMESTAMP)
                 WHEN local_ts IS NULL THEN NULL
                 WHEN tz_text = 'Z' THEN local_ts
                 WHEN tz_text = '' THEN timezone('UTC', timezone({tz}, local_ts))
                 ELSE local_ts - to_minutes((CASE left(tz_text, 1) WHEN '-' THEN -1 ELSE 1 END)
                                            * (TRY_CAST(substr(tz_text, 2, 2) AS INTEGER) * 60
                                               + TRY_CAST(right(tz_text, 2) AS INTEGER)))
            END"""
            time_checks = f"""purchased_at <= $latest
              AND CASE WHEN tz_text <> '' THEN true ELSE
                    timezone({tz}, timezone('UTC', purchased_at)) = local_ts
                    AND timezone({tz}, timezone('UTC', purchased_at) + INTERVAL 1 HOUR) <> local_ts
                    AND timezone({tz}, timezone('UTC', purchased_at) - INTERVAL 1 HOUR) <> local_ts END"""
        return f"""
        WITH r AS (
          SELECT {raw}, extra, {keys}, {one_value} AND regexp_full_match(c0, '[{_SPACES}]*') AS blank
          FROM {self._source()}
        ), v AS (
          SELECT r.*, extra IS NULL AND {lengths} AS sound,
            CASE WHEN k_line <> '' THEN TRY_CAST(k_line AS INTEGER) END AS line,
            TRY_CAST(k_quantity AS INTEGER) AS quantity,
            (TRY_CAST({number.format("k_unit_price")} AS DECIMAL(15, 2)) * 100)::BIGINT AS unit_price_minor,
            CASE WHEN k_discount = '' THEN 0
                 ELSE (TRY_CAST({number.format("k_discount")} AS DECIMAL(15, 2)) * 100)::BIGINT END AS discount_minor,
            CASE k_channel WHEN '' THEN '' {canonical} ELSE CASE lower(k_channel) {channels} END END AS channel,
            {usual} AS usual_time,
            CASE WHEN {usual} OR k_timestamp < '1800' OR k_timestamp >= '3000' THEN NULL
                 WHEN substr(k_timestamp, 17, 1) = ':' THEN TRY_CAST(left(k_timestamp, 19) AS TIMESTAMP)
                 WHEN length(k_timestamp) >= 16 THEN TRY_CAST(left(k_timestamp, 16) || ':00' AS TIMESTAMP)
                 ELSE TRY_CAST(k_timestamp AS TIMESTAMP) END AS local_ts,
            CASE WHEN {usual} THEN substr(k_timestamp, 20)
                 WHEN substr(k_timestamp, 17, 1) = ':' THEN substr(k_timestamp, 20)
                 WHEN length(k_timestamp) >= 16 THEN substr(k_timestamp, 17)
                 ELSE '' END AS tz_text
          FROM r
        ), w AS (
          SELECT v.*, {purchased_at} AS purchased_at
          FROM v
        ), e AS (
          SELECT w.*, coalesce(
              sound AND coalesce(line, 1) >= 1 AND channel IS NOT NULL AND quantity <> 0
              AND discount_minor <= abs(quantity)::HUGEINT * unit_price_minor
              AND {time_checks},
              false) AS fast
          FROM w
        )
        SELECT blank, fast, line, channel, quantity, unit_price_minor, discount_minor, purchased_at, {texts}{others},
          extra
        FROM e
        """

    def batches(self) -> Iterator[Batch]:
        """The file's rows in batches, in file order; raises ScanUnusable when DuckDB cannot read it as Python would."""
        latest = (self.ctx.now + FUTURE_TOLERANCE).astimezone(dt.UTC).replace(tzinfo=None)
        try:
            sql = self.scan_sql()
            params = {"latest": latest} if "$latest" in sql else None
            reader = self.db.sql(sql, params=params).to_arrow_reader(CHUNK_ROWS)
            # The file's lines are counted beside the scan (the count is only needed once the rows are all read).
            counting = ThreadPoolExecutor(max_workers=1, thread_name_prefix="receipt-lines")
            lines = counting.submit(data_lines, self.read_path)
            counting.shutdown(wait=False)
            pending: list[pa.RecordBatch] = []
            size, wanted = 0, FIRST_BATCH_ROWS  # a small first batch, so that the writing starts early
            for chunk in reader:
                pending.append(chunk)
                size += chunk.num_rows
                if size >= wanted:
                    yield self._batch(pa.Table.from_batches(pending))
                    pending, size, wanted = [], 0, min(wanted * 2, BATCH_ROWS)
                    pa.default_memory_pool().release_unused()  # likewise what Arrow freed
            if pending:
                yield self._batch(pa.Table.from_batches(pending))
        except duckdb.Error as exc:
            raise ScanUnusable(str(exc).splitlines()[0]) from exc
        if self.lines_scanned != lines.result():
            # DuckDB skips blank lines and Python counts them: the row numbers would not be the file's lines.
            raise ScanUnusable("blank lines between rows")

    def _shapes(self, table: pa.Table) -> pa.Array | None:
        """Which rows have every value in its plain shape (None: all of them). Each distinct value of the batch is
        matched once: a file repeats its stores, products, prices and customers on many rows."""
        plain = None
        for name, shape in self._field_shapes.items():
            column = table.column(self._text_columns[name])
            values = pc.unique(column)
            matches = pc.match_substring_regex(values, shape)
            if pc.all(matches).as_py():
                continue
            bad = pc.invert(pc.is_in(column, value_set=values.filter(pc.invert(matches))))
            plain = bad if plain is None else pc.and_(plain, bad)
        return plain

    @cached_property
    def _field_shapes(self) -> dict[str, str]:
        shapes = field_shapes(self.options.decimal_comma)
        if self.options.date_format:  # timestamps are read by Python (`_custom_times`), whatever their shape
            del shapes["timestamp"]
        return shapes

    def _custom_times(self, column: pa.ChunkedArray) -> pa.Array:
        """With a custom date format: each distinct timestamp of the batch read once by the row-by-row path's own
        parser, in UTC; NULL where it is unreadable or in the future (its rows then go to Python, which says why)."""
        values = pc.unique(column)
        latest = self.ctx.now + FUTURE_TOLERANCE
        moments = []
        for text in values.to_pylist():
            try:
                moment = parse_timestamp(text, self.ctx.tz, self.options.date_format)
            except NormalisationError:
                moment = None
            readable = moment is not None and moment <= latest
            moments.append(moment.astimezone(dt.UTC).replace(tzinfo=None) if readable else None)
        return pc.take(pa.array(moments, pa.timestamp("us")), pc.index_in(column, value_set=values))

    def _batch(self, table: pa.Table) -> Batch:
        first = self.lines_scanned + 2  # the header is line 1
        count = table.num_rows
        self.lines_scanned += count
        table = table.add_column(0, "row_no", pa.array(np.arange(first, first + count, dtype=np.int64)))
        blank = table.column("blank")
        if pc.any(blank).as_py():  # a line of blanks only: skipped, as Python skips it
            table = table.filter(pc.invert(blank))
        self.rows_read += table.num_rows
        if self.options.date_format:
            purchased_at = self._custom_times(table.column("text_timestamp"))
            table = table.set_column(table.schema.get_field_index("purchased_at"), "purchased_at", purchased_at)
            table = table.set_column(
                table.schema.get_field_index("fast"), "fast", pc.and_(table.column("fast"), purchased_at.is_valid())
            )
        fast = table.column("fast")
        plain = self._shapes(table)
        if plain is not None:
            fast = pc.and_(fast, plain)
        typed = table.select(TYPED_COLUMNS)
        if pc.all(fast).as_py():  # the usual case: every row read here
            return Batch(first_row=first, rows=table.num_rows, valid=typed.cast(TYPED_SCHEMA))
        batch = Batch(first_row=first, rows=table.num_rows, valid=typed.filter(fast).cast(TYPED_SCHEMA))
        self._read_slow_rows(table.filter(pc.invert(fast)), batch)
        return batch

    def _read_slow_rows(self, slow: pa.Table, batch: Batch) -> None:
        """Rows the fast pass did not read: Python's parser decides, as on the row-by-row path."""
        raw_names = self._raw_columns()
        parsed = []
        for record in slow.select(["row_no", *dict.fromkeys(raw_names), "extra"]).to_pylist():
            values = [record[name] for name in raw_names]
            raw = dict(zip(self.fields, values, strict=True))
            if record["extra"] is not None:
                raw["__extra__"] = [record["extra"]]
            try:
                row = parse_transaction(raw, self.ctx)
            except t.RowRejected as exc:
                batch.rejected.append((record["row_no"], "; ".join(exc.reasons), values))
                continue
            parsed.append(
                {
                    "row_no": record["row_no"],
                    **{name: getattr(row, name) for name in TYPED_COLUMNS[1:] if name != "purchased_at"},
                    "purchased_at": row.purchased_at.astimezone(dt.UTC).replace(tzinfo=None),
                }
            )
        if parsed:
            batch.valid = pa.concat_tables([batch.valid, pa.Table.from_pylist(parsed, schema=TYPED_SCHEMA)])

    def original_rows_sql(self, wanted: str) -> str:
        """Some of the file's rows again (`wanted`: a query of line numbers), with their values as a list: for rows
        refused after the fast pass, whose values are not kept."""
        columns = ", ".join(f"c{i}" for i in range(len(self.fields)))
        values = ", ".join(f"coalesce(c{i}, '')" for i in range(len(self.fields)))
        return f"""SELECT row_no, [{values}] AS raw FROM (
                     SELECT ordinality + 1 AS row_no, {columns} FROM {self._source()} WITH ORDINALITY)
                   WHERE row_no IN ({wanted})"""


def data_lines(path: Path) -> int:
    """Lines after the header, trailing blank lines left out (Python and DuckDB both skip those)."""
    lines = 0
    tail = b""  # the last block, with the blocks of blanks only after it
    with path.open("rb") as handle:
        while block := handle.read(COPY_BLOCK):
            lines += block.count(b"\n")
            tail = tail + block if block.isspace() else block
    stripped = tail.rstrip(b" \t\r\n")
    # Each line feed before the last value ends a line; the header's is one of them, the last line's may be missing.
    return lines - tail[len(stripped) :].count(b"\n")
