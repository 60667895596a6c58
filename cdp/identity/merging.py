"""Merge and unmerge of customers, set-based: every row that points at a customer moves, and the move is audited.

A merge marks the duplicate merged into the survivor, then re-points every relation of ``Customer`` (walked through
``Customer._meta.related_objects``, so the models of later apps move too without being imported here) with one
UPDATE per relation, and stores what moved on a ``MergeEvent``. An unmerge puts back exactly what the event moved,
plus what arrived since for the split-out source records (receipts and interactions are found by external id).
One-to-one relations stay where they are: two such rows cannot point at one customer.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable

from django.db import models
from django.utils import timezone

from cdp.db import Row, history_insert, objects_insert, repoint, rows_update
from cdp.identity.golden import customers_refresh_golden
from cdp.models import (
    Customer,
    Identifier,
    Interaction,
    MergeEvent,
    MergeReview,
    Receipt,
    ResolutionRun,
    Source,
    SourceRecord,
)
from consent.models import ConsentEvent
from consent.selectors import restricted_among

CHUNK = 5000
MERGED = Customer.Status.MERGED


def customer_relations() -> list[models.ForeignKey]:
    """Foreign keys to Customer (of any installed app), one-to-one ones left out."""
    return [
        rel.field
        for rel in Customer._meta.related_objects
        if rel.one_to_many and isinstance(rel.field, models.ForeignKey)
    ]


def _chunks(items: list, size: int = CHUNK) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def groups_without_restricted(groups: dict[uuid.UUID, list[uuid.UUID]]) -> dict[uuid.UUID, list[uuid.UUID]]:
    """A customer whose processing is restricted (GDPR Art. 18) is neither merged nor merged into."""
    restricted = restricted_among([*groups, *(pk for duplicates in groups.values() for pk in duplicates)])
    if not restricted:
        return groups
    return {
        survivor: [pk for pk in duplicates if pk not in restricted]
        for survivor, duplicates in groups.items()
        if survivor not in restricted
    }


def merge_groups(
    groups: dict[uuid.UUID, list[uuid.UUID]],
    *,
    actor=None,
    reason: str,
    run: ResolutionRun | None = None,
    review: MergeReview | None = None,
) -> list[MergeEvent]:
    """Merge each survivor's duplicates into it (inside the caller's transaction); one MergeEvent per duplicate.

    1. The duplicates are marked merged into their survivor (with a history row each).
    2. Every relation of Customer is re-pointed from a merged customer to the one it was merged into, set-based
       (``cdp.db.repoint``); the ids of the rows that moved are kept on the events.
    3. The survivors' golden records are recomputed.
    """
    groups = groups_without_restricted(groups)
    survivor_of = {duplicate: survivor for survivor, duplicates in groups.items() for duplicate in duplicates}
    if not survivor_of:
        return []
    now = timezone.now()
    duplicates = []
    for chunk in _chunks(list(survivor_of)):
        duplicates.extend(Customer.objects.filter(pk__any=chunk, status=Customer.Status.ACTIVE))
    for customer in duplicates:
        customer.status = MERGED
        customer.merged_into_id = survivor_of[customer.pk]
        customer.updated_at = now
    rows_update(Customer, duplicates, ["status", "merged_into", "updated_at"])
    history_insert(Customer, duplicates, update=True, change_reason="")
    moved: dict[uuid.UUID, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    mapping = {customer.pk: customer.merged_into_id for customer in duplicates}
    for field in customer_relations():
        label = field.model._meta.label_lower
        for owner, pks in repoint(field, mapping).items():
            moved[owner][label].extend(str(pk) if isinstance(pk, uuid.UUID) else pk for pk in pks)
    events = []
    record_label = SourceRecord._meta.label_lower
    for customer in duplicates:
        rows = moved.get(customer.pk, {})
        events.append(
            MergeEvent(
                kind=MergeEvent.Kind.MERGE,
                survivor_id=customer.merged_into_id,
                other_id=customer.pk,
                actor=actor,
                reason=reason,
                source_record_ids=sorted(rows.get(record_label, [])),
                moved={label: sorted(ids) for label, ids in rows.items() if label != record_label},
                run=run,
                review=review,
            )
        )
    MergeEvent.objects.bulk_create(events, batch_size=1000)
    customers_refresh_golden(groups)
    return events


def merge_events_at_creation(
    survivor_of: dict[uuid.UUID, uuid.UUID],
    records: Iterable[SourceRecord],
    identifiers: Iterable[Identifier],
    *,
    actor=None,
    reason: str,
) -> list[Row]:
    """The merge events of customers written already merged (records matched at import, before they were written).

    Each new record's customer is written merged into the customer the record joins, its record and identifiers
    pointing there: the same rows and the same event as a merge right after creation would leave, so an unmerge
    splits it out the same way.
    """
    records_of: dict[uuid.UUID, list[int]] = defaultdict(list)
    owner_of_record = {}
    for record in records:
        owner_of_record[record.pk] = record.own_customer_id
        if record.own_customer_id in survivor_of:
            records_of[record.own_customer_id].append(record.pk)
    identifiers_of: dict[uuid.UUID, list[int]] = defaultdict(list)
    for identifier in identifiers:
        owner = owner_of_record.get(identifier.source_record_id)
        if owner in survivor_of:
            identifiers_of[owner].append(identifier.pk)
    label = Identifier._meta.label_lower
    events = [
        Row.of(
            MergeEvent,
            kind=MergeEvent.Kind.MERGE,
            survivor_id=survivor,
            other_id=duplicate,
            actor_id=actor.pk if actor is not None else None,
            reason=reason,
            source_record_ids=sorted(records_of[duplicate]),
            moved={label: sorted(identifiers_of[duplicate])} if identifiers_of[duplicate] else {},
        )
        for duplicate, survivor in survivor_of.items()
    ]
    objects_insert(MergeEvent, events)
    return events


def _restore_customer_row(customer: Customer, before) -> None:
    """The customer row as its history had it just before the merge (django-simple-history)."""
    if before is not None:
        for field in Customer._meta.concrete_fields:
            if field.primary_key or field.name == "created_at" or not hasattr(before, field.attname):
                continue  # fields the history leaves out (derived search keys) are kept
            setattr(customer, field.attname, getattr(before, field.attname))
    customer.status = Customer.Status.ACTIVE
    customer.merged_into = None
    customer.save()


def unmerge_event(event: MergeEvent, *, actor=None, reason: str) -> MergeEvent:
    """Undo one merge (inside the caller's transaction): the customer comes back as it was, with what it had.

    1. The customer row is restored from its history as of just before the merge.
    2. Its source records, and the rows the merge moved, go back to it; receipts, interactions and consent events
       that arrived since for its source records' external ids follow them, and so do the identifiers of those
       records.
    3. Both golden records are recomputed, the merge is marked undone, and an unmerge event records the split (and
       which records are to be kept apart from the survivor by later runs).
    """
    customer = Customer.objects.get(pk=event.other_id)
    survivor = event.survivor
    before = customer.history.filter(history_date__lt=event.at).order_by("-history_date").first()
    _restore_customer_row(customer, before)
    record_ids = list(event.source_record_ids)
    for chunk in _chunks(record_ids):
        SourceRecord.objects.filter(pk__in=chunk, customer=survivor).update(customer=customer)
        Identifier.objects.filter(source_record_id__in=chunk).update(customer=customer)
    relations = {field.model._meta.label_lower: field for field in customer_relations()}
    for label, ids in event.moved.items():
        field = relations.get(label)
        if field is None:
            continue
        for chunk in _chunks(list(ids)):
            field.model._base_manager.filter(pk__in=chunk, **{field.attname: survivor.pk}).update(
                **{field.attname: customer.pk}
            )
    external_ids = defaultdict(list)
    split_records = SourceRecord.objects.filter(pk__in=record_ids).values_list("source_id", "external_id")
    for source_id, external_id in split_records:
        external_ids[source_id].append(external_id)
    for model in (Receipt, Interaction):
        for source_id, ids in external_ids.items():
            model.objects.filter(customer=survivor, source_id=source_id, customer_external_id__in=ids).update(
                customer=customer
            )
    source_keys = dict(Source.objects.filter(pk__in=list(external_ids)).values_list("pk", "key"))
    for source_id, ids in external_ids.items():
        ConsentEvent.objects.filter(
            customer=survivor, source_key=source_keys[source_id], subject_external_id__in=ids
        ).update(customer=customer)
    customers_refresh_golden([customer.pk, survivor.pk])
    event.undone = True
    event.save(update_fields=["undone"])
    kept_apart = list(SourceRecord.objects.filter(customer=survivor).values_list("pk", flat=True))
    return MergeEvent.objects.create(
        kind=MergeEvent.Kind.UNMERGE,
        survivor=survivor,
        other_id=customer.pk,
        actor=actor,
        reason=reason,
        source_record_ids=record_ids,
        moved={"kept_apart_from": sorted(kept_apart)},
    )
