"""Reads of segmentation: runs, a segment's customers, a customer's membership and its history, flows, exports.

Every read of customers in segments goes through consent's processing selector: a customer who objected to profiling
or is restricted since the run is not shown in a segment, a page or an export, whatever the stored rows say.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery

from cdp.models import Customer, SourceRecord
from consent.selectors import customers_processable
from segments.models import Segment, SegmentationRun, SegmentMembership

EXPORT_CHUNK = 5000


def _processable_ids() -> QuerySet:
    return customers_processable(purpose="profiling", customers=Customer.objects.active()).values("pk")


def runs_list() -> QuerySet[SegmentationRun]:
    return SegmentationRun.objects.select_related("actor", "snapshot").annotate(
        segment_count=Count("segments", filter=Q(segments__retired=False))
    )


def run_active() -> SegmentationRun | None:
    return SegmentationRun.objects.filter(is_active=True).first()


def run_segments(run: SegmentationRun) -> list[Segment]:
    return list(run.segments.filter(retired=False).order_by("-size", "number"))


def segment_members(segment: Segment) -> QuerySet[Customer]:
    """The segment's current customers who may still be profiled, by name."""
    ids = SegmentMembership.objects.filter(segment=segment, left_at__isnull=True).values("customer_id")
    return (
        Customer.objects.filter(pk__in=ids)
        .filter(pk__in=_processable_ids())
        .order_by("last_name", "first_name", "pk")
        .only("pk", "first_name", "last_name", "city", "postcode")
    )


def customer_segment(customer: Customer) -> dict | None:
    """The customer's segment in the active segmentation (else the latest run), when they entered it, and their
    moves in that run."""
    run = (  # the active segmentation, else the latest finished run: one query
        SegmentationRun.objects.filter(Q(is_active=True) | Q(status=SegmentationRun.Status.SUCCEEDED))
        .order_by("-is_active", "-created_at")
        .only("pk", "is_active", "created_at")
        .first()
    )
    if run is None:
        return None
    if not customers_processable(purpose="profiling", customers=Customer.objects.filter(pk=customer.pk)).exists():
        return {"run": run, "membership": None, "history": [], "excluded": True}
    history = list(
        SegmentMembership.objects.filter(run=run, customer=customer).select_related("segment").order_by("entered_at")
    )
    current = next((m for m in history if m.left_at is None), None)
    return {"run": run, "membership": current, "history": history, "excluded": False}


def _members_at(run: SegmentationRun, moment: dt.datetime) -> QuerySet[SegmentMembership]:
    return SegmentMembership.objects.filter(run=run, entered_at__lte=moment).filter(
        Q(left_at__isnull=True) | Q(left_at__gt=moment)
    )


def segment_flows(run: SegmentationRun, start: dt.datetime, end: dt.datetime) -> dict[tuple[int, int], int]:
    """How many customers were in segment A at `start` and in segment B at `end` (A == B: stayed).

    Counted in the database: each membership held at `start` looks up its customer's membership at `end`."""
    later = _members_at(run, end).filter(customer_id=OuterRef("customer_id")).values("segment_id")[:1]
    rows = (
        _members_at(run, start)
        .annotate(later=Subquery(later))
        .exclude(later=None)
        .values_list("segment_id", "later")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {(before, after): n for before, after, n in rows}


def segment_size_history(segment: Segment) -> list[tuple[dt.datetime, int]]:
    """(moment, size) after each change of the segment's membership."""
    events: list[tuple[dt.datetime, int]] = []
    for entered, left in SegmentMembership.objects.filter(segment=segment).values_list("entered_at", "left_at"):
        events.append((entered, 1))
        if left is not None:
            events.append((left, -1))
    size, history = 0, []
    for moment, change in sorted(events):
        size += change
        if history and history[-1][0] == moment:
            history[-1] = (moment, size)
        else:
            history.append((moment, size))
    return history


def export_rows(run: SegmentationRun) -> Iterator[tuple[str, str, str]]:
    """(customer_id, external_ids joined by ';', segment name) of the run's current members who may be profiled."""
    names = dict(Segment.objects.filter(run=run).values_list("pk", "name"))
    memberships = (
        SegmentMembership.objects.filter(run=run, left_at__isnull=True, customer_id__in=_processable_ids())
        .order_by("customer_id")
        .values_list("customer_id", "segment_id")
    )
    batch: list[tuple] = []
    for row in memberships.iterator(chunk_size=EXPORT_CHUNK):
        batch.append(row)
        if len(batch) >= EXPORT_CHUNK:
            yield from _with_external_ids(batch, names)
            batch = []
    yield from _with_external_ids(batch, names)


def _with_external_ids(batch: list[tuple], names: dict) -> Iterator[tuple[str, str, str]]:
    if not batch:
        return
    ids: dict = defaultdict(list)
    records = SourceRecord.objects.filter(customer_id__in=[c for c, _ in batch]).order_by("source__key", "external_id")
    for customer, source, external_id in records.values_list("customer_id", "source__key", "external_id"):
        ids[customer].append(f"{source}:{external_id}")
    for customer, segment in batch:
        yield str(customer), ";".join(ids.get(customer, [])), names[segment]
