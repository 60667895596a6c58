"""The consent ledger's one writer: every grant or withdrawal, whoever captures it, is appended here.

Imports of consent files and API batches (cdp.ingest), the customer's preference page, objections recorded from a
data-subject request (consent.services.restriction) and what staff record by hand in the admin all describe their
events as ``LedgerEntry`` values and hand them to ``ledger_append``; nothing else builds ``ConsentEvent`` rows, knows
the ledger's column sizes (``LEDGER_MAX_LENGTHS``) or computes an event's key (``ledger_event_key``).

An event is immutable: appending one whose (source, event key) the ledger already holds writes nothing, so a file
imported twice is stored once. The current state of a customer is the latest event, never an update.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from consent.models import Channel, ConsentEvent, ConsentStatus, PolicyVersion, Purpose

STAFF_SOURCE = "staff"  # the ledger's source of events recorded by staff in the admin
NO_EVIDENCE = "say how the customer expressed it (call reference, signed form, ...): it is the proof"
IN_THE_FUTURE = "a consent cannot be given or withdrawn in the future"
INACTIVE_PURPOSE = "the purpose is not active"

IN_FORCE = None  # LedgerEntry.policy_version: the wording published for the purpose at the event's time

# The ledger's column sizes for what a source writes: a longer value is refused with its row by the importer, not
# left to fail the whole batch's insert.
LEDGER_MAX_LENGTHS = {
    "customer_external_id": ConsentEvent._meta.get_field("subject_external_id").max_length,
    "source": ConsentEvent._meta.get_field("captured_via").max_length,
    "policy_version": ConsentEvent._meta.get_field("policy_version").max_length,
}

# The columns ledger_append_rows writes, in order.
LEDGER_COLUMNS = (
    "source_key",
    "event_key",
    "customer_id",
    "subject_external_id",
    "purpose_id",
    "channel_id",
    "status",
    "occurred_at",
    "captured_via",
    "policy_version",
    "policy_id",
    "evidence",
    "recorded_at",
    "recorded_by_id",
)

# A bulk writer of plain rows, (model, column attnames, rows) -> rows written: an app's own fast path (COPY).
RowWriter = Callable[[type[models.Model], Sequence[str], Iterable[Sequence[Any]]], int]


def ledger_event_key(*parts: Any) -> str:
    """The identity of an event: the same content captured twice is the same event (SHA-256 of its parts as JSON)."""
    payload = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class LedgerEntry:
    """One grant or withdrawal as its source captured it."""

    source_key: str
    event_key: str
    subject_external_id: str
    purpose_id: int
    status: str
    occurred_at: dt.datetime
    customer_id: Any = None
    channel_id: int | None = None
    captured_via: str = ""
    policy_version: str | None = ""  # as the source names it; IN_FORCE: the wording in force at the time
    evidence: str = ""
    recorded_by_id: int | None = None
    policy_id: int | None = None  # resolved by the ledger from the purpose and the version


def _with_policies(entries: list[LedgerEntry]) -> list[LedgerEntry]:
    """Each entry with its published wording: the version it names, or the one in force when it names none."""
    named = {entry.policy_version for entry in entries if entry.policy_version}
    in_force = [entry for entry in entries if entry.policy_version is IN_FORCE]
    purposes = {entry.purpose_id for entry in entries if entry.policy_version or entry.policy_version is IN_FORCE}
    if not purposes:
        return entries
    by_version: dict[tuple[int, str], int] = {}
    published: dict[int, list[tuple[dt.datetime, int, str]]] = {}
    policies = PolicyVersion.objects.filter(purpose_id__in=purposes)
    if not in_force:
        policies = policies.filter(version__in=named)
    for pk, purpose_id, version, published_at in policies.values_list("pk", "purpose_id", "version", "published_at"):
        by_version[(purpose_id, version)] = pk
        published.setdefault(purpose_id, []).append((published_at, pk, version))
    resolved = []
    for entry in entries:
        if entry.policy_version is IN_FORCE:
            earlier = [item for item in published.get(entry.purpose_id, []) if item[0] <= entry.occurred_at]
            _, pk, version = max(earlier) if earlier else (None, None, "")
            resolved.append(replace(entry, policy_id=pk, policy_version=version))
        elif entry.policy_version:
            resolved.append(replace(entry, policy_id=by_version.get((entry.purpose_id, entry.policy_version))))
        else:
            resolved.append(replace(entry, policy_version=""))
    return resolved


def _new(entries: Iterable[LedgerEntry]) -> list[LedgerEntry]:
    """The entries the ledger does not hold yet, each once (one query per source)."""
    entries = list(entries)
    existing: set[tuple[str, str]] = set()
    for source_key in {entry.source_key for entry in entries}:
        keys = [entry.event_key for entry in entries if entry.source_key == source_key]
        found = ConsentEvent.objects.filter(source_key=source_key, event_key__in=keys).values_list(
            "event_key", flat=True
        )
        existing |= {(source_key, key) for key in found}
    fresh: dict[tuple[str, str], LedgerEntry] = {}
    for entry in entries:
        if (entry.source_key, entry.event_key) not in existing:
            fresh.setdefault((entry.source_key, entry.event_key), entry)
    return _with_policies(list(fresh.values()))


def _event(entry: LedgerEntry) -> ConsentEvent:
    return ConsentEvent(**{name: getattr(entry, name) for name in LEDGER_COLUMNS if name != "recorded_at"})


def ledger_append(entries: Iterable[LedgerEntry], *, validate: bool = False) -> list[ConsentEvent]:
    """Append the entries the ledger does not hold yet (in the caller's transaction); returns the events written.

    `validate` checks each event against the ledger's fields first (ValidationError), for entries typed by a person.
    """
    events = [_event(entry) for entry in _new(entries)]
    if validate:
        for event in events:
            event.full_clean(exclude=["customer", "recorded_by", "purpose", "channel", "policy"])
    return ConsentEvent.objects.bulk_create(events)


def ledger_append_rows(entries: Iterable[LedgerEntry], *, write: RowWriter) -> int:
    """ledger_append for batches of thousands: the rows go through the caller's bulk writer (the importer's COPY);
    returns how many were written."""
    now = timezone.now()
    rows = (
        [*(getattr(entry, name) for name in LEDGER_COLUMNS[:12]), now, entry.recorded_by_id] for entry in _new(entries)
    )
    return write(ConsentEvent, LEDGER_COLUMNS, rows)


# ---------------------------------------------------------------------------------------------------------------------
# What staff record by hand (the admin): a grant or a withdrawal taken over the phone, in a store or by post.


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
    channel_key = channel.key if channel else ""
    entry = LedgerEntry(
        source_key=STAFF_SOURCE,
        event_key=ledger_event_key(
            str(customer.pk), purpose.key, channel_key, status, occurred_at.isoformat(), evidence
        ),
        customer_id=customer.pk,
        subject_external_id=str(customer.pk),
        purpose_id=purpose.pk,
        channel_id=channel.pk if channel else None,
        status=status,
        occurred_at=occurred_at,
        captured_via=captured_via,
        policy_version=IN_FORCE,
        evidence=evidence.strip(),
        recorded_by_id=actor.pk if getattr(actor, "pk", None) else None,
    )
    (event,) = ledger_append([entry], validate=True)
    return event
