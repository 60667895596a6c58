"""Reads of segmentation: runs, a segment's customers, a customer's membership and its history, flows, exports.

Every read of customers in segments goes through consent's processing selector: a customer who objected to profiling
or is restricted since the run is not shown in a segment, a page or an export, whatever the stored rows say.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery

from cdp.models import Customer, SourceRecord
from consent.selectors import customers_processable
from segments.models import CustomerScore, ModelVersion, Segment, SegmentationRun, SegmentMembership

EXPORT_CHUNK = 5000


def _processable_ids() -> QuerySet:
    return customers_processable(purpose="profiling", customers=Customer.objects.active()).values("pk")


def runs_list() -> QuerySet[SegmentationRun]:
    return SegmentationRun.objects.select_related("actor", "snapshot").annotate(
        segment_count=Count("segments", filter=Q(segments__retired=False))
    )


def run_active() -> SegmentationRun | None:
    return SegmentationRun.objects.filter(is_active=True).first()


def run_segments(run: SegmentationRun) -> list[Segment]:
    return list(run.segments.filter(retired=False).order_by("-size", "number"))


def segment_members(segment: Segment) -> QuerySet[Customer]:
    """The segment's current customers who may still be profiled, by name."""
    ids = SegmentMembership.objects.filter(segment=segment, left_at__isnull=True).values("customer_id")
    return (
        Customer.objects.filter(pk__in=ids)
        .filter(pk__in=_processable_ids())
        .order_by("last_name", "first_name", "pk")
        .only("pk", "first_name", "last_name", "city", "postcode")
    )


def customer_segment(customer: Customer) -> dict | None:
    """The customer's segment in the active segmentation (else the latest run), when they entered it, and their
    moves in that run."""
    run = (  # the active segmentation, else the latest finished run: one query
        SegmentationRun.objects.filter(Q(is_active=True) | Q(status=SegmentationRun.Status.SUCCEEDED))
        .order_by("-is_active", "-created_at")
        .only("pk", "is_active", "created_at")
        .first()
    )
    if run is None:
        return None
    if not customers_processable(purpose="profiling", customers=Customer.objects.filter(pk=customer.pk)).exists():
        return {"run": run, "membership": None, "history": [], "excluded": True}
    history = list(
        SegmentMembership.objects.filter(run=run, customer=customer).select_related("segment").order_by("entered_at")
    )
    current = next((m for m in history if m.left_at is None), None)
    return {"run": run, "membership": current, "history": history, "excluded": False}


def _members_at(run: SegmentationRun, moment: dt.datetime) -> QuerySet[SegmentMembership]:
    return SegmentMembership.objects.filter(run=run, entered_at__lte=moment).filter(
        Q(left_at__isnull=True) | Q(left_at__gt=moment)
    )


def segment_flows(run: SegmentationRun, start: dt.datetime, end: dt.datetime) -> dict[tuple[int, int], int]:
    """How many customers were in segment A at `start` and in segment B at `end` (A == B: stayed).

    Counted in the database: each membership held at `start` looks up its customer's membership at `end`."""
    later = _members_at(run, end).filter(customer_id=OuterRef("customer_id")).values("segment_id")[:1]
    rows = (
        _members_at(run, start)
        .annotate(later=Subquery(later))
        .exclude(later=None)
        .values_list("segment_id", "later")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {(before, after): n for before, after, n in rows}


def segment_size_history(segment: Segment) -> list[tuple[dt.datetime, int]]:
    """(moment, size) after each change of the segment's membership."""
    events: list[tuple[dt.datetime, int]] = []
    for entered, left in SegmentMembership.objects.filter(segment=segment).values_list("entered_at", "left_at"):
        events.append((entered, 1))
        if left is not None:
            events.append((left, -1))
    size, history = 0, []
    for moment, change in sorted(events):
        size += change
        if history and history[-1][0] == moment:
            history[-1] = (moment, size)
        else:
            history.append((moment, size))
    return history


def export_rows(run: SegmentationRun) -> Iterator[tuple[str, str, str]]:
    """(customer_id, external_ids joined by ';', segment name) of the run's current members who may be profiled."""
    names = dict(Segment.objects.filter(run=run).values_list("pk", "name"))
    memberships = (
        SegmentMembership.objects.filter(run=run, left_at__isnull=True, customer_id__in=_processable_ids())
        .order_by("customer_id")
        .values_list("customer_id", "segment_id")
    )
    batch: list[tuple] = []
    for row in memberships.iterator(chunk_size=EXPORT_CHUNK):
        batch.append(row)
        if len(batch) >= EXPORT_CHUNK:
            yield from _with_external_ids(batch, names)
            batch = []
    yield from _with_external_ids(batch, names)


def _with_external_ids(batch: list[tuple], names: dict) -> Iterator[tuple[str, str, str]]:
    if not batch:
        return
    ids: dict = defaultdict(list)
    records = SourceRecord.objects.filter(customer_id__in=[c for c, _ in batch]).order_by("source__key", "external_id")
    for customer, source, external_id in records.values_list("customer_id", "source__key", "external_id"):
        ids[customer].append(f"{source}:{external_id}")
    for customer, segment in batch:
        yield str(customer), ";".join(ids.get(customer, [])), names[segment]


# --------------------------------------------------------------------------------------------------------------------
# Scores: what the active model versions say of customers (the profile, the API, campaigns read these).
# --------------------------------------------------------------------------------------------------------------------

# field -> (kind, where: "score", "band" or the details key)
SCORE_FIELDS = {
    "churn_probability": ("churn", "score"),
    "churn_band": ("churn", "band"),
    "purchase_probability": ("propensity", "score"),
    "discount_purchase_probability": ("propensity", "discount_purchase_probability"),
    "discount_share": ("propensity", "discount_share"),
    "offered_purchase_probability": ("propensity", "offered_purchase_probability"),
    "not_offered_purchase_probability": ("propensity", "not_offered_purchase_probability"),
    "offer_uplift": ("propensity", "offer_uplift"),
    "expected_purchases": ("clv", "expected_purchases"),
    "p_alive": ("clv", "p_alive"),
    "expected_value": ("clv", "score"),
    "historic_value": ("clv", "historic_value"),
}
CATEGORY_FIELD = "purchase_probability_"
BANDS = ("low", "medium", "high")
MAIN_FIELD = {"churn": "churn_probability", "propensity": "purchase_probability", "clv": "expected_value"}
# the predictions file's columns of each kind, as DESIGN.md names them
PREDICTION_FIELDS = {
    "churn": ["churn_probability"],
    "propensity": ["purchase_probability"],
    "clv": ["expected_purchases", "p_alive", "expected_value"],
}
UNKNOWN_FIELD = "unknown score field"
UNKNOWN_BAND = "a churn band is one of low, medium, high"
BAND_ONLY = "band applies to churn_band only; min_value and max_value to the numeric fields"


def active_versions() -> dict[str, ModelVersion]:
    return {v.kind: v for v in ModelVersion.objects.filter(is_active=True, status=ModelVersion.Status.SUCCEEDED)}


def model_versions_list() -> QuerySet[ModelVersion]:
    return ModelVersion.objects.select_related("snapshot").defer("artefact").order_by("-created_at", "-id")


def latest_model_version(kind: str) -> ModelVersion | None:
    """The kind's latest version whatever its status (a page says "not enough data" from it)."""
    return ModelVersion.objects.filter(kind=kind).defer("artefact").order_by("-created_at", "-id").first()


def _score_fields(version: ModelVersion, score: CustomerScore) -> dict:
    out: dict = {}
    details = score.details or {}
    if version.kind == "churn":
        out = {
            "churn_probability": score.score,
            "churn_band": score.band,
            "churn_reasons": list(details.get("churn_reasons", [])),
        }
    elif version.kind == "propensity":
        out = {"purchase_probability": score.score, **details}
    elif version.kind == "clv":
        next_order = details.get("next_order_date")
        out = {
            "expected_value": score.score,
            **{k: v for k, v in details.items() if k != "next_order_date"},
            "next_order_date": dt.date.fromisoformat(next_order) if next_order else None,
        }
    return out


def latest_scores(customer_ids) -> dict:
    """Per customer id (of those who may be profiled), the active versions' figures: churn_probability, churn_band,
    churn_reasons, purchase_probability(_<category>), expected_purchases, p_alive, expected_value, historic_value,
    next_order_date, and model_versions (readable names). A kind without an active version leaves its keys out."""
    versions = {v.pk: v for v in active_versions().values()}
    ids = list(customer_ids)
    if not versions or not ids:
        return {}
    scores = (
        CustomerScore.objects.filter(version_id__in=list(versions), customer_id__in=ids)
        .filter(customer_id__in=_processable_ids())
        .order_by("customer_id", "version_id")
    )
    out: dict = {}
    for score in scores:
        version = versions[score.version_id]
        entry = out.setdefault(score.customer_id, {"model_versions": []})
        entry.update(_score_fields(version, score))
        entry["model_versions"].append(version.name)
    return out


def _field(field: str) -> tuple[str, str]:
    if field in SCORE_FIELDS:
        return SCORE_FIELDS[field]
    if field.startswith(CATEGORY_FIELD) and len(field) > len(CATEGORY_FIELD):
        return "propensity", field
    known = ", ".join([*SCORE_FIELDS, f"{CATEGORY_FIELD}<category>"])
    raise ValueError(f"{UNKNOWN_FIELD} {field!r}: one of {known}")


def customers_with_score(field: str, min_value: float | None = None, max_value: float | None = None, band=None):
    """Ids of the customers (who may be profiled) whose active score satisfies the condition: `min_value` ≤ field ≤
    `max_value` for a numeric field, `band` for churn_band. Unknown field or band: ValueError."""
    kind, where = _field(field)
    if (band is not None and where != "band") or (where == "band" and (min_value, max_value) != (None, None)):
        raise ValueError(BAND_ONLY)
    if band is not None and band not in BANDS:
        raise ValueError(f"{UNKNOWN_BAND}, not {band!r}")
    version = active_versions().get(kind)
    if version is None:
        return CustomerScore.objects.none().values_list("customer_id", flat=True)
    if field.startswith(CATEGORY_FIELD):
        categories = version.parameters.get("categories", [])
        if field[len(CATEGORY_FIELD) :] not in categories:
            raise ValueError(f"{UNKNOWN_FIELD} {field!r}: the active propensity model knows the categories "
                             f"{', '.join(categories) or '(none)'}")  # fmt: skip
    rows = CustomerScore.objects.filter(version=version)
    column = "score" if where == "score" else ("band" if where == "band" else f"details__{where}")
    if band is not None:
        rows = rows.filter(band=band)
    if min_value is not None:
        rows = rows.filter(**{f"{column}__gte": float(min_value)})
    if max_value is not None:
        rows = rows.filter(**{f"{column}__lte": float(max_value)})
    return rows.filter(customer_id__in=_processable_ids()).order_by("customer_id").values_list("customer_id", flat=True)


def prediction_columns(versions: list[ModelVersion]) -> list[str]:
    columns: list[str] = []
    for kind in ("churn", "propensity", "clv"):
        version = next((v for v in versions if v.kind == kind), None)
        if version is None:
            continue
        columns += PREDICTION_FIELDS[kind]
        if kind == "propensity":
            targets = version.parameters.get("targets", [])
            columns += [f"{CATEGORY_FIELD}{c}" for c in version.parameters.get("categories", [])
                        if f"{CATEGORY_FIELD}{c}" in targets]  # fmt: skip
            columns += version.parameters.get("offer_response", [])
    return columns


def prediction_rows(versions: list[ModelVersion], columns: list[str]) -> Iterator[list]:
    """customer_id, external_ids and the `columns` of every customer the versions scored (who may be profiled)."""
    if not versions:
        return
    ids = sorted(set(CustomerScore.objects.filter(version__in=versions).values_list("customer_id", flat=True)), key=str)
    by_kind = {v.kind: v for v in versions}
    for start in range(0, len(ids), EXPORT_CHUNK):
        chunk = ids[start : start + EXPORT_CHUNK]
        allowed = set(_processable_ids().filter(pk__in=chunk).values_list("pk", flat=True))
        values: dict = defaultdict(dict)
        for score in CustomerScore.objects.filter(version__in=versions, customer_id__in=chunk).select_related(None):
            kind = next(k for k, v in by_kind.items() if v.pk == score.version_id)
            values[score.customer_id][MAIN_FIELD[kind]] = score.score
            values[score.customer_id].update(score.details or {})
        externals: dict = defaultdict(list)
        records = SourceRecord.objects.filter(customer_id__in=chunk).order_by("source__key", "external_id")
        for customer, source, external_id in records.values_list("customer_id", "source__key", "external_id"):
            externals[customer].append(f"{source}:{external_id}")
        for customer in chunk:
            if customer not in allowed:
                continue
            row = values[customer]
            yield [str(customer), ";".join(externals.get(customer, [])), *(_cell(row.get(c)) for c in columns)]


def _cell(value) -> str:
    if value is None:
        return ""
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def scores_of_customer(customer: Customer) -> dict[str, dict]:
    """For the profile: per kind (churn, clv, propensity), the status ("scored", "not_computed", "not_enough_data",
    "failed", "not_scored", "not_profiled") and, when scored, the version's name, date, horizon and the figures."""
    kinds = ("churn", "clv", "propensity")
    rows = list(
        CustomerScore.objects.filter(customer=customer, version__is_active=True)
        .select_related("version")
        .defer("version__artefact", "version__parameters", "version__metrics", "version__library_versions")
    )
    scored = {row.version.kind: row for row in rows}
    out: dict[str, dict] = {}
    if (
        scored
        and not customers_processable(purpose="profiling", customers=Customer.objects.filter(pk=customer.pk)).exists()
    ):
        return {kind: {"status": "not_profiled"} for kind in kinds}
    missing = [kind for kind in kinds if kind not in scored]
    latest: dict[str, ModelVersion] = {}
    if missing:
        for version in (
            ModelVersion.objects.filter(kind__in=missing)
            .only("kind", "status", "message", "is_active", "number", "created_at", "as_of")
            .order_by("-created_at", "-id")[:50]
        ):
            latest.setdefault(version.kind, version)
    for kind in kinds:
        if kind in scored:
            row = scored[kind]
            out[kind] = {
                "status": "scored",
                "version": row.version.name,
                "scored_at": row.scored_at,
                "horizon_days": row.version.horizon_days,
                "figures": _score_fields(row.version, row),
            }
            continue
        version = latest.get(kind)
        if version is None:
            out[kind] = {"status": "not_computed"}
        elif version.status == ModelVersion.Status.NOT_ENOUGH_DATA:
            out[kind] = {"status": "not_enough_data", "message": version.message, "version": version.name}
        elif version.status == ModelVersion.Status.FAILED:
            out[kind] = {"status": "failed", "version": version.name}
        else:  # an active model that did not score this customer: no purchase before its date, or left out
            out[kind] = {"status": "not_scored"}
    return out


def segment_score_distribution(run: SegmentationRun) -> dict:
    """Per segment of the run (current members who may be profiled), the active scores' distribution: customers
    scored, churn band shares and mean probability, mean purchase probability, mean and total predicted value; with
    the names of the versions the figures come from."""
    versions = active_versions()
    if not versions:
        return {"versions": [], "segments": {}}
    members = dict(
        SegmentMembership.objects.filter(run=run, left_at__isnull=True, customer_id__in=_processable_ids())
        .values_list("customer_id", "segment_id")
        .iterator(chunk_size=EXPORT_CHUNK)
    )
    sums: dict = defaultdict(lambda: defaultdict(float))
    for kind, version in versions.items():
        rows = CustomerScore.objects.filter(version=version).values_list("customer_id", "score", "band")
        for customer, score, band in rows.iterator(chunk_size=EXPORT_CHUNK):
            segment = members.get(customer)
            if segment is None:
                continue
            figures = sums[segment]
            figures[f"{kind}_n"] += 1
            figures[f"{kind}_sum"] += score
            if band:
                figures[f"band_{band}"] += 1
    out = {}
    for segment, figures in sums.items():
        row: dict = {}
        if figures.get("churn_n"):
            n = figures["churn_n"]
            row["churn_scored"] = int(n)
            row["churn_mean"] = figures["churn_sum"] / n
            row["bands"] = {band: figures.get(f"band_{band}", 0) / n for band in BANDS}
        if figures.get("propensity_n"):
            row["purchase_mean"] = figures["propensity_sum"] / figures["propensity_n"]
        if figures.get("clv_n"):
            row["value_mean"] = figures["clv_sum"] / figures["clv_n"]
            row["value_total"] = figures["clv_sum"]
        out[segment] = row
    return {"versions": [v.name for v in versions.values()], "segments": out}
