"""The PostgreSQL bulk path for receipt lines: COPY the file into staging tables and merge it with set-based SQL.

1. The file's bytes go unparsed into PostgreSQL: `COPY ... (FORMAT csv)` into a staging table of text columns. A file
   COPY cannot read (a row with too many columns, bytes invalid in its encoding) returns False: the caller then uses
   the row-by-row path, which rejects exactly the bad rows.
2. SQL reads every row whose values have the plain, common shapes (ISO timestamps, plain decimals, clean codes): the
   "fast" rows. Values repeat a lot (a product's sku, name, category and price on each of its lines; a receipt's id,
   customer and time on each of its lines), so each check runs once per distinct value set, not once per row. Every
   other row is read by the same Python parser as the row-by-row path (`parse_transaction`), so a value is accepted,
   converted or refused the same way on both paths, with the same reasons.
3. Stores, categories and products are upserted from the distinct values. Receipts the database does not have yet
   (nearly all of them in a big file) are inserted with their totals summed from the file, and their lines inserted
   as they are: nothing to compare. Receipts it already has (a re-import) are updated in place, line by line, and
   their totals summed again from the database.
4. A (receipt, line) repeated in the file is refused, the first row kept. For new receipts the unique index of the
   lines says whether the file has such a pair: when it does, the merge is rolled back to its savepoint and done
   again after the explicit check, which sorts the whole file and is only paid when needed.

A file bigger than what the receipt tables already hold (a first load of history, typically) is a bulk load, as
PostgreSQL's documentation describes for populating a database: the secondary indexes of receipts and lines are
dropped before the inserts and built again after them (one sort per index instead of one descent per row, which is
most of an insert's cost), and the two tables are locked until the commit. Readers of receipts wait for such an
import; a smaller import (the daily delta) keeps the indexes and the tables readable.

All of it runs in the caller's transaction: the file is one batch, written whole or not at all. The staging tables
are UNLOGGED (no WAL, and PostgreSQL may scan them with parallel workers), named uniquely per import, created inside
that transaction and dropped at its end: a failed import leaves none behind.

Per-row foreign-key triggers cost as much as the inserts themselves (one lookup and one row lock per line, queued
until the commit). When the
database role may set `session_replication_role` (a superuser, or `GRANT SET ON PARAMETER session_replication_role`
on PostgreSQL 15+), the inserts run without them: every id they write was read in this transaction, and the rows it
points to (source, stores, products, customers) are locked FOR KEY SHARE first, as the triggers would have done,
so a concurrent delete waits for this import and then fails its own check. Without the privilege the triggers run.
"""

from __future__ import annotations

import codecs
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction

from cdp.ingest import types as t
from cdp.ingest.guard import reject_suppressed_staged
from cdp.ingest.rows import (
    CHANNEL_SYNONYMS,
    FUTURE_TOLERANCE,
    TRANSACTION_MAX_LENGTHS,
    RowContext,
    parse_transaction,
)

# Python codec name -> PostgreSQL client encoding, for the encodings COPY can read itself.
PG_ENCODINGS = {
    "utf-8": "UTF8",
    "iso8859-1": "LATIN1",
    "iso8859-15": "LATIN9",
    "cp1252": "WIN1252",
    "cp1250": "WIN1250",
}
COPY_BLOCK = 1 << 20
PYTHON_BATCH = 5000
UNIQUE_LINE = "receiptline_unique_line"

# The import's own settings, for its transaction only. Hash aggregates and joins over millions of staged rows stay in
# memory; the commit does not wait for the WAL flush (the batch record written right after it does); JIT compilation
# costs more than it saves on these one-off statements.
TRANSACTION_SETTINGS = {
    "work_mem": "256MB",
    "maintenance_work_mem": "256MB",
    "synchronous_commit": "off",
    "jit": "off",
}

# Fast shapes. Anything else goes to the Python parser, which accepts more forms (or rejects with a reason).
ISO_TIMESTAMP = (
    r"^(?:1[89]|2[0-9])[0-9]{2}-[0-9]{2}-[0-9]{2}"
    r"(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2})?(?:Z|[+-][0-9]{2}:?[0-9]{2})?)?$"
)
# Every character Python's str.split() treats as whitespace; a "plain" value has none but single inner spaces, so
# normalise_code and normalise_text leave it as it is.
_PY_SPACES = "\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_SOLID = f"[^{_PY_SPACES}]"
PLAIN_CODE = f"^{_SOLID}(?:{_SOLID}| (?={_SOLID}))*$|^$"
PLAIN_KEY = r"^[a-z0-9]+(?:_[a-z0-9]+)*$|^$"  # already what normalise_key returns
PLAIN_INTEGER = r"^-?[0-9]{1,9}$"
LINE_NUMBER = r"^[0-9]{1,9}$"
AMOUNT_POINT = r"^[0-9]{1,13}(?:\.[0-9]{1,2})?$"  # two decimals at most: exact in minor units, no rounding
AMOUNT_COMMA = r"^[0-9]{1,13}(?:,[0-9]{1,2})?$"

# The columns of a staged row, as the merge reads them (Python-read rows are written back in the same shape).
STAGED_COLUMNS = (
    "receipt_id",
    "line",
    "customer_external_id",
    "store",
    "channel",
    "sku",
    "product_name",
    "category",
    "quantity",
    "unit_price_minor",
    "discount_minor",
    "purchased_at",
)
# Low-cardinality fields, checked once per distinct combination; and the receipt's fields, once per receipt.
ITEM_FIELDS = ("store", "channel", "sku", "product_name", "category", "quantity", "unit_price", "discount")
HEADER_FIELDS = ("receipt_id", "customer_external_id", "timestamp")


@dataclass(frozen=True)
class Staging:
    """The names of one import's staging tables (unique, so imports running at the same time never meet)."""

    prefix: str = field(default_factory=lambda: f"ingest_{uuid.uuid4().hex[:16]}")

    @property
    def tables(self) -> dict[str, str]:
        names = ("raw", "items", "headers", "stg", "rejects", "slow", "catalogue", "receipts", "receipt_ids")
        return {name: f"{self.prefix}_{name}" for name in names}

    def sql(self, template: str, **extra: str) -> str:
        """A statement with the staging tables' names (and other identifiers of ours, never user input) filled in."""
        return template.format(**self.tables, **extra)


@dataclass(frozen=True)
class PgImport:
    """What the merge needs from the file: its column names (as mapped) and the import's options."""

    path: Path
    fields: list[str]
    options: t.ImportOptions
    source_id: int
    staging: Staging = field(default_factory=Staging)


def supported(options: t.ImportOptions) -> bool:
    """The options this path reads itself; others (a custom date format) use the row-by-row path."""
    return options.date_format is None and codecs.lookup(options.encoding).name in PG_ENCODINGS


def _col(job: PgImport, name: str, alias: str = "r") -> str:
    """The raw column of a field, or an empty literal when the file has no such column."""
    return f"{alias}.c{job.fields.index(name)}" if name in job.fields else "''::text"


def _tune_transaction(cursor) -> None:
    for name, value in TRANSACTION_SETTINGS.items():
        cursor.execute("SELECT set_config(%s, %s, true)", [name, value])


def copy_file(job: PgImport, progress: Callable[[int, int], None] | None) -> int | None:
    """COPY the file into the raw staging table: its rows, or None when PostgreSQL cannot read it as CSV (nothing is
    left)."""
    staging = job.staging
    columns = ", ".join(f"c{i} text" for i in range(len(job.fields)))
    encoding = PG_ENCODINGS[codecs.lookup(job.options.encoding).name]
    delimiter = job.options.delimiter.replace("'", "''")
    total = job.path.stat().st_size
    with connection.cursor() as cursor:
        cursor.execute(
            staging.sql(
                "CREATE UNLOGGED TABLE {raw} (row_no bigint GENERATED ALWAYS AS IDENTITY, {columns})", columns=columns
            )
        )
        try:
            with transaction.atomic():
                column_list = ", ".join(f"c{i}" for i in range(len(job.fields)))
                sql = staging.sql(
                    "COPY {raw} ({column_list}) FROM STDIN "
                    "(FORMAT csv, HEADER true, DELIMITER '{delimiter}', ENCODING '{encoding}', "
                    "FORCE_NOT_NULL ({column_list}))",  # an empty field is '', as the Python reader gives it
                    column_list=column_list,
                    delimiter=delimiter,
                    encoding=encoding,
                )
                with cursor.cursor.copy(sql) as copy, job.path.open("rb") as handle:
                    done = 0
                    while block := handle.read(COPY_BLOCK):
                        copy.write(block)
                        done += len(block)
                        if progress:
                            progress(done, total)
                rows = cursor.cursor.rowcount
        except (DatabaseError, psycopg.Error):  # COPY runs on the driver's cursor: its errors are the driver's
            cursor.execute(staging.sql("DROP TABLE {raw}"))
            return None
        cursor.execute(staging.sql("ANALYZE {raw}"))
    return rows


def _channel_case(expression: str) -> str:
    """SQL mapping a channel key to its channel (the synonyms are the product's constants, never user input)."""
    whens = " ".join(f"WHEN '{key}' THEN '{value}'" for key, value in CHANNEL_SYNONYMS.items())
    return f"CASE {expression} WHEN '' THEN '' {whens} END"


def _length_checks(alias: str, names: tuple[str, ...]) -> str:
    """Values that fit their columns (longer ones go to Python, which refuses them with a reason)."""
    return " AND ".join(f"length({alias}.k_{name}) <= {TRANSACTION_MAX_LENGTHS[name]}" for name in names)


def _items_sql(job: PgImport) -> str:
    """Each distinct (store, channel, sku, name, category, quantity, price, discount) of the file, read once.

    Each step ends with OFFSET 0 so the planner cannot inline it into the next one, which would evaluate an
    expression again at every reference.
    """
    c = {name: _col(job, name) for name in ITEM_FIELDS}
    numeric = "replace({}, ',', '.')" if job.options.decimal_comma else "{}"
    keys = ", ".join(f"{c[name]} AS k_{name}" for name in ITEM_FIELDS)
    return job.staging.sql(
        """
    CREATE UNLOGGED TABLE {items} AS
    WITH d AS (
      SELECT {keys} FROM {raw} r GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    ), p AS (
      SELECT d.*, lower(d.k_channel) AS channel_text, NULLIF(d.k_discount, '') AS discount_text,
        d.k_unit_price ~ %(amount)s AS price_ok,
        (d.k_discount = '' OR d.k_discount ~ %(amount)s) AS discount_ok,
        d.k_quantity ~ %(integer)s AS quantity_ok
      FROM d
      OFFSET 0  -- a fence: each value is computed once per row, not once per reference
    ), q AS (
      SELECT p.*,
        CASE WHEN p.price_ok THEN ({price}::numeric * 100)::bigint END AS unit_price_minor,
        CASE WHEN p.discount_text IS NULL THEN 0
             WHEN p.discount_ok THEN ({discount}::numeric * 100)::bigint END AS discount_minor,
        CASE WHEN p.quantity_ok THEN p.k_quantity::int END AS quantity,
        {channel} AS channel
      FROM p
      OFFSET 0
    )
    SELECT q.k_store, q.k_channel, q.k_sku, q.k_product_name, q.k_category, q.k_quantity, q.k_unit_price,
      q.k_discount, q.quantity, q.unit_price_minor, q.discount_minor, coalesce(q.channel, '') AS channel,
      coalesce(q.k_sku <> '' AND q.k_sku ~ %(code)s AND q.k_store ~ %(code)s
       AND q.k_product_name ~ %(code)s AND q.k_product_name IS NFC NORMALIZED AND q.k_category ~ %(key)s
       AND {lengths}
       AND q.channel IS NOT NULL AND q.quantity_ok AND q.quantity <> 0 AND q.price_ok AND q.discount_ok
       AND q.discount_minor <= abs(q.quantity) * q.unit_price_minor,
      false) AS ok
    FROM q
    """,
        keys=keys,
        price=numeric.format("p.k_unit_price"),
        discount=numeric.format("p.discount_text"),
        channel=_channel_case("p.channel_text"),
        lengths=_length_checks("q", ("store", "sku", "product_name", "category")),
    )


def _two_digits(position: int) -> str:
    return f"((get_byte(o.bytes, {position}) - 48) * 10 + get_byte(o.bytes, {position + 1}) - 48)"


# The usual shape, "2025-03-14T10:23:00+01:00", checked byte by byte (a regex costs several times more) and read by
# a cast once its values are in range; other shapes take the regex below.
_DIGITS = (0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 23, 24)
_OFFSET_SHAPE = (
    "octet_length(b.bytes) = 25 AND b.ts LIKE '____-__-__T__:__:_____:__' AND get_byte(b.bytes, 19) IN (43, 45) AND "
    + " AND ".join(f"get_byte(b.bytes, {i}) BETWEEN 48 AND 57" for i in _DIGITS)
)
_YEAR = f"({_two_digits(0)} * 100 + {_two_digits(2)})"
_OFFSET_OK = f"""o.offset_shape AND {_two_digits(0)} BETWEEN 18 AND 29
      AND {_two_digits(5)} BETWEEN 1 AND 12 AND {_two_digits(8)} >= 1
      AND {_two_digits(8)} <= CASE {_two_digits(5)} WHEN 2 THEN
            CASE WHEN {_YEAR} %% 4 = 0 AND ({_YEAR} %% 100 <> 0 OR {_YEAR} %% 400 = 0) THEN 29 ELSE 28 END
          WHEN 4 THEN 30 WHEN 6 THEN 30 WHEN 9 THEN 30 WHEN 11 THEN 30 ELSE 31 END
      AND {_two_digits(11)} <= 23 AND {_two_digits(14)} <= 59 AND {_two_digits(17)} <= 59
      AND {_two_digits(20)} <= 15 AND {_two_digits(23)} <= 59"""


def _headers_sql(job: PgImport) -> str:
    """Each distinct (receipt id, customer, timestamp) of the file, read once: nearly one per receipt.

    Timestamps are checked by one regex without captures (PostgreSQL's capturing regexes are slow) and cut by
    position; a local time without offset is refused here when it is ambiguous or does not exist (Python decides).
    """
    c = {name: _col(job, name) for name in HEADER_FIELDS}
    keys = ", ".join(f"{c[name]} AS k_{name}" for name in HEADER_FIELDS)
    return job.staging.sql(
        """
    CREATE UNLOGGED TABLE {headers} AS
    WITH d AS (
      SELECT {keys} FROM {raw} r GROUP BY 1, 2, 3
    ), b AS (
      SELECT d.*, d.k_timestamp AS ts, convert_to(d.k_timestamp, 'UTF8') AS bytes FROM d
      OFFSET 0  -- a fence: each value is computed once per row, not once per reference
    ), o AS (
      SELECT b.*, {offset_shape} AS offset_shape FROM b
      OFFSET 0
    ), c AS (
      SELECT o.*, {offset_ok} AS cast_ok FROM o
      OFFSET 0
    ), v AS (
      SELECT c.*, CASE WHEN c.cast_ok THEN false ELSE c.ts ~ %(iso)s END AS ts_ok FROM c
      OFFSET 0
    ), p AS (
      SELECT v.*,
        CASE WHEN v.ts_ok THEN substr(v.ts, 6, 2)::int END AS mo,
        CASE WHEN v.ts_ok THEN substr(v.ts, 9, 2)::int END AS dd,
        CASE WHEN v.ts_ok AND length(v.ts) >= 16 THEN substr(v.ts, 12, 2)::int ELSE 0 END AS hh,
        CASE WHEN v.ts_ok AND length(v.ts) >= 16 THEN substr(v.ts, 15, 2)::int ELSE 0 END AS mi,
        CASE WHEN v.ts_ok AND substr(v.ts, 17, 1) = ':' THEN substr(v.ts, 18, 2)::int ELSE 0 END AS ss,
        CASE WHEN NOT v.ts_ok THEN NULL
             WHEN substr(v.ts, 17, 1) = ':' THEN substr(v.ts, 20)
             WHEN length(v.ts) >= 16 THEN substr(v.ts, 17)
             ELSE '' END AS tz_text
      FROM v
      OFFSET 0
    ), q AS (
      SELECT p.*,
        CASE WHEN p.ts_ok AND p.mo BETWEEN 1 AND 12 AND p.hh <= 23 AND p.mi <= 59 AND p.ss <= 59
              AND p.dd BETWEEN 1 AND extract(day FROM make_date(substr(p.ts, 1, 4)::int, p.mo, 1)
                                                  + interval '1 month - 1 day')
             THEN make_timestamp(substr(p.ts, 1, 4)::int, p.mo, p.dd, p.hh, p.mi, p.ss) END AS local_ts
      FROM p
      OFFSET 0
    ), w AS (
      SELECT q.*,
        CASE WHEN q.cast_ok THEN q.ts::timestamptz
             WHEN q.local_ts IS NULL THEN NULL
             WHEN q.tz_text = '' THEN q.local_ts AT TIME ZONE %(tz)s
             WHEN q.tz_text = 'Z' THEN q.local_ts AT TIME ZONE 'UTC'
             WHEN substr(q.tz_text, 2, 2)::int > 23 OR right(q.tz_text, 2)::int > 59 THEN NULL  -- Python decides
             ELSE (q.local_ts - (substr(q.tz_text, 1, 1) || '1')::int
                   * (substr(q.tz_text, 2, 2)::int * interval '1 hour'
                      + right(q.tz_text, 2)::int * interval '1 minute'))
                  AT TIME ZONE 'UTC' END AS purchased_at
      FROM q
      OFFSET 0
    )
    SELECT w.k_receipt_id, w.k_customer_external_id, w.k_timestamp, w.purchased_at,
      coalesce(w.k_receipt_id <> '' AND w.k_receipt_id ~ %(code)s AND w.k_customer_external_id ~ %(code)s
       AND {lengths}
       AND w.purchased_at IS NOT NULL AND w.purchased_at <= %(latest)s
       AND (w.cast_ok OR w.tz_text <> '' OR (
             (w.purchased_at AT TIME ZONE %(tz)s) = w.local_ts
             AND ((w.purchased_at + interval '1 hour') AT TIME ZONE %(tz)s) <> w.local_ts
             AND ((w.purchased_at - interval '1 hour') AT TIME ZONE %(tz)s) <> w.local_ts)),
      false) AS ok
    FROM w
    """,
        keys=keys,
        lengths=_length_checks("w", ("receipt_id", "customer_external_id")),
        offset_shape=_OFFSET_SHAPE,
        offset_ok=_OFFSET_OK,
    )


def _staged_sql(job: PgImport) -> str:
    """Every row with its typed values, joined to its checked items and header; `fast = false` for Python's rows."""
    item_join = " AND ".join(f"i.k_{name} = {_col(job, name)}" for name in ITEM_FIELDS)
    header_join = " AND ".join(f"h.k_{name} = {_col(job, name)}" for name in HEADER_FIELDS)
    line = _col(job, "line")
    return job.staging.sql(
        """
    CREATE UNLOGGED TABLE {stg} AS
    SELECT r.row_no, h.k_receipt_id AS receipt_id, r.line, h.k_customer_external_id AS customer_external_id,
      i.k_store AS store, i.channel, i.k_sku AS sku, i.k_product_name AS product_name, i.k_category AS category,
      i.quantity, i.unit_price_minor, i.discount_minor, h.purchased_at,
      i.ok AND h.ok AND r.line_ok AND coalesce(r.line, 1) >= 1 AS fast
    FROM (
      SELECT r.*, CASE WHEN r.line_ok THEN NULLIF({line}, '')::int END AS line
      FROM (SELECT r.*, ({line} = '' OR {line} ~ %(line)s) AS line_ok FROM {raw} r OFFSET 0) r
    ) r
    JOIN {items} i ON {item_join}
    JOIN {headers} h ON {header_join}
    """,
        line=line,
        item_join=item_join,
        header_join=header_join,
    )


def stage_rows(job: PgImport, ctx: RowContext) -> int:
    """Build the staged rows (typed, `fast` when valid) and the rejects; returns the number of rows read."""
    staging = job.staging
    params = {
        "iso": ISO_TIMESTAMP,
        "amount": AMOUNT_COMMA if job.options.decimal_comma else AMOUNT_POINT,
        "integer": PLAIN_INTEGER,
        "line": LINE_NUMBER,
        "code": PLAIN_CODE,
        "key": PLAIN_KEY,
        "tz": settings.TIME_ZONE,
        "latest": ctx.now + FUTURE_TOLERANCE,
    }
    with connection.cursor() as cursor:
        # Groupings and joins on several text columns over every row: the planner's estimates are far too low, so it
        # would pick a nested loop (quadratic here) and never a parallel plan.
        cursor.execute(
            "SELECT set_config('enable_nestloop', 'off', true), set_config('parallel_setup_cost', '0', true),"
            " set_config('parallel_tuple_cost', '0', true)"
        )
        cursor.execute(_items_sql(job), params)
        cursor.execute(_headers_sql(job), params)
        cursor.execute(staging.sql("ANALYZE {items}"))
        cursor.execute(staging.sql("ANALYZE {headers}"))
        cursor.execute(_staged_sql(job), params)
        read = cursor.rowcount
        cursor.execute(
            "SELECT set_config('enable_nestloop', 'on', true), set_config('parallel_setup_cost', '1000', true),"
            " set_config('parallel_tuple_cost', '0.1', true)"
        )
        cursor.execute(staging.sql("CREATE UNLOGGED TABLE {rejects} (row_no bigint PRIMARY KEY, reasons text)"))
        _parse_slow_rows(job, ctx, cursor)
        _reject_duplicates(job, cursor, only_existing_receipts=True)
        reject_suppressed_staged(  # erased subjects (suppression list)
            cursor, job.source_id, staged=staging.tables["stg"], rejects=staging.tables["rejects"]
        )
        cursor.execute(staging.sql("DELETE FROM {stg} WHERE NOT fast"))
        cursor.execute(staging.sql("ANALYZE {stg}"))
        return read


def _parse_slow_rows(job: PgImport, ctx: RowContext, cursor) -> None:
    """Rows SQL did not read: Python's parser decides, and its verdict goes back into the staged rows or the rejects."""
    staging = job.staging
    columns = ", ".join(f"r.c{i}" for i in range(len(job.fields)))
    raw = connection.connection.cursor(name="slow_rows")
    raw.itersize = PYTHON_BATCH
    raw.execute(
        staging.sql(
            "SELECT r.row_no, {columns} FROM {raw} r JOIN {stg} s USING (row_no) WHERE NOT s.fast ORDER BY 1",
            columns=columns,
        )
    )
    parsed, rejected = [], []
    for row_no, *values in raw:
        try:
            row = parse_transaction(dict(zip(job.fields, values, strict=True)), ctx)
        except t.RowRejected as exc:
            rejected.append((row_no, "; ".join(exc.reasons)))
            continue
        parsed.append(
            (
                row_no,
                row.receipt_id,
                row.line,
                row.customer_external_id,
                row.store,
                row.channel,
                row.sku,
                row.product_name,
                row.category,
                row.quantity,
                row.unit_price_minor,
                row.discount_minor,
                row.purchased_at,
            )
        )
    raw.close()
    _copy_rows(cursor, staging.sql("{rejects} (row_no, reasons)"), rejected)
    if parsed:
        cursor.execute(staging.sql("CREATE UNLOGGED TABLE {slow} (LIKE {stg})"))
        _copy_rows(cursor, staging.sql("{slow} (row_no, {columns})", columns=", ".join(STAGED_COLUMNS)), parsed)
        assignments = ", ".join(f"{name} = s.{name}" for name in STAGED_COLUMNS)
        cursor.execute(
            staging.sql(
                "UPDATE {stg} SET {assignments}, fast = true FROM {slow} s WHERE {stg}.row_no = s.row_no",
                assignments=assignments,
            )
        )


def _copy_rows(cursor, target: str, rows: list[tuple]) -> None:
    if not rows:
        return
    with cursor.cursor.copy(f"COPY {target} FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _reject_duplicates(job: PgImport, cursor, *, only_existing_receipts: bool) -> None:
    """A (receipt, line) that an earlier valid row already has is a duplicate, as on the row-by-row path.

    With `only_existing_receipts`, only the rows of receipts the database already has are checked (few, usually
    none): for new receipts the unique index of the lines finds duplicates during the merge (see `merge`).
    """
    existing = (
        "AND EXISTS (SELECT 1 FROM cdp_receipt e WHERE e.source_id = %(source)s AND e.receipt_id = s.receipt_id)"
        if only_existing_receipts
        else ""
    )
    cursor.execute(
        job.staging.sql(
            """WITH d AS (
                 SELECT row_no, min(row_no) OVER (PARTITION BY receipt_id, line) AS first_row
                 FROM {stg} s WHERE fast AND line IS NOT NULL {existing})
               INSERT INTO {rejects} (row_no, reasons)
               SELECT row_no, %(reason)s || ' ' || (first_row + 1) FROM d WHERE row_no <> first_row""",
            existing=existing,
        ),
        {"source": job.source_id, "reason": t.DUPLICATE_ROW},
    )
    if cursor.rowcount:
        cursor.execute(job.staging.sql("UPDATE {stg} SET fast = false WHERE row_no IN (SELECT row_no FROM {rejects})"))


def write_rejects(job: PgImport, sink) -> int:
    """Stream the rejected rows, in file order, with their reasons and original values, to the error sink."""
    columns = ", ".join(f"r.c{i}" for i in range(len(job.fields)))
    raw = connection.connection.cursor(name="rejects")
    raw.itersize = PYTHON_BATCH
    raw.execute(
        job.staging.sql(
            "SELECT j.row_no, j.reasons, {columns} FROM {rejects} j JOIN {raw} r USING (row_no) ORDER BY 1",
            columns=columns,
        )
    )
    count = 0
    for row_no, reasons, *values in raw:
        sink.add(row_no + 1, reasons.split("; "), dict(zip(job.fields, values, strict=True)), original=values)
        count += 1
    raw.close()
    return count


# The catalogue as the file names it: one row per distinct (store, channel, sku, name, category), with its last row.
CATALOGUE = """
    CREATE UNLOGGED TABLE {catalogue} AS
    SELECT store, channel, sku, product_name, category, max(row_no) AS last_row
    FROM {stg} GROUP BY 1, 2, 3, 4, 5
"""

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

# One row per receipt of the file: its totals, line counts and header from one pass, and the id it already has in
# the database, if any. The header is its first row's; nearly always every row of a receipt has the same one, which
# the least and greatest values tell without joining the rows again ("C" collation: a byte comparison suffices).
_HEADER = ("customer_external_id", "store", "channel")
RECEIPTS = (
    """
    CREATE UNLOGGED TABLE {{receipts}} AS
    SELECT a.*, e.id AS existing_id
    FROM (
      SELECT receipt_id, min(row_no) AS first_row, count(*) AS lines, count(line) AS numbered,
             sum(quantity * unit_price_minor - discount_minor) AS total, sum(discount_minor) AS discount,
             sum(quantity) AS items, {least}, min(purchased_at) AS purchased_at,
             {same} AND min(purchased_at) = max(purchased_at) AS uniform
      FROM {{stg}} GROUP BY receipt_id
    ) a
    LEFT JOIN cdp_receipt e ON e.source_id = %(source)s AND e.receipt_id = a.receipt_id
"""
).format(
    least=", ".join(f'min({name} COLLATE "C") COLLATE "default" AS {name}' for name in _HEADER),
    same=" AND ".join(f'min({name} COLLATE "C") = max({name} COLLATE "C")' for name in _HEADER),
)
# Receipts whose rows disagree on the header take their first row's, as on the row-by-row path.
FIRST_ROW_HEADERS = """
    UPDATE {receipts} r SET customer_external_id = s.customer_external_id, store = s.store, channel = s.channel,
      purchased_at = s.purchased_at
    FROM {stg} s
    WHERE NOT r.uniform AND s.row_no = r.first_row
"""

# What the inserts below point to, locked as the foreign-key triggers would lock it (see the module's docstring).
LOCK_REFERENCED = """
    SELECT (SELECT count(*) FROM (SELECT 1 FROM cdp_source WHERE id = %(source)s FOR KEY SHARE) s),
      (SELECT count(*) FROM (
         SELECT 1 FROM cdp_store WHERE code IN (SELECT store FROM {catalogue}) ORDER BY id FOR KEY SHARE) s),
      (SELECT count(*) FROM (
         SELECT 1 FROM cdp_product WHERE sku IN (SELECT sku FROM {catalogue}) ORDER BY id FOR KEY SHARE) s),
      (SELECT count(*) FROM (
         SELECT 1 FROM cdp_customer WHERE id IN (
           SELECT sr.customer_id FROM cdp_sourcerecord sr
           WHERE sr.source_id = %(source)s AND sr.external_id IN (
             SELECT customer_external_id FROM {receipts} WHERE customer_external_id <> ''))
         ORDER BY id FOR KEY SHARE) s)
"""

# New receipts, in file order, with their totals; the ids they get (and those of existing receipts) are kept.
INSERT_RECEIPTS = """
    CREATE UNLOGGED TABLE {receipt_ids} AS
    WITH inserted AS (
      INSERT INTO cdp_receipt (source_id, receipt_id, customer_id, customer_external_id, store_id, channel,
                               purchased_at, currency, total_minor, discount_minor, item_count, created_at)
      SELECT %(source)s, r.receipt_id, sr.customer_id, r.customer_external_id, st.id, r.channel, r.purchased_at,
             %(currency)s, r.total, r.discount, r.items, now()
      FROM {receipts} r
      LEFT JOIN cdp_sourcerecord sr
        ON r.customer_external_id <> '' AND sr.source_id = %(source)s AND sr.external_id = r.customer_external_id
      LEFT JOIN cdp_store st ON st.code = r.store AND r.store <> ''
      WHERE r.existing_id IS NULL
      ORDER BY r.first_row
      RETURNING id, receipt_id
    )
    SELECT id, receipt_id, true AS inserted FROM inserted
    UNION ALL
    SELECT existing_id, receipt_id, false FROM {receipts} WHERE existing_id IS NOT NULL
"""

# The lines of new receipts: nothing to compare. Lines without a number take their place in the file's order.
INSERT_LINES = """
    INSERT INTO cdp_receiptline (receipt_id, line_no, product_id, quantity, unit_price_minor, discount_minor,
                                 amount_minor)
    SELECT i.id, {line_no}, p.id, s.quantity, s.unit_price_minor, s.discount_minor,
           s.quantity * s.unit_price_minor - s.discount_minor
    FROM {stg} s
    JOIN {receipt_ids} i ON i.receipt_id = s.receipt_id AND i.inserted
    JOIN cdp_product p ON p.sku = s.sku
"""
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
      SELECT i.id AS receipt_id, {line_no} AS line_no, p.id AS product_id, s.quantity, s.unit_price_minor,
             s.discount_minor
      FROM {stg} s
      JOIN {receipt_ids} i ON i.receipt_id = s.receipt_id AND NOT i.inserted
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
      WHERE l.receipt_id IN (SELECT existing_id FROM {receipts} WHERE existing_id IS NOT NULL)
      GROUP BY l.receipt_id
    ) t
    WHERE r.id = t.receipt_id
      AND (r.total_minor, r.discount_minor, r.item_count) IS DISTINCT FROM (t.total, t.discount, t.items)
"""


BULK_TABLES = ("cdp_receipt", "cdp_receiptline")
BULK_LOCK_TIMEOUT = "5s"  # a bulk load waits this long for readers to finish, then imports with the indexes kept

# The tables' indexes but their primary keys, with what builds them again: each index's own definition and, for a
# unique constraint, its name. A deferrable constraint cannot be rebuilt from an index: then there is no bulk load.
SECONDARY_INDEXES = """
    SELECT i.indrelid::regclass::text, i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid),
      quote_ident(c.conname), coalesce(c.condeferrable, false)
    FROM pg_index i
    LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid AND c.contype = 'u'
    WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary
    ORDER BY 1, 2
"""


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


def _drop_secondary_indexes(cursor) -> list[tuple[str, str, str, str | None]] | None:
    """Drop the receipt tables' secondary indexes; what builds them again, or None when one cannot be rebuilt."""
    cursor.execute(SECONDARY_INDEXES, [list(BULK_TABLES)])
    indexes = cursor.fetchall()
    if any(deferrable for *_, deferrable in indexes):
        return None
    for table, index, _definition, constraint, _deferrable in indexes:
        cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {constraint}" if constraint else f"DROP INDEX {index}")
    return [(table, index, definition, constraint) for table, index, definition, constraint, _ in indexes]


def _build_indexes(cursor, indexes: list[tuple[str, str, str, str | None]]) -> None:
    """Build the dropped indexes again, as they were; a unique one fails on a duplicate as the inserts would have."""
    for table, index, definition, constraint in indexes:
        cursor.execute(definition)
        if constraint:
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {constraint} UNIQUE USING INDEX {index}")
    cursor.execute(f"ANALYZE {', '.join(BULK_TABLES)}")


def _skip_row_triggers(cursor) -> bool:
    """Turn the per-row foreign-key triggers off for this transaction when the role may; True when it did."""
    try:
        with transaction.atomic():
            cursor.execute("SELECT set_config('session_replication_role', 'replica', true)")
    except DatabaseError:  # the role may not: the triggers check each row
        return False
    return True


def _merge_once(job: PgImport, bulk: bool) -> tuple[int, int, int]:
    staging = job.staging
    params = {"source": job.source_id, "currency": job.options.currency}
    with connection.cursor() as cursor:
        cursor.execute(staging.sql(CATALOGUE))
        for statement in MERGE_CATALOGUE:
            cursor.execute(staging.sql(statement))
        cursor.execute(
            "SELECT set_config('parallel_setup_cost', '0', true), set_config('parallel_tuple_cost', '0', true)"
        )
        cursor.execute(staging.sql(RECEIPTS), params)
        cursor.execute(
            "SELECT set_config('parallel_setup_cost', '1000', true), set_config('parallel_tuple_cost', '0.1', true)"
        )
        cursor.execute(staging.sql("ANALYZE {receipts}"))
        cursor.execute(
            staging.sql(
                "SELECT bool_or(numbered < lines), bool_or(existing_id IS NOT NULL), bool_or(NOT uniform)"
                " FROM {receipts}"
            )
        )
        unnumbered, existing, mixed = cursor.fetchone()
        if mixed:
            cursor.execute(staging.sql(FIRST_ROW_HEADERS))
        line_no = NUMBERED_LINE if unnumbered else "s.line"
        skipped = _skip_row_triggers(cursor)
        if skipped:
            cursor.execute(staging.sql(LOCK_REFERENCED), params)
        dropped = _drop_secondary_indexes(cursor) if bulk else None
        cursor.execute(staging.sql(INSERT_RECEIPTS), params)
        cursor.execute(staging.sql("ANALYZE {receipt_ids}"))
        cursor.execute(staging.sql(INSERT_LINES, line_no=line_no))
        created, updated = cursor.rowcount, 0
        if dropped is not None:
            _build_indexes(cursor, dropped)
        if existing:
            cursor.execute(staging.sql(UPDATE_RECEIPTS), params)
            cursor.execute(staging.sql(EXISTING_LINES, line_no=line_no))
            added, updated = cursor.fetchone()
            created += added
            if added or updated:
                cursor.execute(staging.sql(EXISTING_TOTALS))
        if skipped:
            cursor.execute("SELECT set_config('session_replication_role', 'origin', true)")
        cursor.execute(staging.sql("SELECT coalesce(sum(lines), 0)::bigint FROM {receipts}"))
        staged = cursor.fetchone()[0]
    return created, updated, staged - created - updated


def merge(job: PgImport, *, bulk: bool = False) -> tuple[int, int, int]:
    """Upsert the staged rows; returns (created, updated, unchanged) counted in lines."""
    try:
        with transaction.atomic():  # a savepoint: a (receipt, line) twice in the file undoes the merge
            return _merge_once(job, bulk)
    except IntegrityError as exc:
        if getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None) != UNIQUE_LINE:
            raise
    with connection.cursor() as cursor:
        cursor.execute(job.staging.sql("DROP TABLE IF EXISTS {catalogue}, {receipts}, {receipt_ids}"))
        _reject_duplicates(job, cursor, only_existing_receipts=False)
        cursor.execute(job.staging.sql("DELETE FROM {stg} WHERE NOT fast"))
    return _merge_once(job, bulk)


def import_file_pg(
    *,
    job: PgImport,
    ctx: RowContext,
    sink,
    result: t.ImportResult,
    progress: Callable[[int, int], None] | None = None,
) -> bool:
    """Import the whole file as one batch; False (and nothing written) when COPY cannot read it."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            _tune_transaction(cursor)
        lines = copy_file(job, progress)
        if lines is None:
            return False
        bulk = bulk_load(lines)
        result.read = stage_rows(job, ctx)
        result.add(*merge(job, bulk=bulk))
        result.rejected = write_rejects(job, sink)
        _drop_staging(job)
    return True


def _drop_staging(job: PgImport) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {', '.join(job.staging.tables.values())}")
