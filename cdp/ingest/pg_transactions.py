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

The path's parts, one module each: the job and its SQL (cdp.ingest.pg_sql), the reading side (pg_bookkeeping), the
writing side (pg_writer), the threads and COPY between them (pg_copy), the bulk load's indexes (pg_bulk_load) and
PostgreSQL's binary format (pg_binary); this module runs an import with them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import psycopg
import pyarrow as pa

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from cdp.ingest import types as t
from cdp.ingest.pg_bookkeeping import Bookkeeping, IdPool, Setup
from cdp.ingest.pg_bulk_load import build_indexes, bulk_load, drop_indexes, estimated_lines, skip_row_triggers
from cdp.ingest.pg_copy import QUEUED_CHUNKS, Chunk, ReadAhead
from cdp.ingest.pg_sql import PgImport, reserve_ids, tune_transaction
from cdp.ingest.pg_writer import UNIQUE_LINE, Writer
from cdp.ingest.receipt_scan import ReceiptLineScan, ScanUnusable
from cdp.ingest.rows import RowContext
from consent.services.suppression import (
    Kind,
    suppressed_digests,
    suppression_has_any,
)

logger = logging.getLogger(__name__)


def supported(options: t.ImportOptions) -> bool:
    """Whether this path reads a file imported with these options: every option is read by the scan (a custom date
    format by Python, once per distinct timestamp)."""
    return True


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
        skipped = skip_row_triggers(cursor)
        if skipped:
            cursor.execute("SELECT 1 FROM cdp_source WHERE id = %s FOR KEY SHARE", [job.source_id])
        dropped = drop_indexes(cursor) if bulk else None
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
            build_indexes(cursor, dropped)
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
                    tune_transaction(cursor)
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
