"""The PostgreSQL bulk path for receipt lines: COPY the file into a staging table and merge it with set-based SQL.

1. The file's bytes go unparsed into PostgreSQL: `COPY ... (FORMAT csv)` into a staging table of text columns. A file
   COPY cannot read (a row with too many columns, bytes invalid in its encoding) returns None: the caller then uses
   the row-by-row path, which rejects exactly the bad rows.
2. SQL reads every row whose values have the plain, common shapes (ISO timestamps, plain decimals, clean codes): the
   "fast" rows. Every other row is read by the same Python parser as the row-by-row path (`parse_transaction`), so a
   value is accepted, converted or refused the same way on both paths, with the same reasons.
3. Duplicates of (receipt, line) are refused; stores, categories, products, receipts and lines are upserted with
   INSERT ... ON CONFLICT; receipt totals are recomputed from their lines.

All of it runs in the caller's transaction: the file is one batch, written whole or not at all.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg

from django.conf import settings
from django.db import DatabaseError, connection, transaction

from cdp.ingest import types as t
from cdp.ingest.rows import (
    CHANNEL_SYNONYMS,
    FUTURE_TOLERANCE,
    TRANSACTION_FIELDS,
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
AMOUNT_POINT = r"^[0-9]{1,13}(?:\.[0-9]{1,2})?$"  # two decimals at most: exact in minor units, no rounding
AMOUNT_COMMA = r"^[0-9]{1,13}(?:,[0-9]{1,2})?$"


@dataclass(frozen=True)
class PgImport:
    """What the merge needs from the file: its column names (as mapped) and the import's options."""

    path: Path
    fields: list[str]
    options: t.ImportOptions
    source_id: int


def supported(options: t.ImportOptions) -> bool:
    """The options this path reads itself; others (a custom date format) use the row-by-row path."""
    return options.date_format is None and codecs.lookup(options.encoding).name in PG_ENCODINGS


def _col(job: PgImport, name: str) -> str:
    """The staging column of a field, or an empty literal when the file has no such column."""
    return f"c{job.fields.index(name)}" if name in job.fields else "''::text"


def copy_file(job: PgImport, progress: Callable[[int, int], None] | None) -> bool:
    """COPY the file into stg_raw; False when PostgreSQL cannot read it as CSV (nothing is left behind)."""
    columns = ", ".join(f"c{i} text" for i in range(len(job.fields)))
    encoding = PG_ENCODINGS[codecs.lookup(job.options.encoding).name]
    delimiter = job.options.delimiter.replace("'", "''")
    total = job.path.stat().st_size
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE stg_raw (row_no bigint GENERATED ALWAYS AS IDENTITY, {columns}) ON COMMIT DROP"
        )
        try:
            with transaction.atomic():
                column_list = ", ".join(f"c{i}" for i in range(len(job.fields)))
                sql = (
                    f"COPY stg_raw ({column_list}) FROM STDIN "
                    f"(FORMAT csv, HEADER true, DELIMITER '{delimiter}', ENCODING '{encoding}', "
                    f"FORCE_NOT_NULL ({column_list}))"  # an empty field is '', as the Python reader gives it
                )
                with cursor.cursor.copy(sql) as copy, job.path.open("rb") as handle:
                    done = 0
                    while block := handle.read(COPY_BLOCK):
                        copy.write(block)
                        done += len(block)
                        if progress:
                            progress(done, total)
        except (DatabaseError, psycopg.Error):  # COPY runs on the driver's cursor: its errors are the driver's
            cursor.execute("DROP TABLE stg_raw")
            return False
        cursor.execute("ANALYZE stg_raw")
    return True


def _channel_case(expression: str) -> str:
    """SQL mapping a channel key to its channel (the synonyms are the product's constants, never user input)."""
    whens = " ".join(f"WHEN '{key}' THEN '{value}'" for key, value in CHANNEL_SYNONYMS.items())
    return f"CASE {expression} WHEN '' THEN '' {whens} END"


def _length_checks(alias: str) -> str:
    """Values that fit their columns (longer ones go to Python, which refuses them with a reason)."""
    return " AND ".join(f"length({alias}.{name}) <= {limit}" for name, limit in TRANSACTION_MAX_LENGTHS.items())


def _fast_sql(job: PgImport) -> str:
    """One pass over stg_raw: typed values for the fast rows, `fast = false` for rows Python must read.

    Timestamps are checked by one regex without captures (PostgreSQL's capturing regexes are slow) and cut by
    position. Each step ends with OFFSET 0 so the planner cannot inline it into the next one, which would evaluate an
    expression again at every reference (a hundredfold cost on this query).
    """
    c = {name: _col(job, name) for name in TRANSACTION_FIELDS}
    numeric = "replace({}, ',', '.')" if job.options.decimal_comma else "{}"
    return f"""
    CREATE TEMP TABLE stg ON COMMIT DROP AS
    WITH v AS (
      SELECT r.row_no,
        {c["receipt_id"]} AS receipt_id, NULLIF({c["line"]}, '') AS line_text,
        {c["customer_external_id"]} AS customer_external_id, {c["store"]} AS store,
        lower({c["channel"]}) AS channel_text, {c["sku"]} AS sku, {c["product_name"]} AS product_name,
        {c["category"]} AS category, {c["quantity"]} AS quantity_text, {c["unit_price"]} AS price_text,
        NULLIF({c["discount"]}, '') AS discount_text, {c["timestamp"]} AS ts,
        {c["timestamp"]} ~ %(iso)s AS ts_ok
      FROM stg_raw r
      OFFSET 0  -- a fence: each value is computed once per row, not once per reference
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
             ELSE '' END AS tz_text,
        v.price_text ~ %(amount)s AS price_ok,
        (v.discount_text IS NULL OR v.discount_text ~ %(amount)s) AS discount_ok,
        v.quantity_text ~ %(integer)s AS quantity_ok,
        (v.line_text IS NULL OR v.line_text ~ '^[0-9]{{1,9}}$') AS line_ok
      FROM v
      OFFSET 0  -- a fence: each value is computed once per row, not once per reference
    ), q AS (
      SELECT p.*,
        CASE WHEN p.ts_ok AND p.mo BETWEEN 1 AND 12 AND p.hh <= 23 AND p.mi <= 59 AND p.ss <= 59
              AND p.dd BETWEEN 1 AND extract(day FROM make_date(substr(p.ts, 1, 4)::int, p.mo, 1)
                                                  + interval '1 month - 1 day')
             THEN make_timestamp(substr(p.ts, 1, 4)::int, p.mo, p.dd, p.hh, p.mi, p.ss) END AS local_ts,
        CASE WHEN p.price_ok THEN ({numeric.format("p.price_text")}::numeric * 100)::bigint END AS price,
        CASE WHEN p.discount_text IS NULL THEN 0
             WHEN p.discount_ok THEN ({numeric.format("p.discount_text")}::numeric * 100)::bigint END AS discount,
        CASE WHEN p.quantity_ok THEN p.quantity_text::int END AS quantity,
        CASE WHEN p.line_ok THEN p.line_text::int END AS line,
        {_channel_case("p.channel_text")} AS channel
      FROM p
      OFFSET 0  -- a fence: each value is computed once per row, not once per reference
    ), w AS (
      SELECT q.*,
        CASE WHEN q.local_ts IS NULL THEN NULL
             WHEN q.tz_text = '' THEN q.local_ts AT TIME ZONE %(tz)s
             WHEN q.tz_text = 'Z' THEN q.local_ts AT TIME ZONE 'UTC'
             ELSE (q.local_ts - (substr(q.tz_text, 1, 1) || '1')::int
                   * (substr(q.tz_text, 2, 2)::int * interval '1 hour'
                      + right(q.tz_text, 2)::int * interval '1 minute'))
                  AT TIME ZONE 'UTC' END AS purchased_at
      FROM q
      OFFSET 0  -- a fence: each value is computed once per row, not once per reference
    )
    SELECT w.row_no, w.receipt_id, w.line, w.customer_external_id, w.store, w.sku, w.product_name, w.category,
      w.quantity, w.price AS unit_price_minor, w.discount AS discount_minor, w.purchased_at,
      coalesce(w.channel, '') AS channel,
      coalesce(w.receipt_id <> '' AND w.sku <> '' AND w.receipt_id ~ %(code)s AND w.sku ~ %(code)s
       AND w.customer_external_id ~ %(code)s AND w.store ~ %(code)s
       AND w.product_name ~ %(code)s AND w.product_name IS NFC NORMALIZED AND w.category ~ %(key)s
       AND {_length_checks("w")}
       AND w.channel IS NOT NULL AND w.line_ok AND coalesce(w.line, 1) >= 1
       AND w.quantity_ok AND w.quantity <> 0 AND w.price_ok AND w.discount_ok
       AND w.discount <= abs(w.quantity) * w.price
       AND w.purchased_at IS NOT NULL AND w.purchased_at <= %(latest)s
       AND (w.tz_text <> '' OR (
             (w.purchased_at AT TIME ZONE %(tz)s) = w.local_ts
             AND ((w.purchased_at + interval '1 hour') AT TIME ZONE %(tz)s) <> w.local_ts
             AND ((w.purchased_at - interval '1 hour') AT TIME ZONE %(tz)s) <> w.local_ts)),
      false) AS fast
    FROM w
    """


def stage_rows(job: PgImport, ctx: RowContext) -> int:
    """Build `stg` (typed rows) and `stg_rejects`; returns the number of rows read."""
    params = {
        "iso": ISO_TIMESTAMP,
        "amount": AMOUNT_COMMA if job.options.decimal_comma else AMOUNT_POINT,
        "integer": PLAIN_INTEGER,
        "code": PLAIN_CODE,
        "key": PLAIN_KEY,
        "tz": settings.TIME_ZONE,
        "latest": ctx.now + FUTURE_TOLERANCE,
    }
    with connection.cursor() as cursor:
        cursor.execute(_fast_sql(job), params)
        cursor.execute("CREATE TEMP TABLE stg_rejects (row_no bigint PRIMARY KEY, reasons text) ON COMMIT DROP")
        _parse_slow_rows(job, ctx, cursor)
        _reject_duplicates(cursor)
        cursor.execute("DELETE FROM stg WHERE NOT fast")
        cursor.execute("ANALYZE stg")
        cursor.execute("SELECT count(*) FROM stg_raw")
        return cursor.fetchone()[0]


def _parse_slow_rows(job: PgImport, ctx: RowContext, cursor) -> None:
    """Rows SQL did not read: Python's parser decides, and its verdict goes back into stg or stg_rejects."""
    columns = ", ".join(f"r.c{i}" for i in range(len(job.fields)))
    raw = connection.connection.cursor(name="slow_rows")
    raw.itersize = PYTHON_BATCH
    raw.execute(f"SELECT r.row_no, {columns} FROM stg_raw r JOIN stg s USING (row_no) WHERE NOT s.fast ORDER BY 1")
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
    _copy_rows(cursor, "stg_rejects (row_no, reasons)", rejected)
    if parsed:
        cursor.execute("CREATE TEMP TABLE stg_slow (LIKE stg) ON COMMIT DROP")
        _copy_rows(
            cursor,
            "stg_slow (row_no, receipt_id, line, customer_external_id, store, channel, sku, product_name, category, "
            "quantity, unit_price_minor, discount_minor, purchased_at)",
            parsed,
        )
        cursor.execute(
            """UPDATE stg SET receipt_id = s.receipt_id, line = s.line, customer_external_id = s.customer_external_id,
                 store = s.store, channel = s.channel, sku = s.sku, product_name = s.product_name,
                 category = s.category, quantity = s.quantity, unit_price_minor = s.unit_price_minor,
                 discount_minor = s.discount_minor, purchased_at = s.purchased_at, fast = true
               FROM stg_slow s WHERE stg.row_no = s.row_no"""
        )


def _copy_rows(cursor, target: str, rows: list[tuple]) -> None:
    if not rows:
        return
    with cursor.cursor.copy(f"COPY {target} FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _reject_duplicates(cursor) -> None:
    """A (receipt, line) that an earlier valid row already has is a duplicate, as on the row-by-row path."""
    cursor.execute(
        """WITH d AS (
             SELECT row_no, min(row_no) OVER (PARTITION BY receipt_id, line) AS first_row
             FROM stg WHERE fast AND line IS NOT NULL)
           INSERT INTO stg_rejects (row_no, reasons)
           SELECT row_no, %s || ' ' || (first_row + 1) FROM d WHERE row_no <> first_row""",
        [t.DUPLICATE_ROW],
    )
    cursor.execute("UPDATE stg SET fast = false WHERE row_no IN (SELECT row_no FROM stg_rejects)")


def write_rejects(job: PgImport, sink) -> int:
    """Stream the rejected rows, in file order, with their reasons and original values, to the error sink."""
    columns = ", ".join(f"r.c{i}" for i in range(len(job.fields)))
    raw = connection.connection.cursor(name="rejects")
    raw.itersize = PYTHON_BATCH
    raw.execute(f"SELECT j.row_no, j.reasons, {columns} FROM stg_rejects j JOIN stg_raw r USING (row_no) ORDER BY 1")
    count = 0
    for row_no, reasons, *values in raw:
        sink.add(row_no + 1, reasons.split("; "), dict(zip(job.fields, values, strict=True)), original=values)
        count += 1
    raw.close()
    return count


MERGE_CATALOGUE = [
    """INSERT INTO cdp_store (code, name, kind, city, postcode)
       SELECT DISTINCT ON (store) store, '',
         CASE channel WHEN 'web' THEN 'web' WHEN 'app' THEN 'app' WHEN 'phone' THEN 'call_centre' ELSE 'store' END,
         '', ''
       FROM stg WHERE store <> '' ORDER BY store, row_no DESC
       ON CONFLICT (code) DO NOTHING""",
    """INSERT INTO cdp_category (key, name)
       SELECT key, upper(left(replace(key, '_', ' '), 1)) || lower(substr(replace(key, '_', ' '), 2))
       FROM (SELECT DISTINCT category AS key FROM stg WHERE category <> '') k
       ON CONFLICT (key) DO NOTHING""",
    """INSERT INTO cdp_product (sku, name, category_id, created_at)
       SELECT DISTINCT ON (s.sku) s.sku, s.product_name, c.id, now()
       FROM stg s LEFT JOIN cdp_category c ON c.key = s.category
       ORDER BY s.sku, s.row_no DESC
       ON CONFLICT (sku) DO UPDATE SET
         name = CASE WHEN EXCLUDED.name <> '' THEN EXCLUDED.name ELSE cdp_product.name END,
         category_id = coalesce(EXCLUDED.category_id, cdp_product.category_id)
       WHERE (CASE WHEN EXCLUDED.name <> '' THEN EXCLUDED.name ELSE cdp_product.name END,
              coalesce(EXCLUDED.category_id, cdp_product.category_id))
             IS DISTINCT FROM (cdp_product.name, cdp_product.category_id)""",
]

MERGE_RECEIPTS = """
    CREATE TEMP TABLE stg_receipts ON COMMIT DROP AS
    WITH headers AS (
      SELECT DISTINCT ON (s.receipt_id) s.receipt_id, s.customer_external_id, s.store, s.channel, s.purchased_at
      FROM stg s ORDER BY s.receipt_id, s.row_no
    ), sums AS (
      SELECT receipt_id, sum(quantity * unit_price_minor - discount_minor) AS total, sum(discount_minor) AS discount,
             sum(quantity) AS items
      FROM stg GROUP BY receipt_id
    ), up AS (
      INSERT INTO cdp_receipt (source_id, receipt_id, customer_id, customer_external_id, store_id, channel,
                               purchased_at, currency, total_minor, discount_minor, item_count, created_at)
      SELECT %(source)s, h.receipt_id, sr.customer_id, h.customer_external_id, st.id, h.channel, h.purchased_at,
             %(currency)s, m.total, m.discount, m.items, now()
      FROM headers h
      JOIN sums m USING (receipt_id)
      LEFT JOIN cdp_sourcerecord sr
        ON h.customer_external_id <> '' AND sr.source_id = %(source)s AND sr.external_id = h.customer_external_id
      LEFT JOIN cdp_store st ON st.code = h.store AND h.store <> ''
      ON CONFLICT (source_id, receipt_id) DO UPDATE SET
        customer_id = coalesce(EXCLUDED.customer_id, cdp_receipt.customer_id),
        customer_external_id = EXCLUDED.customer_external_id, store_id = EXCLUDED.store_id,
        channel = EXCLUDED.channel, purchased_at = EXCLUDED.purchased_at
      RETURNING id, receipt_id, (xmax = 0) AS inserted
    )
    SELECT * FROM up
"""

# New receipts took their totals from the file (all their lines are in it); receipts that existed before are summed
# again from the database once their lines are merged.
MERGE_LINES_UPDATE = """
    UPDATE cdp_receiptline l SET product_id = p.id, quantity = n.quantity, unit_price_minor = n.unit_price_minor,
        discount_minor = n.discount_minor, amount_minor = n.quantity * n.unit_price_minor - n.discount_minor
    FROM stg_numbered n
    JOIN stg_receipts r ON r.receipt_id = n.receipt_id AND NOT r.inserted
    JOIN cdp_product p ON p.sku = n.sku
    WHERE l.receipt_id = r.id AND l.line_no = n.line_no
      AND (l.product_id, l.quantity, l.unit_price_minor, l.discount_minor)
          IS DISTINCT FROM (p.id, n.quantity, n.unit_price_minor, n.discount_minor)
"""

MERGE_LINES_INSERT = """
    INSERT INTO cdp_receiptline (receipt_id, line_no, product_id, quantity, unit_price_minor, discount_minor,
                                 amount_minor)
    SELECT r.id, n.line_no, p.id, n.quantity, n.unit_price_minor, n.discount_minor,
           n.quantity * n.unit_price_minor - n.discount_minor
    FROM stg_numbered n
    JOIN stg_receipts r ON r.receipt_id = n.receipt_id
    JOIN cdp_product p ON p.sku = n.sku
    WHERE r.inserted
       OR NOT EXISTS (SELECT 1 FROM cdp_receiptline l WHERE l.receipt_id = r.id AND l.line_no = n.line_no)
"""

NUMBER_LINES = """
    CREATE TEMP TABLE stg_numbered ON COMMIT DROP AS
    SELECT s.receipt_id, s.sku, s.quantity, s.unit_price_minor, s.discount_minor,
           coalesce(s.line, row_number() OVER (PARTITION BY s.receipt_id, s.line IS NULL ORDER BY s.row_no))
           AS line_no
    FROM stg s
"""

MERGE_TOTALS = """
    UPDATE cdp_receipt r SET total_minor = t.total, discount_minor = t.discount, item_count = t.items
    FROM (
      SELECT l.receipt_id, sum(l.amount_minor) AS total, sum(l.discount_minor) AS discount, sum(l.quantity) AS items
      FROM cdp_receiptline l
      WHERE l.receipt_id IN (SELECT id FROM stg_receipts WHERE NOT inserted)
      GROUP BY l.receipt_id
    ) t
    WHERE r.id = t.receipt_id
      AND (r.total_minor, r.discount_minor, r.item_count) IS DISTINCT FROM (t.total, t.discount, t.items)
"""


def merge(job: PgImport) -> tuple[int, int, int]:
    """Upsert the staged rows; returns (created, updated, unchanged) counted in lines."""
    params = {"source": job.source_id, "currency": job.options.currency}
    with connection.cursor() as cursor:
        for statement in MERGE_CATALOGUE:
            cursor.execute(statement)
        cursor.execute(MERGE_RECEIPTS, params)
        cursor.execute("CREATE INDEX ON stg_receipts (receipt_id)")
        cursor.execute(NUMBER_LINES)
        cursor.execute("ANALYZE stg_receipts")
        cursor.execute("ANALYZE stg_numbered")
        cursor.execute(MERGE_LINES_UPDATE)
        updated = cursor.rowcount
        cursor.execute(MERGE_LINES_INSERT)
        created = cursor.rowcount
        if created or updated:
            cursor.execute(MERGE_TOTALS)
        cursor.execute("SELECT count(*) FROM stg")
        staged = cursor.fetchone()[0]
    return created, updated, staged - created - updated


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
        _drop_staging()  # ON COMMIT DROP does not fire when the caller's transaction goes on (tests, nested calls)
        if not copy_file(job, progress):
            return False
        result.read = stage_rows(job, ctx)
        result.rejected = write_rejects(job, sink)
        result.add(*merge(job))
        _drop_staging()
    return True


def _drop_staging() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS stg_raw, stg, stg_rejects, stg_slow, stg_receipts, stg_numbered")
