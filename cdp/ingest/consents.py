"""Writing a batch of consent events into the ledger: an event is immutable, so it is either new or already there."""

from __future__ import annotations

from django.utils import timezone

from cdp.db import bulk_insert
from cdp.ingest.rows import ConsentRow
from cdp.models import Source, SourceRecord
from consent.models import ConsentEvent, PolicyVersion

INSERT_FIELDS = (
    "source_key",
    "event_key",
    "customer_id",
    "subject_external_id",
    "purpose_id",
    "channel_id",
    "status",
    "occurred_at",
    "captured_via",
    "policy_version",
    "policy_id",
    "evidence",
    "recorded_at",
    "recorded_by_id",
)


def _customers_of(source: Source, rows: list[ConsentRow]) -> dict[str, object]:
    external_ids = {row.customer_external_id for row in rows}
    return dict(
        SourceRecord.objects.filter(source=source, external_id__in=external_ids).values_list(
            "external_id", "customer_id"
        )
    )


def _policies_of(rows: list[ConsentRow]) -> dict[tuple[int, str], int]:
    """(purpose id, version) -> the published wording, for the versions the rows name."""
    versions = {row.policy_version for row in rows if row.policy_version}
    if not versions:
        return {}
    found = PolicyVersion.objects.filter(purpose_id__in={row.purpose_id for row in rows}, version__in=versions)
    return {(purpose_id, version): pk for purpose_id, version, pk in found.values_list("purpose_id", "version", "pk")}


def write_consents(
    source: Source, rows: list[ConsentRow], *, recorded_by_id: int | None = None
) -> tuple[int, int, int]:
    """Insert the events not yet stored (inside the caller's transaction). Returns (created, 0, unchanged).

    Nothing is updated: a changed choice is a new event, and the latest event is the current state.
    """
    keys = [row.event_key for row in rows]
    existing = set(
        ConsentEvent.objects.filter(source_key=source.key, event_key__in=keys).values_list("event_key", flat=True)
    )
    new_rows = [row for row in rows if row.event_key not in existing]
    customers = _customers_of(source, new_rows)
    policies = _policies_of(new_rows)
    now = timezone.now()
    created = bulk_insert(
        ConsentEvent,
        INSERT_FIELDS,
        (
            (
                source.key,
                row.event_key,
                customers.get(row.customer_external_id),
                row.customer_external_id,
                row.purpose_id,
                row.channel_id,
                row.status,
                row.occurred_at,
                row.captured_via,
                row.policy_version,
                policies.get((row.purpose_id, row.policy_version)),
                row.evidence,
                now,
                recorded_by_id,
            )
            for row in new_rows
        ),
    )
    return created, 0, len(rows) - created
