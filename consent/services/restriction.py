"""Restriction (Art. 18) and objection (Art. 21): recorded once, read everywhere through consent.selectors.

A restriction is a row in force until lifted: restricted customers are left out of every processing selector, their
profile is read-only, identity resolution does not merge them and imports do not change them.
An objection is written to the consent ledger as withdrawals (what consent_allows and customers_processable read):
an objection to direct marketing (Art. 21(2)) withdraws every direct-marketing purpose.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from consent.models import (
    ConsentEvent,
    ConsentStatus,
    ProcessingRestriction,
    Purpose,
    RequestAction,
    RequestKind,
)
from consent.services.ledger import LedgerEntry, ledger_append, ledger_event_key
from consent.services.requests import OBJECTION_DIRECT_MARKETING, dsr_audit, dsr_require_verified

ALREADY_RESTRICTED = "processing of this customer is already restricted"
NOT_RESTRICTED = "processing of this customer is not restricted"
NO_REASON = "a reason is required"
NO_PURPOSE_IN_SCOPE = "no purpose matches the objection"
WRONG_REQUEST_KIND = "the request is of another kind"
NOT_THE_REQUEST_CUSTOMER = "the customer is not the request's subject"

# The ledger's source for what the DPO records from a data-subject request.
DSR_SOURCE = "dsr"


def _check_request(request, customer, kind: str) -> None:
    if request is None:
        return
    dsr_require_verified(request)
    if request.kind != kind:
        raise ValidationError(WRONG_REQUEST_KIND)
    if request.customer_id != customer.pk:
        raise ValidationError(NOT_THE_REQUEST_CUSTOMER)


@transaction.atomic
def restriction_apply(*, customer, reason: str, actor=None, request=None) -> ProcessingRestriction:
    """Restrict processing of `customer` until lifted. Raises ValidationError when one is already in force."""
    if not reason.strip():
        raise ValidationError(NO_REASON)
    _check_request(request, customer, RequestKind.RESTRICTION)
    if ProcessingRestriction.objects.select_for_update().filter(customer=customer, lifted_at__isnull=True).exists():
        raise ValidationError(ALREADY_RESTRICTED)
    restriction = ProcessingRestriction.objects.create(
        customer=customer, request=request, reason=reason.strip(), started_by=actor
    )
    if request is not None:
        dsr_audit(request=request, action=RequestAction.RESTRICTED, actor=actor, note=f"restriction {restriction.pk}")
    return restriction


@transaction.atomic
def restriction_lift(*, customer, reason: str, actor=None, request=None) -> ProcessingRestriction:
    """Lift the restriction in force (Art. 18(3): the subject is told before it is lifted)."""
    if not reason.strip():
        raise ValidationError(NO_REASON)
    restriction = (
        ProcessingRestriction.objects.select_for_update().filter(customer=customer, lifted_at__isnull=True).first()
    )
    if restriction is None:
        raise ValidationError(NOT_RESTRICTED)
    restriction.lifted_at = timezone.now()
    restriction.lifted_by = actor
    restriction.lift_reason = reason.strip()
    restriction.save(update_fields=["lifted_at", "lifted_by", "lift_reason"])
    if request is not None:
        dsr_audit(
            request=request, action=RequestAction.RESTRICTION_LIFTED, actor=actor, note=f"restriction {restriction.pk}"
        )
    return restriction


def objection_purposes(scope: str) -> list[Purpose]:
    """The purposes an objection covers: every direct-marketing purpose for Art. 21(2), else the purpose named."""
    if scope == OBJECTION_DIRECT_MARKETING:
        return list(Purpose.objects.filter(direct_marketing=True).order_by("key"))
    return list(Purpose.objects.filter(key=scope))


@transaction.atomic
def objection_record(
    *, customer, scope: str, actor=None, request=None, occurred_at: dt.datetime | None = None
) -> list[ConsentEvent]:
    """Write the objection as purpose-wide withdrawals in the ledger; returns the events written (none if repeated)."""
    _check_request(request, customer, RequestKind.OBJECTION)
    purposes = objection_purposes(scope)
    if not purposes:
        raise ValidationError(f"{NO_PURPOSE_IN_SCOPE}: {scope!r}")
    occurred_at = occurred_at or timezone.now()
    reference = f"DSR-{request.pk}" if request is not None else "objection"
    entries = [
        LedgerEntry(
            source_key=DSR_SOURCE,
            event_key=ledger_event_key(str(customer.pk), purpose.key, ConsentStatus.WITHDRAWN, occurred_at.isoformat()),
            customer_id=customer.pk,
            subject_external_id=str(customer.pk),
            purpose_id=purpose.pk,
            channel_id=None,  # an objection is to the purpose, whatever the channel
            status=ConsentStatus.WITHDRAWN,
            occurred_at=occurred_at,
            captured_via=request.received_via if request is not None else "dpo",
            evidence=f"objection (GDPR Art. 21) recorded from {reference}",
            recorded_by_id=actor.pk if actor is not None else None,
        )
        for purpose in purposes
    ]
    created = ledger_append(entries)
    if request is not None:
        keys = ", ".join(p.key for p in purposes)
        dsr_audit(request=request, action=RequestAction.OBJECTION_RECORDED, actor=actor, note=f"withdrawn: {keys}")
    return created
