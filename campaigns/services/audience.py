"""The audience of a campaign: its target, cut down to the customers who may be contacted for its purpose through its
channel, and the customers left out with their reason.

1. The target: active customers matching the campaign's filters (segments, stores, cities, postcodes, recency,
   score bounds).
2. Consent: `consent.selectors.customers_processable(purpose, channel)` alone says who may be processed (the ledger's
   latest event in scope, objections, restrictions; erased customers no longer exist). Who is not is counted by
   reason: restricted, objected (a purpose-wide withdrawal), withdrawn, no consent.
3. Suppression: a customer whose address for the channel is on the erasure suppression list (an erased person's
   e-mail or phone) is left out, and so is one with no address for the channel at all.
4. Contact pressure: at most CAMPAIGN_CONTACT_MAX contacts per customer within CAMPAIGN_CONTACT_PERIOD_DAYS of the
   campaign's start.
5. Decision rules: each customer gets at most one action, from the first rule (by priority) that matches their segment
   and score band; with rules defined, a customer no rule matches is left out.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from campaigns import scores
from campaigns.models import Campaign, ContactRecord, DecisionRule
from cdp.models import Customer, Receipt
from consent.models import ConsentStatus, LegalBasis
from consent.selectors import consent_current_state, customers_processable, restricted_among
from consent.services.suppression import suppressed_among, suppression_has_any
from segments.models import Segment, SegmentationRun, SegmentMembership

# Why a targeted customer is left out; the order is the order they are checked in (the first reason counts).
NO_CONSENT = "no_consent"
WITHDRAWN = "withdrawn"
OBJECTED = "objected"
RESTRICTED = "restricted"
SUPPRESSED = "suppressed"
NO_CONTACT = "no_contact"
CONTACT_PRESSURE = "contact_pressure"
NO_RULE = "no_rule"
REASONS = (NO_CONSENT, WITHDRAWN, OBJECTED, RESTRICTED, SUPPRESSED, NO_CONTACT, CONTACT_PRESSURE, NO_RULE)
REASON_LABELS = {
    NO_CONSENT: "no consent for this purpose and channel",
    WITHDRAWN: "consent withdrawn",
    OBJECTED: "objected (GDPR Art. 21)",
    RESTRICTED: "processing restricted (GDPR Art. 18)",
    SUPPRESSED: "address on the erasure suppression list",
    NO_CONTACT: "no address for the channel",
    CONTACT_PRESSURE: "contacted too often lately",
    NO_RULE: "no decision rule matches",
}

NO_SEGMENTATION = "no segmentation yet: run `manage.py segment` (and freeze a run) first"
UNKNOWN_SEGMENT = "no segment of the current segmentation is named"
UNKNOWN_TARGET_KEY = "unknown target filter"
TARGET_KEYS = (
    "segments", "stores", "cities", "postcodes", "bought_within_days", "not_bought_within_days", "min_scores",
    "max_scores", "bands",
)  # fmt: skip
# The address a channel needs (post needs a postal address); other channels (store, web, app) need none.
CHANNEL_ADDRESS = {"email": "email", "sms": "phone", "phone": "phone", "post": "address"}
CHUNK = 5000


class AudienceError(ValueError):
    """A campaign that cannot be built as asked (an unknown segment, score filters without scores, ...)."""


@dataclass
class Candidate:
    customer_id: Any
    segment_id: int | None
    rules: list[DecisionRule] = field(default_factory=list)  # the rules that match, by priority


@dataclass
class Audience:
    matched: int
    candidates: list[Candidate]
    excluded: dict[str, int]
    segmentation_run: SegmentationRun | None

    @property
    def eligible(self) -> int:
        return len(self.candidates)

    def by_segment(self) -> dict[int | None, int]:
        return dict(Counter(c.segment_id for c in self.candidates))


def segmentation_current() -> SegmentationRun | None:
    """The active segmentation, else the latest finished run."""
    return (
        SegmentationRun.objects.filter(Q(is_active=True) | Q(status=SegmentationRun.Status.SUCCEEDED))
        .order_by("-is_active", "-created_at", "-id")
        .first()
    )


def segments_by_name(names: Iterable[str]) -> list[Segment]:
    """Segments of the current segmentation named so (case-insensitive). Raises AudienceError."""
    names = [name.strip() for name in names if name.strip()]
    if not names:
        return []
    run = segmentation_current()
    if run is None:
        raise AudienceError(NO_SEGMENTATION)
    found = []
    for name in names:
        segment = Segment.objects.filter(run=run, retired=False, name__iexact=name).first()
        if segment is None:
            known = ", ".join(run.segments.filter(retired=False).values_list("name", flat=True))
            raise AudienceError(f"{UNKNOWN_SEGMENT} {name!r} (known: {known})")
        found.append(segment)
    return found


def target_validate(target: dict) -> dict:
    """The target with its keys checked. Raises AudienceError."""
    if not isinstance(target, dict):
        raise AudienceError("the target is an object of filters")
    unknown = sorted(set(target) - set(TARGET_KEYS))
    if unknown:
        raise AudienceError(f"{UNKNOWN_TARGET_KEY} {', '.join(unknown)} (known: {', '.join(TARGET_KEYS)})")
    for key in ("min_scores", "max_scores", "bands"):
        if target.get(key) and not scores.available():
            raise AudienceError(scores.NO_SCORES)
    if target.get("segments") and segmentation_current() is None:
        raise AudienceError(NO_SEGMENTATION)
    return target


def _score_ids(target: dict) -> set | None:
    found: set | None = None
    filters = [(f, {"min_value": v}) for f, v in (target.get("min_scores") or {}).items()]
    filters += [(f, {"max_value": v}) for f, v in (target.get("max_scores") or {}).items()]
    filters += [(f, {"band": v}) for f, v in (target.get("bands") or {}).items()]
    for name, bounds in filters:
        try:
            ids = scores.ids_with_score(name, **bounds)
        except scores.ScoresUnavailable as exc:
            raise AudienceError(str(exc)) from exc
        except ValueError as exc:
            raise AudienceError(f"score filter {name!r}: {exc}") from exc
        found = ids if found is None else found & ids
    return found


def target_customers(target: dict, *, reference: dt.datetime | None = None) -> QuerySet[Customer]:
    """Active customers matching the target's filters (no consent check yet: that is the next step)."""
    target = target_validate(target or {})
    reference = reference or timezone.now()
    customers = Customer.objects.active()
    if target.get("segments"):
        members = SegmentMembership.objects.filter(segment_id__in=target["segments"], left_at__isnull=True)
        customers = customers.filter(pk__in=members.values("customer_id"))
    if target.get("stores"):
        at_store = Receipt.objects.filter(store__code__in=target["stores"], customer__isnull=False)
        customers = customers.filter(pk__in=at_store.values("customer_id"))
    places = Q()
    for city in target.get("cities") or []:
        places |= Q(city__iexact=city)
    for prefix in target.get("postcodes") or []:
        places |= Q(postcode__startswith=prefix)
    if places:
        customers = customers.filter(places)
    recent = Receipt.objects.filter(customer_id=OuterRef("pk"))
    if target.get("bought_within_days"):
        since = reference - dt.timedelta(days=int(target["bought_within_days"]))
        customers = customers.filter(Exists(recent.filter(purchased_at__gte=since, purchased_at__lt=reference)))
    if target.get("not_bought_within_days"):
        since = reference - dt.timedelta(days=int(target["not_bought_within_days"]))
        customers = customers.exclude(Exists(recent.filter(purchased_at__gte=since, purchased_at__lt=reference)))
    score_ids = _score_ids(target)
    if score_ids is not None:
        customers = customers.filter(pk__in=list(score_ids))
    return customers


def _chunks(values: list, size: int = CHUNK) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _consent_reasons(left_out: set, campaign: Campaign) -> Counter:
    """Why each of `left_out` may not be processed: restricted, objected, withdrawn or no consent."""
    reasons: Counter = Counter()
    restricted = restricted_among(left_out)
    reasons[RESTRICTED] = len(restricted)
    rest = [pk for pk in left_out if pk not in restricted]
    purpose, channel = campaign.purpose, campaign.channel.key
    state = consent_current_state(customer_ids=rest)
    latest: dict[Any, tuple] = {}
    for (customer_id, purpose_key, channel_key), found in state.items():
        if purpose_key != purpose.key:
            continue
        if purpose.legal_basis == LegalBasis.CONSENT and channel_key not in (None, channel):
            continue
        # the latest event in scope; a withdrawal wins a tie
        key = (found.occurred_at, found.status == ConsentStatus.WITHDRAWN)
        if customer_id not in latest or key > latest[customer_id][0]:
            latest[customer_id] = (key, found, channel_key)
    for customer_id in rest:
        entry = latest.get(customer_id)
        if entry is None or entry[1].granted:
            reasons[NO_CONSENT] += 1  # nothing in scope (or an inactive purpose)
        elif entry[2] is None or purpose.legal_basis != LegalBasis.CONSENT:
            reasons[OBJECTED] += 1
        else:
            reasons[WITHDRAWN] += 1
    return reasons


def _addresses(customers: QuerySet, channel: str) -> dict[Any, str]:
    """customer -> their address for the channel, for the targeted customers: one query on the target itself (lists
    of 100,000 ids cost more to send than to answer)."""
    column = CHANNEL_ADDRESS.get(channel)
    if column is None:
        return {}
    return dict(customers.values_list("pk", column).iterator(chunk_size=CHUNK))


def _pressured(ids: set, start: dt.datetime, exclude_campaign: int | None) -> set:
    """Customers already contacted CAMPAIGN_CONTACT_MAX times within the period around `start`."""
    period = dt.timedelta(days=settings.CAMPAIGN_CONTACT_PERIOD_DAYS)
    records = ContactRecord.objects.filter(contacted_at__gt=start - period, contacted_at__lt=start + period)
    if exclude_campaign is not None:
        records = records.exclude(campaign_id=exclude_campaign)
    heavy = (
        records.values("customer_id").annotate(n=Count("id")).filter(n__gte=settings.CAMPAIGN_CONTACT_MAX)
    ).values_list("customer_id", flat=True)
    return {pk for pk in heavy if pk in ids}


def campaign_start(campaign: Campaign) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(campaign.starts_on, dt.time.min))


def campaign_end(campaign: Campaign) -> dt.datetime:
    """The end of the window, exclusive: the day after `ends_on` at midnight."""
    return timezone.make_aware(dt.datetime.combine(campaign.ends_on + dt.timedelta(days=1), dt.time.min))


def _rules(campaign: Campaign) -> list[DecisionRule]:
    rules = list(campaign.rules.select_related("segment", "channel").order_by("priority", "id"))
    if any(rule.score_field for rule in rules) and not scores.available():
        raise AudienceError(scores.NO_SCORES)
    return rules


def _bands(candidates: list[Candidate], rules: list[DecisionRule]) -> dict[Any, dict[str, str]]:
    """customer -> {score field: band}: churn's own band, tertiles of the audience for the other scores."""
    fields = {rule.score_field for rule in rules if rule.score_field}
    if not fields:
        return {}
    found = {}
    for chunk in _chunks([c.customer_id for c in candidates]):
        found.update(scores.scores_for(chunk))
    bands: dict[Any, dict[str, str]] = {pk: {} for pk in found}
    for name in fields:
        values = sorted(v[name] for v in found.values() if v.get(name) is not None)
        if not values:
            continue
        low, high = values[len(values) // 3], values[(2 * len(values)) // 3]
        for pk, row in found.items():
            if name == "churn_probability" and row.get("churn_band"):
                bands[pk][name] = row["churn_band"]
            elif row.get(name) is not None:
                value = row[name]
                bands[pk][name] = "low" if value < low else "high" if value >= high else "medium"
    return bands


def _matching(candidate: Candidate, rules: list[DecisionRule], bands: dict) -> list[DecisionRule]:
    mine = bands.get(candidate.customer_id, {})
    return [
        rule
        for rule in rules
        if (rule.segment_id is None or rule.segment_id == candidate.segment_id)
        and (not rule.score_field or not rule.band or mine.get(rule.score_field) == rule.band)
    ]


def audience_build(campaign: Campaign, *, exclude_own_contacts: bool = True) -> Audience:
    """Who the campaign would reach now, and who it leaves out and why (the preview, and the launch's first step)."""
    start = campaign_start(campaign)
    rules = _rules(campaign)
    targeted = target_customers(campaign.target, reference=start)
    target_ids = set(targeted.values_list("pk", flat=True))
    processable = set(
        customers_processable(purpose=campaign.purpose.key, channel=campaign.channel.key, customers=targeted)
        .values_list("pk", flat=True)
    )  # fmt: skip
    processable &= target_ids
    excluded: Counter = Counter(dict.fromkeys(REASONS, 0))
    excluded.update(_consent_reasons(target_ids - processable, campaign))
    ordered = sorted(processable, key=str)  # a fixed order, whatever the database returns: the draw is reproducible
    addresses = _addresses(targeted, campaign.channel.key)
    kind = CHANNEL_ADDRESS.get(campaign.channel.key)
    if kind is not None:
        missing = {pk for pk in ordered if not (addresses.get(pk) or "").strip()}
        suppressed: set = set()
        if kind in ("email", "phone") and suppression_has_any():
            listed = suppressed_among((kind, addresses[pk]) for pk in ordered if pk not in missing)
            suppressed = {pk for pk in ordered if pk not in missing and (kind, addresses[pk]) in listed}
        excluded[SUPPRESSED] += len(suppressed)
        excluded[NO_CONTACT] += len(missing)
        ordered = [pk for pk in ordered if pk not in missing and pk not in suppressed]
    pressured = _pressured(set(ordered), start, campaign.pk if exclude_own_contacts else None)
    excluded[CONTACT_PRESSURE] += len(pressured)
    ordered = [pk for pk in ordered if pk not in pressured]
    run = segmentation_current()
    segment_of: dict = {}
    if run is not None:
        current = SegmentMembership.objects.filter(run=run, left_at__isnull=True)
        segment_of = dict(current.values_list("customer_id", "segment_id").iterator(chunk_size=CHUNK))
    candidates = [Candidate(pk, segment_of.get(pk)) for pk in ordered]
    if rules:
        bands = _bands(candidates, rules)
        kept = []
        for candidate in candidates:
            candidate.rules = _matching(candidate, rules, bands)
            if candidate.rules:
                kept.append(candidate)
        excluded[NO_RULE] += len(candidates) - len(kept)
        candidates = kept
    return Audience(len(target_ids), candidates, dict(excluded), run)


def reasons_text(excluded: dict[str, int]) -> list[tuple[str, str, int]]:
    """(reason key, label, count) in the order reasons are checked."""
    return [(key, REASON_LABELS[key], excluded.get(key, 0)) for key in REASONS]
