"""Writing a batch of customer rows: source records upserted, identifiers kept in step, golden records refreshed."""

from __future__ import annotations

import hashlib
import json
import logging
import time

from django.db import connection
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from cdp.db import Row, history_insert, objects_insert, reserve_ids, rows_update
from cdp.identity import customers_refresh_golden, golden_values
from cdp.identity.at_import import identity_match_new_records
from cdp.identity.merging import merge_events_at_creation, merge_groups
from cdp.identity.services import MATCH_KEY_FIELDS, record_set_match_keys
from cdp.ingest.rows import CustomerRow
from cdp.models import Customer, Identifier, Interaction, MergeReview, PersonFields, Receipt, Source, SourceRecord
from cdp.profile.search import customer_search_key, customer_search_key_reversed
from consent.models import ConsentEvent

logger = logging.getLogger(__name__)

RECORD_FIELDS = (*PersonFields.PERSON_FIELDS, "signup_date")
MATCHED_AT_IMPORT = "matched at import"
ANALYZE_AFTER = 5000  # new records in a batch from which the tables' statistics are refreshed (PostgreSQL)


def record_hash(record: SourceRecord) -> str:
    payload = [str(getattr(record, name) or "") for name in RECORD_FIELDS]
    payload.append(json.dumps(record.attributes, sort_keys=True, ensure_ascii=False))
    return hashlib.sha256("\x1f".join(payload).encode("utf-8")).hexdigest()


def record_identifiers(record: SourceRecord) -> list[Row]:
    """The normalised identifiers a source record carries (rows of Identifier, to be written in bulk)."""
    source = record.source
    found = [(Identifier.Kind.EXTERNAL_ID, f"{source.key}:{record.external_id}")]
    if source.kind == Source.Kind.LOYALTY:
        found.append((Identifier.Kind.LOYALTY_CARD, record.external_id))
    if record.email:
        found.append((Identifier.Kind.EMAIL, record.email))
    if record.phone:
        found.append((Identifier.Kind.PHONE, record.phone))
    return [
        Row(id=None, kind=k, value=v, customer_id=record.customer_id, source_record_id=record.pk, created_at=None)
        for k, v in found
    ]


def _apply(record: SourceRecord, row: CustomerRow) -> None:
    for name, value in row.values.items():
        setattr(record, name, value)
    if row.attributes:
        record.attributes = {**record.attributes, **row.attributes}


def _create(source: Source, rows: list[CustomerRow]) -> list[SourceRecord]:
    """Write new records, each straight into the customer identity matching finds for it.

    1. Build the records (ids reserved), their identifiers, and a customer for each, as if it were nobody known.
    2. Match them against everything stored and among themselves (``identity_match_new_records``), before writing.
    3. Write the customers (those of records that join another customer already merged into it), the records and
       identifiers pointing at the customer they join, the merge events, then the merges of existing customers a
       record joined, the reviews, and the refreshed golden records.
    """
    clock = _Clock()
    now = timezone.now()
    records = []
    for row in rows:
        # plain rows, not model instances: a batch builds tens of thousands of them
        record = Row.of(SourceRecord, source_id=source.pk, external_id=row.external_id, created_at=now, updated_at=now)
        record.source = source
        _apply(record, row)
        record.content_hash = record_hash(record)
        record_set_match_keys(record)
        records.append(record)
    for record, pk in zip(records, reserve_ids(SourceRecord, len(records)), strict=True):
        record.pk = pk
    customers = {}
    for record in records:
        values, origins = golden_values([record])
        customer = Row.of(
            Customer,
            **values,
            field_sources=origins,
            search_name=customer_search_key(values["first_name"], values["last_name"]),
            search_name_reversed=customer_search_key_reversed(values["first_name"], values["last_name"]),
        )
        record.customer_id = record.own_customer_id = customer.pk
        customers[customer.pk] = customer
    identifiers = [identifier for record in records for identifier in record_identifiers(record)]
    clock.lap("build")
    links = identity_match_new_records(records=records, identifiers=identifiers)
    clock.lap("match")
    for duplicate, survivor in links.survivor_of.items():
        customer = customers[duplicate]
        customer.status = Customer.Status.MERGED
        customer.merged_into_id = survivor
    for item in (*records, *identifiers):
        item.customer_id = links.survivor_of.get(item.customer_id, item.customer_id)
    _insert_with_history(Customer, list(customers.values()))
    clock.lap("customers")
    _insert_with_history(SourceRecord, records)
    clock.lap("records")
    _insert_with_history(Identifier, identifiers)
    clock.lap("identifiers")
    merge_events_at_creation(links.survivor_of, records, identifiers, reason=MATCHED_AT_IMPORT)
    if links.existing_merges:
        merge_groups(links.existing_merges, reason=MATCHED_AT_IMPORT)
    objects_insert(MergeReview, links.reviews)  # each names a record written just now: no pair exists yet
    clock.lap("merges")
    customers_refresh_golden(set(links.survivor_of.values()))
    clock.lap("golden")
    if connection.vendor == "postgresql" and len(records) >= ANALYZE_AFTER:
        # the next batch's candidate lookups are planned on these tables' statistics, which a big import outgrows
        # long before autovacuum comes by
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {SourceRecord._meta.db_table}, {Identifier._meta.db_table}")
    logger.debug("customer batch of %s records: %s", len(records), clock)  # counts and seconds only
    return records


class _Clock:
    """Seconds spent in each phase of a batch (wall, and this process's CPU), for the debug log."""

    def __init__(self) -> None:
        self.last = (time.monotonic(), time.process_time())
        self.laps: list[tuple[str, float, float]] = []

    def lap(self, name: str) -> None:
        now = (time.monotonic(), time.process_time())
        self.laps.append((name, now[0] - self.last[0], now[1] - self.last[1]))
        self.last = now

    def __str__(self) -> str:
        return ", ".join(f"{name} {wall:.2f}s (cpu {cpu:.2f}s)" for name, wall, cpu in self.laps)


def _insert_with_history(model, objs: list) -> None:
    """What ``bulk_create_with_history`` writes (the rows, then their "+" history rows), through the bulk path."""
    objects_insert(model, objs)
    history_insert(model, objs, change_reason=None)


def _update(changes: list[SourceRecord]) -> None:
    now = timezone.now()
    for record in changes:
        record.updated_at = now
        record_set_match_keys(record)
    # as bulk_update_with_history would: the rows, then their "~" history rows
    rows_update(SourceRecord, changes, [*RECORD_FIELDS, "attributes", "content_hash", "updated_at", *MATCH_KEY_FIELDS])
    history_insert(SourceRecord, changes, update=True, change_reason=None)
    Identifier.objects.filter(source_record__in=changes).delete()
    customers_refresh_golden(record.customer_id for record in changes if record.customer_id)


def link_waiting_activity(source: Source, records: list[SourceRecord]) -> int:
    """Receipts, interactions and consent events that arrived before their customer are linked to it now."""
    external_ids = [record.external_id for record in records if record.customer_id]
    customer_of = SourceRecord.objects.filter(source=source, external_id=OuterRef("customer_external_id"))
    linked = 0
    for model in (Receipt, Interaction):
        linked += model.objects.filter(
            source=source, customer__isnull=True, customer_external_id__any=external_ids
        ).update(customer_id=Subquery(customer_of.values("customer_id")[:1]))
    # The ledger names its source by key (consent imports nothing from cdp); only the link is set, never the event.
    subject_of = SourceRecord.objects.filter(source=source, external_id=OuterRef("subject_external_id"))
    linked += ConsentEvent.objects.filter(
        source_key=source.key, customer__isnull=True, subject_external_id__any=external_ids
    ).update(customer_id=Subquery(subject_of.values("customer_id")[:1]))
    return linked


def write_customers(source: Source, rows: list[CustomerRow]) -> tuple[int, int, int]:
    """Upsert one batch (inside the caller's transaction). Returns (created, updated, unchanged)."""
    existing = {
        record.external_id: record
        for record in SourceRecord.objects.select_related("source").filter(
            source=source, external_id__any=[row.external_id for row in rows]
        )
    }
    new_rows, changed = [], []
    for row in rows:
        record = existing.get(row.external_id)
        if record is None:
            new_rows.append(row)
            continue
        _apply(record, row)
        digest = record_hash(record)
        if digest != record.content_hash:
            record.content_hash = digest
            changed.append(record)
    created = _create(source, new_rows) if new_rows else []  # matched at import (cdp.identity)
    if changed:
        _update(changed)
        _insert_with_history(Identifier, [item for record in changed for item in record_identifiers(record)])
    if created:
        link_waiting_activity(source, created)
    return len(created), len(changed), len(rows) - len(created) - len(changed)
