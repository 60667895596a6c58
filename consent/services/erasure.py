"""Erasure (Art. 17), complete and provable, driven by the personal-data registry.

1. The subject is resolved: the customer (followed to the customer it was merged into, if any), the customers merged
   into it, and their identifiers (source external ids, e-mails, phones), which also find rows not linked yet.
2. In one transaction: every registered model's rows are deleted, or anonymised and unlinked where the law requires
   keeping them (the registry's reason is copied into the receipt); history rows (django-simple-history) of those
   rows are deleted, or anonymised alongside their kept row; the identifiers go on the suppression list as keyed
   hashes; the erasure receipt records counts and reasons, never a personal value.
3. After commit: the export archives on disk are deleted, and stored task results about the subject are forgotten.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from consent.models import ErasureReceipt, RequestAction, RequestKind, SubjectExport
from consent.registry import Erasure, PersonalData, registry, subject_model
from consent.services.register import ACTIVITY_DSR_HANDLING, processing_run_record
from consent.services.requests import dsr_audit, dsr_require_verified
from consent.services.subject import Subject, history_model, subject_resolve, subject_survivor
from consent.services.suppression import keys_identifiers, suppression_add, suppression_digest

logger = logging.getLogger(__name__)

NO_REASON = "an erasure needs its reason"
ALREADY_ERASED = "this customer no longer exists (already erased)"
NOT_AN_ERASURE_REQUEST = "the request is not an erasure request"
NOT_THE_REQUEST_CUSTOMER = "the customer is not the request's subject"
SUBJECT_DIGEST_KIND = "subject"


def _cleared(field: models.Field) -> Any:
    if field.is_relation or field.null:
        return None
    if isinstance(field, models.JSONField):
        return field.get_default()
    return ""


def _anonymise_values(model: type[models.Model], names: Iterable[str]) -> dict[str, Any]:
    values = {}
    for name in names:
        field = model._meta.get_field(name)
        values[field.attname] = _cleared(field)
    return values


def _history_condition(entry: PersonalData, subject: Subject, planned: dict[type[models.Model], list[Any]]) -> Q:
    """History rows of the erased rows, of rows that pointed at the subject, or at another erased row."""
    condition = Q(id__in=planned[entry.model])
    for field in entry.model._meta.concrete_fields:
        if not field.is_relation:
            continue
        if field.related_model is subject_model():
            condition |= Q(**{f"{field.attname}__in": subject.ids})
        elif field.related_model in planned:
            condition |= Q(**{f"{field.attname}__in": planned[field.related_model]})
    if entry.model is subject_model():
        condition |= Q(id__in=subject.ids)
    return condition


def _follow_merges(customer):
    """A customer merged into another is that other customer now: erasure applies to the survivor's whole record."""
    return subject_survivor(customer)


def _check(customer, reason: str, request) -> None:
    if not reason.strip():
        raise ValidationError(NO_REASON)
    if request is not None:
        dsr_require_verified(request)
        if request.kind != RequestKind.ERASURE:
            raise ValidationError(NOT_AN_ERASURE_REQUEST)
        if request.customer_id != customer.pk:
            raise ValidationError(NOT_THE_REQUEST_CUSTOMER)


def subject_erase(*, customer, reason: str, actor=None, request=None, suppress: bool = True) -> ErasureReceipt:
    """Erase the subject everywhere the registry knows; returns the receipt.

    `suppress=False` is for retention: the data of an inactive customer ends, but they may come back and be
    imported again. Raises ValidationError for a missing reason or a request that does not allow it.
    """
    _check(customer, reason, request)
    if not subject_model()._default_manager.filter(pk=customer.pk).exists():
        raise ValidationError(ALREADY_ERASED)
    customer = _follow_merges(customer)
    subject = subject_resolve(customer)
    started_at = timezone.now()
    with transaction.atomic():
        subject_model()._default_manager.select_for_update().filter(pk__in=subject.ids).order_by("pk").exists()
        receipt, files, task_ids = _erase_rows(
            subject, reason=reason.strip(), actor=actor, request=request, suppress=suppress
        )
        if suppress:  # a subject's erasure; retention's erasures are counted in the retention run itself
            processing_run_record(
                activity=ACTIVITY_DSR_HANDLING,
                kind="subject_erasure",
                started_at=started_at,
                actor=actor,
                counts={"tables": len(receipt.summary), "identifiers_suppressed": receipt.identifiers_suppressed},
                parameters={"request": request.pk if request is not None else None},
                reference=receipt,
            )
    # Files and task results cannot be rolled back: they go once the database change is committed.
    receipt.files_deleted = _delete_files(files)
    receipt.task_results_deleted = _forget_results(task_ids)
    receipt.save(update_fields=["files_deleted", "task_results_deleted"])
    logger.info("erasure %s: %d tables", receipt.reference, len(receipt.summary))  # never a personal value
    return receipt


def _plan(subject: Subject) -> dict[type[models.Model], list[Any]]:
    """Primary keys of every registered model's rows of the subject, read before anything changes."""
    return {entry.model: list(subject.rows(entry).values_list("pk", flat=True)) for entry in registry.entries()}


def _erase_tables(subject: Subject, planned: dict[type[models.Model], list[Any]]) -> list[dict[str, Any]]:
    """Kept and anonymised rows first (their paths to the subject still resolve), deleted ones next, subject last."""
    summary: list[dict[str, Any]] = []
    entries = registry.entries()
    for entry in entries:
        pks = planned[entry.model]
        if entry.erasure == Erasure.KEEP:
            summary.append(_line(entry, "kept", len(pks)))
        elif entry.erasure == Erasure.ANONYMISE:
            entry.model._default_manager.filter(pk__in=pks).update(**_anonymise_values(entry.model, entry.anonymise))
            summary.append(_line(entry, "anonymised", len(pks), fields=entry.anonymise))
    subject_entry = registry.get(subject_model())
    deleted = [e for e in entries if e.erasure == Erasure.DELETE and e is not subject_entry]
    for entry in deleted:
        pks = planned[entry.model]
        entry.model._default_manager.filter(pk__in=pks).delete()
        summary.append(_line(entry, "deleted", len(pks)))
    if subject_entry is not None:
        # Merged customers before the one they were merged into: a merged customer always names its target.
        for pk in reversed(subject.ids):
            subject_entry.model._default_manager.filter(pk=pk).delete()
        summary.append(_line(subject_entry, "deleted", len(subject.ids)))
    return summary


def _erase_history(subject: Subject, planned: dict[type[models.Model], list[Any]]) -> list[dict[str, Any]]:
    """Deleting creates history rows (simple-history records deletions): the history goes after the rows."""
    summary: list[dict[str, Any]] = []
    for entry in registry.entries():
        historical = history_model(entry.model)
        if historical is None:
            continue
        rows = historical._default_manager.filter(_history_condition(entry, subject, planned))
        if entry.erasure == Erasure.DELETE:
            count, _ = rows.delete()
            summary.append(_line(entry, "history deleted", count, history=True))
        elif entry.anonymise:
            count = rows.update(**_anonymise_values(historical, entry.anonymise))
            summary.append(_line(entry, "history anonymised", count, history=True, fields=entry.anonymise))
    return summary


def _erase_rows(
    subject: Subject, *, reason: str, actor, request, suppress: bool
) -> tuple[ErasureReceipt, list[str], list[str]]:
    planned = _plan(subject)
    files, task_ids = _files_and_tasks(planned)
    # Scrubbers first: they may read the subject's rows (e.g. its merges) to decide whether there is work at all.
    scrubbed = [
        {"model": label, "action": "redacted", "rows": scrub(list(subject.ids), subject.keys)}
        for label, scrub in registry.scrubbers()
    ]
    summary = _erase_tables(subject, planned) + _erase_history(subject, planned) + scrubbed
    receipt = ErasureReceipt.objects.create(
        subject_digest=suppression_digest(SUBJECT_DIGEST_KIND, str(subject.ids[0])),
        request=request,
        reason=reason,
        erased_by=actor,
        actor_name=actor.get_username() if actor is not None else "system",
        suppressed=suppress,
        summary=summary,
    )
    if suppress:
        receipt.identifiers_suppressed = suppression_add(identifiers=keys_identifiers(subject.keys), receipt=receipt)
        receipt.save(update_fields=["identifiers_suppressed"])
    if request is not None:
        request.refresh_from_db()
        dsr_audit(request=request, action=RequestAction.ERASED, actor=actor, note=f"receipt {receipt.reference}")
    return receipt, files, task_ids


def _line(entry: PersonalData, action: str, rows: int, *, history: bool = False, fields=()) -> dict[str, Any]:
    label = entry.model._meta.label + (" (history)" if history else "")
    line = {"model": label, "action": action, "rows": rows}
    if fields:
        line["fields"] = list(fields)
    if entry.reason and action in {"kept", "anonymised", "history anonymised"}:
        line["reason"] = entry.reason
    return line


def _files_and_tasks(planned: dict[type[models.Model], list[Any]]) -> tuple[list[str], list[str]]:
    files: list[str] = []
    for entry in registry.entries():
        for name in entry.files:
            values = entry.model._default_manager.filter(pk__in=planned[entry.model]).values_list(name, flat=True)
            files.extend(value for value in values if value)
    task_ids = list(
        SubjectExport.objects.filter(pk__in=planned.get(SubjectExport, []))
        .exclude(task_id="")
        .values_list("task_id", flat=True)
    )
    return files, task_ids


def _delete_files(files: list[str]) -> int:
    root = Path(settings.MEDIA_ROOT).resolve()
    deleted = 0
    for relative in files:
        path = (root / relative).resolve()
        if root not in path.parents:  # a path that escapes MEDIA_ROOT is never followed
            continue
        if path.exists():
            path.unlink()
            deleted += 1
    if files:
        SubjectExport.objects.filter(file__in=files).update(file="", deleted_at=timezone.now())
    return deleted


def _forget_results(task_ids: list[str]) -> int:
    """Stored results of the subject's tasks (a result backend, when one is configured) are removed."""
    if not task_ids or not settings.CELERY_RESULT_BACKEND:
        return 0
    from celery.result import AsyncResult

    for task_id in task_ids:
        AsyncResult(task_id).forget()
    return len(task_ids)
