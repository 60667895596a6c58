"""The PostgreSQL receipt-line path, its reading side: the scan's batches checked against each other (DuckDB) and turned
into chunks of rows to write, and the requests it asks the writing side to answer (ids, products, known receipts)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial

import pyarrow as pa
import pyarrow.compute as pc

from cdp.ingest import types as t
from cdp.ingest.pg_copy import Chunk, ReadAhead, Request
from cdp.ingest.pg_sql import STATE_TABLES, UTC_TEXT
from cdp.ingest.receipt_scan import TYPED_COLUMNS, Batch, ReceiptLineScan, duck_literal
from consent.services.suppression import (
    Kind,
    external_id_value,
    suppression_digest,
)

REJECTS_CHUNK = 50_000


def _table(duck, query: str, params: dict | None = None) -> pa.Table:
    """A DuckDB query's result as an Arrow table (streamed from the query, not copied from a cursor's result)."""
    return duck.sql(query, params=params).to_arrow_table()


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
