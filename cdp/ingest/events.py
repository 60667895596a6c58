"""Writing a batch of interactions: an event is immutable, so it is either new or already there."""

from __future__ import annotations

from django.utils import timezone

from cdp.db import bulk_insert
from cdp.ingest.rows import EventRow
from cdp.models import Interaction, Source, SourceRecord

INSERT_FIELDS = (
    "source_id",
    "event_key",
    "customer_id",
    "customer_external_id",
    "anonymous_id",
    "occurred_at",
    "type",
    "channel",
    "properties",
    "created_at",
)


def write_events(source: Source, rows: list[EventRow]) -> tuple[int, int, int]:
    """Insert the events not yet stored (inside the caller's transaction). Returns (created, 0, unchanged)."""
    keys = [row.event_key for row in rows]
    existing = set(Interaction.objects.filter(source=source, event_key__in=keys).values_list("event_key", flat=True))
    external_ids = {row.customer_external_id for row in rows if row.customer_external_id}
    customers = dict(
        SourceRecord.objects.filter(source=source, external_id__in=external_ids).values_list(
            "external_id", "customer_id"
        )
    )
    now = timezone.now()
    new = [
        (
            source.pk,
            row.event_key,
            customers.get(row.customer_external_id),
            row.customer_external_id,
            row.anonymous_id,
            row.occurred_at,
            row.type,
            row.channel,
            row.properties,
            now,
        )
        for row in rows
        if row.event_key not in existing
    ]
    created = bulk_insert(Interaction, INSERT_FIELDS, new)
    return created, 0, len(rows) - created
