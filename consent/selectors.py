"""Reads of the consent ledger: a customer's current consents and "may I process this customer for this purpose?"."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from consent.models import (
    Channel,
    ConsentEvent,
    ConsentStatus,
    DataSubjectRequest,
    LegalBasis,
    ProcessingRestriction,
    Purpose,
)
from consent.registry import subject_model

# Reasons given with a decision; tests reuse them.
UNKNOWN_PURPOSE = "unknown purpose"
UNKNOWN_CHANNEL = "unknown channel"
PURPOSE_INACTIVE = "purpose is not active"
NO_CONSENT = "no consent recorded"
CONSENT_GRANTED = "consent granted"
CONSENT_WITHDRAWN = "consent withdrawn"
NO_OBJECTION = "no objection in force"
OBJECTION = "objection recorded"

# Ids per query: far below SQLite's bound on query parameters, and a plan PostgreSQL handles well.
CHUNK_SIZE = 5000

# Latest event first. On the same instant a withdrawal wins ("withdrawn" sorts after "granted"): when in doubt, don't.
_LATEST_FIRST = ("-occurred_at", "-status", "-pk")


class ConsentLookupError(LookupError):
    """A purpose or channel key that does not exist: a caller's mistake, never a silent refusal."""


@dataclass(frozen=True)
class ConsentState:
    """The latest event of a customer for one (purpose, channel)."""

    status: str
    occurred_at: dt.datetime
    captured_via: str
    policy_version: str
    purpose_name: str = ""  # what people read (the purpose's and channel's names, not their keys)
    channel_name: str = ""

    @property
    def granted(self) -> bool:
        return self.status == ConsentStatus.GRANTED


@dataclass(frozen=True)
class ConsentDecision:
    """The answer other apps get: whether they may process, on which legal basis, and why."""

    allowed: bool
    legal_basis: str
    reason: str


@dataclass(frozen=True)
class ConsentVocabulary:
    """Active purposes and all channels, key -> id: what an import may name."""

    purposes: dict[str, int]
    channels: dict[str, int]


def consent_vocabulary() -> ConsentVocabulary:
    return ConsentVocabulary(
        purposes=dict(Purpose.objects.filter(is_active=True).values_list("key", "id")),
        channels=dict(Channel.objects.values_list("key", "id")),
    )


def _chunks(values: Iterable[Any], size: int) -> Iterable[list[Any]]:
    iterator = iter(values)
    while chunk := list(islice(iterator, size)):
        yield chunk


def consent_current_state(*, customer_ids: Iterable[Any]) -> dict[tuple[Any, str, str | None], ConsentState]:
    """(customer_id, purpose_key, channel_key or None) -> the latest event, for each pair a customer has events for.

    One query per CHUNK_SIZE customers, ordered oldest first so that the latest event overwrites the earlier ones.
    """
    state: dict[tuple[Any, str, str | None], ConsentState] = {}
    columns = (
        "customer_id",
        "purpose__key",
        "channel__key",
        "status",
        "occurred_at",
        "captured_via",
        "policy_version",
        "purpose__name",
        "channel__name",
    )
    oldest_first = [name.lstrip("-") for name in _LATEST_FIRST]
    for chunk in _chunks(dict.fromkeys(customer_ids), CHUNK_SIZE):
        events = ConsentEvent.objects.filter(customer_id__in=chunk).order_by(*oldest_first).values_list(*columns)
        for customer_id, purpose, channel, *rest in events:
            status, occurred_at, captured_via, policy_version, purpose_name, channel_name = rest
            state[(customer_id, purpose, channel)] = ConsentState(
                status, occurred_at, captured_via, policy_version, purpose_name, channel_name or ""
            )
    return state


@dataclass(frozen=True)
class ConsentHistoryEntry:
    """One event of a customer's ledger, as the profile shows it (the proof itself stays in the ledger's admin)."""

    occurred_at: dt.datetime
    purpose: str
    channel: str
    status: str
    captured_via: str
    source: str
    policy_version: str
    purpose_name: str = ""
    channel_name: str = ""

    @property
    def granted(self) -> bool:
        return self.status == ConsentStatus.GRANTED


def consent_history(*, customer_id: Any, limit: int = 20) -> tuple[list[ConsentHistoryEntry], bool]:
    """The customer's latest `limit` ledger events, newest first, and whether older ones exist. One query."""
    columns = (
        "occurred_at",
        "purpose__key",
        "channel__key",
        "status",
        "captured_via",
        "source_key",
        "policy_version",
        "purpose__name",
        "channel__name",
    )
    events = ConsentEvent.objects.filter(customer_id=customer_id).order_by(*_LATEST_FIRST).values_list(*columns)
    rows = [
        ConsentHistoryEntry(occurred_at, purpose, channel or "", *rest[:4], rest[4], rest[5] or "")
        for occurred_at, purpose, channel, *rest in events[: limit + 1]
    ]
    return rows[:limit], len(rows) > limit


def _purpose(key: str) -> Purpose:
    purpose = Purpose.objects.filter(key=key).first()
    if purpose is None:
        raise ConsentLookupError(f"{UNKNOWN_PURPOSE} {key!r}")
    return purpose


def _scoped_events(customer_id: Any, purpose: Purpose, channel: str | None) -> QuerySet[ConsentEvent]:
    """The events a decision reads.

    Consent is given per channel: a channel's own events and the purpose-wide ones (no channel) count. An objection
    (Art. 21) is to the purpose, whatever the channel, and so is a question asked without a channel.
    """
    events = ConsentEvent.objects.filter(customer_id=customer_id, purpose=purpose)
    if channel is None:
        return events
    if not Channel.objects.filter(key=channel).exists():
        raise ConsentLookupError(f"{UNKNOWN_CHANNEL} {channel!r}")
    if purpose.legal_basis != LegalBasis.CONSENT:
        return events
    return events.filter(Q(channel__key=channel) | Q(channel__isnull=True))


def consent_allows(*, customer_id: Any, purpose: str, channel: str | None) -> ConsentDecision:
    """May this customer be processed for `purpose` (through `channel`)? The latest event in scope decides.

    Consent: allowed only when that event is a grant. Other legal bases (legitimate interest, contract, ...): allowed
    unless that event is a withdrawal, i.e. an objection. Raises ConsentLookupError for an unknown purpose or channel.
    """
    found = _purpose(purpose)
    basis = found.legal_basis
    if not found.is_active:
        return ConsentDecision(False, basis, PURPOSE_INACTIVE)
    latest = _scoped_events(customer_id, found, channel).order_by(*_LATEST_FIRST).first()
    if basis == LegalBasis.CONSENT:
        if latest is None:
            return ConsentDecision(False, basis, NO_CONSENT)
        reason = CONSENT_GRANTED if latest.granted else CONSENT_WITHDRAWN
        return ConsentDecision(latest.granted, basis, f"{reason} on {latest.occurred_at:%Y-%m-%d}")
    if latest is None or latest.granted:
        return ConsentDecision(True, basis, NO_OBJECTION)
    return ConsentDecision(False, basis, f"{OBJECTION} on {latest.occurred_at:%Y-%m-%d}")


# ---------------------------------------------------------------------------------------------------------------------
# Restriction (Art. 18) and objection (Art. 21): who may be processed at all
# ---------------------------------------------------------------------------------------------------------------------
def restricted_among(customer_ids: Iterable[Any]) -> set[Any]:
    """The customers of `customer_ids` whose processing is restricted. One query per CHUNK_SIZE ids (none at all when
    no restriction is in force, the usual case: imports ask this of every batch)."""
    found: set[Any] = set()
    if not ProcessingRestriction.objects.filter(lifted_at__isnull=True).exists():
        return found
    for chunk in _chunks(dict.fromkeys(pk for pk in customer_ids if pk is not None), CHUNK_SIZE):
        in_force = ProcessingRestriction.objects.filter(customer_id__in=chunk, lifted_at__isnull=True)
        found |= set(in_force.values_list("customer_id", flat=True))
    return found


def customer_is_restricted(*, customer_id: Any) -> bool:
    return ProcessingRestriction.objects.filter(customer_id=customer_id, lifted_at__isnull=True).exists()


def restriction_in_force(*, customer_id: Any) -> ProcessingRestriction | None:
    return ProcessingRestriction.objects.filter(customer_id=customer_id, lifted_at__isnull=True).first()


def _latest_events(purpose: Purpose, channel_id: int | None, status: str) -> QuerySet[ConsentEvent]:
    """Events in a decision's scope that are their customer's latest in that scope and have `status`.

    "Latest" is the order of _LATEST_FIRST: (occurred_at, status, pk), with a withdrawal winning a tie. Written as an
    anti-join ("no later event in scope"), which PostgreSQL runs as one hash anti-join over the ledger: about 6 times
    faster on 200,000 customers than a correlated "latest event" subquery per customer.
    """
    scope = Q(purpose=purpose, customer__isnull=False)
    if channel_id is not None and purpose.legal_basis == LegalBasis.CONSENT:
        scope &= Q(channel_id=channel_id) | Q(channel__isnull=True)
    later = ConsentEvent.objects.filter(scope, customer_id=OuterRef("customer_id")).filter(
        Q(occurred_at__gt=OuterRef("occurred_at"))
        | Q(occurred_at=OuterRef("occurred_at"), status__gt=OuterRef("status"))
        | Q(occurred_at=OuterRef("occurred_at"), status=OuterRef("status"), pk__gt=OuterRef("pk"))
    )
    return ConsentEvent.objects.filter(scope, status=status).exclude(Exists(later))


def customers_processable(*, purpose: str, channel: str | None = None, customers: QuerySet | None = None) -> QuerySet:
    """The customers (of `customers`, else every subject) who may be processed for `purpose` through `channel`.

    The same rule as consent_allows, in SQL for any number of customers: consent purposes need a grant as the latest
    event in scope; other legal bases need no objection (a withdrawal) as the latest event; restricted customers are
    left out whatever the purpose; erased customers no longer exist. Feature matrices, segmentation and scoring call
    it with "profiling", audiences with their marketing purpose and channel. Raises ConsentLookupError for an
    unknown purpose or channel.
    """
    found = _purpose(purpose)
    customers = customers if customers is not None else subject_model()._default_manager.all()
    channel_id = None
    if channel is not None:
        channel_id = Channel.objects.filter(key=channel).values_list("pk", flat=True).first()
        if channel_id is None:
            raise ConsentLookupError(f"{UNKNOWN_CHANNEL} {channel!r}")
    if not found.is_active:
        return customers.none()
    restricted = ProcessingRestriction.objects.filter(customer_id=OuterRef("pk"), lifted_at__isnull=True)
    customers = customers.exclude(Exists(restricted))
    if found.legal_basis == LegalBasis.CONSENT:
        granted = _latest_events(found, channel_id, ConsentStatus.GRANTED)
        return customers.filter(pk__in=granted.values("customer_id"))
    objected = _latest_events(found, channel_id, ConsentStatus.WITHDRAWN)
    return customers.exclude(pk__in=objected.values("customer_id"))


def customer_ids_processable(*, purpose: str, channel: str | None = None, customers: QuerySet | None = None) -> set:
    return set(
        customers_processable(purpose=purpose, channel=channel, customers=customers).values_list("pk", flat=True)
    )


# ---------------------------------------------------------------------------------------------------------------------
# Data-subject requests
# ---------------------------------------------------------------------------------------------------------------------
def dsr_list_overdue(*, now: dt.datetime | None = None) -> QuerySet[DataSubjectRequest]:
    return DataSubjectRequest.objects.overdue(now).select_related("customer").order_by("due_at", "pk")


def dsr_list_due_within(*, days: int, now: dt.datetime | None = None) -> QuerySet[DataSubjectRequest]:
    now = now or timezone.now()
    return DataSubjectRequest.objects.open().filter(due_at__lte=now + dt.timedelta(days=days)).order_by("due_at", "pk")
