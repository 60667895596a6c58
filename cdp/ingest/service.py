"""The import service: rows are parsed and validated one by one, and written in atomic batches.

1. Every row is parsed; a row with any unreadable or impossible value is rejected whole, with all its reasons.
2. A row whose key (external id; receipt id and line; event content) repeats an earlier row of the same file is
   rejected as a duplicate.
3. Valid rows are written in batches of ``batch_size``, each batch in one transaction: an interruption leaves the
   database as it was before the batch being written, and a re-run picks up idempotently.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import heapq
import json
import logging
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

from django.db import connection, transaction
from django.utils import timezone

from cdp.ingest import pg_transactions
from cdp.ingest import types as t
from cdp.ingest.consents import write_consents
from cdp.ingest.customers import write_customers
from cdp.ingest.events import write_events
from cdp.ingest.guard import anonymised_rows, refused_rows
from cdp.ingest.reader import CsvSource
from cdp.ingest.rows import KNOWN, PARSERS, REQUIRED, RowContext
from cdp.ingest.transactions import Catalogue, write_transactions
from cdp.models import ImportBatch, Source
from consent.models import RunStatus
from consent.services.register import (
    ACTIVITY_CONSENT_MANAGEMENT,
    ACTIVITY_CUSTOMER_DATA_IMPORT,
    processing_run_record,
)
from consent.spreadsheet import spreadsheet_writer

logger = logging.getLogger(__name__)

SOURCE_KIND_HINTS = (
    ("loyal", Source.Kind.LOYALTY, 30),
    ("card", Source.Kind.LOYALTY, 30),
    ("crm", Source.Kind.CRM, 10),
    ("shop", Source.Kind.ECOMMERCE, 20),
    ("web", Source.Kind.ECOMMERCE, 20),
    ("commerce", Source.Kind.ECOMMERCE, 20),
    ("pos", Source.Kind.POS, 40),
    ("till", Source.Kind.POS, 40),
    ("api", Source.Kind.API, 50),
)


def source_get_or_create(key: str) -> Source:
    """The source named `key`, created on first use with a kind and priority guessed from its name (admin-editable)."""
    key = key.strip()
    if not key:
        raise t.FileUnusable("--source must name the source system")
    source = Source.objects.filter(key=key).first()
    if source is not None:
        return source
    kind, priority = Source.Kind.OTHER, 100
    for hint, hinted_kind, hinted_priority in SOURCE_KIND_HINTS:
        if hint in key.lower():
            kind, priority = hinted_kind, hinted_priority
            break
    source, _ = Source.objects.get_or_create(key=key, defaults={"name": key, "kind": kind, "priority": priority})
    return source


class ErrorSink:
    """Rejected rows: written to the errors file in file order (row, reasons, original values) and/or kept for an API
    answer.

    Rows are refused at different moments (a bad value as it is read, an erased subject or a duplicate when its batch
    is written, the PostgreSQL path's at the end), so the file is written when the import ends, sorted by row. The
    rows wait in memory, and beyond SPILL_ROWS in sorted runs on disk that are merged at the end.
    """

    SPILL_ROWS = 50_000

    def __init__(self, path: Path | None, header: list[str] | None, keep: bool):
        self.keep = keep
        self.errors: list[t.RowError] = []
        self._path = Path(path) if path is not None else None
        self._header = header or []
        self._pending: list[tuple[int, list[str]]] = []
        self._runs: list[IO[str]] = []
        if self._path is not None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._path.open("w").close()  # an unwritable path fails now, not after the import

    def add(self, row: int, reasons: Iterable[str], raw: dict[str, Any], original: list[str] | None = None) -> None:
        reasons = tuple(reasons)
        if self._path is not None:
            values = original if original is not None else [raw.get(name, "") for name in self._header]
            self._pending.append((row, ["; ".join(reasons), *(_printable(v) for v in values)]))
            if len(self._pending) >= self.SPILL_ROWS:
                self._spill()
        if self.keep:
            self.errors.append(t.RowError(row=row, reasons=reasons, values=raw))

    def _spill(self) -> None:
        run = tempfile.TemporaryFile("w+", encoding="utf-8", newline="")  # noqa: SIM115 - closed in close()
        writer = csv.writer(run)
        writer.writerows([row, *values] for row, values in sorted(self._pending, key=lambda item: item[0]))
        run.seek(0)
        self._runs.append(run)
        self._pending = []

    def _sorted(self) -> Iterator[list]:
        pending = ([row, *values] for row, values in sorted(self._pending, key=lambda item: item[0]))
        runs = [([int(fields[0]), *fields[1:]] for fields in csv.reader(run)) for run in self._runs]
        return heapq.merge(pending, *runs, key=lambda fields: fields[0])

    def close(self) -> None:
        if self._path is None:
            return
        try:
            with self._path.open("w", encoding="utf-8", newline="") as handle:
                writer = spreadsheet_writer(handle)  # people open it in a spreadsheet
                writer.writerow(["row", "reasons", *self._header])
                writer.writerows(self._sorted())
        finally:
            for run in self._runs:
                run.close()
            self._runs, self._pending = [], []


def _printable(value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _duplicate_key(kind: str, parsed: Any) -> Any:
    if kind == t.KIND_CUSTOMERS:
        return parsed.external_id
    if kind == t.KIND_TRANSACTIONS:
        # Without a line number a repeated row is another line of the receipt, not a duplicate.
        return None if parsed.line is None else (parsed.receipt_id, parsed.line)
    return parsed.event_key  # events and consents: their whole content


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while a batch is written, then one collection of what it left.

    A batch builds hundreds of thousands of objects that live until it ends (rows, features, candidate pairs); each
    of them counts towards the collector's thresholds, so it would walk the whole, growing heap again and again (a
    third of an import's CPU time) to find almost no cycles. Memory stays bounded: the batch's cycles are collected
    once it is written.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


class BatchWriter:
    """Writes parsed rows of one kind in atomic batches and adds up the counts."""

    def __init__(self, kind: str, source: Source, options: t.ImportOptions, result: t.ImportResult, actor=None):
        self.kind = kind
        self.source = source
        self.options = options
        self.result = result
        self.actor_id = actor.pk if actor is not None else None
        self.catalogue = Catalogue()
        self.next_line: dict[str, int] = {}

    def write(self, rows: list) -> None:
        if not rows:
            return
        with collector_paused(), transaction.atomic():
            if self.kind == t.KIND_CUSTOMERS:
                counts = write_customers(self.source, rows)
            elif self.kind == t.KIND_TRANSACTIONS:
                counts = write_transactions(
                    self.source,
                    rows,
                    catalogue=self.catalogue,
                    next_line=self.next_line,
                    currency=self.options.currency,
                )
            elif self.kind == t.KIND_CONSENTS:
                counts = write_consents(self.source, rows, recorded_by_id=self.actor_id)
            else:
                counts = write_events(self.source, rows)
        self.result.add(*counts)


def _process(
    kind: str,
    rows: Iterator[tuple[int, dict[str, str]]],
    writer: BatchWriter,
    ctx: RowContext,
    sink: ErrorSink,
    on_batch: Callable[[], None] | None = None,
) -> None:
    parser = PARSERS[kind]
    seen: dict[int, int] = {}  # hash of the row's key -> first row number
    batch: list = []
    result = writer.result
    for row_no, raw in rows:
        result.read += 1
        try:
            parsed = parser(raw, ctx)
        except t.RowRejected as exc:
            result.rejected += 1
            sink.add(row_no, exc.reasons, raw)
            continue
        key = _duplicate_key(kind, parsed)
        if key is not None:
            first = seen.setdefault(hash(key), row_no)
            if first != row_no:
                result.rejected += 1
                sink.add(row_no, [f"{t.DUPLICATE_ROW} {first}"], raw)
                continue
        batch.append((row_no, raw, parsed))
        if len(batch) >= writer.options.batch_size:
            _write_guarded(kind, writer, batch, sink)
            batch = []
            if on_batch:
                on_batch()
    _write_guarded(kind, writer, batch, sink)
    if on_batch:
        on_batch()


def _write_guarded(kind: str, writer: BatchWriter, batch: list[tuple[int, dict, Any]], sink: ErrorSink) -> None:
    """Rows of erased subjects (suppression list) and restricted customers are refused with their reason; receipt
    lines of an erased subject are kept, anonymous and unlinked (accounting)."""
    parsed_rows = [parsed for _, _, parsed in batch]
    refused = refused_rows(kind, writer.source.key, parsed_rows)
    anonymous = anonymised_rows(kind, writer.source.key, parsed_rows)
    for index, reason in refused.items():
        row_no, raw, _ = batch[index]
        writer.result.rejected += 1
        sink.add(row_no, [reason], raw)
    writer.write(
        [
            replace(parsed, customer_external_id="") if index in anonymous else parsed
            for index, parsed in enumerate(parsed_rows)
            if index not in refused
        ]
    )


def _finish(batch: ImportBatch, result: t.ImportResult, status: str, message: str = "") -> None:
    batch.status = status
    batch.message = message
    for name in ("read", "created", "updated", "unchanged", "rejected"):
        setattr(batch, name, getattr(result, name))
    batch.finished_at = timezone.now()
    with transaction.atomic():
        batch.save()
        _record_processing_run(batch, result)


# The processing register (GDPR Art. 30): consents belong to consent management, everything else to the import.
RUN_STATUS = {
    ImportBatch.Status.SUCCEEDED: RunStatus.SUCCEEDED,
    ImportBatch.Status.PARTIAL: RunStatus.PARTIAL,
}


def _record_processing_run(batch: ImportBatch, result: t.ImportResult) -> None:
    """Each import is a run of the register's activity, with its counts and a reference to its batch."""
    processing_run_record(
        activity=ACTIVITY_CONSENT_MANAGEMENT if batch.kind == t.KIND_CONSENTS else ACTIVITY_CUSTOMER_DATA_IMPORT,
        kind=f"import_{batch.kind}",
        started_at=batch.started_at,
        finished_at=batch.finished_at,
        status=RUN_STATUS.get(batch.status, RunStatus.FAILED),
        actor=batch.actor,
        counts={name: getattr(result, name) for name in ("read", "created", "updated", "unchanged", "rejected")},
        parameters={"source": batch.source.key, "origin": "api" if batch.origin == "api" else "file"},
        reference=batch,
        message=batch.message,
    )


def _run(
    kind: str,
    source: Source,
    batch: ImportBatch,
    result: t.ImportResult,
    work: Callable[[], None],
) -> t.ImportResult:
    started = time.monotonic()
    try:
        work()
    except KeyboardInterrupt:
        _finish(batch, result, ImportBatch.Status.INTERRUPTED, "interrupted: the batch being written was rolled back")
        raise
    except Exception as exc:
        _finish(batch, result, ImportBatch.Status.FAILED, type(exc).__name__)
        raise
    finally:
        result.seconds = time.monotonic() - started
    status = ImportBatch.Status.PARTIAL if result.rejected else ImportBatch.Status.SUCCEEDED
    _finish(batch, result, status)
    logger.debug("import %s: %s", batch.pk, result.summary())  # counts only, never values
    return result


def import_file(
    *,
    kind: str,
    path: Path,
    source_key: str,
    options: t.ImportOptions | None = None,
    errors_path: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    actor=None,
) -> t.ImportResult:
    """Import a CSV file. Raises FileUnusable when the file as a whole cannot be read."""
    options = (options or t.ImportOptions()).resolved(kind)
    csv_source = CsvSource.open(Path(path), options)
    try:
        _check_columns(kind, csv_source.fields)
        source = source_get_or_create(source_key)
        result = t.ImportResult(kind=kind, source=source.key, started_at=timezone.now())
        batch = ImportBatch.objects.create(
            kind=kind, source=source, origin=Path(path).name, actor=actor, options=_options_record(options)
        )
        result.batch_id = batch.pk
        sink = ErrorSink(errors_path, csv_source.original_header, keep=False)
        ctx = RowContext(options=options, columns=frozenset(csv_source.fields))
        writer = BatchWriter(kind, source, options, result, actor=actor)
        total = Path(path).stat().st_size

        def on_batch() -> None:
            if progress:
                progress(csv_source.position(), total)

        def work() -> None:
            try:
                if _bulk_path_imports(kind, csv_source, options, source, ctx, sink, result, progress):
                    return
                _process(kind, csv_source.rows(), writer, ctx, sink, on_batch)
            except csv.Error as exc:
                raise t.FileUnusable(f"the file is not valid CSV: {exc}") from exc
            finally:
                sink.close()

        return _run(kind, source, batch, result, work)
    finally:
        csv_source.close()


def _bulk_path_imports(kind, csv_source, options, source, ctx, sink, result, progress) -> bool:
    """Receipt lines on PostgreSQL go through COPY and set-based SQL; True when that path imported the file."""
    if kind != t.KIND_TRANSACTIONS or connection.vendor != "postgresql" or not pg_transactions.supported(options):
        return False
    job = pg_transactions.PgImport(csv_source.path, csv_source.fields, options, source.pk)
    return pg_transactions.import_file_pg(job=job, ctx=ctx, sink=sink, result=result, progress=progress)


def request_digest(*, kind: str, source_key: str, records: list[dict[str, Any]], options: t.ImportOptions) -> str:
    """SHA-256 of what an API batch asks for: the same key with another digest is another request."""
    payload = {
        "kind": kind,
        "source": source_key,
        "records": records,
        "decimal_comma": options.decimal_comma,
        "date_format": options.date_format or "",
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _previous_batch(*, kind: str, key: str, digest: str, actor) -> ImportBatch | None:
    """The caller's batch under `key` for this kind, when it is to be replayed; None when the call is to run.

    Follows Stripe's rule for idempotent requests: a key belongs to its caller and endpoint, and stands for one body.
    """
    previous = ImportBatch.objects.filter(actor=actor, kind=kind, idempotency_key=key).first()
    if previous is None:
        return None
    if previous.request_digest != digest:
        raise t.IdempotencyKeyReused(key)
    if previous.status == ImportBatch.Status.RUNNING:
        raise t.BatchInProgress(key)
    if previous.status in (ImportBatch.Status.FAILED, ImportBatch.Status.INTERRUPTED):
        # Nothing of a failed call was kept (one transaction): the retry runs again, the old batch keeps its record.
        previous.idempotency_key = ""
        previous.save(update_fields=["idempotency_key"])
        return None
    return previous


def import_records(
    *,
    kind: str,
    records: list[dict[str, Any]],
    source_key: str,
    options: t.ImportOptions | None = None,
    idempotency_key: str | None = None,
    actor=None,
) -> tuple[t.ImportResult, bool]:
    """Import an API batch of records (dicts of field → value). Returns (result, replayed).

    With an idempotency key, the caller's batch already imported under the same key for this kind, with the same
    parameters, is not written again: its stored result is returned, marked as a replay. The same key with other
    parameters raises IdempotencyKeyReused; another caller's key is no concern of this one.
    """
    options = replace((options or t.ImportOptions()).resolved(), batch_size=max(1, len(records)))  # one transaction
    digest = ""
    if idempotency_key:
        digest = request_digest(kind=kind, source_key=source_key, records=records, options=options)
        previous = _previous_batch(kind=kind, key=idempotency_key, digest=digest, actor=actor)
        if previous is not None:
            return _result_of(previous), True
    source = source_get_or_create(source_key)
    columns = frozenset(name for record in records for name in record)
    _check_columns(kind, columns)
    result = t.ImportResult(kind=kind, source=source.key, started_at=timezone.now())
    batch = ImportBatch.objects.create(
        kind=kind,
        source=source,
        origin="api",
        actor=actor,
        idempotency_key=idempotency_key or "",
        request_digest=digest,
        options=_options_record(options),
    )
    result.batch_id = batch.pk
    sink = ErrorSink(None, None, keep=True)
    ctx = RowContext(options=options, columns=columns)
    writer = BatchWriter(kind, source, options, result, actor=actor)
    rows = ((index, {k: _as_text(v) for k, v in record.items()}) for index, record in enumerate(records))
    _run(kind, source, batch, result, lambda: _process(kind, rows, writer, ctx, sink))
    result.errors = sink.errors
    batch.row_errors = [{"index": e.row, "reasons": list(e.reasons)} for e in sink.errors]
    batch.save(update_fields=["row_errors"])
    return result, False


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _result_of(batch: ImportBatch) -> t.ImportResult:
    result = t.ImportResult(kind=batch.kind, source=batch.source.key, batch_id=batch.pk, started_at=batch.started_at)
    for name in ("read", "created", "updated", "unchanged", "rejected"):
        setattr(result, name, getattr(batch, name))
    result.errors = [t.RowError(row=e["index"], reasons=tuple(e["reasons"]), values={}) for e in batch.row_errors]
    return result


def _check_columns(kind: str, fields: Iterable[str]) -> None:
    fields = set(fields)
    missing = [name for name in REQUIRED[kind] if name not in fields]
    if kind == t.KIND_EVENTS and not ({"customer_external_id", "anonymous_id"} & fields):
        missing.append("customer_external_id or anonymous_id")
    if missing:
        known = ", ".join(KNOWN[kind])
        raise t.FileUnusable(f"required columns missing: {', '.join(missing)} (known columns: {known}; see --map)")


def _options_record(options: t.ImportOptions) -> dict:
    return {
        "delimiter": options.delimiter,
        "encoding": options.encoding,
        "decimal_comma": options.decimal_comma,
        "date_format": options.date_format,
        "mapping": options.mapping,
        "currency": options.currency,
    }
