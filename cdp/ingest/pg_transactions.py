"""The PostgreSQL path for receipt lines: DuckDB reads and checks the file, PostgreSQL takes the rows through COPY.

1. DuckDB reads the file with every core and checks each row (cdp.ingest.receipt_scan); rows arrive in file order,
   in batches, typed; rows with unusual shapes are read by the row-by-row path's own parser, so both paths accept,
   convert and refuse alike. The scan runs in a thread of its own, a batch or two ahead of the writing.
2. Each batch is written while the next one is read: new products get their rows, new receipts their ids (reserved
   from the receipts' sequence); the receipts first seen in the batch (totals, item count, the first row's customer,
   store, channel and time) and the lines of new receipts go straight into the tables through `COPY`, run by a
   thread of their own: receipts in PostgreSQL's binary format (cdp.ingest.pg_binary: their timestamps and texts
   cost the server no parsing), lines in its text format. Sums a later batch adds to a receipt already written are
   added at the end.
3. Receipts the database already has (a re-import, a correction) are merged with set-based SQL at the end: header
   updated, lines compared one by one, totals summed again from the database.
4. A (receipt, line) repeated in the file is refused, the first row kept. For new receipts the unique index of the
   lines says whether the file has such a pair: when it does, the import is rolled back to its savepoint and done
   again with the explicit check, which is only paid when needed.

A file bigger than what the receipt tables already hold (a first load of history, typically) is a bulk load, as
PostgreSQL's documentation describes for populating a database: the indexes of receipts and lines (the lines'
primary key too) are dropped before the inserts and built again after them (one sort per index instead of one descent
per row, which is most of an insert's cost), and the two tables are locked until the commit. Readers of receipts wait
for such an import; a smaller import (the daily delta) keeps the indexes and the tables readable.

All of it runs in the caller's transaction: the file is one batch, written whole or not at all.

Per-row foreign-key triggers cost as much as the inserts themselves (one lookup and one row lock per line, queued
until the commit). When the database role may set `session_replication_role` (a superuser, or `GRANT SET ON
PARAMETER session_replication_role` on PostgreSQL 15+), the inserts run without them: every id they write was read
in this transaction, and the rows it points to (source, stores, products, customers) are locked FOR KEY SHARE when
they are read, as the triggers would have done, so a concurrent delete waits for this import and then fails its own
check. Without the privilege the triggers run.
"""

from __future__ import annotations

import io
import logging
import queue
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import duckdb
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from cdp.ingest import pg_binary
from cdp.ingest import types as t
from cdp.ingest.receipt_scan import TYPED_COLUMNS, Batch, ReceiptLineScan, ScanUnusable, duck_literal
from cdp.ingest.rows import RowContext
from consent.services.suppression import (
    Kind,
    external_id_value,
    suppressed_digests,
    suppression_digest,
    suppression_has_any,
)

logger = logging.getLogger(__name__)

UNIQUE_LINE = "receiptline_unique_line"
COPY_BLOCK = 1 << 20
COPY_SLICE_ROWS = 100_000  # rows encoded at a time for COPY
REJECTS_CHUNK = 50_000
QUEUED_CHUNKS = 6  # chunks the reading side may be ahead of the writing: its lead, and a bound on memory

# The import's own settings, for its transaction only. Hash aggregates and joins over the staged rows stay in
# memory; the commit does not wait for the WAL flush (the batch record written right after it does); JIT compilation
# costs more than it saves on these one-off statements.
TRANSACTION_SETTINGS = {
    "work_mem": "256MB",
    "maintenance_work_mem": "256MB",
    "synchronous_commit": "off",
    "jit": "off",
}
CSV_OPTIONS = pa_csv.WriteOptions(include_header=False, quoting_style="needed")  # NULL unquoted, '' quoted
TEXT_OPTIONS = pa_csv.WriteOptions(include_header=False, delimiter="\t", quoting_style="none")  # numbers only


@dataclass(frozen=True)
class Staging:
    """The names of one import's PostgreSQL tables (unique, so imports running at the same time never meet)."""

    prefix: str = field(default_factory=lambda: f"ingest_{uuid.uuid4().hex[:16]}")

    @property
    def tables(self) -> dict[str, str]:
        names = ("lookup", "catalogue", "deltas", "stg", "receipts")
        return {name: f"{self.prefix}_{name}" for name in names}

    def sql(self, template: str, **extra: str) -> str:
        """A statement with the staging tables' names (and other identifiers of ours, never user input) filled in."""
        return template.format(**self.tables, **extra)


@dataclass(frozen=True)
class PgImport:
    """What the import needs from the file: its column names (as mapped) and the import's options."""

    path: Path
    fields: list[str]
    options: t.ImportOptions
    source_id: int
    staging: Staging = field(default_factory=Staging)


def supported(options: t.ImportOptions) -> bool:
    """Whether this path reads a file imported with these options: every option is read by the scan (a custom date
    format by Python, once per distinct timestamp)."""
    return True


def _tune_transaction(cursor) -> None:
    for name, value in TRANSACTION_SETTINGS.items():
        cursor.execute("SELECT set_config(%s, %s, true)", [name, value])


def _table(duck, query: str, params: dict | None = None) -> pa.Table:
    """A DuckDB query's result as an Arrow table (streamed from the query, not copied from a cursor's result)."""
    return duck.sql(query, params=params).to_arrow_table()


def _csv(table: pa.Table, options: pa_csv.WriteOptions = CSV_OPTIONS) -> bytes:
    sink = io.BytesIO()
    pa_csv.write_csv(table, sink, options)
    return sink.getvalue()


def _slices(table: pa.Table) -> Iterator[pa.Table]:
    """A table in slices of COPY_SLICE_ROWS rows (zero-copy), encoded one at a time while the server reads the last."""
    for start in range(0, table.num_rows, COPY_SLICE_ROWS):
        yield table.slice(start, COPY_SLICE_ROWS)


def _copy(cursor, target: str, table: pa.Table) -> int:
    """COPY an Arrow table into `target` ("table (columns)"); its rows' count."""
    if table.num_rows == 0:
        return 0
    with cursor.cursor.copy(f"COPY {target} FROM STDIN (FORMAT csv)") as copy:
        for part in _slices(table):
            copy.write(_csv(part))
    return table.num_rows


# ---------------------------------------------------------------------------------------------------------------------
# Bulk load: indexes dropped during the inserts and built again after them

BULK_TABLES = ("cdp_receipt", "cdp_receiptline")
BULK_LOCK_TIMEOUT = "5s"  # a bulk load waits this long for readers to finish, then imports with the indexes kept

# The tables' indexes (a primary key too, unless a foreign key relies on it), with what builds them again: each
# index's own definition and, for a constraint, its name and kind. Keeping the lines' primary key during the inserts
# would cost more than the rest of their COPY; the receipts' stays, as the lines' foreign key refers to it. A
# deferrable constraint cannot be rebuilt from an index: then there is no bulk load.
BULK_INDEXES = """
    SELECT i.indrelid::regclass::text, i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid),
      quote_ident(c.conname), c.contype, coalesce(c.condeferrable, false)
    FROM pg_index i
    LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid AND c.contype IN ('u', 'p')
    WHERE i.indrelid = ANY(%s::regclass[])
      AND NOT (i.indisprimary AND EXISTS (
        SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = i.indexrelid))
    ORDER BY 1, 2
"""
CONSTRAINT_KINDS = {"u": "UNIQUE", "p": "PRIMARY KEY"}


def estimated_lines(path: Path) -> int:
    """The file's rows, estimated from the lines of its first megabyte (exact for a smaller file)."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(1 << 20)
    lines = max(head.count(b"\n"), 1)
    return max(lines - 1, 0) if len(head) >= size else int(size / (len(head) / lines))


def bulk_load(lines: int) -> bool:
    """Lock the receipt tables for a bulk load when the file brings more lines than they hold; True when it did.

    Decided before the import reads the tables, so that two imports never wait for each other's lock upgrade. The
    size of the table comes from the catalogue (no lock on it); the role must own the tables to drop their indexes.
    """
    if lines < settings.INGEST_BULK_LOAD_MIN_LINES:
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT CASE WHEN reltuples >= 0 THEN reltuples ELSE pg_relation_size(oid) / 64 END,
                 pg_has_role(relowner, 'USAGE')
               FROM pg_class WHERE oid = 'cdp_receiptline'::regclass"""
        )
        held, owner = cursor.fetchone()
        if not owner or lines <= held:
            return False
        cursor.execute("SELECT current_setting('lock_timeout')")
        (timeout,) = cursor.fetchone()
        try:
            with transaction.atomic():
                cursor.execute("SELECT set_config('lock_timeout', %s, true)", [BULK_LOCK_TIMEOUT])
                cursor.execute(f"LOCK TABLE {', '.join(BULK_TABLES)} IN ACCESS EXCLUSIVE MODE")
        except DatabaseError:  # readers kept the tables past the timeout: the indexes stay
            return False
        finally:
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [timeout])
    return True


def _drop_indexes(cursor) -> list[tuple[str, str, str, str | None, str | None]] | None:
    """Drop the receipt tables' indexes for the inserts; what builds them again, or None when one cannot be rebuilt."""
    cursor.execute(BULK_INDEXES, [list(BULK_TABLES)])
    indexes = cursor.fetchall()
    if any(deferrable for *_, deferrable in indexes):
        return None
    for table, index, _definition, constraint, _kind, _deferrable in indexes:
        cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {constraint}" if constraint else f"DROP INDEX {index}")
    return [row[:5] for row in indexes]


def _build_indexes(cursor, indexes: list[tuple[str, str, str, str | None, str | None]]) -> None:
    """Build the dropped indexes again, as they were; a unique one fails on a duplicate as the inserts would have."""
    cursor.execute("SELECT current_setting('default_statistics_target')")
    (target,) = cursor.fetchone()
    for table, index, definition, constraint, kind in indexes:
        cursor.execute(definition)
        if constraint:
            cursor.execute(
                f"ALTER TABLE {table} ADD CONSTRAINT {constraint} {CONSTRAINT_KINDS[kind]} USING INDEX {index}"
            )
    # Statistics for the planner at once, from a small sample (autovacuum analyses the tables fully soon after).
    cursor.execute("SELECT set_config('default_statistics_target', '10', true)")
    cursor.execute(f"ANALYZE {', '.join(BULK_TABLES)}")
    cursor.execute("SELECT set_config('default_statistics_target', %s, true)", [target])


def _skip_row_triggers(cursor) -> bool:
    """Turn the per-row foreign-key triggers off for this transaction when the role may; True when it did."""
    try:
        with transaction.atomic():
            cursor.execute("SELECT set_config('session_replication_role', 'replica', true)")
    except DatabaseError:  # the role may not: the triggers check each row
        return False
    return True


# ---------------------------------------------------------------------------------------------------------------------
# The catalogue and the receipts the database already has (set-based SQL over the import's staging tables)

# The catalogue as the file names it: one row per distinct (store, channel, sku, name, category), with its last row.
MERGE_CATALOGUE = [
    """INSERT INTO cdp_store (code, name, kind, city, postcode)
       SELECT DISTINCT ON (store) store, '',
         CASE channel WHEN 'web' THEN 'web' WHEN 'app' THEN 'app' WHEN 'phone' THEN 'call_centre' ELSE 'store' END,
         '', ''
       FROM {catalogue} WHERE store <> '' ORDER BY store, last_row DESC
       ON CONFLICT (code) DO NOTHING""",
    """INSERT INTO cdp_category (key, name)
       SELECT key, upper(left(replace(key, '_', ' '), 1)) || lower(substr(replace(key, '_', ' '), 2))
       FROM (SELECT DISTINCT category AS key FROM {catalogue} WHERE category <> '') k
       ON CONFLICT (key) DO NOTHING""",
    """INSERT INTO cdp_product (sku, name, category_id, created_at)
       SELECT DISTINCT ON (s.sku) s.sku, s.product_name, c.id, now()
       FROM {catalogue} s LEFT JOIN cdp_category c ON c.key = s.category
       ORDER BY s.sku, s.last_row DESC
       ON CONFLICT (sku) DO UPDATE SET
         name = CASE WHEN EXCLUDED.name <> '' THEN EXCLUDED.name ELSE cdp_product.name END,
         category_id = coalesce(EXCLUDED.category_id, cdp_product.category_id)
       WHERE (CASE WHEN EXCLUDED.name <> '' THEN EXCLUDED.name ELSE cdp_product.name END,
              coalesce(EXCLUDED.category_id, cdp_product.category_id))
             IS DISTINCT FROM (cdp_product.name, cdp_product.category_id)""",
]
CATALOGUE_COLUMNS = "store text, channel text, sku text, product_name text, category text, last_row bigint"

NUMBERED_LINE = "coalesce(s.line, row_number() OVER (PARTITION BY s.receipt_id, s.line IS NULL ORDER BY s.row_no))"

# Receipts the database already has: header updated (a customer linked since is kept), lines compared one by one.
UPDATE_RECEIPTS = """
    UPDATE cdp_receipt e SET
      customer_id = coalesce(sr.customer_id, e.customer_id), customer_external_id = r.customer_external_id,
      store_id = st.id, channel = r.channel, purchased_at = r.purchased_at
    FROM {receipts} r
    LEFT JOIN cdp_sourcerecord sr
      ON r.customer_external_id <> '' AND sr.source_id = %(source)s AND sr.external_id = r.customer_external_id
    LEFT JOIN cdp_store st ON st.code = r.store AND r.store <> ''
    WHERE e.id = r.existing_id
      AND (coalesce(sr.customer_id, e.customer_id), r.customer_external_id, st.id, r.channel, r.purchased_at)
          IS DISTINCT FROM (e.customer_id, e.customer_external_id, e.store_id, e.channel, e.purchased_at)
"""

EXISTING_LINES = """
    WITH n AS (
      SELECT r.existing_id AS receipt_id, {line_no} AS line_no, p.id AS product_id, s.quantity, s.unit_price_minor,
             s.discount_minor
      FROM {stg} s
      JOIN {receipts} r ON r.receipt_id = s.receipt_id
      JOIN cdp_product p ON p.sku = s.sku
    ), changed AS (
      UPDATE cdp_receiptline l SET product_id = n.product_id, quantity = n.quantity,
          unit_price_minor = n.unit_price_minor, discount_minor = n.discount_minor,
          amount_minor = n.quantity * n.unit_price_minor - n.discount_minor
      FROM n
      WHERE l.receipt_id = n.receipt_id AND l.line_no = n.line_no
        AND (l.product_id, l.quantity, l.unit_price_minor, l.discount_minor)
            IS DISTINCT FROM (n.product_id, n.quantity, n.unit_price_minor, n.discount_minor)
      RETURNING 1
    ), added AS (
      INSERT INTO cdp_receiptline (receipt_id, line_no, product_id, quantity, unit_price_minor, discount_minor,
                                   amount_minor)
      SELECT n.receipt_id, n.line_no, n.product_id, n.quantity, n.unit_price_minor, n.discount_minor,
             n.quantity * n.unit_price_minor - n.discount_minor
      FROM n
      WHERE NOT EXISTS (SELECT 1 FROM cdp_receiptline l WHERE l.receipt_id = n.receipt_id AND l.line_no = n.line_no)
      RETURNING 1
    )
    SELECT (SELECT count(*) FROM added), (SELECT count(*) FROM changed)
"""

EXISTING_TOTALS = """
    UPDATE cdp_receipt r SET total_minor = t.total, discount_minor = t.discount, item_count = t.items
    FROM (
      SELECT l.receipt_id, sum(l.amount_minor) AS total, sum(l.discount_minor) AS discount, sum(l.quantity) AS items
      FROM cdp_receiptline l
      WHERE l.receipt_id IN (SELECT existing_id FROM {receipts})
      GROUP BY l.receipt_id
    ) t
    WHERE r.id = t.receipt_id
      AND (r.total_minor, r.discount_minor, r.item_count) IS DISTINCT FROM (t.total, t.discount, t.items)
"""

# Receipts that gained lines in a later batch than the one that wrote them: their sums are added at the end.
ADD_TO_TOTALS = """
    UPDATE cdp_receipt r SET total_minor = r.total_minor + d.total, discount_minor = r.discount_minor + d.discount,
      item_count = r.item_count + d.items
    FROM {deltas} d WHERE r.id = d.id
"""

# ---------------------------------------------------------------------------------------------------------------------
# Between the reading and the writing: what the reading thread hands to the writing one, in order


@dataclass
class Request:
    """Something only the writing side can answer (it holds the database connection); the reading side waits."""

    kind: str  # "existing": ids of receipts the database has; "ids": more new receipt ids
    payload: object
    answer: object = None
    done: threading.Event = field(default_factory=threading.Event)


@dataclass
class Chunk:
    """Rows for the writing side: `kind` says which (products, stores, receipts, lines, deltas, catalogue, existing)."""

    kind: str
    table: pa.Table
    path: Path | None = None  # rows written as CSV into a file
    extra_path: Path | None = None  # a second file (the existing receipts' headers)
    rows: int = 0  # rows the chunk holds, in its table or its file
    unnumbered: int = 0  # rows without a line number
    lines_read: int = 0  # for the progress bar


class IdPool:
    """Receipt ids reserved from the receipts' sequence, as runs (first, count), handed out in order."""

    def __init__(self) -> None:
        self.runs: list[list[int]] = []

    def add(self, runs: list[tuple[int, int]]) -> None:
        self.runs.extend([first, count] for first, count in runs)

    def available(self) -> int:
        return sum(count for _, count in self.runs)

    def take(self, count: int) -> pa.Table:
        """(first n, first id, count) runs covering the next `count` ids, n numbering them from 1."""
        taken, n = [], 1
        while count:
            first, available = self.runs[0]
            used = min(count, available)
            taken.append((n, first, used))
            n, count = n + used, count - used
            if used == available:
                self.runs.pop(0)
            else:
                self.runs[0] = [first + used, available - used]
        return pa.table(
            {
                "first_n": pa.array([r[0] for r in taken], pa.int64()),
                "first_id": pa.array([r[1] for r in taken], pa.int64()),
                "ids": pa.array([r[2] for r in taken], pa.int64()),
            }
        )


def reserve_ids(cursor, count: int, *, contiguous: bool, table: str = "cdp_receipt") -> list[tuple[int, int]]:
    """`count` new ids of `table`, as runs (first, count). In a bulk load the table is locked, so one jump of the
    sequence reserves them; otherwise each is drawn, as other sessions may draw theirs meanwhile."""
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
    (sequence,) = cursor.fetchone()
    if contiguous:
        cursor.execute("SELECT nextval(%s)", [sequence])
        (first,) = cursor.fetchone()
        cursor.execute("SELECT setval(%s, %s)", [sequence, first + count - 1])
        return [(first, count)]
    cursor.execute(
        """SELECT min(id), count(*) FROM (
             SELECT id, id - row_number() OVER (ORDER BY id) AS run
             FROM (SELECT nextval(%s) AS id FROM generate_series(1, %s)) s) r
           GROUP BY run ORDER BY 1""",
        [sequence, count],
    )
    return cursor.fetchall()


STATE_TABLES = """
    CREATE OR REPLACE TABLE receipt_map (receipt_id VARCHAR, id BIGINT, existing BOOLEAN, batch INTEGER);
    CREATE OR REPLACE TABLE unnumbered (receipt_key BIGINT, lines BIGINT);
    CREATE OR REPLACE TABLE deltas (id BIGINT, total HUGEINT, discount HUGEINT, items HUGEINT);
    CREATE OR REPLACE TABLE catalogue (
      store VARCHAR, channel VARCHAR, sku VARCHAR, product_name VARCHAR, category VARCHAR, last_row BIGINT);
    CREATE OR REPLACE TABLE products (sku VARCHAR, id BIGINT);
    CREATE OR REPLACE TABLE stores (store VARCHAR);
    CREATE OR REPLACE TABLE seen_lines (receipt_id VARCHAR, line INTEGER, row_no BIGINT);
    CREATE OR REPLACE TABLE rejects (row_no BIGINT, reasons VARCHAR, raw VARCHAR[]);
    CREATE OR REPLACE TABLE existing_rows (
      row_no BIGINT, receipt_id VARCHAR, line INTEGER, customer_external_id VARCHAR, store VARCHAR, channel VARCHAR,
      sku VARCHAR, product_name VARCHAR, category VARCHAR, quantity INTEGER, unit_price_minor BIGINT,
      discount_minor BIGINT, purchased_at TIMESTAMP);
"""
UTC_TEXT = "strftime({}, '%Y-%m-%d %H:%M:%S.%f') || '+00'"  # a UTC timestamp as PostgreSQL reads it

# The PostgreSQL types of the columns written in binary (cdp.ingest.pg_binary), as the models declare them.
RECEIPT_TYPES = {
    "id": "bigint",
    "source_id": "bigint",
    "purchased_at": "timestamptz",
    "total_minor": "bigint",
    "discount_minor": "bigint",
    "item_count": "integer",
    "created_at": "timestamptz",
    "customer_id": "uuid",
    "store_id": "bigint",
    "receipt_id": "text",
    "customer_external_id": "text",
    "channel": "text",
    "currency": "text",
}


@dataclass
class Setup:
    """What the reading side learns from the database before it starts."""

    source_key: str
    source_has_receipts: bool
    erased: frozenset[str]  # digests of erased subjects' external ids (the suppression list)
    check_repeats: bool


class Bookkeeping:
    """The reading side: the scan's batches checked against each other and turned into rows to write (DuckDB)."""

    def __init__(self, scan: ReceiptLineScan, setup: Setup, pool: IdPool, line_pool: IdPool | None):
        self.scan = scan
        self.setup = setup
        self.pool = pool
        self.line_pool = line_pool  # in a bulk load, the lines' ids are reserved too: cheaper than one default each
        self.duck = scan.db.cursor()
        self.duck.execute(STATE_TABLES)
        self.batch_no = 0
        self.staged = 0

    def _insert(self, table: str, columns: str, rows: pa.Table) -> None:
        self.duck.register("incoming", rows)
        try:
            self.duck.execute(f"INSERT INTO {table} SELECT {columns} FROM incoming")
        finally:
            self.duck.unregister("incoming")

    def _reject(self, row_no: pa.Array, reasons: pa.Array | str) -> None:
        """Refuse rows after the scan read them: their values are read again from the file at the end."""
        if isinstance(reasons, str):
            reasons = pa.array([reasons] * len(row_no), pa.string())
        self._insert("rejects", "row_no, reasons, NULL", pa.table({"row_no": row_no, "reasons": reasons}))

    def chunks(self) -> Iterator[Chunk | Request]:
        # The scan reads the next batch while this one is booked (it runs on its own DuckDB connection).
        scanning = ReadAhead(self.scan.batches, name="receipt-batches", depth=1, interrupt=self.scan.db.interrupt)
        with scanning as batches:
            for batch in batches:
                yield from self._batch(batch)
        yield from self._end()

    # ------------------------------------------------------------------------------------------------------------
    def _batch(self, batch: Batch) -> Iterator[Chunk | Request]:
        self.batch_no += 1
        if batch.rejected:
            self._insert(
                "rejects",
                "*",
                pa.table(
                    {
                        "row_no": pa.array([row_no for row_no, _, _ in batch.rejected], pa.int64()),
                        "reasons": pa.array([reasons for _, reasons, _ in batch.rejected], pa.string()),
                        "raw": pa.array([values for _, _, values in batch.rejected], pa.list_(pa.string())),
                    }
                ),
            )
        valid = self._without_erased(batch.valid)
        self.duck.register("b", valid)
        try:
            if self.setup.check_repeats:
                valid = self._without_repeated(valid)
                self.duck.register("b", valid)
            self.staged += valid.num_rows
            yield from self._map_receipts()
            yield from self._catalogue()
            yield from self._receipts_and_lines(batch.first_row + batch.rows)
        finally:
            self.duck.unregister("b")

    def _without_erased(self, valid: pa.Table) -> pa.Table:
        """Rows of erased subjects (the suppression list) are kept for accounting, anonymous and unlinked: their
        customer id is blanked. Only the distinct customer ids are hashed."""
        if not self.setup.erased:
            return valid
        ids = [value for value in pc.unique(valid.column("customer_external_id")).to_pylist() if value]
        digest = partial(suppression_digest, Kind.EXTERNAL_ID)
        erased = [
            value for value in ids if digest(external_id_value(self.setup.source_key, value)) in self.setup.erased
        ]
        if not erased:
            return valid
        column = valid.column("customer_external_id")
        mask = pc.is_in(column, value_set=pa.array(erased, pa.string()))
        blanked = pc.if_else(mask, pa.scalar("", column.type), column)
        return valid.set_column(valid.schema.get_field_index("customer_external_id"), "customer_external_id", blanked)

    def _without_repeated(self, valid: pa.Table) -> pa.Table:
        """A (receipt, line) an earlier valid row of the file already has: refused, with the row it repeats."""
        repeated = _table(
            self.duck,
            """WITH k AS (
                 SELECT row_no, receipt_id, line, min(row_no) OVER (PARTITION BY receipt_id, line) AS first_row
                 FROM b WHERE line IS NOT NULL)
               SELECT k.row_no, $reason || ' ' || coalesce(s.row_no, k.first_row) AS reasons
               FROM k LEFT JOIN seen_lines s USING (receipt_id, line)
               WHERE s.row_no IS NOT NULL OR k.row_no <> k.first_row""",
            {"reason": t.DUPLICATE_ROW},
        )
        self.duck.execute(
            """INSERT INTO seen_lines
               SELECT receipt_id, line, min(row_no) FROM b
               WHERE line IS NOT NULL AND NOT EXISTS (
                 SELECT 1 FROM seen_lines s WHERE s.receipt_id = b.receipt_id AND s.line = b.line)
               GROUP BY receipt_id, line"""
        )
        if repeated.num_rows == 0:
            return valid
        row_no = repeated.column("row_no").combine_chunks()
        self._reject(row_no, repeated.column("reasons").combine_chunks())
        return valid.filter(pc.invert(pc.is_in(valid.column("row_no"), value_set=row_no)))

    def _map_receipts(self) -> Iterator[Request]:
        """The batch's receipts with their ids (`km`): the id a receipt got in an earlier batch, the database's when
        it has the receipt, a new one otherwise. The batch's rows then join this small table, not the whole map."""
        duck = self.duck
        duck.execute(
            """CREATE OR REPLACE TEMP TABLE km AS
               SELECT d.receipt_id, d.first_row, m.id AS receipt_key, m.existing, m.batch
               FROM (SELECT receipt_id, min(row_no) AS first_row FROM b GROUP BY receipt_id) d
               LEFT JOIN receipt_map m USING (receipt_id)"""
        )
        fresh = _table(duck, "SELECT receipt_id, first_row FROM km WHERE receipt_key IS NULL ORDER BY first_row")
        if fresh.num_rows == 0:
            return
        found = pa.table({"receipt_id": pa.array([], pa.string()), "id": pa.array([], pa.int64())})
        if self.setup.source_has_receipts:
            request = Request("existing", fresh.select(["receipt_id"]))
            yield request
            found = request.answer
        new = fresh.num_rows - found.num_rows
        if new > self.pool.available():
            request = Request("ids", new - self.pool.available())
            yield request
            self.pool.add(request.answer)
        duck.register("fresh", fresh)
        duck.register("found", found)
        duck.register("runs", self.pool.take(new))
        try:
            duck.execute(
                f"""CREATE OR REPLACE TEMP TABLE mapped AS
                    SELECT receipt_id, id, true AS existing, {self.batch_no} AS batch FROM found
                    UNION ALL
                    SELECT f.receipt_id, r.first_id + f.n - r.first_n, false, {self.batch_no}
                    FROM (SELECT receipt_id, row_number() OVER (ORDER BY first_row) AS n FROM fresh
                          WHERE receipt_id NOT IN (SELECT receipt_id FROM found)) f
                    JOIN runs r ON f.n BETWEEN r.first_n AND r.first_n + r.ids - 1"""
            )
        finally:
            for name in ("fresh", "found", "runs"):
                duck.unregister(name)
        duck.execute("INSERT INTO receipt_map SELECT * FROM mapped")
        duck.execute(
            """CREATE OR REPLACE TEMP TABLE km AS
               SELECT km.receipt_id, coalesce(km.receipt_key, f.id) AS receipt_key,
                 coalesce(km.existing, f.existing) AS existing, coalesce(km.batch, f.batch) AS batch
               FROM km LEFT JOIN mapped f USING (receipt_id)"""
        )

    def _catalogue(self) -> Iterator[Request | Chunk]:
        """The catalogue as the batch names it (one row per store, channel, SKU, name and category, with its last
        row), kept for the final merge; products and stores named for the first time are created from it."""
        duck = self.duck
        duck.execute(
            """CREATE OR REPLACE TEMP TABLE named AS
               SELECT store, channel, sku, product_name, category, max(row_no) AS last_row FROM b GROUP BY ALL"""
        )
        duck.execute("INSERT INTO catalogue SELECT * FROM named")
        products = _table(
            duck,
            """SELECT sku, arg_max(product_name, last_row) AS name, arg_max(category, last_row) AS category
               FROM named WHERE sku NOT IN (SELECT sku FROM products) GROUP BY sku""",
        )
        if products.num_rows:
            request = Request("products", products)
            yield request
            self._insert("products", "sku, id", request.answer)
        stores = _table(
            duck,
            """SELECT store, arg_max(channel, last_row) AS channel FROM named
               WHERE store <> '' AND store NOT IN (SELECT store FROM stores) GROUP BY store""",
        )
        if stores.num_rows:
            self._insert("stores", "store", stores.select(["store"]))
            yield Chunk("stores", stores)

    def _receipts_and_lines(self, lines_read: int) -> Iterator[Request | Chunk]:
        """The receipts first seen in this batch, with their sums so far and their first row's header (sums only for
        receipts an earlier batch wrote: added at the end); the lines of new receipts, a line without a number being
        the next of its receipt in the file's order."""
        duck, batch_no = self.duck, self.batch_no
        sums = _table(
            duck,
            f"""SELECT receipt_key AS id, any_value(receipt_id) AS receipt_id, any_value(batch) = {batch_no} AS first,
                  arg_min(customer_external_id, row_no) AS customer_external_id,
                  arg_min(store, row_no) AS store, arg_min(channel, row_no) AS channel,
                  arg_min(purchased_at, row_no) AS purchased_at,
                  sum(quantity * unit_price_minor - discount_minor)::BIGINT AS total,
                  sum(discount_minor)::BIGINT AS discount, sum(quantity)::INTEGER AS items,
                  count(*) AS lines, count(*) FILTER (line IS NULL) AS unnumbered
                FROM b JOIN km USING (receipt_id) WHERE NOT existing
                GROUP BY receipt_key ORDER BY receipt_key""",
        )
        first = sums.column("first")
        receipts = sums.filter(first).drop_columns(["first", "lines", "unnumbered"])
        if receipts.num_rows:
            yield Chunk("receipts", receipts)
        if not pc.all(first).as_py():
            self._insert("deltas", "id, total, discount, items", sums.filter(pc.invert(first)))
        new_lines = pc.sum(sums.column("lines")).as_py() or 0
        unnumbered = pc.sum(sums.column("unnumbered")).as_py() or 0
        if unnumbered:
            self._number_lines()
        # The lines of new receipts; in a bulk load they carry ids reserved for them. The copier thread writes them
        # in COPY's text format, so this side goes on with the next batch.
        id_column = ""
        if self.line_pool is not None and new_lines:
            if new_lines > self.line_pool.available():
                request = Request("line_ids", new_lines - self.line_pool.available())
                yield request
                self.line_pool.add(request.answer)
            runs = self.line_pool.take(new_lines).to_pylist()
            whens = " ".join(
                f"WHEN l.n < {run['first_n'] + run['ids']} THEN l.n + {run['first_id'] - run['first_n']}"
                for run in runs
            )
            id_column = f"CASE {whens} END AS id, "
        line_no = "coalesce(bm.line, n.line_no)" if unnumbered else "bm.line"
        numbered = "LEFT JOIN numbered n USING (row_no)" if unnumbered else ""
        lines = _table(
            duck,
            f"""SELECT {id_column}l.* EXCLUDE (n)
                FROM (
                  SELECT row_number() OVER () AS n, km.receipt_key AS receipt_id, {line_no} AS line_no,
                    p.id AS product_id, bm.quantity, bm.unit_price_minor, bm.discount_minor,
                    bm.quantity * bm.unit_price_minor - bm.discount_minor AS amount_minor
                  FROM b bm JOIN km USING (receipt_id) JOIN products p USING (sku) {numbered}
                  WHERE NOT km.existing) l""",
        )
        yield Chunk("lines", lines, rows=lines.num_rows, lines_read=lines_read)
        if self.setup.source_has_receipts:
            duck.execute("INSERT INTO existing_rows SELECT b.* FROM b JOIN km USING (receipt_id) WHERE km.existing")

    def _number_lines(self) -> None:
        """Lines without a number in new receipts: numbered in file order, after those of earlier batches."""
        duck = self.duck
        duck.execute(
            """CREATE OR REPLACE TEMP TABLE numbered AS
               SELECT b.row_no,
                 coalesce(u.lines, 0) + row_number() OVER (PARTITION BY km.receipt_key ORDER BY b.row_no) AS line_no
               FROM b JOIN km USING (receipt_id) LEFT JOIN unnumbered u USING (receipt_key)
               WHERE b.line IS NULL AND NOT km.existing"""
        )
        duck.execute(
            """CREATE OR REPLACE TEMP TABLE unnumbered_batch AS
               SELECT receipt_key, count(*) AS lines FROM b JOIN km USING (receipt_id)
               WHERE line IS NULL AND NOT existing GROUP BY receipt_key"""
        )
        duck.execute(
            """UPDATE unnumbered SET lines = unnumbered.lines + n.lines FROM unnumbered_batch n
               WHERE unnumbered.receipt_key = n.receipt_key"""
        )
        duck.execute(
            """INSERT INTO unnumbered SELECT * FROM unnumbered_batch n
               WHERE receipt_key NOT IN (SELECT receipt_key FROM unnumbered)"""
        )

    def _end(self) -> Iterator[Chunk]:
        duck = self.duck
        deltas = _table(
            duck,
            """SELECT id, sum(total)::BIGINT AS total, sum(discount)::BIGINT AS discount, sum(items)::INTEGER AS items
               FROM deltas GROUP BY id""",
        )
        if deltas.num_rows:
            yield Chunk("deltas", deltas)
        yield Chunk(
            "catalogue",
            _table(
                duck, "SELECT store, channel, sku, product_name, category, max(last_row) FROM catalogue GROUP BY ALL"
            ),
        )
        if self.setup.source_has_receipts:
            yield from self._existing()

    def _existing(self) -> Iterator[Chunk]:
        """Rows of receipts the database already has, with each receipt's header (its first row's)."""
        duck = self.duck
        if not self.setup.check_repeats:  # (a second attempt checked every row already)
            repeated = _table(
                duck,
                """SELECT row_no, $reason || ' ' || first_row AS reasons FROM (
                     SELECT row_no, min(row_no) OVER (PARTITION BY receipt_id, line) AS first_row
                     FROM existing_rows WHERE line IS NOT NULL)
                   WHERE row_no <> first_row""",
                {"reason": t.DUPLICATE_ROW},
            )
            if repeated.num_rows:
                self._reject(repeated.column("row_no").combine_chunks(), repeated.column("reasons").combine_chunks())
                duck.register("repeated", repeated)
                duck.execute("DELETE FROM existing_rows WHERE row_no IN (SELECT row_no FROM repeated)")
                duck.unregister("repeated")
                self.staged -= repeated.num_rows
        if not duck.execute("SELECT count(*) FROM existing_rows").fetchall()[0][0]:
            return
        # As CSV files, like the lines: a re-imported file may bring millions of such rows.
        columns = ", ".join(UTC_TEXT.format(name) if name == "purchased_at" else name for name in TYPED_COLUMNS)
        rows, headers = self.scan.folder / "existing-rows.csv", self.scan.folder / "existing-receipts.csv"
        duck.execute(
            f"COPY (SELECT {columns} FROM existing_rows) TO {duck_literal(str(rows))} (FORMAT csv, HEADER false)"
        )
        duck.execute(
            f"""COPY (
                  SELECT e.receipt_id, arg_min(e.customer_external_id, e.row_no), arg_min(e.store, e.row_no),
                    arg_min(e.channel, e.row_no), {UTC_TEXT.format("arg_min(e.purchased_at, e.row_no)")}, m.id
                  FROM existing_rows e JOIN receipt_map m USING (receipt_id) GROUP BY e.receipt_id, m.id
                ) TO {duck_literal(str(headers))} (FORMAT csv, HEADER false)"""
        )
        unnumbered = duck.execute("SELECT count(*) FROM existing_rows WHERE line IS NULL").fetchall()[0][0]
        yield Chunk("existing", pa.table({}), path=rows, extra_path=headers, unnumbered=unnumbered)

    def rejects(self) -> Iterator[tuple[int, str, list[str]]]:
        """Every refused row, in file order, with its reasons and the file's values (read a chunk at a time: a file
        may have every row refused)."""
        query = "SELECT row_no, reasons, raw FROM rejects ORDER BY row_no"
        if self.duck.execute("SELECT count(*) FROM rejects WHERE raw IS NULL").fetchall()[0][0]:  # one more scan
            query = f"""SELECT r.row_no, r.reasons, coalesce(r.raw, f.raw) AS raw FROM rejects r
                        LEFT JOIN ({self.scan.original_rows_sql("SELECT row_no FROM rejects WHERE raw IS NULL")}) f
                          USING (row_no)
                        ORDER BY r.row_no"""
        result = self.duck.execute(query)
        while found := result.fetchmany(REJECTS_CHUNK):
            yield from found


# ---------------------------------------------------------------------------------------------------------------------
# The writing side: the main thread, which holds the transaction


class Copier:
    """Runs the writing side's COPY statements in a thread of their own, in order, so that the next chunk is made
    ready while PostgreSQL takes the last one. Anything else sent through the connection waits for them (`wait`)."""

    def __init__(self, cursor):
        self.cursor = cursor  # the driver's cursor: this thread uses it only while its owner waits or makes chunks
        self.jobs: queue.Queue = queue.Queue()
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="receipt-copy", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            job = self.jobs.get()
            try:
                if job is None:
                    return
                if self.error is None and not self.stop.is_set():
                    self._copy(*job)
            except BaseException as exc:  # noqa: BLE001 - raised again in the owner's thread
                self.error = exc
            finally:
                self.jobs.task_done()

    def _copy(self, sql: str, blocks: Callable[[], Iterator[bytes]]) -> None:
        with self.cursor.copy(sql) as copy:
            for block in blocks():
                if self.stop.is_set():
                    raise InterruptedError("the import stopped")  # the COPY is abandoned
                copy.write(block)

    def submit(self, sql: str, blocks: Callable[[], Iterator[bytes]]) -> None:
        self._raise()
        self.jobs.put((sql, blocks))

    def wait(self) -> None:
        """Until every COPY sent has run; raises what one of them raised."""
        self.jobs.join()
        self._raise()

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        """Stop (a COPY under way is abandoned) and wait for the thread: the connection is then free."""
        self.stop.set()
        self.jobs.put(None)
        self.thread.join()


def _file_blocks(path: Path) -> Iterator[bytes]:
    """A file's bytes, then the file is removed."""
    with path.open("rb") as handle:
        while block := handle.read(COPY_BLOCK):
            yield block
    path.unlink()


def _text_blocks(table: pa.Table) -> Iterator[bytes]:
    """A table of numbers without NULLs in COPY's text format (PostgreSQL reads it a little faster than CSV)."""
    for part in _slices(table):
        yield _csv(part, TEXT_OPTIONS)


def _binary_blocks(table: pa.Table, kinds: list[str]) -> Iterator[bytes]:
    """A table as a binary COPY stream."""
    yield pg_binary.HEADER
    for part in _slices(table):
        yield pg_binary.encode_rows(part, kinds)
    yield pg_binary.TRAILER


class Writer:
    """Takes the reading side's chunks in order and writes them through the import's connection."""

    def __init__(self, job: PgImport, cursor, *, skipped_triggers: bool, contiguous_ids: bool, created_at: pa.Scalar):
        self.job = job
        self.created_at = created_at
        self.cursor = cursor
        self.skipped_triggers = skipped_triggers
        self.contiguous_ids = contiguous_ids
        self.params = {"source": job.source_id, "currency": job.options.currency}
        self.stores: dict[str, int] = {}
        self.created = 0
        self.updated = 0
        cursor.execute("SELECT EXISTS (SELECT 1 FROM cdp_sourcerecord WHERE source_id = %(source)s)", self.params)
        self.source_has_records = cursor.fetchone()[0]
        self.copier = Copier(cursor.cursor)

    def handle(self, item: Chunk | Request) -> None:
        """Receipts and lines go to the copier; anything that queries waits for the copies sent before it."""
        if isinstance(item, Request):
            self.copier.wait()
            item.answer = getattr(self, f"_answer_{item.kind}")(item.payload)
            item.done.set()
            return
        if item.kind not in ("receipts", "lines"):
            self.copier.wait()
        getattr(self, f"_{item.kind}")(item)

    def _answer_existing(self, receipts: pa.Table) -> pa.Table:
        staging, cursor = self.job.staging, self.cursor
        cursor.execute(staging.sql("CREATE UNLOGGED TABLE IF NOT EXISTS {lookup} (receipt_id text)"))
        cursor.execute(staging.sql("TRUNCATE {lookup}"))
        _copy(cursor, staging.sql("{lookup} (receipt_id)"), receipts)
        cursor.execute(
            staging.sql(
                """SELECT e.receipt_id, e.id FROM {lookup} l
                   JOIN cdp_receipt e ON e.source_id = %(source)s AND e.receipt_id = l.receipt_id"""
            ),
            self.params,
        )
        return _pairs(self.cursor.fetchall(), ("receipt_id", pa.string()), ("id", pa.int64()))

    def _answer_ids(self, count: int) -> list[tuple[int, int]]:
        return reserve_ids(self.cursor, count, contiguous=self.contiguous_ids)

    def _answer_line_ids(self, count: int) -> list[tuple[int, int]]:
        return reserve_ids(self.cursor, count, contiguous=True, table="cdp_receiptline")

    def _answer_products(self, table: pa.Table) -> pa.Table:
        """New SKUs: their categories and products created (when nobody did meanwhile), locked; their ids."""
        cursor = self.cursor
        skus = table.column("sku").to_pylist()
        categories = sorted({key for key in table.column("category").to_pylist() if key})
        if categories:
            cursor.execute(
                """INSERT INTO cdp_category (key, name)
                   SELECT key, upper(left(replace(key, '_', ' '), 1)) || lower(substr(replace(key, '_', ' '), 2))
                   FROM unnest(%s::text[]) AS key
                   ON CONFLICT (key) DO NOTHING""",
                [categories],
            )
        cursor.execute(
            """INSERT INTO cdp_product (sku, name, category_id, created_at)
               SELECT n.sku, n.name, c.id, now()
               FROM unnest(%s::text[], %s::text[], %s::text[]) AS n (sku, name, category)
               LEFT JOIN cdp_category c ON c.key = n.category
               ON CONFLICT (sku) DO NOTHING""",
            [skus, table.column("name").to_pylist(), table.column("category").to_pylist()],
        )
        cursor.execute("SELECT sku, id FROM cdp_product WHERE sku = ANY(%s) ORDER BY id FOR KEY SHARE", [skus])
        rows = cursor.fetchall()
        return _pairs(rows, ("sku", pa.string()), ("id", pa.int64()))

    def _stores(self, chunk: Chunk) -> None:
        cursor, table = self.cursor, chunk.table
        codes = table.column("store").to_pylist()
        cursor.execute(
            """INSERT INTO cdp_store (code, name, kind, city, postcode)
               SELECT s.code, '',
                 CASE s.channel WHEN 'web' THEN 'web' WHEN 'app' THEN 'app' WHEN 'phone' THEN 'call_centre'
                   ELSE 'store' END,
                 '', ''
               FROM unnest(%s::text[], %s::text[]) AS s (code, channel)
               ON CONFLICT (code) DO NOTHING""",
            [codes, table.column("channel").to_pylist()],
        )
        cursor.execute("SELECT code, id FROM cdp_store WHERE code = ANY(%s) ORDER BY id FOR KEY SHARE", [codes])
        self.stores.update(cursor.fetchall())

    def _customers(self, external_ids: pa.ChunkedArray) -> dict[str, bytes]:
        """The customers (their UUIDs' bytes) linked to the source's records these ids name (none before the
        customers are imported)."""
        if not self.source_has_records:
            return {}
        self.copier.wait()
        wanted = [value for value in pc.unique(external_ids).to_pylist() if value]
        self.cursor.execute(
            """SELECT external_id, customer_id FROM cdp_sourcerecord
               WHERE source_id = %s AND external_id = ANY(%s) AND customer_id IS NOT NULL""",
            [self.job.source_id, wanted],
        )
        linked = dict(self.cursor.fetchall())
        if linked and self.skipped_triggers:
            self.cursor.execute(
                """SELECT count(*) FROM (
                     SELECT 1 FROM cdp_customer WHERE id = ANY(%s::uuid[]) ORDER BY id FOR KEY SHARE) s""",
                [sorted(set(linked.values()))],
            )
        return {external_id: customer.bytes for external_id, customer in linked.items()}

    def _receipts(self, chunk: Chunk) -> None:
        table = chunk.table
        count = table.num_rows
        customers = self._customers(table.column("customer_external_id"))
        # Columns of fixed width without NULLs first: the encoder lays them out together.
        receipts = pa.table(
            {
                "id": table.column("id"),
                "source_id": pa.repeat(pa.scalar(self.job.source_id, pa.int64()), count),
                "purchased_at": table.column("purchased_at"),
                "total_minor": table.column("total"),
                "discount_minor": table.column("discount"),
                "item_count": table.column("items"),
                "created_at": pa.repeat(self.created_at, count),
                "customer_id": _mapped(table.column("customer_external_id"), customers, pa.binary(16)),
                "store_id": _mapped(table.column("store"), self.stores, pa.int64()),
                "receipt_id": table.column("receipt_id"),
                "customer_external_id": table.column("customer_external_id"),
                "channel": table.column("channel"),
                "currency": pa.repeat(pa.scalar(self.job.options.currency, pa.string()), count),
            }
        )
        kinds = [RECEIPT_TYPES[name] for name in receipts.column_names]
        self.copier.submit(
            pg_binary.copy_sql("cdp_receipt", receipts.column_names), partial(_binary_blocks, receipts, kinds)
        )

    def _lines(self, chunk: Chunk) -> None:
        """The lines of new receipts, written as text by the copier thread (integers cost PostgreSQL little to parse,
        and in the binary format they would be more than twice the bytes)."""
        columns = "receipt_id, line_no, product_id, quantity, unit_price_minor, discount_minor, amount_minor"
        if self.contiguous_ids:
            columns = f"id, {columns}"
        self.copier.submit(f"COPY cdp_receiptline ({columns}) FROM STDIN", partial(_text_blocks, chunk.table))
        self.created += chunk.rows

    def _deltas(self, chunk: Chunk) -> None:
        staging, cursor = self.job.staging, self.cursor
        cursor.execute(
            staging.sql("CREATE UNLOGGED TABLE {deltas} (id bigint, total bigint, discount bigint, items int)")
        )
        _copy(cursor, staging.sql("{deltas}"), chunk.table)
        cursor.execute(staging.sql(ADD_TO_TOTALS))

    def _catalogue(self, chunk: Chunk) -> None:
        staging, cursor = self.job.staging, self.cursor
        cursor.execute(staging.sql("CREATE UNLOGGED TABLE {catalogue} ({columns})", columns=CATALOGUE_COLUMNS))
        _copy(cursor, staging.sql("{catalogue}"), chunk.table)
        for statement in MERGE_CATALOGUE:
            cursor.execute(staging.sql(statement))

    def _existing(self, chunk: Chunk) -> None:
        """Rows of receipts the database already has: header updated, lines compared, totals summed again."""
        staging, cursor = self.job.staging, self.cursor
        cursor.execute(
            staging.sql(
                """CREATE UNLOGGED TABLE {stg} (row_no bigint, receipt_id text, line int, customer_external_id text,
                     store text, channel text, sku text, product_name text, category text, quantity int,
                     unit_price_minor bigint, discount_minor bigint, purchased_at timestamptz)"""
            )
        )
        cursor.execute(
            staging.sql(
                """CREATE UNLOGGED TABLE {receipts} (receipt_id text, customer_external_id text, store text,
                     channel text, purchased_at timestamptz, existing_id bigint)"""
            )
        )
        for table, path in ((staging.tables["stg"], chunk.path), (staging.tables["receipts"], chunk.extra_path)):
            self.copier.submit(f"COPY {table} FROM STDIN (FORMAT csv)", partial(_file_blocks, path))
        self.copier.wait()
        cursor.execute(staging.sql("ANALYZE {stg}, {receipts}"))
        cursor.execute(staging.sql(UPDATE_RECEIPTS), self.params)
        cursor.execute(staging.sql(EXISTING_LINES, line_no=NUMBERED_LINE if chunk.unnumbered else "s.line"))
        added, updated = cursor.fetchone()
        self.created += added
        self.updated += updated
        if added or updated:
            cursor.execute(staging.sql(EXISTING_TOTALS))


def _pairs(rows: list[tuple], first: tuple[str, pa.DataType], second: tuple[str, pa.DataType]) -> pa.Table:
    """Two-column query results as an Arrow table."""
    return pa.table(
        {
            first[0]: pa.array([a for a, _ in rows], first[1]),
            second[0]: pa.array([b for _, b in rows], second[1]),
        }
    )


def _mapped(values: pa.ChunkedArray, mapping: dict, kind: pa.DataType) -> pa.Array:
    """Each value's id in `mapping` (None when it has none), looked up once per distinct value."""
    encoded = values.combine_chunks().dictionary_encode()
    ids = pa.array([mapping.get(value) for value in encoded.dictionary.to_pylist()], kind)
    return ids.take(encoded.indices)


# ---------------------------------------------------------------------------------------------------------------------
# The import

_END = object()


class ReadAhead:
    """An iterator's items made in a thread of its own, a few ahead of their use; stopped when their user stops
    (`interrupt` stops a query the thread may be waiting on)."""

    def __init__(self, items: Callable[[], Iterator], *, name: str, depth: int, interrupt: Callable[[], None]):
        self.items = items
        self.interrupt = interrupt
        self.queue: queue.Queue = queue.Queue(maxsize=depth)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._produce, name=name, daemon=True)

    def _put(self, item) -> bool:
        while not self.stop.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self) -> None:
        try:
            for item in self.items():
                if not self._put(item):
                    return
                if isinstance(item, Request):
                    while not item.done.wait(0.1):
                        if self.stop.is_set():
                            return
            self._put(_END)
        except BaseException as exc:  # noqa: BLE001 - handed to the user, which raises it
            self._put(exc)

    def __iter__(self) -> Iterator:
        while True:
            item = self.queue.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def __enter__(self) -> ReadAhead:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.interrupt()
        self.thread.join()


@dataclass
class Attempt:
    """One pass over the file inside a savepoint, and what it wrote."""

    bookkeeping: Bookkeeping
    writer: Writer

    @property
    def counts(self) -> tuple[int, int, int]:
        """(created, updated, unchanged), counted in lines."""
        created, updated = self.writer.created, self.writer.updated
        return created, updated, self.bookkeeping.staged - created - updated


def _attempt(job: PgImport, scan: ReceiptLineScan, *, bulk: bool, check_repeats: bool, progress) -> Attempt:
    with connection.cursor() as cursor:
        cursor.execute("SELECT key FROM cdp_source WHERE id = %s", [job.source_id])
        source_key = cursor.fetchone()[0]
        cursor.execute("SELECT EXISTS (SELECT 1 FROM cdp_receipt WHERE source_id = %s)", [job.source_id])
        setup = Setup(
            source_key=source_key,
            source_has_receipts=cursor.fetchone()[0],
            erased=suppressed_digests(Kind.EXTERNAL_ID) if suppression_has_any() else frozenset(),
            check_repeats=check_repeats,
        )
        skipped = _skip_row_triggers(cursor)
        if skipped:
            cursor.execute("SELECT 1 FROM cdp_source WHERE id = %s FOR KEY SHARE", [job.source_id])
        dropped = _drop_indexes(cursor) if bulk else None
        pool, line_pool = IdPool(), None
        if bulk:  # ids for as many receipts and lines as the file seems to have lines: no round trip per batch
            lines = max(estimated_lines(job.path), 1)
            pool.add(reserve_ids(cursor, lines, contiguous=True))
            line_pool = IdPool()
            line_pool.add(reserve_ids(cursor, lines + lines // 10, contiguous=True, table="cdp_receiptline"))
        writer = Writer(
            job,
            cursor,
            skipped_triggers=skipped,
            contiguous_ids=bulk,
            created_at=pa.scalar(timezone.now(), pa.timestamp("us", tz="UTC")).cast(pa.timestamp("us")),
        )
        bookkeeping = Bookkeeping(scan, setup, pool, line_pool)
        try:
            reading = ReadAhead(
                bookkeeping.chunks, name="receipt-scan", depth=QUEUED_CHUNKS, interrupt=scan.db.interrupt
            )
            with reading as chunks:
                for item in chunks:
                    writer.handle(item)
                    if progress and isinstance(item, Chunk) and item.lines_read:
                        progress(item.lines_read)
            writer.copier.wait()  # raises what a copy raised
        finally:
            writer.copier.close()  # a copy under way when something failed is abandoned
        if dropped is not None:
            _build_indexes(cursor, dropped)
        if skipped:
            cursor.execute("SELECT set_config('session_replication_role', 'origin', true)")
        cursor.execute(f"DROP TABLE IF EXISTS {', '.join(job.staging.tables.values())}")
    return Attempt(bookkeeping, writer)


def write_file(job: PgImport, scan: ReceiptLineScan, *, bulk: bool, progress=None) -> Attempt:
    """Write the file's rows; a line repeated in a new receipt sends the import round again with the explicit check."""
    try:
        with transaction.atomic():  # a savepoint: a (receipt, line) twice in the file undoes the first attempt
            return _attempt(job, scan, bulk=bulk, check_repeats=False, progress=progress)
    except (IntegrityError, psycopg.errors.UniqueViolation) as exc:  # COPY runs on the driver's cursor: its own errors
        diag = getattr(exc, "diag", None) or getattr(exc.__cause__, "diag", None)
        if getattr(diag, "constraint_name", None) != UNIQUE_LINE:
            raise
    return _attempt(job, scan, bulk=bulk, check_repeats=True, progress=progress)


def import_file_pg(
    *,
    job: PgImport,
    ctx: RowContext,
    sink,
    result: t.ImportResult,
    progress: Callable[[int, int], None] | None = None,
) -> bool:
    """Import the whole file as one batch; False (and nothing written) when DuckDB cannot read it as Python would."""
    size = job.path.stat().st_size
    lines = estimated_lines(job.path)

    def lines_done(line_no: int) -> None:
        if progress:
            progress(min(size, int(size * line_no / max(lines, 1))), size)

    with ReceiptLineScan(job.path, job.fields, job.options, ctx) as scan:
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    _tune_transaction(cursor)
                try:
                    attempt = write_file(job, scan, bulk=bulk_load(lines), progress=lines_done)
                except duckdb.OutOfMemoryException as exc:  # nothing is written: the row-by-row path takes the file
                    logger.warning("receipt-line scan out of memory (INGEST_SCAN_MEMORY): importing row by row")
                    raise ScanUnusable("out of memory") from exc
                result.read = scan.rows_read
                result.add(*attempt.counts)
                for row_no, reasons, values in attempt.bookkeeping.rejects():
                    sink.add(row_no, reasons.split("; "), dict(zip(job.fields, values, strict=True)), original=values)
                    result.rejected += 1
        except ScanUnusable:
            return False
    return True
