"""The analyst's edits of a run's segments: rename, merge two, split one. Every customer stays in exactly one segment.

A merge or a split closes the moved customers' memberships and opens new ones (origin "edit"), so history shows the
move; the segments' profiles, names and sizes are worked out again from the run's snapshot. A frozen run's
classifier is trained again after an edit, so that assignment follows the segments as they now are.
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from cdp.db import Row, objects_insert
from cdp.features.selectors import feature_matrix
from segments.models import Segment, SegmentationRun, SegmentMembership
from segments.services.method import build_pipeline
from segments.services.naming import describe

NAME_REQUIRED = "a segment needs a name"
OTHER_RUN = "both segments must belong to the same run"
SAME_SEGMENT = "a segment cannot be merged into itself"
TOO_SMALL = "a segment needs at least four customers to be split"
RETIRED = "this segment no longer holds customers"


def segment_rename(*, segment: Segment, name: str, description: str | None = None, actor=None) -> Segment:
    name = (name or "").strip()
    if not name:
        raise ValueError(NAME_REQUIRED)
    segment.name = name[:120]
    if description is not None:
        segment.description = description.strip()
    segment.renamed_by = actor
    segment.save(update_fields=["name", "description", "renamed_by"])
    return segment


def _members(segment: Segment) -> list:
    return list(
        SegmentMembership.objects.filter(segment=segment, left_at__isnull=True).values_list("customer_id", flat=True)
    )


def _move(run: SegmentationRun, customers: list, target: Segment) -> None:
    now = timezone.now()
    SegmentMembership.objects.filter(run=run, customer_id__in=customers, left_at__isnull=True).update(left_at=now)
    objects_insert(
        SegmentMembership,
        [
            Row(
                id=None,
                customer_id=customer,
                run_id=run.pk,
                segment_id=target.pk,
                origin=SegmentMembership.Origin.EDIT,
                entered_at=now,
                left_at=None,
            )
            for customer in customers
        ],
    )


def _redescribe(run: SegmentationRun, segments: list[Segment]) -> None:
    """Profile, generated name (kept unless the analyst renamed it), size and revenue share, from the snapshot."""
    matrix = feature_matrix(run.snapshot)
    current = dict(
        SegmentMembership.objects.filter(run=run, left_at__isnull=True).values_list("customer_id", "segment_id")
    )
    in_run = np.array([customer in current for customer in matrix.customer_ids])
    values = matrix.values[in_run]
    owners = np.array([current[c] for c in matrix.customer_ids if c in current])
    totals = np.clip(values[:, matrix.names.index("monetary")], 0, None)
    revenue = float(totals.sum()) or 1.0
    for segment in segments:
        members = owners == segment.pk
        segment.size = int(members.sum())
        if not segment.size:
            segment.retired = True
            segment.save(update_fields=["size", "retired"])
            continue
        profile, name, description = describe(matrix.features, values, members, run.snapshot.currency)
        renamed = segment.name != segment.generated_name
        segment.profile, segment.generated_name = profile, name
        segment.name = segment.name if renamed else name
        segment.description = segment.description if renamed else description
        segment.centroid = values[members].mean(axis=0).round(6).tolist()
        segment.revenue_share = float(totals[members].sum()) / revenue
        segment.save()


def _retrain_if_active(run: SegmentationRun) -> None:
    if run.is_active:
        from segments.services.assignment import segmentation_freeze

        segmentation_freeze(run=run, actor=run.frozen_by)


@transaction.atomic
def segments_merge(*, keep: Segment, other: Segment, actor=None) -> Segment:
    """Move every customer of `other` into `keep`; `other` is retired."""
    if keep.run_id != other.run_id:
        raise ValueError(OTHER_RUN)
    if keep.pk == other.pk:
        raise ValueError(SAME_SEGMENT)
    run = SegmentationRun.objects.select_for_update().get(pk=keep.run_id)
    _move(run, _members(other), keep)
    _redescribe(run, [keep, other])
    _retrain_if_active(run)
    keep.refresh_from_db()
    return keep


@transaction.atomic
def segment_split(*, segment: Segment, parts: int = 2, actor=None) -> list[Segment]:
    """Cluster the customers of `segment` again, into `parts` new segments (k-means on the run's transform)."""
    run = SegmentationRun.objects.select_for_update().get(pk=segment.run_id)
    members = _members(segment)
    if segment.retired:
        raise ValueError(RETIRED)
    if len(members) < max(4, parts * 2):
        raise ValueError(TOO_SMALL)
    matrix = feature_matrix(run.snapshot, members)
    pipeline, used = build_pipeline(matrix, variance=run.parameters.get("variance_kept", 0.85), seed=run.seed)
    points = pipeline.fit_transform(matrix.values[:, used])
    labels = KMeans(n_clusters=parts, n_init=4, random_state=run.seed).fit_predict(points)
    number = (Segment.objects.filter(run=run).aggregate(top=Max("number"))["top"] or 0) + 1
    children = []
    for part in range(parts):
        child = Segment.objects.create(
            run=run, number=number + part, name=f"{segment.name} ({part + 1})", parent=segment, size=0
        )
        child.generated_name = child.name
        child.save(update_fields=["generated_name"])
        customers = [c for c, label in zip(matrix.customer_ids, labels, strict=True) if label == part]
        _move(run, customers, child)
        children.append(child)
    _redescribe(run, [segment, *children])
    _retrain_if_active(run)
    return [Segment.objects.get(pk=child.pk) for child in children]
