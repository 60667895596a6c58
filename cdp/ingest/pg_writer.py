"""The PostgreSQL receipt-line path, its writing side: each chunk of the reading side written into PostgreSQL (stores,
products, receipts, lines, deltas), and the answers to its requests."""

from __future__ import annotations

from functools import partial

import pyarrow as pa
import pyarrow.compute as pc

from cdp.ingest import pg_binary
from cdp.ingest.pg_copy import Chunk, Copier, Request, binary_blocks, copy_table, file_blocks, text_blocks
from cdp.ingest.pg_sql import (
    ADD_TO_TOTALS,
    CATALOGUE_COLUMNS,
    EXISTING_LINES,
    EXISTING_TOTALS,
    MERGE_CATALOGUE,
    NUMBERED_LINE,
    RECEIPT_TYPES,
    UPDATE_RECEIPTS,
    PgImport,
    reserve_ids,
)

UNIQUE_LINE = "receiptline_unique_line"


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
        copy_table(cursor, staging.sql("{lookup} (receipt_id)"), receipts)
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
            pg_binary.copy_sql("cdp_receipt", receipts.column_names), partial(binary_blocks, receipts, kinds)
        )

    def _lines(self, chunk: Chunk) -> None:
        """The lines of new receipts, written as text by the copier thread (integers cost PostgreSQL little to parse,
        and in the binary format they would be more than twice the bytes)."""
        columns = "receipt_id, line_no, product_id, quantity, unit_price_minor, discount_minor, amount_minor"
        if self.contiguous_ids:
            columns = f"id, {columns}"
        self.copier.submit(f"COPY cdp_receiptline ({columns}) FROM STDIN", partial(text_blocks, chunk.table))
        self.created += chunk.rows

    def _deltas(self, chunk: Chunk) -> None:
        staging, cursor = self.job.staging, self.cursor
        cursor.execute(
            staging.sql("CREATE UNLOGGED TABLE {deltas} (id bigint, total bigint, discount bigint, items int)")
        )
        copy_table(cursor, staging.sql("{deltas}"), chunk.table)
        cursor.execute(staging.sql(ADD_TO_TOTALS))

    def _catalogue(self, chunk: Chunk) -> None:
        staging, cursor = self.job.staging, self.cursor
        cursor.execute(staging.sql("CREATE UNLOGGED TABLE {catalogue} ({columns})", columns=CATALOGUE_COLUMNS))
        copy_table(cursor, staging.sql("{catalogue}"), chunk.table)
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
            self.copier.submit(f"COPY {table} FROM STDIN (FORMAT csv)", partial(file_blocks, path))
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
