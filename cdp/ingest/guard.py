"""Rows an import must refuse whatever their values: erased subjects (suppression list) and restricted customers.

Checked per batch, with one query per check: the suppression list is read by keyed hashes of the batch's
identifiers (consent.services.suppression), restrictions through the batch's source records.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cdp.ingest import types as t
from cdp.models import SourceRecord
from consent.selectors import restricted_among
from consent.services.suppression import ERASED_SUBJECT, Kind, external_id_value, suppressed_among, suppression_has_any

RESTRICTED_SUBJECT = "restricted subject: processing of this customer is restricted (GDPR Art. 18)"

# Kinds whose rows change or add to a customer's data. Receipts stay accepted (accounting records) and consents too
# (a customer's own choice, and a withdrawal must always be heard).
RESTRICTION_CHECKED = (t.KIND_CUSTOMERS, t.KIND_EVENTS)


def row_identifiers(kind: str, source_key: str, row: Any) -> set[tuple[str, str]]:
    """The (kind, normalised value) identifiers a parsed row carries."""
    if kind == t.KIND_CUSTOMERS:
        found = {(Kind.EXTERNAL_ID, external_id_value(source_key, row.external_id))}
        if row.values.get("email"):
            found.add((Kind.EMAIL, row.values["email"]))
        if row.values.get("phone"):
            found.add((Kind.PHONE, row.values["phone"]))
        return found
    external_id = getattr(row, "customer_external_id", "")
    return {(Kind.EXTERNAL_ID, external_id_value(source_key, external_id))} if external_id else set()


def _external_id(kind: str, row: Any) -> str:
    return row.external_id if kind == t.KIND_CUSTOMERS else getattr(row, "customer_external_id", "")


def refused_rows(kind: str, source_key: str, rows: Iterable[Any]) -> dict[int, str]:
    """Index in `rows` -> the reason to refuse it, for rows of erased or restricted subjects."""
    rows = list(rows)
    refused: dict[int, str] = {}
    if rows and suppression_has_any():
        identifiers = [row_identifiers(kind, source_key, row) for row in rows]
        suppressed = suppressed_among(pair for found in identifiers for pair in found)
        refused.update({index: ERASED_SUBJECT for index, found in enumerate(identifiers) if found & suppressed})
    if rows and kind in RESTRICTION_CHECKED:
        external_ids = {_external_id(kind, row) for row in rows} - {""}
        customer_of = dict(
            SourceRecord.objects.filter(source__key=source_key, external_id__in=external_ids)
            .exclude(customer__isnull=True)
            .values_list("external_id", "customer_id")
        )
        restricted = restricted_among(customer_of.values())
        for index, row in enumerate(rows):
            if index not in refused and customer_of.get(_external_id(kind, row)) in restricted:
                refused[index] = RESTRICTED_SUBJECT
    return refused


def reject_suppressed_staged(cursor, source_id: int, *, staged: str = "stg", rejects: str = "stg_rejects") -> None:
    """The PostgreSQL receipt-line path: staged rows (`staged`) of erased subjects go to `rejects` with the reason.

    Only the file's distinct customer ids are hashed (in Python: the key never reaches the database). The table names
    are the import's own (never user input).
    """
    if not suppression_has_any():
        return
    cursor.execute("SELECT key FROM cdp_source WHERE id = %s", [source_id])
    source_key = cursor.fetchone()[0]
    cursor.execute(f"SELECT DISTINCT customer_external_id FROM {staged} WHERE fast AND customer_external_id <> ''")
    by_identifier = {(Kind.EXTERNAL_ID, external_id_value(source_key, value)): value for (value,) in cursor.fetchall()}
    erased = sorted(by_identifier[pair] for pair in suppressed_among(by_identifier))
    if not erased:
        return
    cursor.execute(
        f"""INSERT INTO {rejects} (row_no, reasons)
            SELECT row_no, %s FROM {staged} WHERE fast AND customer_external_id = ANY(%s)""",
        [ERASED_SUBJECT, erased],
    )
    cursor.execute(f"UPDATE {staged} SET fast = false WHERE fast AND customer_external_id = ANY(%s)", [erased])
