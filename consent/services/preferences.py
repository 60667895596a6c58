"""The customer's preference page: signed expiring links, the customer's choices, and their requests from the page.

A link signs an opaque random key (``PreferenceKey``) with the time it was made: it carries no personal data, cannot
be guessed or altered, and expires after PREFERENCE_LINK_MAX_AGE_DAYS. Every change of choice is a new event of the
consent ledger, with the wording shown and the evidence (IP address and user agent), which is kept in the ledger
only, never logged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from consent.models import (
    ConsentEvent,
    ConsentStatus,
    DataSubjectRequest,
    LegalBasis,
    PolicyVersion,
    PreferenceKey,
    Purpose,
    RequestChannel,
    RequestKind,
)
from consent.registry import subject_model
from consent.selectors import consent_current_state
from consent.services.requests import dsr_create, dsr_verify_identity

SALT = "consent.preferences"
SOURCE_KEY = "preference_page"  # the ledger's source of the events captured on the page
CAPTURED_VIA = "web"
IDENTITY_VERIFICATION = "signed link"
DEFAULT_MAX_AGE_DAYS = 90
# The purposes a customer decides on the page: consent is given or withdrawn; legitimate interest is objected to.
CHOICE_BASES = (LegalBasis.CONSENT, LegalBasis.LEGITIMATE_INTEREST)
REQUEST_KINDS = (RequestKind.ACCESS, RequestKind.ERASURE)

INVALID_LINK = "this link is not valid or has expired"
UNKNOWN_REQUEST_KIND = "the page can ask for a copy of the data or for erasure, not"


class InvalidPreferenceLink(Exception):
    """Expired, forged, altered, or its key was erased: the page says nothing more."""


@dataclass(frozen=True)
class PreferenceChoice:
    """One purpose as the customer sees it on the page."""

    key: str
    name: str
    description: str
    legal_basis: str
    allowed: bool
    since: dt.datetime | None
    policy_version: str
    policy_text: str

    @property
    def is_objection(self) -> bool:
        """Legitimate interest: the customer does not consent, they may object (Art. 21)."""
        return self.legal_basis == LegalBasis.LEGITIMATE_INTEREST


def _max_age() -> dt.timedelta:
    return dt.timedelta(days=getattr(settings, "PREFERENCE_LINK_MAX_AGE_DAYS", DEFAULT_MAX_AGE_DAYS))


def preference_keys_ensure(*, customer_ids: Iterable[Any]) -> dict[Any, str]:
    """customer id -> the customer's preference key, creating the missing ones in one insert."""
    ids = list(dict.fromkeys(customer_ids))
    keys: dict[Any, str] = {}
    # Newest first, so the oldest is written last: a customer holding several keys (after a merge) keeps one.
    for customer_id, key in (
        PreferenceKey.objects.filter(customer_id__in=ids)
        .order_by("-created_at", "-pk")
        .values_list("customer_id", "key")
    ):
        keys[customer_id] = key
    missing = [customer_id for customer_id in ids if customer_id not in keys]
    if missing:
        created = [PreferenceKey(customer_id=customer_id, key=secrets.token_urlsafe(16)) for customer_id in missing]
        PreferenceKey.objects.bulk_create(created, batch_size=1000)
        keys.update({row.customer_id: row.key for row in created})
    return keys


def _link(key: str, base_url: str | None) -> str:
    token = signing.TimestampSigner(salt=SALT).sign(key)
    path = reverse("consent:preferences", kwargs={"token": token})
    base = getattr(settings, "PREFERENCE_LINK_BASE_URL", "") if base_url is None else base_url
    return f"{base.rstrip('/')}{path}"


def preference_links_mint(*, customer_ids: Iterable[Any], base_url: str | None = None) -> dict[Any, str]:
    """customer id -> a signed link to their preference page, for the footers of a whole send at once.

    Absolute when PREFERENCE_LINK_BASE_URL (or `base_url`) is set; valid for PREFERENCE_LINK_MAX_AGE_DAYS.
    """
    return {
        customer_id: _link(key, base_url)
        for customer_id, key in preference_keys_ensure(customer_ids=customer_ids).items()
    }


def preference_link_mint(*, customer, base_url: str | None = None) -> str:
    """A signed link to one customer's preference page (e-mail footer, or for CRM staff to send)."""
    return preference_links_mint(customer_ids=[customer.pk], base_url=base_url)[customer.pk]


def preference_link_customer(*, token: str):
    """The customer a link stands for. Raises InvalidPreferenceLink, whatever the reason, with no detail."""
    try:
        key = signing.TimestampSigner(salt=SALT).unsign(token, max_age=_max_age())
    except signing.BadSignature as exc:  # SignatureExpired is a BadSignature
        raise InvalidPreferenceLink(INVALID_LINK) from exc
    found = PreferenceKey.objects.filter(key=key).values_list("customer_id", flat=True).first()
    customer = subject_model()._default_manager.filter(pk=found).first() if found is not None else None
    if customer is None:
        raise InvalidPreferenceLink(INVALID_LINK)
    return customer


def _latest_policies(purposes: Iterable[Purpose], now: dt.datetime) -> dict[int, PolicyVersion]:
    latest: dict[int, PolicyVersion] = {}
    published = PolicyVersion.objects.filter(purpose__in=list(purposes), published_at__lte=now)
    for policy in published.order_by("purpose_id", "published_at", "pk"):
        latest[policy.purpose_id] = policy  # newest last: it wins
    return latest


def preference_choices(*, customer) -> list[PreferenceChoice]:
    """The purposes the customer decides, each with whether it is allowed now (as consent_allows without channel)."""
    now = timezone.now()
    purposes = list(Purpose.objects.filter(is_active=True, legal_basis__in=CHOICE_BASES).order_by("name", "key"))
    policies = _latest_policies(purposes, now)
    latest: dict[str, tuple[dt.datetime, str]] = {}
    for (_, purpose_key, _), state in consent_current_state(customer_ids=[customer.pk]).items():
        # Across channels the latest event decides; on the same instant a withdrawal wins ("withdrawn" > "granted").
        candidate = (state.occurred_at, state.status)
        if purpose_key not in latest or candidate > latest[purpose_key]:
            latest[purpose_key] = candidate
    choices = []
    for purpose in purposes:
        since, status = latest.get(purpose.key, (None, ""))
        if purpose.legal_basis == LegalBasis.CONSENT:
            allowed = status == ConsentStatus.GRANTED
        else:
            allowed = status != ConsentStatus.WITHDRAWN
        policy = policies.get(purpose.pk)
        choices.append(
            PreferenceChoice(
                key=purpose.key,
                name=purpose.name,
                description=purpose.customer_wording,
                legal_basis=purpose.legal_basis,
                allowed=allowed,
                since=since,
                policy_version=policy.version if policy else "",
                policy_text=policy.text if policy else "",
            )
        )
    return choices


def _evidence(ip_address: str, user_agent: str) -> str:
    return f"preference page, signed link; ip={ip_address or 'unknown'}; user_agent={(user_agent or 'unknown')[:500]}"


@transaction.atomic
def preferences_update(
    *,
    customer,
    choices: Mapping[str, bool],
    ip_address: str,
    user_agent: str,
    occurred_at: dt.datetime | None = None,
) -> list[ConsentEvent]:
    """Record the customer's choices: one ledger event per purpose whose state changes, none when nothing does.

    `choices` maps a purpose key to allowed or not; purposes left out keep their state. Granting and withdrawing
    take the same single step. The event is purpose-wide (no channel): it decides every channel of the purpose.
    """
    occurred_at = occurred_at or timezone.now()
    current = {choice.key: choice for choice in preference_choices(customer=customer)}
    changed = {key: allowed for key, allowed in choices.items() if key in current and current[key].allowed != allowed}
    if not changed:
        return []
    purposes = {purpose.key: purpose for purpose in Purpose.objects.filter(key__in=changed)}
    policies = _latest_policies(purposes.values(), occurred_at)
    evidence = _evidence(ip_address, user_agent)
    events = []
    for key, allowed in sorted(changed.items()):
        purpose = purposes[key]
        status = ConsentStatus.GRANTED if allowed else ConsentStatus.WITHDRAWN
        policy = policies.get(purpose.pk)
        nonce = secrets.token_hex(8)
        event_key = hashlib.sha256(
            f"{customer.pk}|{key}|{status}|{occurred_at.isoformat()}|{nonce}".encode()
        ).hexdigest()
        events.append(
            ConsentEvent(
                source_key=SOURCE_KEY,
                event_key=event_key,
                customer=customer,
                subject_external_id=str(customer.pk),
                purpose=purpose,
                channel=None,
                status=status,
                occurred_at=occurred_at,
                captured_via=CAPTURED_VIA,
                policy_version=policy.version if policy else "",
                policy=policy,
                evidence=evidence,
            )
        )
    return ConsentEvent.objects.bulk_create(events)


@transaction.atomic
def preference_request_create(*, customer, kind: str) -> tuple[DataSubjectRequest, bool]:
    """A request for a copy of the data or for erasure, made on the page. Returns (request, created).

    The signed link proves the identity (only the customer received it), which the request records. A request of
    the same kind still open is returned instead of a second one.
    """
    if kind not in REQUEST_KINDS:
        raise ValueError(f"{UNKNOWN_REQUEST_KIND} {kind!r}")
    existing = DataSubjectRequest.objects.open().filter(customer=customer, kind=kind).order_by("pk").first()
    if existing is not None:
        return existing, False
    request = dsr_create(kind=kind, received_via=RequestChannel.PREFERENCE_PAGE, customer=customer)
    request = dsr_verify_identity(request=request, method=IDENTITY_VERIFICATION)
    return request, True
