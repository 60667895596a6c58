"""The PostgreSQL receipt-line path, its threads and COPY: the chunks and requests the reading side hands the
writing side, the copier thread that streams rows into PostgreSQL while the next chunk is prepared, the read-ahead
thread of the scan, and the encoding of Arrow tables for COPY."""

from __future__ import annotations

import io
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv

from cdp.ingest import pg_binary

COPY_BLOCK = 1 << 20
COPY_SLICE_ROWS = 100_000  # rows encoded at a time for COPY
QUEUED_CHUNKS = 6  # chunks the reading side may be ahead of the writing: its lead, and a bound on memory
CSV_OPTIONS = pa_csv.WriteOptions(include_header=False, quoting_style="needed")  # NULL unquoted, '' quoted
TEXT_OPTIONS = pa_csv.WriteOptions(include_header=False, delimiter="\t", quoting_style="none")  # numbers only


def _csv(table: pa.Table, options: pa_csv.WriteOptions = CSV_OPTIONS) -> bytes:
    sink = io.BytesIO()
    pa_csv.write_csv(table, sink, options)
    return sink.getvalue()


def _slices(table: pa.Table) -> Iterator[pa.Table]:
    """A table in slices of COPY_SLICE_ROWS rows (zero-copy), encoded one at a time while the server reads the last."""
    for start in range(0, table.num_rows, COPY_SLICE_ROWS):
        yield table.slice(start, COPY_SLICE_ROWS)


def copy_table(cursor, target: str, table: pa.Table) -> int:
    """COPY an Arrow table into `target` ("table (columns)"); its rows' count."""
    if table.num_rows == 0:
        return 0
    with cursor.cursor.copy(f"COPY {target} FROM STDIN (FORMAT csv)") as copy:
        for part in _slices(table):
            copy.write(_csv(part))
    return table.num_rows


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


def file_blocks(path: Path) -> Iterator[bytes]:
    """A file's bytes, then the file is removed."""
    with path.open("rb") as handle:
        while block := handle.read(COPY_BLOCK):
            yield block
    path.unlink()


def text_blocks(table: pa.Table) -> Iterator[bytes]:
    """A table of numbers without NULLs in COPY's text format (PostgreSQL reads it a little faster than CSV)."""
    for part in _slices(table):
        yield _csv(part, TEXT_OPTIONS)


def binary_blocks(table: pa.Table, kinds: list[str]) -> Iterator[bytes]:
    """A table as a binary COPY stream."""
    yield pg_binary.HEADER
    for part in _slices(table):
        yield pg_binary.encode_rows(part, kinds)
    yield pg_binary.TRAILER


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
