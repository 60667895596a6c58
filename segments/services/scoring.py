"""Scoring: fit a model version of each kind asked for, score every customer who may be profiled, store both.

1. The features of every profilable customer as of the date are computed and stored as a snapshot (nothing at or
   after the date is read); the customers who bought before it are the ones scored.
2. If the data cannot support a prediction (settings: buyers, history, a recent purchase), each version is stored
   as "not enough data" with the reason, and no number is written.
3. Each kind fits (``churn``, ``propensity``, ``clv``), is checked on the horizon after the date when the date is in
   the past (back-test), and predicts; the version keeps its parameters, metrics, library versions and artefact
   (checksummed), and the scores are written in batches. Without an as-of date the version becomes the active one.
4. The processing register records the run under "scoring".

The nightly refresh (``scores_refresh``) re-scores today's profilable customers with each active version.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import ModuleType

import numpy as np
from threadpoolctl import threadpool_limits

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cdp.features.compute import FeatureMatrix
from cdp.features.selectors import feature_matrix
from cdp.features.services import as_of_moment, feature_snapshot_create, features_compute
from consent.models import RunStatus
from consent.services.register import ACTIVITY_SCORING, processing_run_record
from segments.models import CustomerScore, ModelVersion
from segments.services import churn, clv, propensity
from segments.services.outcomes import data_end
from segments.services.registry import artefact_dump, artefact_load, model_version_activate, model_version_create
from segments.services.scoring_base import Context, NotEnoughData, Predictions, buyers, data_problem

logger = logging.getLogger(__name__)

KINDS: dict[str, ModuleType] = {"churn": churn, "propensity": propensity, "clv": clv}
UNKNOWN_KIND = "unknown score kind"
NOBODY = "not enough data: nobody bought before"
NO_PROFILING = (
    "not enough data: no customer may be profiled (scores need consent to profiling: import_consents with purpose "
    "profiling, or the purpose's legal basis in the admin)"
)
SURVIVAL_NOT_AVAILABLE = "survival (life moments) is not available yet: score churn, propensity, clv or all"


def _moment(as_of) -> tuple[dt.datetime, str]:
    """The as-of moment, and a note when it is not today's: without a date, scores are as of now, unless the data
    stop more than SCORES_RECENT_ORDER_DAYS ago (an export): then as of the day after the latest purchase, so that
    nobody looks lapsed for the weeks the file does not cover."""
    if as_of is not None:
        return as_of_moment(as_of), ""
    now = timezone.now()
    end = data_end()
    if end is None or now - end <= dt.timedelta(days=settings.SCORES_RECENT_ORDER_DAYS):
        return now, ""
    day = end.astimezone(timezone.get_default_timezone()).date() + dt.timedelta(days=1)
    return as_of_moment(day), f"the data end on {day - dt.timedelta(days=1):%Y-%m-%d}: scores are as of {day:%Y-%m-%d}"


def default_horizon(kind: str) -> int:
    return {
        "churn": settings.CHURN_HORIZON_DAYS,
        "propensity": settings.PROPENSITY_HORIZON_DAYS,
        "clv": settings.CLV_HORIZON_DAYS,
    }[kind]


@dataclass
class ScoringRun:
    moment: dt.datetime
    snapshot_id: int | None
    versions: list[ModelVersion] = field(default_factory=list)
    problem: str | None = None
    note: str = ""


def scores_run(
    *,
    kinds: Iterable[str],
    as_of: dt.date | dt.datetime | None = None,
    horizon_days: int | None = None,
    seed: int = 42,
    actor=None,
) -> ScoringRun:
    """Fit, check and store one version of each of `kinds`, and score the customers with it (see the module)."""
    kinds = list(kinds)
    for kind in kinds:
        if kind not in KINDS:
            raise ValueError(SURVIVAL_NOT_AVAILABLE if kind == "survival" else f"{UNKNOWN_KIND} {kind!r}")
    moment, note = _moment(as_of)
    snapshot = feature_snapshot_create(as_of=moment, actor=actor)
    scoring = buyers(feature_matrix(snapshot))
    if not snapshot.processable:
        problem = NO_PROFILING
    else:
        problem = data_problem(scoring, moment) if scoring.customer_ids else f"{NOBODY} {moment:%Y-%m-%d}"
    ctx = Context(moment=moment, scoring=scoring, backtest=as_of is not None, seed=seed, currency=snapshot.currency)
    run = ScoringRun(moment=moment, snapshot_id=snapshot.pk, problem=problem, note=note)
    for kind in kinds:
        horizon = horizon_days or default_horizon(kind)
        version = model_version_create(kind=kind, as_of=moment, horizon_days=horizon, seed=seed, actor=actor)
        version.snapshot = snapshot
        with threadpool_limits(limits=settings.SCORES_THREADS):
            run.versions.append(_fit_and_score(version, ctx, problem, activate=as_of is None))
    return run


def _fit_and_score(version: ModelVersion, ctx: Context, problem: str | None, *, activate: bool) -> ModelVersion:
    started = time.monotonic()
    module = KINDS[version.kind]
    try:
        if problem:
            raise NotEnoughData(problem)
        fitted = module.fit(ctx, version.horizon_days)
        predictions = module.predict(fitted.artefact, ctx.scoring, ctx.currency, ctx.moment)
        blob, checksum = artefact_dump(fitted.artefact)
        with transaction.atomic():
            version.algorithm = fitted.algorithm[:80]
            version.parameters = _plain(fitted.parameters)
            version.metrics = _plain(fitted.metrics)
            version.customers = fitted.customers
            version.training_start = fitted.training_start
            version.training_end = fitted.training_end
            version.artefact, version.artefact_sha256 = blob, checksum
            version.scored = scores_write(version, ctx.scoring.customer_ids, predictions)
            version.status = ModelVersion.Status.SUCCEEDED
            _finish(version, started)
            if activate:
                model_version_activate(version=version)
                version.is_active = True
    except NotEnoughData as exc:
        version.status = ModelVersion.Status.NOT_ENOUGH_DATA
        version.message = str(exc)
        _finish(version, started)
    except Exception as exc:
        logger.exception("scoring %s failed", version.kind)
        version.status = ModelVersion.Status.FAILED
        version.message = f"{type(exc).__name__}: {exc}"[:2000]
        _finish(version, started)
    _register(version)
    return version


def _finish(version: ModelVersion, started: float) -> None:
    version.finished_at = timezone.now()
    version.seconds = time.monotonic() - started
    version.save()


def _plain(value):
    """JSON-ready: numpy numbers become Python ones, NaN becomes None."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def scores_write(version: ModelVersion, customer_ids: list, predictions: Predictions) -> int:
    """Replace the version's scores with these, SCORES_BATCH_SIZE rows at a time."""
    CustomerScore.objects.filter(version=version).delete()
    now = timezone.now()
    batch: list[CustomerScore] = []
    for i, customer in enumerate(customer_ids):
        batch.append(
            CustomerScore(
                version=version,
                customer_id=customer,
                score=round(float(predictions.score[i]), 6),
                band=predictions.band[i] if predictions.band else "",
                details=_plain(predictions.details[i]),
                scored_at=now,
            )
        )
        if len(batch) >= settings.SCORES_BATCH_SIZE:
            CustomerScore.objects.bulk_create(batch)
            batch = []
    CustomerScore.objects.bulk_create(batch)
    return len(customer_ids)


def scores_refresh(*, as_of: dt.datetime | None = None) -> dict[str, int]:
    """Nightly: score today's profilable buyers with each active version (customers who may no longer be profiled
    lose their scores). Returns the customers scored per kind."""
    active = list(ModelVersion.objects.filter(is_active=True, status=ModelVersion.Status.SUCCEEDED))
    if not active:
        return {}
    moment = as_of or _moment(None)[0]  # an export whose data stopped is scored as of its end, as scores_run does
    matrix: FeatureMatrix = buyers(features_compute(as_of=moment))
    counts = {}
    for version in active:
        artefact = artefact_load(version)
        with threadpool_limits(limits=settings.SCORES_THREADS):
            predictions = KINDS[version.kind].predict(artefact, matrix, settings.CLIENTELE_CURRENCY, moment)
        with transaction.atomic():
            counts[version.kind] = scores_write(version, matrix.customer_ids, predictions)
            ModelVersion.objects.filter(pk=version.pk).update(scored=counts[version.kind])
    return counts


def _register(version: ModelVersion) -> None:
    succeeded = version.status == ModelVersion.Status.SUCCEEDED
    processing_run_record(
        activity=ACTIVITY_SCORING,
        kind=f"score_{version.kind}",
        started_at=version.created_at,
        finished_at=version.finished_at or timezone.now(),
        status=RunStatus.SUCCEEDED if succeeded else RunStatus.FAILED,
        actor=version.actor,
        counts={"customers": version.customers, "scored": version.scored},
        parameters={"kind": version.kind, "as_of": version.as_of.isoformat(), "horizon_days": version.horizon_days},
        reference=version,
        message="" if succeeded else version.message[:200],
    )
