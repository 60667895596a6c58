"""Rows an import must refuse whatever their values: erased subjects (suppression list) and restricted customers.

Checked per batch, with one query per check: the suppression list is read by keyed hashes of the batch's
identifiers (consent.services.suppression), restrictions through the batch's source records. Receipt lines of an
erased subject are not refused but kept for accounting, anonymous and unlinked.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cdp.ingest import types as t
from cdp.models import SourceRecord
from cdp.personal_data import person_key
from consent.selectors import restricted_among
from consent.services.suppression import (
    ERASED_SUBJECT,
    Kind,
    external_id_value,
    holder_value,
    suppressed_among,
    suppression_has_any,
)

RESTRICTED_SUBJECT = "restricted subject: processing of this customer is restricted (GDPR Art. 18)"

# Kinds whose rows change or add to a customer's data. Receipts stay accepted (accounting records) and consents too
# (a customer's own choice, and a withdrawal must always be heard).
RESTRICTION_CHECKED = (t.KIND_CUSTOMERS, t.KIND_EVENTS)


def row_identifiers(kind: str, source_key: str, row: Any) -> set[tuple[str, str]]:
    """The (kind, normalised value) identifiers a parsed row carries: a customer's e-mail and phone also together
    with the person the row describes, which is how an erased person's share of a household's values is listed."""
    if kind == t.KIND_CUSTOMERS:
        found = {(Kind.EXTERNAL_ID, external_id_value(source_key, row.external_id))}
        values = row.values
        person = person_key(values.get("first_name"), values.get("last_name"), values.get("birth_date"))
        for name, plain, holder in (("email", Kind.EMAIL, Kind.EMAIL_HOLDER), ("phone", Kind.PHONE, Kind.PHONE_HOLDER)):
            if values.get(name):
                found |= {(plain, values[name]), (holder, holder_value(values[name], person))}
        return found
    external_id = getattr(row, "customer_external_id", "")
    return {(Kind.EXTERNAL_ID, external_id_value(source_key, external_id))} if external_id else set()


def _external_id(kind: str, row: Any) -> str:
    return row.external_id if kind == t.KIND_CUSTOMERS else getattr(row, "customer_external_id", "")


def refused_rows(kind: str, source_key: str, rows: Iterable[Any]) -> dict[int, str]:
    """Index in `rows` -> the reason to refuse it, for rows of erased or restricted subjects (receipt lines of an
    erased subject are kept anonymous instead: ``anonymised_rows``)."""
    rows = list(rows)
    refused: dict[int, str] = {}
    if rows and kind != t.KIND_TRANSACTIONS and suppression_has_any():
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


def anonymised_rows(kind: str, source_key: str, rows: Iterable[Any]) -> set[int]:
    """Indexes of receipt lines whose customer was erased: accounting keeps them, anonymous and unlinked, as the
    erasure kept the receipts it found (they are written without the customer's id)."""
    rows = list(rows)
    if kind != t.KIND_TRANSACTIONS or not rows or not suppression_has_any():
        return set()
    identifiers = [row_identifiers(kind, source_key, row) for row in rows]
    suppressed = suppressed_among(pair for found in identifiers for pair in found)
    return {index for index, found in enumerate(identifiers) if found & suppressed}
