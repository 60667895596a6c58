"""PostgreSQL's binary COPY format, made from Arrow columns by vectorised operations (no Python code per row).

PostgreSQL reads a binary value by copying its bytes, where a text value must be parsed: for receipts, whose
timestamps and amounts it would otherwise parse one by one, that halves what their COPY costs the server. The format
(https://www.postgresql.org/docs/current/sql-copy.html, "Binary Format"): a signature, then per row the number of
fields (int16) and each field as its length (int32, -1 for NULL) and its bytes in network order, then -1 (int16).

Runs of columns of fixed width without NULLs are laid out together by one NumPy record array; other columns (text,
UUIDs, columns with NULLs) become one binary value per row, and Arrow joins a row's values.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags (no OIDs), length of the header extension (none)
TRAILER = b"\xff\xff"
NULL = b"\xff\xff\xff\xff"
_NOTHING = pa.scalar(b"", pa.large_binary())  # what joins a row's fields
POSTGRES_EPOCH_US = 946_684_800_000_000  # 2000-01-01 00:00 UTC, where PostgreSQL counts timestamps from

# PostgreSQL type → (the Arrow type its values are checked against, the NumPy type of its network-order bytes).
# Values are cast safely, so one too large for its column raises instead of wrapping around.
FIXED = {
    "bigint": (pa.int64(), ">i8"),
    "integer": (pa.int32(), ">i4"),
    "timestamptz": (pa.int64(), ">i8"),  # microseconds since POSTGRES_EPOCH_US; given as an Arrow timestamp (UTC)
}
VARIABLE = ("text", "uuid")  # uuid: its 16 bytes (Arrow fixed_size_binary(16))


def copy_sql(table: str, columns: Sequence[str]) -> str:
    return f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT binary)"


def _fixed_values(column: pa.Array, kind: str) -> np.ndarray:
    arrow_type, _ = FIXED[kind]
    if kind == "timestamptz":
        if not pa.types.is_timestamp(column.type) or column.type.unit != "us":
            raise TypeError(f"timestamptz needs an Arrow timestamp in microseconds, not {column.type}")
        column = pc.subtract(column.cast(pa.int64()), POSTGRES_EPOCH_US)
    values = column.cast(arrow_type)
    return values.fill_null(0).to_numpy(zero_copy_only=False)


def _record(columns: list[tuple[pa.Array, str]], rows: int, *, count: int | None) -> np.ndarray:
    """Columns of fixed width laid out side by side with their lengths (and the row's field count first, if given)."""
    layout = [("count", ">i2")] if count is not None else []
    for index, (_, kind) in enumerate(columns):
        layout += [(f"length{index}", ">i4"), (f"value{index}", FIXED[kind][1])]
    record = np.empty(rows, dtype=np.dtype(layout))
    if count is not None:
        record["count"] = count
    for index, (column, kind) in enumerate(columns):
        record[f"length{index}"] = record.dtype[f"value{index}"].itemsize
        record[f"value{index}"] = _fixed_values(column, kind)
    return record


def _as_binary(record: np.ndarray) -> pa.Array:
    """A record array as one binary value per row."""
    width = record.dtype.itemsize
    fixed = pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), len(record), [None, pa.py_buffer(record)])
    return fixed.cast(pa.large_binary())


def _field(column: pa.Array, kind: str) -> pa.Array:
    """One column as each row's field: length and bytes, or the NULL marker."""
    if kind in FIXED:
        values = _as_binary(_record([(column, kind)], len(column), count=None))
    else:
        if kind == "uuid" and column.type != pa.binary(16):
            raise TypeError(f"uuid needs Arrow fixed_size_binary(16), not {column.type}")
        data = column.cast(pa.large_binary())
        lengths = pc.binary_length(data).fill_null(0).to_numpy(zero_copy_only=False).astype(">i4")
        prefix = pa.FixedSizeBinaryArray.from_buffers(pa.binary(4), len(lengths), [None, pa.py_buffer(lengths)])
        values = pc.binary_join_element_wise(prefix.cast(pa.large_binary()), data, _NOTHING)
    if column.null_count:
        values = pc.if_else(column.is_valid(), values, pa.scalar(NULL, pa.large_binary()))
    return values


def encode_rows(table: pa.Table, kinds: Sequence[str]) -> bytes | memoryview:
    """The table's rows in PostgreSQL's binary COPY format (no header or trailer), its columns being of `kinds`."""
    if len(kinds) != table.num_columns:
        raise ValueError(f"{table.num_columns} columns but {len(kinds)} types")
    unknown = set(kinds) - set(FIXED) - set(VARIABLE)
    if unknown:
        raise ValueError(f"no binary encoding for {sorted(unknown)}")
    rows = table.num_rows
    if rows == 0:
        return b""
    columns = [column.combine_chunks() for column in table.columns]
    if all(kind in FIXED and column.null_count == 0 for column, kind in zip(columns, kinds, strict=True)):
        return _record(list(zip(columns, kinds, strict=True)), rows, count=len(kinds)).tobytes()
    parts: list[pa.Array] = []
    run: list[tuple[pa.Array, str]] = []
    for column, kind in zip(columns, kinds, strict=True):
        if kind in FIXED and column.null_count == 0:
            run.append((column, kind))
            continue
        if run:
            parts.append(_as_binary(_record(run, rows, count=None)))
            run = []
        parts.append(_field(column, kind))
    if run:
        parts.append(_as_binary(_record(run, rows, count=None)))
    count = pa.scalar(len(kinds).to_bytes(2, "big"), pa.large_binary())
    joined = pc.binary_join_element_wise(count, *parts, _NOTHING)
    offsets = np.frombuffer(joined.buffers()[1], dtype=np.int64, count=len(joined) + 1, offset=8 * joined.offset)
    return memoryview(joined.buffers()[2])[offsets[0] : offsets[-1]]


def encode(table: pa.Table, kinds: Sequence[str]) -> bytes:
    """A whole COPY stream: header, rows, trailer."""
    return b"".join((HEADER, encode_rows(table, kinds), TRAILER))
