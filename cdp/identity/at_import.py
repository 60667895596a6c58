"""Identity matching at import: new records matched against everything stored and among themselves before they are
written (the full run's latest model, its candidate rules and its decisions), so each joins its customer at once.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from django.db.models import Count

from cdp.db import rows_by_any_keys, rows_by_ids, rows_by_keys
from cdp.identity import matching
from cdp.identity.aliases import alias_map
from cdp.identity.features import (
    fold,
    name_key,
)
from cdp.identity.services import (
    COMMON_NAME,
    NAME_BLOCK_CAP,
    RECORD_COLUMNS,
    STRONG_KINDS,
    Decision,
    Loaded,
    Outcome,
    _decide,
    _deterministic_links,
    _enrich,
    _latest_model,
    _load,
    _reviews,
    _strong_identifiers,
)
from cdp.models import Customer, MergeReview, SourceRecord
from consent.selectors import restricted_among

logger = logging.getLogger(__name__)


def _name_counts(keys: set[str]) -> dict[str, int]:
    """How many records carry each of these phonetic full names (one grouped, indexed query)."""
    keys = {key for key in keys if key}
    if not keys:
        return {}
    rows = SourceRecord.objects.filter(match_name__any=list(keys)).values_list("match_name").annotate(n=Count("id"))
    return dict(rows.order_by())


def _candidate_keys(records: list[SourceRecord], loaded_new: Loaded) -> list[tuple[tuple[str, ...], set[tuple]]]:
    """For each indexed key, the exact values of the new records: what the model's blocking rules compare equal."""
    features = dict(loaded_new.features)
    swapped = {(f.fn_ph + f.ln_ph, r.postcode) for r in records if (f := features[r.pk]).fn and f.ln and r.postcode}
    return [
        (("email",), {(r.email,) for r in records if r.email}),
        (("phone",), {(r.phone,) for r in records if r.phone}),
        (("match_family", "birth_date"), {(r.match_family, r.birth_date) for r in records if r.birth_date}),
        (("match_given", "birth_date"), {(r.match_given, r.birth_date) for r in records if r.birth_date}),
        (("match_name", "postcode"), {(r.match_name, r.postcode) for r in records if r.match_name and r.postcode}),
        (("match_name", "postcode"), swapped),
        (("match_address", "postcode"), {(r.match_address, r.postcode) for r in records if r.match_address}),
        (("match_address", "match_family"), {(r.match_address, r.match_family) for r in records if r.match_address}),
        (("match_address", "match_given"), {(r.match_address, r.match_given) for r in records if r.match_address}),
    ]


def _candidates(records: list[SourceRecord], loaded_new: Loaded, name_counts: Mapping[str, int]) -> list[dict]:
    """Existing records sharing a blocking key with one of the new ones, found through indexed columns.

    The keys mirror the model's blocking rules and are looked up as exact tuples, all in one pass over the table on
    PostgreSQL (``rows_by_any_keys``): e-mail, phone, phonetic names with birth date or postcode, swapped names with
    postcode, address with postcode, family name or given name, the same house number and postcode with one of the
    names. The rules that compare on less than an index holds are narrowed in Python over a few columns before any
    record is read whole: names held by few records (alone, with the birth year, or with the town), swapped names
    with the birth year. The model's rules then pick the pairs among these candidates.
    """
    new_ids = {record.pk for record in records}
    lookups = [(columns, [key for key in keys if all(key)]) for columns, keys in _candidate_keys(records, loaded_new)]
    lookups += _numbered_keys(records)
    # ids in the order the keys find them; the exact keys in one pass over the table
    found = dict.fromkeys(rows_by_any_keys(SourceRecord, lookups))
    for record_id in _narrowed_candidates(records, name_counts):
        found[record_id] = None
    # swapped names (as they sound) with the same birth year: the swapped key's records, narrowed by year
    features = dict(loaded_new.features)
    swapped_years = {
        (f.fn_ph + f.ln_ph, r.birth_date.year)
        for r in records
        if (f := features[r.pk]).fn_ph and f.ln_ph and r.birth_date
    }
    rows = rows_by_keys(
        SourceRecord, ("match_name",), {(key,) for key, _ in swapped_years}, ("pk", "match_name", "birth_date")
    )
    for record_id, name, born in rows:
        if born is not None and (name, born.year) in swapped_years:
            found[record_id] = None
    ids = [record_id for record_id in found if record_id not in new_ids]
    rows = {
        row[0]: dict(zip(RECORD_COLUMNS, row, strict=True)) for row in rows_by_ids(SourceRecord, ids, RECORD_COLUMNS)
    }
    return [rows[record_id] for record_id in ids if record_id in rows]


def _narrowed_candidates(records: list[SourceRecord], name_counts: Mapping[str, int]) -> Iterator[int]:
    """Ids of the records a rule on part of an indexed key would pair with a new one (see ``_candidates``)."""
    years = {(r.match_name, r.birth_date.year) for r in records if r.match_name and r.birth_date}
    # the names-and-town rule pairs records of one town where one of them has no postcode
    towns = {(r.match_name, fold(r.city)): not r.postcode for r in records if r.match_name and r.city}

    def same_town(name: str, city: str, postcode: str) -> bool:
        without_postcode = towns.get((name, fold(city)))
        return without_postcode is not None and (without_postcode or not postcode)

    capped = [(key,) for key, count in name_counts.items() if count <= COMMON_NAME]
    for record_id, name, born, city, postcode in rows_by_keys(
        SourceRecord, ("match_name",), capped, ("pk", "match_name", "birth_date", "city", "postcode")
    ):
        if (
            name_counts.get(name, COMMON_NAME + 1) <= NAME_BLOCK_CAP
            or (born is not None and (name, born.year) in years)
            or same_town(name, city, postcode)
        ):
            yield record_id
    # names too common to fetch whole, in the same town (as written; the rule compares it folded)
    common = {(r.match_name, r.city) for r in records if r.match_name and r.city}
    common = {key for key in common if name_counts.get(key[0], 0) > COMMON_NAME}
    for record_id, name, city, postcode in rows_by_keys(
        SourceRecord, ("match_name", "city"), common, ("pk", "match_name", "city", "postcode")
    ):
        if same_town(name, city, postcode):
            yield record_id


def _numbered_keys(records: list[SourceRecord]) -> list[tuple]:
    """The same house number and postcode with one of the names: (postcode, name, the address key's first word),
    compared in the database (a postcode and a phonetic name alone hold many records)."""
    numbered = [r for r in records if r.postcode and r.match_address[:1].isdigit()]
    lookups = []
    for name_column in ("match_family", "match_given"):
        wanted = {(r.postcode, getattr(r, name_column), r.match_address.split(" ", 1)[0]) for r in numbered}
        keys = {key for key in wanted if key[1]}
        lookups.append((("postcode", name_column, "match_address"), keys, ("match_address",)))
    return lookups


@dataclass
class ImportLinks:
    """What matching decided for new records before they are written."""

    outcome: Outcome
    # a new record's own customer -> the customer it joins as it is written (merged at creation)
    survivor_of: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)
    # existing customers a new record joins together: survivor -> the others (merged once the records are written)
    existing_merges: dict[uuid.UUID, list[uuid.UUID]] = field(default_factory=dict)
    reviews: list[MergeReview] = field(default_factory=list)


def identity_match_new_records(*, records: list[SourceRecord], identifiers: list) -> ImportLinks:
    """Match source records about to be written against everything known and among themselves.

    The records carry their reserved ids and each its own new customer (not saved yet), the identifiers their
    values. Candidates come from the stored blocking keys; pairs are scored with the latest trained model (without
    one, only deterministic links are made until `resolve_identities` has trained it), under the same rules as a
    full run. Nothing is written: the importer writes each record straight into the customer it joins (no merge of
    a customer just created), then merges existing customers a record joined and queues the reviews.
    """
    if not records:
        return ImportLinks(Outcome())
    computed = {r.pk: r.match_features for r in records if getattr(r, "match_features", None) is not None}
    new = _load(({name: getattr(r, name) for name in RECORD_COLUMNS} for r in records), computed)
    run = _latest_model()
    in_batch = Counter(r.match_name for r in records if r.match_name)
    name_counts = dict(Counter(_name_counts(set(in_batch))) + in_batch)
    existing = _load(_candidates(records, new, name_counts))
    # what depends on the whole record set, as the last full run learned it (aliases) or counted now (names)
    aliases = alias_map(run.parameters.get("given_name_aliases", [])) if run is not None else {}
    name_counts |= _name_counts({name_key(features) for _, features in existing.features} - set(name_counts))
    _enrich(new, aliases, name_counts)
    _enrich(existing, aliases, name_counts)
    loaded = Loaded(
        views={**existing.views, **new.views},
        features=[*new.features, *existing.features],
        customer_of={**existing.customer_of, **new.customer_of},
    )
    scored = []
    if run is not None:
        prior = run.parameters.get("prior", run.model.get("probability_two_random_records_match", 1e-6))
        pairs = matching.predict_incremental(
            run.model, matching.features_table(new.features), matching.features_table(existing.features)
        )
        scored = [
            (pair.left, pair.right, matching.probability(pair.bayes_factor_log2, prior), pair.levels) for pair in pairs
        ]
    strong = [(i.source_record_id, i.kind, i.value) for i in identifiers if i.kind in STRONG_KINDS]
    stored = _strong_identifiers(values={value for _, _, value in strong})
    deterministic = _deterministic_links(loaded, [*stored, *strong])
    decision = _decide(loaded, scored, deterministic)
    links = ImportLinks(decision.outcome, reviews=_reviews(loaded, decision, run=None))
    _plan_import_merges(links, loaded, decision, fresh={record.customer_id for record in records})
    return links


def _plan_import_merges(links: ImportLinks, loaded: Loaded, decision: Decision, fresh: set[uuid.UUID]) -> None:
    """Who each cluster's survivor is: its oldest existing customer (a restricted one is neither merged nor merged
    into), else its first new record's; new records' customers join it, existing ones are merged into it."""
    clusters = []
    for ids in decision.groups.values():
        customers = list(dict.fromkeys(loaded.customer_of[record_id] for record_id in ids))
        if len(customers) > 1:
            clusters.append(customers)
    existing = {pk for customers in clusters for pk in customers if pk not in fresh}
    restricted = restricted_among(list(existing)) if existing else set()
    created = dict(Customer.objects.filter(pk__any=list(existing)).values_list("pk", "created_at")) if existing else {}
    for customers in clusters:
        old = sorted((pk for pk in customers if pk not in fresh), key=lambda pk: (created.get(pk), str(pk)))
        usable = [pk for pk in old if pk not in restricted]
        if old and not usable:
            continue  # the records stay their own customers; the review queue or a lifted restriction decides
        survivor = usable[0] if usable else customers[0]
        for pk in customers:
            if pk == survivor or pk in restricted:
                continue
            if pk in fresh:
                links.survivor_of[pk] = survivor
            else:
                links.existing_merges.setdefault(survivor, []).append(pk)
    links.outcome.merges = len(links.survivor_of) + sum(len(pks) for pks in links.existing_merges.values())
