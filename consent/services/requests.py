"""Data-subject requests: creation, identity verification, deadline extension, closing, and deadline warnings.

Every step writes an audit event (who, when, what, status before and after) in the same transaction as the change.
Deadlines follow GDPR Art. 12(3): one month from receipt, extendable by up to two further months "where necessary",
with the subject told of the extension and its reason within the first month.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from consent.models import (
    DataSubjectRequest,
    DataSubjectRequestEvent,
    Purpose,
    RequestAction,
    RequestChannel,
    RequestKind,
    RequestStatus,
)
from consent.services.export_files import request_exports_remove

logger = logging.getLogger(__name__)

UNKNOWN_KIND = "unknown request kind"
UNKNOWN_CHANNEL = "unknown channel of receipt"
NO_SUBJECT = "a request needs a customer or a subject reference (how the requester identified themselves)"
RECEIVED_IN_FUTURE = "the request cannot be received in the future"
# GDPR applies from 25 May 2018 (Art. 99(2)): no request under it was received earlier.
GDPR_APPLIES_FROM = dt.datetime(2018, 5, 25, tzinfo=dt.UTC)
RECEIVED_BEFORE_GDPR = "the request cannot be received before the GDPR applied (25 May 2018)"
NOT_OPEN = "the request is closed"
ALREADY_VERIFIED = "the identity is already verified"
NOT_VERIFIED = "verify the requester's identity first"
NO_METHOD = "say how the identity was verified"
NO_REASON = "a reason is required"
EXTENSION_TOO_LONG = "the deadline can be extended by two months at most (Art. 12(3))"
EXTENSION_TOO_LATE = "an extension must be decided within one month of receipt (Art. 12(3))"
EXTENSION_NOT_LATER = "an extension must move the deadline later"
NO_CUSTOMER = "link the request to a customer first"
CUSTOMER_ALREADY_LINKED = "the request is already linked to a customer"
UNKNOWN_OBJECTION_SCOPE = "unknown objection scope (direct_marketing or a purpose key)"
OBJECTION_SCOPE_ONLY = "only an objection has a scope"

OBJECTION_DIRECT_MARKETING = "direct_marketing"

MAX_EXTENSION_MONTHS = 2
WARNING_DAYS = 5


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """The same day `months` later, or the month's last day when it has no such day (31 Jan + 1 month = 28/29 Feb)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _actor_name(actor) -> str:
    return actor.get_username() if actor is not None else "system"


def dsr_audit(
    *, request: DataSubjectRequest, action: str, actor=None, note: str = "", from_status: str = ""
) -> DataSubjectRequestEvent:
    """One step of the audit trail. Notes name steps, dates and counts, never the subject's identifiers."""
    return DataSubjectRequestEvent.objects.create(
        request=request,
        action=action,
        actor=actor,
        actor_name=_actor_name(actor),
        from_status=from_status or request.status,
        to_status=request.status,
        note=note,
    )


def dsr_check(
    *, kind: str, received_via: str, customer, subject_reference: str, received_at: dt.datetime, objection_scope: str
) -> dict[str, str]:
    """Field -> reason for each problem of a new request (empty when it may be created); forms show them per field."""
    errors: dict[str, str] = {}
    if kind not in RequestKind.values:
        errors["kind"] = f"{UNKNOWN_KIND} {kind!r}"
    if received_via not in RequestChannel.values:
        errors["received_via"] = f"{UNKNOWN_CHANNEL} {received_via!r}"
    if customer is None and not subject_reference.strip():
        errors["subject_reference"] = NO_SUBJECT
    if timezone.is_naive(received_at) or received_at > timezone.now() + dt.timedelta(minutes=5):
        errors["received_at"] = RECEIVED_IN_FUTURE
    elif received_at < GDPR_APPLIES_FROM:
        errors["received_at"] = RECEIVED_BEFORE_GDPR
    if kind == RequestKind.OBJECTION:
        scope = objection_scope.strip() or OBJECTION_DIRECT_MARKETING
        if scope != OBJECTION_DIRECT_MARKETING and not Purpose.objects.filter(key=scope).exists():
            errors["objection_scope"] = f"{UNKNOWN_OBJECTION_SCOPE} {scope!r}"
    elif objection_scope.strip():
        errors["objection_scope"] = OBJECTION_SCOPE_ONLY
    return errors


@transaction.atomic
def dsr_create(
    *,
    kind: str,
    received_via: str,
    customer=None,
    subject_reference: str = "",
    details: str = "",
    actor=None,
    received_at: dt.datetime | None = None,
    objection_scope: str = "",
) -> DataSubjectRequest:
    """A new request, due one month after its receipt. Raises ValidationError on bad input."""
    received_at = received_at or timezone.now()
    errors = dsr_check(
        kind=kind,
        received_via=received_via,
        customer=customer,
        subject_reference=subject_reference,
        received_at=received_at,
        objection_scope=objection_scope,
    )
    if errors:
        raise ValidationError(errors)
    if kind == RequestKind.OBJECTION:
        objection_scope = objection_scope.strip() or OBJECTION_DIRECT_MARKETING
    due_at = add_months(received_at, 1)
    request = DataSubjectRequest(
        kind=kind,
        received_via=received_via,
        received_at=received_at,
        due_at=due_at,
        original_due_at=due_at,
        customer=customer,
        subject_reference=subject_reference.strip(),
        details=details,
        objection_scope=objection_scope,
        created_by=actor,
    )
    request.full_clean()
    request.save()
    dsr_audit(request=request, action=RequestAction.CREATED, actor=actor, note=f"received via {received_via}")
    return request


def _lock(request: DataSubjectRequest) -> DataSubjectRequest:
    """The request row, locked: two DPOs clicking at once cannot both move it."""
    locked = DataSubjectRequest.objects.select_for_update().get(pk=request.pk)
    if not locked.is_open:
        raise ValidationError(NOT_OPEN)
    return locked


@transaction.atomic
def dsr_link_customer(*, request: DataSubjectRequest, customer, actor=None) -> DataSubjectRequest:
    request = _lock(request)
    if request.customer_id is not None:
        raise ValidationError(CUSTOMER_ALREADY_LINKED)
    request.customer = customer
    request.save(update_fields=["customer"])
    dsr_audit(request=request, action=RequestAction.CUSTOMER_LINKED, actor=actor)
    return request


@transaction.atomic
def dsr_verify_identity(*, request: DataSubjectRequest, method: str, actor=None) -> DataSubjectRequest:
    """Record that (and how) the requester proved to be the subject (Art. 12(6)); the request is then in progress."""
    request = _lock(request)
    if request.identity_verified_at is not None:
        raise ValidationError(ALREADY_VERIFIED)
    if not method.strip():
        raise ValidationError(NO_METHOD)
    before = request.status
    request.identity_verified_at = timezone.now()
    request.identity_verified_by = actor
    request.identity_verification = method.strip()
    request.status = RequestStatus.IN_PROGRESS
    request.save(update_fields=["identity_verified_at", "identity_verified_by", "identity_verification", "status"])
    dsr_audit(request=request, action=RequestAction.IDENTITY_VERIFIED, actor=actor, from_status=before)
    return request


@transaction.atomic
def dsr_extend(*, request: DataSubjectRequest, months: int, reason: str, actor=None) -> DataSubjectRequest:
    """Extend the deadline to `months` months after the original one (1 or 2), with the reason told to the subject."""
    request = _lock(request)
    if not reason.strip():
        raise ValidationError(NO_REASON)
    if not 1 <= months <= MAX_EXTENSION_MONTHS:
        raise ValidationError(EXTENSION_TOO_LONG)
    if timezone.now() > request.original_due_at:
        raise ValidationError(EXTENSION_TOO_LATE)
    due_at = add_months(request.received_at, 1 + months)
    if due_at <= request.due_at:
        raise ValidationError(EXTENSION_NOT_LATER)
    before = request.due_at
    request.due_at = due_at
    request.extension_reason = reason.strip()
    request.save(update_fields=["due_at", "extension_reason"])
    note = f"due {before:%Y-%m-%d} -> {due_at:%Y-%m-%d}: {request.extension_reason}"
    dsr_audit(request=request, action=RequestAction.EXTENDED, actor=actor, note=note)
    return request


def dsr_require_verified(request: DataSubjectRequest) -> None:
    """Nothing is disclosed, erased or changed for a requester whose identity is not verified.

    Reads the request's current state: a caller's copy may predate a step taken since.
    """
    request.refresh_from_db(fields=["status", "identity_verified_at", "customer"])
    if not request.is_open:
        raise ValidationError(NOT_OPEN)
    if request.identity_verified_at is None:
        raise ValidationError(NOT_VERIFIED)
    if request.customer_id is None:
        raise ValidationError(NO_CUSTOMER)


def _close(request: DataSubjectRequest, *, status: str, action: str, text: str, actor) -> DataSubjectRequest:
    request = _lock(request)
    if not text.strip():
        raise ValidationError(NO_REASON)
    before = request.status
    request.status = status
    request.outcome = text.strip()
    request.closed_at = timezone.now()
    request.closed_by = actor
    request.save(update_fields=["status", "outcome", "closed_at", "closed_by"])
    removed = request_exports_remove(request=request)  # a closed request keeps no copy of the subject's data
    note = f"{removed} export file(s) removed" if removed else ""
    dsr_audit(request=request, action=action, actor=actor, from_status=before, note=note)
    return request


@transaction.atomic
def dsr_complete(*, request: DataSubjectRequest, outcome: str, actor=None) -> DataSubjectRequest:
    """Close the request as answered; `outcome` says what was done (it is cleared if the subject is erased)."""
    if request.identity_verified_at is None:
        raise ValidationError(NOT_VERIFIED)
    return _close(request, status=RequestStatus.COMPLETED, action=RequestAction.COMPLETED, text=outcome, actor=actor)


@transaction.atomic
def dsr_reject(*, request: DataSubjectRequest, reason: str, actor=None) -> DataSubjectRequest:
    """Close the request unanswered (identity not proved, manifestly unfounded or excessive: Art. 12(5))."""
    return _close(request, status=RequestStatus.REJECTED, action=RequestAction.REJECTED, text=reason, actor=actor)


def _dpo_addresses() -> list[str]:
    users = get_user_model().objects.filter(is_active=True, groups__name="dpo").exclude(email="")
    return sorted(set(users.values_list("email", flat=True)))


def dsr_warn_due(*, now: dt.datetime | None = None, days: int = WARNING_DAYS) -> int:
    """Warn the DPOs of open requests due within `days` days, once per due date. Returns the number warned.

    Idempotent: a request is claimed by a conditional update on its due date, so two runs (or two workers) warn once;
    an extension moves the due date and so earns a new warning when the new date comes near.
    """
    now = now or timezone.now()
    due_soon = DataSubjectRequest.objects.open().filter(due_at__lte=now + dt.timedelta(days=days))
    candidates = list(due_soon.values_list("pk", "due_at", "deadline_warned_for"))
    warned: list[DataSubjectRequest] = []
    for pk, due_at, warned_for in candidates:
        if warned_for == due_at:
            continue
        with transaction.atomic():
            claimed = (
                DataSubjectRequest.objects.filter(pk=pk, due_at=due_at)
                .exclude(deadline_warned_for=due_at)
                .update(deadline_warned_for=due_at)
            )
            if not claimed:
                continue
            request = DataSubjectRequest.objects.get(pk=pk)
            state = "overdue since" if due_at < now else "due"
            dsr_audit(request=request, action=RequestAction.DEADLINE_WARNING, note=f"{state} {due_at:%Y-%m-%d}")
            warned.append(request)
    if warned:
        lines = [
            f"DSR-{r.pk} {r.get_kind_display()}: {'OVERDUE' if r.due_at < now else 'due'} {r.due_at:%Y-%m-%d}"
            for r in warned
        ]
        recipients = _dpo_addresses()
        if recipients:
            try:
                send_mail(
                    subject=f"{len(warned)} data-subject request(s) due within {days} days",
                    message="\n".join(lines),
                    from_email=settings.DEFAULT_FROM_EMAIL,
                    recipient_list=recipients,
                )
            except OSError:
                # The warning stays in each request's trail and in the admin list; a mail server down loses nothing.
                logger.exception("deadline warning e-mail not sent")
        logger.warning("%d data-subject request(s) due within %d days", len(warned), days)
    return len(warned)
