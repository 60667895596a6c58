"""Writes of the consent ledger by staff: a grant or a withdrawal taken over the phone, in a store or by post.

Imports write through cdp.ingest, the customer through the preference page, the DPO's objections through
consent.services.restriction; this is the same append-only event for what a member of staff records by hand.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from django.core.exceptions import ValidationError
from django.utils import timezone

from consent.models import Channel, ConsentEvent, ConsentStatus, PolicyVersion, Purpose

STAFF_SOURCE = "staff"  # the ledger's source of events recorded by staff in the admin
NO_EVIDENCE = "say how the customer expressed it (call reference, signed form, ...): it is the proof"
IN_THE_FUTURE = "a consent cannot be given or withdrawn in the future"
INACTIVE_PURPOSE = "the purpose is not active"


def consent_event_check(*, purpose: Purpose, status: str, occurred_at: dt.datetime, evidence: str) -> None:
    """What a recorded event must satisfy; raises ValidationError with every reason (the admin's form shows them)."""
    errors = []
    if not evidence.strip():
        errors.append(NO_EVIDENCE)
    if occurred_at > timezone.now():
        errors.append(IN_THE_FUTURE)
    if not purpose.is_active:
        errors.append(INACTIVE_PURPOSE)
    if status not in ConsentStatus.values:
        errors.append(f"unknown status {status!r}")
    if errors:
        raise ValidationError(errors)


def consent_event_record(
    *,
    customer,
    purpose: Purpose,
    status: str,
    captured_via: str,
    evidence: str,
    actor,
    channel: Channel | None = None,
    occurred_at: dt.datetime | None = None,
) -> ConsentEvent:
    """Append one grant or withdrawal, with the wording in force at the time and who recorded it.

    Raises ValidationError without evidence, for an inactive purpose or for a moment in the future.
    """
    occurred_at = occurred_at or timezone.now()
    consent_event_check(purpose=purpose, status=status, occurred_at=occurred_at, evidence=evidence)
    policy = (
        PolicyVersion.objects.filter(purpose=purpose, published_at__lte=occurred_at).order_by("-published_at").first()
    )
    content = "\x1f".join(
        [str(customer.pk), purpose.key, channel.key if channel else "", status, occurred_at.isoformat(), evidence]
    )
    event = ConsentEvent(
        source_key=STAFF_SOURCE,
        event_key=hashlib.sha256(content.encode()).hexdigest(),
        customer=customer,
        subject_external_id=str(customer.pk),
        purpose=purpose,
        channel=channel,
        status=status,
        occurred_at=occurred_at,
        captured_via=captured_via,
        policy_version=policy.version if policy else "",
        policy=policy,
        evidence=evidence.strip(),
        recorded_by=actor if getattr(actor, "pk", None) else None,
    )
    event.full_clean(exclude=["customer", "recorded_by"])
    event.save()
    return event
