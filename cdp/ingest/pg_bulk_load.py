"""The PostgreSQL receipt-line path, bulk loads: when a file is big enough to drop the receipt tables' indexes and build
them again after its inserts (PostgreSQL's advice for populating a database), and the triggers it may skip."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection, transaction

# ---------------------------------------------------------------------------------------------------------------------
# Bulk load: indexes dropped during the inserts and built again after them

BULK_TABLES = ("cdp_receipt", "cdp_receiptline")
BULK_LOCK_TIMEOUT = "5s"  # a bulk load waits this long for readers to finish, then imports with the indexes kept

# The tables' indexes (a primary key too, unless a foreign key relies on it), with what builds them again: each
# index's own definition and, for a constraint, its name and kind. Keeping the lines' primary key during the inserts
# would cost more than the rest of their COPY; the receipts' stays, as the lines' foreign key refers to it. A
# deferrable constraint cannot be rebuilt from an index: then there is no bulk load.
BULK_INDEXES = """
    SELECT i.indrelid::regclass::text, i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid),
      quote_ident(c.conname), c.contype, coalesce(c.condeferrable, false)
    FROM pg_index i
    LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid AND c.contype IN ('u', 'p')
    WHERE i.indrelid = ANY(%s::regclass[])
      AND NOT (i.indisprimary AND EXISTS (
        SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = i.indexrelid))
    ORDER BY 1, 2
"""
CONSTRAINT_KINDS = {"u": "UNIQUE", "p": "PRIMARY KEY"}


def estimated_lines(path: Path) -> int:
    """The file's rows, estimated from the lines of its first megabyte (exact for a smaller file)."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(1 << 20)
    lines = max(head.count(b"\n"), 1)
    return max(lines - 1, 0) if len(head) >= size else int(size / (len(head) / lines))


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


def drop_indexes(cursor) -> list[tuple[str, str, str, str | None, str | None]] | None:
    """Drop the receipt tables' indexes for the inserts; what builds them again, or None when one cannot be rebuilt."""
    cursor.execute(BULK_INDEXES, [list(BULK_TABLES)])
    indexes = cursor.fetchall()
    if any(deferrable for *_, deferrable in indexes):
        return None
    for table, index, _definition, constraint, _kind, _deferrable in indexes:
        cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {constraint}" if constraint else f"DROP INDEX {index}")
    return [row[:5] for row in indexes]


def build_indexes(cursor, indexes: list[tuple[str, str, str, str | None, str | None]]) -> None:
    """Build the dropped indexes again, as they were; a unique one fails on a duplicate as the inserts would have."""
    cursor.execute("SELECT current_setting('default_statistics_target')")
    (target,) = cursor.fetchone()
    for table, index, definition, constraint, kind in indexes:
        cursor.execute(definition)
        if constraint:
            cursor.execute(
                f"ALTER TABLE {table} ADD CONSTRAINT {constraint} {CONSTRAINT_KINDS[kind]} USING INDEX {index}"
            )
    # Statistics for the planner at once, from a small sample (autovacuum analyses the tables fully soon after).
    cursor.execute("SELECT set_config('default_statistics_target', '10', true)")
    cursor.execute(f"ANALYZE {', '.join(BULK_TABLES)}")
    cursor.execute("SELECT set_config('default_statistics_target', %s, true)", [target])


def skip_row_triggers(cursor) -> bool:
    """Turn the per-row foreign-key triggers off for this transaction when the role may; True when it did."""
    try:
        with transaction.atomic():
            cursor.execute("SELECT set_config('session_replication_role', 'replica', true)")
    except DatabaseError:  # the role may not: the triggers check each row
        return False
    return True
