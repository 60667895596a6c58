"""Writing a batch of consent events: the rows become ledger entries, which the consent ledger appends
(consent.services.ledger); an event is immutable, so it is either new or already there."""

from __future__ import annotations

from cdp.db import bulk_insert
from cdp.ingest.rows import ConsentRow
from cdp.models import Source, SourceRecord
from consent.services.ledger import LedgerEntry, ledger_append_rows


def _customers_of(source: Source, rows: list[ConsentRow]) -> dict[str, object]:
    external_ids = {row.customer_external_id for row in rows}
    return dict(
        SourceRecord.objects.filter(source=source, external_id__in=external_ids).values_list(
            "external_id", "customer_id"
        )
    )


def write_consents(
    source: Source, rows: list[ConsentRow], *, recorded_by_id: int | None = None
) -> tuple[int, int, int]:
    """Append the events not yet stored (inside the caller's transaction). Returns (created, 0, unchanged).

    Nothing is updated: a changed choice is a new event, and the latest event is the current state.
    """
    customers = _customers_of(source, rows)
    entries = [
        LedgerEntry(
            source_key=source.key,
            event_key=row.event_key,
            customer_id=customers.get(row.customer_external_id),
            subject_external_id=row.customer_external_id,
            purpose_id=row.purpose_id,
            channel_id=row.channel_id,
            status=row.status,
            occurred_at=row.occurred_at,
            captured_via=row.captured_via,
            policy_version=row.policy_version,
            evidence=row.evidence,
            recorded_by_id=recorded_by_id,
        )
        for row in rows
    ]
    created = ledger_append_rows(entries, write=bulk_insert)
    return created, 0, len(rows) - created
