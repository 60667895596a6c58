"""Writes of the processing register: recording the runs the product performs, and reviewing activities.

Other apps call ``processing_run_record`` (a run that has ended) or ``processing_run_start`` then
``processing_run_finish`` (a run that takes a while), naming the activity by its key: the ``ACTIVITY_*`` constants.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from consent.models import ProcessingActivity, ProcessingRun, RunStatus

# The product's activities, seeded by the register's data migration; their keys never change.
ACTIVITY_CUSTOMER_DATA_IMPORT = "customer_data_import"
ACTIVITY_IDENTITY_RESOLUTION = "identity_resolution"
ACTIVITY_PROFILING_SEGMENTATION = "profiling_segmentation"
ACTIVITY_SCORING = "scoring"
ACTIVITY_MARKETING_CAMPAIGNS = "marketing_campaigns"
ACTIVITY_SALES_BRIEFS = "sales_briefs"
ACTIVITY_ANALYTICS = "analytics"
ACTIVITY_CONSENT_MANAGEMENT = "consent_management"
ACTIVITY_DSR_HANDLING = "dsr_handling"
ACTIVITY_DATA_RETENTION = "data_retention"

UNKNOWN_ACTIVITY = "no processing activity has the key"
COUNT_NOT_INTEGER = "a run's counts are integers; not"
RUN_ALREADY_FINISHED = "the run has already finished"


class UnknownProcessingActivity(LookupError):
    """A run names an activity the register does not have: a programming or configuration error, never ignored."""


def _activity(key: str) -> ProcessingActivity:
    activity = ProcessingActivity.objects.filter(key=key).first()
    if activity is None:
        raise UnknownProcessingActivity(f"{UNKNOWN_ACTIVITY} {key!r}")
    return activity


def _counts(counts: Mapping[str, int] | None) -> dict[str, int]:
    """Only integers: a run's record must never carry a value that could be personal data."""
    cleaned = {}
    for name, value in (counts or {}).items():
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(f"{COUNT_NOT_INTEGER} {name!r}")
        cleaned[str(name)] = value
    return cleaned


def _reference(reference: models.Model | None) -> tuple[str, str]:
    if reference is None:
        return "", ""
    return reference._meta.label_lower, str(reference.pk)


def processing_run_record(
    *,
    activity: str,
    kind: str,
    started_at: dt.datetime,
    finished_at: dt.datetime | None = None,
    status: str = RunStatus.SUCCEEDED,
    actor=None,
    counts: Mapping[str, int] | None = None,
    parameters: Mapping[str, Any] | None = None,
    reference: models.Model | None = None,
    message: str = "",
) -> ProcessingRun:
    """Record a run that has ended. Raises UnknownProcessingActivity, or ValidationError for a count not an int."""
    reference_type, reference_id = _reference(reference)
    run = ProcessingRun(
        activity=_activity(activity),
        kind=kind,
        status=status,
        started_at=started_at,
        finished_at=finished_at or timezone.now(),
        actor=actor if getattr(actor, "pk", None) else None,
        counts=_counts(counts),
        parameters=dict(parameters or {}),
        reference_type=reference_type,
        reference_id=reference_id,
        message=message[:255],
    )
    run.full_clean(exclude=["actor"])
    run.save()
    return run


def processing_run_start(
    *,
    activity: str,
    kind: str,
    actor=None,
    parameters: Mapping[str, Any] | None = None,
    reference: models.Model | None = None,
) -> ProcessingRun:
    """Record a run as it starts; ``processing_run_finish`` completes it."""
    reference_type, reference_id = _reference(reference)
    return ProcessingRun.objects.create(
        activity=_activity(activity),
        kind=kind,
        status=RunStatus.RUNNING,
        started_at=timezone.now(),
        actor=actor if getattr(actor, "pk", None) else None,
        parameters=dict(parameters or {}),
        reference_type=reference_type,
        reference_id=reference_id,
    )


def processing_run_finish(
    *,
    run: ProcessingRun,
    status: str = RunStatus.SUCCEEDED,
    counts: Mapping[str, int] | None = None,
    message: str = "",
) -> ProcessingRun:
    """Close a started run with its outcome and counts. Raises ValidationError when it was closed already."""
    if run.finished_at is not None:
        raise ValidationError(RUN_ALREADY_FINISHED)
    run.status = status
    run.counts = {**run.counts, **_counts(counts)}
    run.message = message[:255]
    run.finished_at = timezone.now()
    run.full_clean(exclude=["actor"])
    run.save(update_fields=["status", "counts", "message", "finished_at"])
    return run


@transaction.atomic
def processing_activities_review(*, activities: models.QuerySet[ProcessingActivity], actor=None) -> int:
    """Mark activities as reviewed today (the history keeps who did it). Returns how many were marked."""
    today = timezone.localdate()
    marked = 0
    # The caller's queryset may be annotated (the admin's run counts): lock the plain rows it names.
    ids = list(activities.values_list("pk", flat=True))
    for activity in ProcessingActivity.objects.select_for_update().filter(pk__in=ids).order_by("pk"):
        if activity.last_reviewed_on == today:
            continue
        activity.last_reviewed_on = today
        activity._history_user = actor  # simple-history's hook for the author of a change outside a request
        activity.save(update_fields=["last_reviewed_on", "updated_at"])
        marked += 1
    return marked
