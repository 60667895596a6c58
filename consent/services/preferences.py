"""The customer's preference page: signed expiring links, the customer's choices, and their requests from the page.

A link signs an opaque random key (``PreferenceKey``) with the time it was made: it carries no personal data, cannot
be guessed or altered, and expires after PREFERENCE_LINK_MAX_AGE_DAYS. Every change of choice is a new event of the
consent ledger, with the wording shown and the evidence (IP address and user agent, and how the link was delivered),
which is kept in the ledger only, never logged.

A link goes to the customer, never to staff: the footers of the product's e-mails, an e-mail staff have sent to the
customer's address, or a letter staff print for the customer's postal address (its own key, naming who printed it).
Possession of a link proves the customer's identity for a request only when it came through one of those channels,
which the request records. A link stands for the customer who holds its key now: after a merge, the survivor.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy

from consent.models import (
    ConsentEvent,
    ConsentStatus,
    DataSubjectRequest,
    LegalBasis,
    LinkDelivery,
    PolicyVersion,
    PreferenceKey,
    Purpose,
    RequestChannel,
    RequestKind,
)
from consent.selectors import consent_current_state
from consent.services.ledger import IN_FORCE, LedgerEntry, ledger_append, ledger_event_key
from consent.services.requests import dsr_create, dsr_verify_identity
from consent.services.subject import subject_survivor, subject_survivors

SALT = "consent.preferences"
SOURCE_KEY = "preference_page"  # the ledger's source of the events captured on the page
CAPTURED_VIA = "web"
IDENTITY_VERIFICATION = "signed link"
# The purposes a customer decides on the page: consent is given or withdrawn; legitimate interest is objected to.
CHOICE_BASES = (LegalBasis.CONSENT, LegalBasis.LEGITIMATE_INTEREST)
REQUEST_KINDS = (RequestKind.ACCESS, RequestKind.ERASURE)

INVALID_LINK = "this link is not valid or has expired"
UNKNOWN_REQUEST_KIND = "the page can ask for a copy of the data or for erasure, not"
NO_EMAIL_ADDRESS = gettext_lazy("the customer has no e-mail address: print a letter instead")
NO_POSTAL_ADDRESS = gettext_lazy("the customer has no postal address (street, postcode and city) to send a letter to")
EMAIL_SUBJECT = gettext_lazy("Your privacy choices")
EMAIL_BODY = gettext_lazy("""Hello{name},

You asked us for the link to your privacy choices. It leads to a page where you decide what we may do with your
data, and where you can ask for a copy of it or for its erasure:

{link}

The link is valid for {days} days and is for you alone: do not pass it on.
""")
# Channels the customer controls: a link that came through one proves, on the page, that its holder is the customer.
VERIFYING_DELIVERIES = (LinkDelivery.EMAIL, LinkDelivery.POST)
UNVERIFIED_REQUEST = (
    "Asked on the preference page through a link of unknown delivery: possession of the link does not prove the "
    "requester's identity, which is still to verify."
)


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
    return dt.timedelta(days=settings.PREFERENCE_LINK_MAX_AGE_DAYS)


def _new_key() -> str:
    return secrets.token_urlsafe(16)


def preference_keys_ensure(*, customer_ids: Iterable[Any]) -> dict[Any, str]:
    """customer id -> the key of the footers of the product's e-mails to the customer, creating the missing ones.

    A merged customer's id gets its survivor's key: the link always leads to the customer record in use.
    """
    survivors = subject_survivors(customer_ids)
    wanted = list(dict.fromkeys(survivors.values()))
    keys: dict[Any, str] = {}
    footers = PreferenceKey.objects.filter(
        customer_id__in=wanted, delivered_via=LinkDelivery.EMAIL, issued_by__isnull=True
    )
    # Newest first, so the oldest is written last: a customer holding several keys (after a merge) keeps one.
    for customer_id, key in footers.order_by("-created_at", "-pk").values_list("customer_id", "key"):
        keys[customer_id] = key
    missing = [customer_id for customer_id in wanted if customer_id not in keys]
    if missing:
        created = [
            PreferenceKey(customer_id=customer_id, key=_new_key(), delivered_via=LinkDelivery.EMAIL)
            for customer_id in missing
        ]
        PreferenceKey.objects.bulk_create(created, batch_size=1000)
        keys.update({row.customer_id: row.key for row in created})
    return {given: keys[survivor] for given, survivor in survivors.items()}


def _link(key: str, base_url: str | None) -> str:
    token = signing.TimestampSigner(salt=SALT).sign(key)
    path = reverse("consent:preferences", kwargs={"token": token})
    base = settings.PREFERENCE_LINK_BASE_URL if base_url is None else base_url
    return f"{base.rstrip('/')}{path}"


def preference_links_mint(*, customer_ids: Iterable[Any], base_url: str | None = None) -> dict[Any, str]:
    """customer id -> a signed link to their preference page, for the footers of a whole send of e-mails at once.

    Absolute when PREFERENCE_LINK_BASE_URL (or `base_url`) is set; valid for PREFERENCE_LINK_MAX_AGE_DAYS. Only for
    e-mails sent to the customers' own addresses: the links count as delivered there.
    """
    return {
        customer_id: _link(key, base_url)
        for customer_id, key in preference_keys_ensure(customer_ids=customer_ids).items()
    }


def preference_link_mint(*, customer, base_url: str | None = None) -> str:
    """A signed link to one customer's preference page, for the footer of an e-mail to the customer's address."""
    return preference_links_mint(customer_ids=[customer.pk], base_url=base_url)[customer.pk]


def _issue(customer, delivered_via: str, actor) -> PreferenceKey:
    return PreferenceKey.objects.create(
        customer=customer, key=_new_key(), delivered_via=delivered_via, issued_by=actor if actor else None
    )


@transaction.atomic
def preference_link_email(*, customer, actor, base_url: str | None = None) -> PreferenceKey:
    """E-mail the customer (the survivor, after a merge) a link of its own, at the request of `actor` (staff).

    The link goes to the customer's address through Django's mail and nowhere else: staff never see it. Raises
    ValidationError without an e-mail address; a mail server that refuses leaves no key behind (OSError, SMTP error).
    """
    customer = subject_survivor(customer)
    address = (getattr(customer, "email", "") or "").strip()
    if not address:
        raise ValidationError(NO_EMAIL_ADDRESS)
    issued = _issue(customer, LinkDelivery.EMAIL, actor)
    first_name = (getattr(customer, "first_name", "") or "").strip()
    body = str(EMAIL_BODY).format(
        name=f" {first_name}" if first_name else "", link=_link(issued.key, base_url), days=_max_age().days
    )
    send_mail(
        subject=str(EMAIL_SUBJECT), message=body, from_email=settings.DEFAULT_FROM_EMAIL, recipient_list=[address]
    )
    return issued


@dataclass(frozen=True)
class PreferenceLetter:
    """A letter to post: the customer's name and postal address, and the link printed for them."""

    customer: Any
    link: str
    key: PreferenceKey


def _postal_address(customer) -> bool:
    return all((getattr(customer, name, "") or "").strip() for name in ("address", "postcode", "city"))


@transaction.atomic
def preference_letter(*, customer, actor, base_url: str | None = None) -> PreferenceLetter:
    """A link of its own for a letter to the customer's postal address (the survivor's, after a merge), printed by
    `actor`, whom the link's key names. Raises ValidationError when the customer has no postal address."""
    customer = subject_survivor(customer)
    if not _postal_address(customer):
        raise ValidationError(NO_POSTAL_ADDRESS)
    issued = _issue(customer, LinkDelivery.POST, actor)
    return PreferenceLetter(customer=customer, link=_link(issued.key, base_url), key=issued)


@dataclass(frozen=True)
class ResolvedLink:
    """What a link stands for: the customer now (the survivor of a merge), and the key with its delivery."""

    customer: Any
    key: PreferenceKey


def preference_link_resolve(*, token: str) -> ResolvedLink:
    """The customer and delivery a link stands for. Raises InvalidPreferenceLink, whatever the reason, with no detail.

    A key of a customer merged into another (a key made before the merge moved it) leads to the survivor, so that a
    choice made on the page is always the surviving record's.
    """
    try:
        key = signing.TimestampSigner(salt=SALT).unsign(token, max_age=_max_age())
    except signing.BadSignature as exc:  # SignatureExpired is a BadSignature
        raise InvalidPreferenceLink(INVALID_LINK) from exc
    found = PreferenceKey.objects.select_related("customer", "issued_by").filter(key=key).first()
    if found is None or found.customer is None:
        raise InvalidPreferenceLink(INVALID_LINK)
    return ResolvedLink(customer=subject_survivor(found.customer), key=found)


def preference_link_customer(*, token: str):
    """The customer a link stands for (the survivor of a merge). Raises InvalidPreferenceLink."""
    return preference_link_resolve(token=token).customer


def delivery_note(key: PreferenceKey | None) -> str:
    """How the link was delivered, in words, for the ledger's evidence and the request's identity check."""
    if key is None or key.delivered_via not in VERIFYING_DELIVERIES:
        return "link of unknown delivery"
    when = timezone.localtime(key.created_at).strftime("%Y-%m-%d")
    who = key.issued_by.get_username() if key.issued_by is not None else ""
    if key.delivered_via == LinkDelivery.POST:
        return f"link in a letter to the customer's postal address, printed by {who or 'unknown'} on {when}"
    requested = f" at the request of {who}" if who else ""
    return f"link e-mailed to the customer's address on {when}{requested}"


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


def _evidence(ip_address: str, user_agent: str, link: PreferenceKey | None) -> str:
    return (
        f"preference page, signed link ({delivery_note(link)}); ip={ip_address or 'unknown'}; "
        f"user_agent={(user_agent or 'unknown')[:500]}"
    )


@transaction.atomic
def preferences_update(
    *,
    customer,
    choices: Mapping[str, bool],
    ip_address: str,
    user_agent: str,
    link: PreferenceKey | None = None,
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
    evidence = _evidence(ip_address, user_agent, link)
    entries = []
    for key, allowed in sorted(changed.items()):
        status = ConsentStatus.GRANTED if allowed else ConsentStatus.WITHDRAWN
        # A nonce: two identical choices at the same instant are two events the customer made.
        nonce = secrets.token_hex(8)
        entries.append(
            LedgerEntry(
                source_key=SOURCE_KEY,
                event_key=ledger_event_key(str(customer.pk), key, status, occurred_at.isoformat(), nonce),
                customer_id=customer.pk,
                subject_external_id=str(customer.pk),
                purpose_id=purposes[key].pk,
                channel_id=None,
                status=status,
                occurred_at=occurred_at,
                captured_via=CAPTURED_VIA,
                policy_version=IN_FORCE,
                evidence=evidence,
            )
        )
    return ledger_append(entries)


@transaction.atomic
def preference_request_create(
    *, customer, kind: str, link: PreferenceKey | None = None
) -> tuple[DataSubjectRequest, bool]:
    """A request for a copy of the data or for erasure, made on the page. Returns (request, created).

    A link delivered to the customer's own address (e-mail or letter) proves the identity, and the request records
    which; through a link of unknown delivery the request waits for the DPO to verify the identity. A request of the
    same kind still open is returned instead of a second one.
    """
    if kind not in REQUEST_KINDS:
        raise ValueError(f"{UNKNOWN_REQUEST_KIND} {kind!r}")
    existing = DataSubjectRequest.objects.open().filter(customer=customer, kind=kind).order_by("pk").first()
    if existing is not None:
        return existing, False
    if link is None or link.delivered_via not in VERIFYING_DELIVERIES:
        request = dsr_create(
            kind=kind, received_via=RequestChannel.PREFERENCE_PAGE, customer=customer, details=UNVERIFIED_REQUEST
        )
        return request, True
    request = dsr_create(kind=kind, received_via=RequestChannel.PREFERENCE_PAGE, customer=customer)
    request = dsr_verify_identity(request=request, method=f"{IDENTITY_VERIFICATION}: {delivery_note(link)}")
    return request, True
