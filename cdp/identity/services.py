"""Identity resolution services: full runs, merge, unmerge and review decisions.

Matching at import lives in cdp.identity.at_import.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cdp.identity import matching
from cdp.identity.aliases import alias_map, learn_given_name_aliases
from cdp.identity.clusters import KEPT_APART, cluster_records
from cdp.identity.features import (
    Features,
    birth_dates_compatible,
    features_with,
    name_key,
    record_features,
)
from cdp.identity.merging import merge_groups, unmerge_event
from cdp.identity.rules import (
    CONFLICT_MESSAGE,
    IdentityView,
    identity_compatible,
    identity_contradiction,
    strong_conflict,
)
from cdp.models import Customer, Identifier, MergeEvent, MergeReview, ResolutionRun, SourceRecord
from consent.models import RunStatus
from consent.selectors import restricted_among
from consent.services.register import ACTIVITY_IDENTITY_RESOLUTION, processing_run_record

logger = logging.getLogger(__name__)

STRONG_KINDS = (
    Identifier.Kind.EMAIL,
    Identifier.Kind.PHONE,
    Identifier.Kind.LOYALTY_CARD,
    Identifier.Kind.CUSTOMER_NUMBER,
)
# An identifier shared by more records than this is a placeholder ("noreply@", a shop's phone), not a person's.
MAX_SHARED_IDENTIFIER = 20
# How common a phonetic full name is, by the records that hold it: rare, uncommon, common, very common beyond.
RARE_NAME = 2
UNCOMMON_NAME = 6
COMMON_NAME = 20
# Records whose phonetic full name is held by at most this many records are compared on the name alone (a blocking
# rule): enough to find a person's records that share nothing else, few enough to keep pairs near-linear.
NAME_BLOCK_CAP = 8
RECORD_COLUMNS = (
    "id",
    "customer_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "birth_date",
    "gender",
    "address",
    "postcode",
    "city",
    "match_family",
    "match_given",
    "match_name",
    "match_address",
)

MATCH_KEY_FIELDS = ("match_family", "match_given", "match_name", "match_address")

REASON_REQUIRED = "a reason is required"
NOT_PENDING = "this review has already been decided"
NOT_MERGED = "this customer is not merged into another"
SAME_CUSTOMER = "a customer cannot be merged into itself"
NOT_ACTIVE = "only active customers can be merged"
SURVIVOR_MERGED_SINCE = "the customer it was merged into has been merged since: unmerge that first"
# Why a pair waits in the review queue (MergeReview.why).
IN_REVIEW_BAND = (
    "match probability {probability:.3f}: between the review threshold ({review:.2f}) and the auto-merge "
    "threshold ({auto:.2f})"
)
HELD_BY_RULE = "held by a rule although the model is sure: {why}"
HELD_BY_GROUP = "held by a rule: merging would join records of the two customers where {why}"
NOT_TRAINABLE = (
    "too few records share a name, birth date, e-mail, phone or address to train the model: "
    "linked on shared e-mails, phones and card numbers only"
)
RESTRICTED = "processing of this customer is restricted (GDPR Art. 18): no merge or split until it is lifted"


class IdentityError(ValueError):
    """A merge, unmerge or review decision that cannot be made; str(exc) says why."""


def thresholds() -> tuple[float, float]:
    """(auto-merge, review) match probabilities."""
    auto = float(settings.IDENTITY_AUTO_MERGE_PROBABILITY)
    return auto, min(float(settings.IDENTITY_REVIEW_PROBABILITY), auto)


# ---------------------------------------------------------------------------------------------------------------------
# Records as the matcher sees them


@dataclass
class Loaded:
    views: dict[int, IdentityView] = field(default_factory=dict)
    features: list[tuple[int, Features]] = field(default_factory=list)
    customer_of: dict[int, uuid.UUID] = field(default_factory=dict)
    stale_keys: list[SourceRecord] = field(default_factory=list)


def _features(row: dict) -> Features:
    return record_features(
        first_name=row["first_name"],
        last_name=row["last_name"],
        email=row["email"],
        phone=row["phone"],
        birth_date=row["birth_date"],
        gender=row["gender"],
        address=row["address"],
        postcode=row["postcode"],
        city=row["city"],
    )


def match_keys(features: Features) -> dict[str, str]:
    """The stored blocking keys of a record (SourceRecord.match_*)."""
    return {
        "match_family": features.ln_ph,
        "match_given": features.fn_ph,
        "match_name": (features.ln_ph + features.fn_ph) if features.ln_ph and features.fn_ph else "",
        "match_address": features.addr[:255],
    }


def record_set_match_keys(record: SourceRecord) -> None:
    """Fill a record's blocking keys from its fields (the importer calls this before saving); the features they
    come from stay on the record for matching it at import (``_load`` takes them instead of computing them again)."""
    row = {name: getattr(record, name) for name in RECORD_COLUMNS[2:11]}
    record.match_features = _features(row)
    for name, value in match_keys(record.match_features).items():
        setattr(record, name, value)


def _load(rows, computed: Mapping[int, Features] | None = None) -> Loaded:
    loaded = Loaded()
    computed = computed or {}
    for row in rows:
        features = computed.get(row["id"]) or _features(row)
        loaded.views[row["id"]] = IdentityView(features, row["birth_date"])
        loaded.features.append((row["id"], features))
        loaded.customer_of[row["id"]] = row["customer_id"]
        keys = match_keys(features)
        if any(row[name] != value for name, value in keys.items()):
            loaded.stale_keys.append(SourceRecord(pk=row["id"], **keys))
    return loaded


def _name_frequency(count: int) -> str:
    if count <= RARE_NAME:
        return "1"
    if count <= UNCOMMON_NAME:
        return "2"
    return "3" if count <= COMMON_NAME else "4"


def _enrich(loaded: Loaded, aliases: Mapping[str, str], name_counts: Mapping[str, int]) -> None:
    """Add what depends on the whole record set to each record's features: given-name aliases, name frequency."""
    enriched = []
    for record_id, features in loaded.features:
        key = name_key(features)
        count = name_counts.get(key, 1)
        features = features_with(
            features,
            fn_aliases=aliases.get(features.fn, ""),
            name_freq=_name_frequency(count) if key else "",
            name_rare=key if key and count <= NAME_BLOCK_CAP else "",
            name_capped=key if key and count <= COMMON_NAME else "",
        )
        enriched.append((record_id, features))
        view = loaded.views[record_id]
        loaded.views[record_id] = IdentityView(features, view.birth_date)
    loaded.features = enriched


def _identifier_groups(loaded: Loaded, identifiers) -> list[set[int]]:
    holders: dict[tuple[str, str], set[int]] = defaultdict(set)
    for record_id, kind, value in identifiers:
        if record_id in loaded.views:
            holders[(kind, value)].add(record_id)
    return [ids for ids in holders.values() if len(ids) >= 2]


def _learn_aliases(loaded: Loaded, identifiers) -> list[tuple[str, str]]:
    views = loaded.views
    return learn_given_name_aliases(
        dict(loaded.features),
        _identifier_groups(loaded, identifiers),
        birth_ok=lambda a, b: birth_dates_compatible(views[a].birth_date, views[b].birth_date),
    )


def _deterministic_links(loaded: Loaded, identifiers) -> list[tuple[int, int, float]]:
    """Records that share a strong identifier and contradict nothing: links of probability 1."""
    holders: dict[tuple[str, str], set[int]] = defaultdict(set)
    for record_id, kind, value in identifiers:
        if record_id in loaded.views:
            holders[(kind, value)].add(record_id)
    links = set()
    for ids in holders.values():
        if len(ids) < 2 or len(ids) > MAX_SHARED_IDENTIFIER:
            continue
        ordered = sorted(ids)
        for index, left in enumerate(ordered):
            for right in ordered[index + 1 :]:
                if identity_compatible(loaded.views[left], loaded.views[right]):
                    links.add((left, right))
    return [(left, right, 1.0) for left, right in links]


# ---------------------------------------------------------------------------------------------------------------------
# Deciding and applying


@dataclass
class Outcome:
    records: int = 0
    candidate_pairs: int = 0
    auto: int = 0
    review: int = 0
    below: int = 0
    refused: int = 0
    reviews_created: int = 0
    merges: int = 0


def _kept_apart(record_ids: set[int]) -> set[tuple[int, int]]:
    """Pairs people kept apart: rejected reviews, and records split from a customer by an unmerge."""
    pairs = set(
        MergeReview.objects.filter(status=MergeReview.Status.REJECTED).values_list("left_id", "right_id").iterator()
    )
    for split, apart in MergeEvent.objects.filter(kind=MergeEvent.Kind.UNMERGE).values_list(
        "source_record_ids", "moved"
    ):
        others = (apart or {}).get("kept_apart_from", [])
        pairs.update((min(a, b), max(a, b)) for a in split for b in others if a in record_ids or b in record_ids)
    return pairs


@dataclass
class Decision:
    """Where the scored pairs fell, and the clusters the accepted links make under the rules."""

    outcome: Outcome
    groups: dict[int, list[int]]  # cluster root -> record ids
    cluster_of: dict[int, int]
    for_review: list[tuple[int, int, float, dict, str]]  # left, right, probability, levels, why
    kept_apart: set[tuple[int, int]]


def _decide(
    loaded: Loaded, scored: list[tuple[int, int, float, dict]], deterministic: list[tuple[int, int, float]]
) -> Decision:
    """Sort scored pairs into bands and cluster the accepted links under the rules (nothing is written)."""
    auto_threshold, review_threshold = thresholds()
    outcome = Outcome(records=len(loaded.views), candidate_pairs=len(scored))
    links = list(deterministic)
    for_review = []
    scored_links: dict[tuple[int, int], tuple[float, dict]] = {}
    for left, right, probability, levels in scored:
        if probability >= auto_threshold:
            outcome.auto += 1
            contradiction = identity_contradiction(loaded.views[left], loaded.views[right])
            if not contradiction:
                links.append((left, right, probability))
                scored_links[(left, right)] = (probability, levels)
                continue
            for_review.append((left, right, probability, levels, HELD_BY_RULE.format(why=contradiction)))
        elif probability >= review_threshold:
            outcome.review += 1
            band = IN_REVIEW_BAND.format(probability=probability, review=review_threshold, auto=auto_threshold)
            for_review.append((left, right, probability, levels, band))
        else:
            outcome.below += 1
    by_customer: dict[uuid.UUID, list[int]] = defaultdict(list)
    for record_id, customer_id in loaded.customer_of.items():
        by_customer[customer_id].append(record_id)
    kept_apart = _kept_apart(set(loaded.views))
    result = cluster_records(
        views=loaded.views, initial_groups=by_customer.values(), links=links, kept_apart=kept_apart
    )
    outcome.refused = len(result.refused)
    for pair, why in result.why_refused.items():
        if why != KEPT_APART:  # a person decided already; anything else a person may want to see
            probability, levels = scored_links.get(pair, (1.0, {}))
            for_review.append((*pair, probability, levels, HELD_BY_GROUP.format(why=why)))
    cluster_of = {record_id: root for root, ids in result.groups.items() for record_id in ids}
    return Decision(outcome, result.groups, cluster_of, for_review, kept_apart)


def _apply(
    loaded: Loaded,
    scored: list[tuple[int, int, float, dict]],
    deterministic: list[tuple[int, int, float]],
    *,
    actor,
    reason: str,
    run: ResolutionRun | None,
) -> Outcome:
    """Decide, merge the clusters' customers, and queue the reviews."""
    decision = _decide(loaded, scored, deterministic)
    outcome = decision.outcome
    outcome.merges = _merge_clusters(loaded, decision.groups, actor=actor, reason=reason, run=run)
    reviews = _reviews(loaded, decision, run)
    outcome.reviews_created = len(MergeReview.objects.bulk_create(reviews, batch_size=1000, ignore_conflicts=True))
    return outcome


def _merge_clusters(loaded: Loaded, groups: dict, *, actor, reason: str, run) -> int:
    customers_of_cluster = []
    involved = set()
    for ids in groups.values():
        customers = {loaded.customer_of[record_id] for record_id in ids} - {None}
        if len(customers) > 1:
            customers_of_cluster.append(customers)
            involved.update(customers)
    if not customers_of_cluster:
        return 0
    created = dict(Customer.objects.filter(pk__any=list(involved)).values_list("pk", "created_at"))
    plan = {}
    for customers in customers_of_cluster:
        survivor = min(customers, key=lambda pk: (created.get(pk) or timezone.now(), str(pk)))
        plan[survivor] = sorted(customers - {survivor}, key=str)
    events = merge_groups(plan, actor=actor, reason=reason, run=run)
    return len(events)


def _reviews(loaded: Loaded, decision: Decision, run) -> list[MergeReview]:
    """The pairs a person should decide: not in one cluster already, not kept apart, not in strong conflict."""
    reviews: dict[tuple[int, int], MergeReview] = {}
    groups, cluster_of = decision.groups, decision.cluster_of
    for left, right, probability, levels, why in decision.for_review:
        a, b = cluster_of[left], cluster_of[right]
        if a == b or (left, right) in decision.kept_apart or (left, right) in reviews:
            continue
        if strong_conflict([loaded.views[i] for i in groups[a]], [loaded.views[i] for i in groups[b]]):
            continue  # never merged, so never asked
        reviews[(left, right)] = MergeReview(
            left_id=left, right_id=right, probability=probability, levels=dict(levels), why=why[:1000], run=run
        )
    return list(reviews.values())


def _latest_model() -> ResolutionRun | None:
    return (
        ResolutionRun.objects.filter(status=ResolutionRun.Status.SUCCEEDED)
        .exclude(model={})
        .only("pk", "model", "parameters")
        .order_by("-finished_at")
        .first()
    )


def _strong_identifiers(record_ids: list[int] | None = None, values: set[str] | None = None):
    queryset = Identifier.objects.filter(kind__in=STRONG_KINDS)
    if values is not None:
        queryset = queryset.filter(value__any=list(values))
    return list(queryset.values_list("source_record_id", "kind", "value").iterator())


# ---------------------------------------------------------------------------------------------------------------------
# Full run


def identity_resolve_all(*, actor=None, seed: int = 42) -> ResolutionRun:
    """Resolve every source record: train the model on all of them, score the candidate pairs, merge, queue reviews.

    1. Load the records, compute their features, and store blocking keys that are missing or out of date; learn
       given-name aliases from records sharing an identifier and count how many records carry each name (both are
       features of the model; the aliases are kept with the run for matching at import).
    2. Train the model (u by sampling, m by EM), score every candidate pair, estimate the prior over them, correct u
       for the matches the random sample held, and score again.
    3. Add deterministic links (a shared strong identifier, no contradiction), cluster, merge, queue reviews.
    Existing customers stay whole: a run adds links; an unmerge (or a rejected review) keeps records apart.
    """
    started = time.monotonic()
    auto_threshold, review_threshold = thresholds()
    run = ResolutionRun.objects.create(
        actor=actor,
        customers_before=Customer.objects.active().count(),
        parameters={"auto_merge_probability": auto_threshold, "review_probability": review_threshold, "seed": seed},
    )
    try:
        with transaction.atomic():
            outcome = _resolve_all(run, actor=actor, seed=seed)
    except Exception as exc:
        run.status = ResolutionRun.Status.FAILED
        run.message = f"{type(exc).__name__}: {exc}"[:2000]
        run.finished_at = timezone.now()
        run.seconds = time.monotonic() - started
        run.save()
        _record_processing_run(run)
        raise
    run.status = ResolutionRun.Status.SUCCEEDED
    for name in ("records", "candidate_pairs", "merges", "reviews_created"):
        setattr(run, name, getattr(outcome, name))
    run.links_auto, run.links_review, run.links_below, run.links_refused = (
        outcome.auto,
        outcome.review,
        outcome.below,
        outcome.refused,
    )
    run.customers_after = Customer.objects.active().count()
    run.finished_at = timezone.now()
    run.seconds = time.monotonic() - started
    run.save()
    _record_processing_run(run)
    logger.info("resolution run %s: %s records, %s merges", run.pk, run.records, run.merges)  # counts only
    return run


REGISTER_COUNTS = ("records", "candidate_pairs", "merges", "reviews_created", "customers_before", "customers_after")


def _record_processing_run(run: ResolutionRun) -> None:
    """The processing register (GDPR Art. 30) lists each resolution run under its activity, with its counts."""
    succeeded = run.status == ResolutionRun.Status.SUCCEEDED
    processing_run_record(
        activity=ACTIVITY_IDENTITY_RESOLUTION,
        kind="identity_resolution",
        started_at=run.started_at,
        finished_at=run.finished_at,
        status=RunStatus.SUCCEEDED if succeeded else RunStatus.FAILED,
        actor=run.actor,
        counts={name: getattr(run, name) for name in REGISTER_COUNTS},
        parameters=run.parameters,
        reference=run,
        message="" if succeeded else run.message.split(":", 1)[0],
    )


def _resolve_all(run: ResolutionRun, *, actor, seed: int) -> Outcome:
    rows = SourceRecord.objects.order_by("pk").values(*RECORD_COLUMNS).iterator(chunk_size=5000)
    loaded = _load(rows)
    if loaded.stale_keys:
        SourceRecord.objects.bulk_update(loaded.stale_keys, list(MATCH_KEY_FIELDS), batch_size=2000)
    identifiers = _strong_identifiers()
    aliases = _learn_aliases(loaded, identifiers)
    _enrich(loaded, alias_map(aliases), Counter(name_key(features) for _, features in loaded.features))
    run.parameters = {**run.parameters, "given_name_aliases": [list(pair) for pair in aliases]}
    scored: list[tuple[int, int, float, dict]] = []
    table = matching.features_table(loaded.features)
    plan = matching.plan_training(table)
    if plan.trainable:
        linker = matching.make_linker(table, plan=plan)
        model = matching.train(linker, plan, seed=seed)
    run.parameters = {**run.parameters, "training": plan.as_dict()}
    if plan.trainable:
        pairs = matching.predict_all(linker)
        prior = matching.estimate_prior([pair.bayes_factor_log2 for pair in pairs], len(loaded.features))
        # u corrected for the matches among the random pairs it was estimated on, then the pairs scored again
        model = matching.correct_u_for_matches(model, prior)
        pairs = matching.predict_all(matching.make_linker(table, model))
        prior = matching.estimate_prior([pair.bayes_factor_log2 for pair in pairs], len(loaded.features))
        model["probability_two_random_records_match"] = prior
        run.model = model
        run.weights = matching.model_summary(model)
        run.parameters = {**run.parameters, "prior": prior, "blocking_rules": _blocking_rules_sql(model)}
        scored = [
            (pair.left, pair.right, matching.probability(pair.bayes_factor_log2, prior), pair.levels) for pair in pairs
        ]
        run.message = training_summary(plan)
    else:
        run.message = NOT_TRAINABLE
    deterministic = _deterministic_links(loaded, identifiers)
    return _apply(loaded, scored, deterministic, actor=actor, reason=f"resolution run {run.pk}", run=run)


def training_summary(plan: matching.TrainingPlan) -> str:
    """One line on what the model learned from: its EM sessions and the comparisons left at their default m."""
    sessions = ", ".join("+".join(session["rule"]) for session in plan.sessions)
    text = f"model trained on {len(plan.sessions)} EM sessions ({sessions})"
    if plan.untrained():
        text += f"; default m for {', '.join(plan.untrained())}"
    return text


def _blocking_rules_sql(model: dict) -> list[str]:
    return [rule.get("blocking_rule", "") for rule in model.get("blocking_rules_to_generate_predictions", [])]


# ---------------------------------------------------------------------------------------------------------------------
# Merge, unmerge, review


def _views_of(customer: Customer) -> list[IdentityView]:
    rows = SourceRecord.objects.filter(customer=customer).values(*RECORD_COLUMNS)
    return list(_load(rows).views.values())


@transaction.atomic
def customer_merge(
    *, survivor: Customer, duplicate: Customer, actor, reason: str, review: MergeReview | None = None
) -> MergeEvent:
    """Merge `duplicate` into `survivor`: every source record, receipt, interaction and other row moves; audited.

    Refused when the two customers' strong identifiers conflict (cdp.identity.rules), whoever asks.
    """
    if not reason or not reason.strip():
        raise IdentityError(REASON_REQUIRED)
    if survivor.pk == duplicate.pk:
        raise IdentityError(SAME_CUSTOMER)
    locked = list(Customer.objects.select_for_update().filter(pk__in=[survivor.pk, duplicate.pk]).order_by("pk"))
    if any(customer.status != Customer.Status.ACTIVE for customer in locked) or len(locked) != 2:
        raise IdentityError(NOT_ACTIVE)
    if restricted_among([survivor.pk, duplicate.pk]):
        raise IdentityError(RESTRICTED)
    if strong_conflict(_views_of(survivor), _views_of(duplicate)):
        raise IdentityError(CONFLICT_MESSAGE)
    (event,) = merge_groups({survivor.pk: [duplicate.pk]}, actor=actor, reason=reason.strip(), review=review)
    survivor.refresh_from_db()
    duplicate.refresh_from_db()
    return event


@transaction.atomic
def customer_unmerge(*, customer: Customer, actor, reason: str) -> MergeEvent:
    """Split a merged customer out again, as it was before its merge (history restored); audited."""
    if not reason or not reason.strip():
        raise IdentityError(REASON_REQUIRED)
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if customer.status != Customer.Status.MERGED:
        raise IdentityError(NOT_MERGED)
    if restricted_among([customer.pk, customer.merged_into_id]):
        raise IdentityError(RESTRICTED)
    event = (
        MergeEvent.objects.filter(kind=MergeEvent.Kind.MERGE, other_id=customer.pk, undone=False)
        .select_related("survivor")
        .order_by("-at", "-id")
        .first()
    )
    if event is None or event.survivor_id != customer.merged_into_id:
        raise IdentityError(SURVIVOR_MERGED_SINCE)
    return unmerge_event(event, actor=actor, reason=reason.strip())


@transaction.atomic
def merge_review_decide(*, review: MergeReview, accept: bool, actor, reason: str) -> MergeReview:
    """Accept (the two records' customers are merged) or reject (kept apart from now on) a review, with a reason."""
    if not reason or not reason.strip():
        raise IdentityError(REASON_REQUIRED)
    review = MergeReview.objects.select_for_update().get(pk=review.pk)
    if review.status != MergeReview.Status.PENDING:
        raise IdentityError(NOT_PENDING)
    if accept:
        left, right = review.left.customer, review.right.customer
        if left is not None and right is not None and left.pk != right.pk:
            survivor, duplicate = sorted((left, right), key=lambda c: (c.created_at or timezone.now(), str(c.pk)))
            customer_merge(survivor=survivor, duplicate=duplicate, actor=actor, reason=reason, review=review)
    review.status = MergeReview.Status.ACCEPTED if accept else MergeReview.Status.REJECTED
    review.decided_by = actor
    review.decided_at = timezone.now()
    review.reason = reason.strip()
    review.save(update_fields=["status", "decided_by", "decided_at", "reason"])
    return review


def clusters_export_rows() -> list[tuple[str, str, str]]:
    """(source, external_id, customer_id) for every source record, ordered by source and external id."""
    rows = SourceRecord.objects.order_by("source__key", "external_id").values_list(
        "source__key", "external_id", "customer_id"
    )
    return [(source, external_id, str(customer_id or "")) for source, external_id, customer_id in rows.iterator()]
