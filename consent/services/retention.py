"""Retention: each purpose's period applied to the data it governs, every night, with a record of what was done.

Which purpose governs which data is decided where the data lives: apps register, at start-up,
- rows that end with a purpose's period (``register_retention_rule``: cdp's interactions end with the analytics
  period, 13 months), deleted in batches of RETENTION_BATCH_SIZE rows, one statement each;
- how to tell that a subject is still in contact (``register_inactivity_rule``: cdp names its purchases,
  interactions and signup, under the marketing purposes' period, 3 years). A subject with no contact within the
  longest period of those purposes is anonymised through the erasure service, without suppression: the data ends,
  the person may come back. A consent event of the ledger counts as a contact too.
Subjects under a restriction of processing (Art. 18) or with a request still open are kept: the restriction or the
request needs the data. Receipts are not governed here: they are kept for accounting and anonymised on erasure.

Running it twice changes nothing the second time: what the first run deleted or anonymised is gone.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import models
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from consent.models import ConsentEvent, DataSubjectRequest, ProcessingRestriction, ProcessingRun, Purpose, RunStatus
from consent.services.erasure import subject_erase
from consent.services.register import ACTIVITY_DATA_RETENTION, processing_run_finish, processing_run_start

logger = logging.getLogger(__name__)

RETENTION_REASON = "retention period ended"


@dataclass(frozen=True)
class RetentionRule:
    """Rows of `model` whose `date_field` is older than the purpose's retention period are deleted."""

    model: type[models.Model]
    purpose: str
    date_field: str


@dataclass(frozen=True)
class InactivityRule:
    """Subjects of `subjects()` with no contact within the longest period of `purposes` are anonymised.

    Each of `contacts` takes the cut-off time and returns a condition on the subject model that holds when the subject
    was in contact since then (a purchase, an interaction, a signup, ...).
    """

    purposes: tuple[str, ...]
    subjects: Callable[[], QuerySet]
    contacts: tuple[Callable[[dt.datetime], Q], ...] = field(default_factory=tuple)


_RULES: list[RetentionRule] = []
_INACTIVITY: list[InactivityRule] = []


def register_retention_rule(model: type[models.Model], *, purpose: str, date_field: str) -> RetentionRule:
    try:
        found = model._meta.get_field(date_field)
    except Exception as exc:
        raise ImproperlyConfigured(f"{model._meta.label}: no field {date_field!r} for retention") from exc
    if not isinstance(found, models.DateField):  # DateTimeField is a DateField
        raise ImproperlyConfigured(f"{model._meta.label}.{date_field} is not a date for retention")
    if any(rule.model is model for rule in _RULES):
        raise ImproperlyConfigured(f"{model._meta.label} has a retention rule already")
    rule = RetentionRule(model=model, purpose=purpose, date_field=date_field)
    _RULES.append(rule)
    return rule


def register_inactivity_rule(
    *, purposes: Iterable[str], subjects: Callable[[], QuerySet], contacts: Iterable[Callable[[dt.datetime], Q]]
) -> InactivityRule:
    rule = InactivityRule(purposes=tuple(purposes), subjects=subjects, contacts=tuple(contacts))
    if not rule.purposes or not rule.contacts:
        raise ImproperlyConfigured("an inactivity rule names its purposes and at least one kind of contact")
    _INACTIVITY.append(rule)
    return rule


def retention_rules() -> tuple[list[RetentionRule], list[InactivityRule]]:
    return list(_RULES), list(_INACTIVITY)


@dataclass
class RetentionOutcome:
    counts: dict[str, int] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    failed: int = 0


def _periods(keys: Iterable[str]) -> dict[str, int]:
    """Purpose key -> retention days, for the purposes that have a period."""
    return dict(
        Purpose.objects.filter(key__in=set(keys), retention_days__isnull=False).values_list("key", "retention_days")
    )


def _delete_expired(rule: RetentionRule, cutoff: dt.datetime, batch_size: int) -> int:
    """Delete in batches: each statement takes at most batch_size ids, so memory and lock time stay bounded."""
    manager = rule.model._default_manager
    expired = manager.filter(**{f"{rule.date_field}__lt": cutoff}).order_by()  # the date's index finds them
    deleted = 0
    while ids := list(expired.values_list("pk", flat=True)[:batch_size]):
        deleted += manager.filter(pk__in=ids).delete()[0]
    return deleted


def _ledger_contact(cutoff: dt.datetime) -> Q:
    """A consent given or withdrawn since the cut-off is a contact: the customer spoke to us."""
    return Q(Exists(ConsentEvent.objects.filter(customer=OuterRef("pk"), occurred_at__gte=cutoff)))


def _held() -> Q:
    """Subjects whose data a restriction in force or an open request still needs."""
    restricted = ProcessingRestriction.objects.filter(customer=OuterRef("pk"), lifted_at__isnull=True)
    requested = DataSubjectRequest.objects.open().filter(customer=OuterRef("pk"))
    return Q(Exists(restricted)) | Q(Exists(requested))


def inactive_subjects(rule: InactivityRule, cutoff: dt.datetime) -> QuerySet:
    """The subjects with no contact since the cut-off (the held ones included: the caller leaves them out)."""
    in_contact = Q()
    for contact in (*rule.contacts, _ledger_contact):
        in_contact |= contact(cutoff)
    return rule.subjects().exclude(in_contact)


def _anonymise_inactive(rule: InactivityRule, cutoff: dt.datetime, *, limit: int, batch_size: int) -> dict[str, int]:
    """Erase the inactive subjects, at most `limit` per run, reading their ids batch by batch in key order."""
    inactive = inactive_subjects(rule, cutoff)
    held = inactive.filter(_held()).count()
    candidates = inactive.exclude(_held()).order_by("pk")
    model = candidates.model
    anonymised = failed = 0
    last = None
    while anonymised + failed < limit:
        page = candidates if last is None else candidates.filter(pk__gt=last)
        ids = list(page.values_list("pk", flat=True)[: min(batch_size, limit - anonymised - failed)])
        if not ids:
            break
        last = ids[-1]
        for subject in model._default_manager.filter(pk__in=ids).order_by("pk"):
            try:
                subject_erase(customer=subject, reason=RETENTION_REASON, suppress=False)
            except ValidationError:
                failed += 1  # counted; the next run tries again
                continue
            anonymised += 1
    return {"subjects_anonymised": anonymised, "subjects_held": held, "subjects_failed": failed}


def retention_apply(*, now: dt.datetime | None = None, limit: int | None = None, actor=None) -> ProcessingRun:
    """Apply every registered retention rule; the processing register's run keeps the counts (never who).

    1. Rows governed by a purpose's period (interactions: analytics) older than it are deleted in batches.
    2. Subjects with no contact within the marketing period are anonymised (erasure without suppression).
    3. The run records per rule the cut-off and the counts; a failure is recorded, then raised.
    """
    now = now or timezone.now()
    batch_size = settings.RETENTION_BATCH_SIZE
    limit = limit if limit is not None else settings.RETENTION_MAX_SUBJECTS_PER_RUN
    rules, inactivity = retention_rules()
    periods = _periods([rule.purpose for rule in rules] + [key for rule in inactivity for key in rule.purposes])
    run = processing_run_start(activity=ACTIVITY_DATA_RETENTION, kind="retention", actor=actor)
    outcome = RetentionOutcome()
    try:
        for rule in rules:
            _apply_rule(rule, periods, now, batch_size, outcome)
        for rule in inactivity:
            _apply_inactivity(rule, periods, now, limit, batch_size, outcome)
    except Exception as exc:
        run.parameters = outcome.parameters
        run.save(update_fields=["parameters"])
        processing_run_finish(run=run, status=RunStatus.FAILED, counts=outcome.counts, message=type(exc).__name__)
        raise
    run.parameters = outcome.parameters
    run.save(update_fields=["parameters"])
    status = RunStatus.PARTIAL if outcome.failed else RunStatus.SUCCEEDED
    processing_run_finish(run=run, status=status, counts=outcome.counts)
    logger.info("retention run %s: %s", run.pk, outcome.counts)  # counts only
    return run


def _apply_rule(rule: RetentionRule, periods: dict[str, int], now: dt.datetime, batch_size: int, outcome) -> None:
    label = rule.model._meta.label_lower
    days = periods.get(rule.purpose)
    if days is None:  # no period set for the purpose: nothing ends
        outcome.parameters[label] = {"purpose": rule.purpose, "days": None}
        return
    cutoff = now - dt.timedelta(days=days)
    outcome.parameters[label] = {"purpose": rule.purpose, "days": days, "before": cutoff.isoformat()}
    outcome.counts[f"{label}_deleted"] = _delete_expired(rule, cutoff, batch_size)


def _apply_inactivity(rule, periods: dict[str, int], now: dt.datetime, limit: int, batch_size: int, outcome) -> None:
    label = rule.subjects().model._meta.label_lower
    governing = {key: days for key, days in periods.items() if key in rule.purposes}
    if not governing:
        outcome.parameters[label] = {"purposes": list(rule.purposes), "days": None}
        return
    # The data serves every one of these purposes: it ends when the longest of their periods does.
    purpose, days = max(governing.items(), key=lambda item: (item[1], item[0]))
    cutoff = now - dt.timedelta(days=days)
    outcome.parameters[label] = {"purpose": purpose, "days": days, "no_contact_since": cutoff.isoformat()}
    counts = _anonymise_inactive(rule, cutoff, limit=limit, batch_size=batch_size)
    outcome.failed += counts["subjects_failed"]
    outcome.counts.update({f"{label}_{name.removeprefix('subjects_')}": value for name, value in counts.items()})
