"""The PostgreSQL receipt-line path, its SQL: the import's job and staging tables, the statements that merge
staged rows into the receipt tables, the import's transaction settings, and ids reserved from the sequences."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path

from cdp.ingest import types as t

# The import's own settings, for its transaction only. Hash aggregates and joins over the staged rows stay in
# memory; the commit does not wait for the WAL flush (the batch record written right after it does); JIT compilation
# costs more than it saves on these one-off statements.
TRANSACTION_SETTINGS = {
    "work_mem": "256MB",
    "maintenance_work_mem": "256MB",
    "synchronous_commit": "off",
    "jit": "off",
}


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


def tune_transaction(cursor) -> None:
    for name, value in TRANSACTION_SETTINGS.items():
        cursor.execute("SELECT set_config(%s, %s, true)", [name, value])


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
