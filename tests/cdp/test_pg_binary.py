"""PostgreSQL's binary COPY format as cdp.ingest.pg_binary writes it: what PostgreSQL reads back is what was sent."""

from __future__ import annotations

import datetime as dt
import uuid

import pyarrow as pa
import pytest

from django.db import connection

from cdp.ingest import pg_binary

pytestmark = pytest.mark.django_db

UTC = dt.UTC
SOME_UUID = uuid.UUID("7d4f8a52-8c1e-4d3b-9a0f-2b6c1e5d9f30")
TIMES = [
    dt.datetime(2025, 3, 14, 10, 23, 0, 5, tzinfo=UTC),
    dt.datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC),  # before PostgreSQL's epoch: a negative count
    dt.datetime(2000, 1, 1, tzinfo=UTC),
]

# Fixed-width columns without NULLs (laid out together), then columns with NULLs, text and UUIDs (joined per row).
COLUMNS = {
    "id": ("bigint", pa.array([1, -2, 9_007_199_254_740_993], pa.int64())),
    "n": ("integer", pa.array([0, -2_147_483_648, 2_147_483_647], pa.int32())),
    "at": ("timestamptz", pa.array(TIMES, pa.timestamp("us", tz="UTC")).cast(pa.timestamp("us"))),  # naive UTC
    "who": ("uuid", pa.array([SOME_UUID.bytes, None, uuid.UUID(int=1).bytes], pa.binary(16))),
    "store": ("bigint", pa.array([None, 7, None], pa.int64())),
    "name": ("text", pa.array(["Crème brûlée", "", None])),
    "code": ("text", pa.array(["A1", "日本", "x" * 300])),
    "last": ("integer", pa.array([3, 4, 5], pa.int32())),
}
TABLE_SQL = (
    "CREATE TEMP TABLE binary_copy (id bigint, n integer, at timestamptz, who uuid, store bigint, name varchar(20), "
    "code text, last integer)"
)
EXPECTED = [
    (1, 0, TIMES[0], SOME_UUID, None, "Crème brûlée", "A1", 3),
    (-2, -2_147_483_648, TIMES[1], None, 7, "", "日本", 4),
    (
        9_007_199_254_740_993,
        2_147_483_647,
        dt.datetime(2000, 1, 1, tzinfo=UTC),
        uuid.UUID(int=1),
        None,
        None,
        "x" * 300,
        5,
    ),
]


def _copy(table: pa.Table, kinds: list[str], target: str) -> list[tuple]:
    with connection.cursor() as cursor:
        with cursor.cursor.copy(pg_binary.copy_sql(target, table.column_names)) as copy:
            copy.write(pg_binary.encode(table, kinds))
        cursor.execute(f"SELECT {', '.join(table.column_names)} FROM {target} ORDER BY last")
        return [tuple(row) for row in cursor.fetchall()]


def test_postgresql_reads_back_every_value_null_and_character():
    if connection.vendor != "postgresql":
        pytest.skip("the binary format is PostgreSQL's")
    table = pa.table({name: values for name, (_, values) in COLUMNS.items()})
    kinds = [kind for kind, _ in COLUMNS.values()]
    with connection.cursor() as cursor:
        cursor.execute(TABLE_SQL)
    assert _copy(table, kinds, "binary_copy") == EXPECTED


def test_rows_of_fixed_width_only_are_laid_out_in_one_piece():
    if connection.vendor != "postgresql":
        pytest.skip("the binary format is PostgreSQL's")
    table = pa.table({"id": pa.array(range(1000), pa.int64()), "last": pa.array(range(1000, 0, -1), pa.int32())})
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE fixed_copy (id bigint, last integer)")
    assert _copy(table, ["bigint", "integer"], "fixed_copy") == [(999 - i, i + 1) for i in range(1000)]


def test_a_text_too_long_for_its_column_is_refused_by_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("the binary format is PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE short_copy (name varchar(3), last integer)")
    table = pa.table({"name": pa.array(["abcd"]), "last": pa.array([1], pa.int32())})
    with pytest.raises(Exception, match="too long"):
        _copy(table, ["text", "integer"], "short_copy")


def test_the_stream_has_the_format_s_signature_field_counts_and_trailer():
    table = pa.table({"id": pa.array([1, 2], pa.int64()), "name": pa.array(["é", None])})
    stream = pg_binary.encode(table, ["bigint", "text"])
    row = b"\x00\x02" + b"\x00\x00\x00\x08" + (1).to_bytes(8, "big") + b"\x00\x00\x00\x02" + "é".encode()
    second = b"\x00\x02" + b"\x00\x00\x00\x08" + (2).to_bytes(8, "big") + b"\xff\xff\xff\xff"
    assert stream == b"PGCOPY\n\xff\r\n\x00" + bytes(8) + row + second + b"\xff\xff"
    assert pg_binary.encode(table.slice(0, 0), ["bigint", "text"]) == pg_binary.HEADER + pg_binary.TRAILER


def test_values_that_do_not_fit_their_type_raise_instead_of_wrapping_around():
    too_big = pa.table({"n": pa.array([2**31], pa.int64())})
    with pytest.raises(pa.ArrowInvalid):
        pg_binary.encode(too_big, ["integer"])
    with pytest.raises(TypeError, match="microseconds"):
        pg_binary.encode(pa.table({"at": pa.array([0], pa.timestamp("s"))}), ["timestamptz"])
    with pytest.raises(TypeError, match="fixed_size_binary"):
        pg_binary.encode(pa.table({"who": pa.array([str(SOME_UUID)])}), ["uuid"])
    with pytest.raises(ValueError, match="no binary encoding"):
        pg_binary.encode(too_big, ["numeric"])
