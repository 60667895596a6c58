"""Churn risk: who will not buy again soon, with the reasons in words.

1. The definition is a setting: no purchase in the horizon after the date ("horizon"), or none within a multiple of
   the customer's own usual interval ("interval", at least CHURN_MIN_DAYS, at most the horizon).
2. Fitted at a cut one horizon before the as-of date: features as of the cut, labels from the horizon after it, so
   everything the model sees lies before the as-of date. A quarter of the customers is held out for validation.
3. Gradient boosting (HistGradientBoosting) against a logistic-regression baseline, BG/NBD's probability of no
   purchase over the horizon (fitted on the same customers' purchase histories, without the labels), and each of the
   two models averaged with BG/NBD; recency alone as the plainest baseline. The candidate with the best ROC-AUC on
   the validation part (before the date) is kept; every candidate's figures are stored.
4. With an as-of date in the past the kept model is checked on what happened in the horizon after it (back-test).
5. Each customer's probability, band (settings cut-offs) and reasons (``reasons``, from ``learning.contributions``).
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from django.conf import settings
from django.utils import timezone

from cdp.features.compute import FeatureMatrix
from segments.services import learning, lifetime
from segments.services.clv import rfm
from segments.services.outcomes import Outcomes
from segments.services.reasons import EXPLAINED, reasons_for
from segments.services.scoring_base import Context, Fitted, NotEnoughData, Predictions

MIN_CLASS = 20
DEFINITIONS = ("horizon", "interval")
UNKNOWN_DEFINITION = "CHURN_DEFINITION must be 'horizon' or 'interval'"


def definition() -> dict:
    chosen = settings.CHURN_DEFINITION
    if chosen not in DEFINITIONS:
        raise ValueError(f"{UNKNOWN_DEFINITION}, not {chosen!r}")
    return {
        "definition": chosen,
        "interval_multiplier": settings.CHURN_INTERVAL_MULTIPLIER,
        "min_days": settings.CHURN_MIN_DAYS,
    }


def labels(matrix: FeatureMatrix, after: Outcomes, start: dt.datetime, horizon: int, rule: dict) -> np.ndarray:
    """1 where the customer churned: no purchase in their window from `start` (see the module's note)."""
    start_day = start.astimezone(timezone.get_default_timezone()).date()
    window = np.full(len(matrix.customer_ids), float(horizon))
    if rule["definition"] == "interval":
        usual = matrix.column("interval_days") * rule["interval_multiplier"]
        own = np.clip(usual, rule["min_days"], horizon)
        window = np.where(matrix.column("frequency") >= 2, own, window)
    first = [after.first_day.get(customer) for customer in matrix.customer_ids]
    gap = np.array([np.inf if day is None else (day - start_day).days for day in first])
    return (gap >= window).astype(int)


class BgNbdNoPurchase:
    """BG/NBD's probability of no purchase over the horizon, as an estimator reading the feature columns (so that
    it blends, predicts and explains like the others)."""

    def __init__(self, model: lifetime.BgNbd, horizon_days: int, names: list[str]) -> None:
        self.model, self.horizon_days = model, horizon_days
        self.columns = [names.index(name) for name in ("frequency", "tenure_days", "recency_days")]

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        frequency, tenure, recency = (x[:, c] for c in self.columns)
        tenure = np.maximum(tenure, 0)
        recency = np.clip(recency, 0, tenure)
        unit = lifetime.DAYS_PER_UNIT
        none = lifetime.bgnbd_p_none(
            self.model, self.horizon_days / unit, np.maximum(frequency - 1, 0), (tenure - recency) / unit, tenure / unit
        )
        return np.column_stack([1 - none, none])


class Blend:
    """The mean of its members' probabilities."""

    def __init__(self, members: list) -> None:
        self.members = members

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        churn = np.mean([member.predict_proba(x)[:, 1] for member in self.members], axis=0)
        return np.column_stack([1 - churn, churn])


ALGORITHMS = {
    "gradient_boosting": "HistGradientBoostingClassifier",
    "logistic": "LogisticRegression",
    "bgnbd": "BG/NBD probability of no purchase",
    "gradient_boosting+bgnbd": "HistGradientBoosting and BG/NBD, averaged",
    "logistic+bgnbd": "LogisticRegression and BG/NBD, averaged",
}


def _candidates(train: FeatureMatrix, rows: np.ndarray, y: np.ndarray, horizon: int, seed: int) -> dict:
    """Gradient boosting, the logistic baseline, BG/NBD (fitted on the same customers' histories, no labels) and
    each model averaged with BG/NBD."""
    x = train.values[rows]
    boosting = learning.gradient_boosting(seed, len(rows)).fit(x, y[rows])
    baseline = learning.logistic(seed).fit(x, y[rows])
    found = {"gradient_boosting": boosting, "logistic": baseline}
    data = rfm(FeatureMatrix([train.customer_ids[i] for i in rows], train.features, x))
    if (data["x"] > 0).sum() >= MIN_CLASS:
        bgnbd = BgNbdNoPurchase(lifetime.bgnbd_fit(data["x"], data["tx"], data["t"]), horizon, train.names)
        if not np.all(np.isfinite(bgnbd.predict_proba(x))):  # a fit that diverged is no candidate
            return found
        found |= {
            "bgnbd": bgnbd,
            "gradient_boosting+bgnbd": Blend([boosting, bgnbd]),
            "logistic+bgnbd": Blend([baseline, bgnbd]),
        }
    return found


def band(probability: float) -> str:
    if probability >= settings.CHURN_BAND_HIGH:
        return "high"
    if probability >= settings.CHURN_BAND_MEDIUM:
        return "medium"
    return "low"


def _estimator_parameters(candidates: dict) -> dict:
    boosting = candidates["gradient_boosting"]
    out = {
        "gradient_boosting": {k: v for k, v in boosting.get_params().items() if isinstance(v, int | float | str | None)}
        | {"rounds": int(boosting.n_iter_)},
        "logistic": {"C": 1.0, "transform": "signed log, standard scaling"},
    }
    if "bgnbd" in candidates:
        out["bgnbd"] = candidates["bgnbd"].model.as_dict() | {"time_unit": lifetime.TIME_UNIT}
    return out


def fit(ctx: Context, horizon: int) -> Fitted:
    rule = definition()
    cut = ctx.moment - dt.timedelta(days=horizon)
    train = ctx.features_at(cut)
    y = labels(train, ctx.outcomes(cut, ctx.moment), cut, horizon, rule)
    churned, stayed = int(y.sum()), int(len(y) - y.sum())
    if min(churned, stayed) < MIN_CLASS:
        raise NotEnoughData(
            f"not enough data to learn churn: of {len(y)} customers who had bought by {cut:%Y-%m-%d}, {churned} "
            f"churned and {stayed} bought again in the {horizon} days after ({MIN_CLASS} of each needed)"
        )
    names, x = train.names, train.values
    train_rows, validation_rows = learning.sample_split(y, limit=settings.SCORES_FIT_SAMPLE, seed=ctx.seed)
    candidates = _candidates(train, train_rows, y, horizon, ctx.seed)
    recency = names.index("recency_days")
    yv, xv = y[validation_rows], x[validation_rows]
    validation = {
        name: learning.classification_metrics(yv, learning.probabilities(model, xv))
        for name, model in candidates.items()
    } | {"recency_alone": {"roc_auc": learning.ranking_auc(yv, xv[:, recency])}}
    kept = max(candidates, key=lambda name: validation[name].get("roc_auc") or 0)
    model, algorithm = candidates[kept], ALGORITHMS[kept]
    metrics: dict = {"validation": validation, "kept": algorithm, "kept_model": kept}
    if ctx.backtest:
        after = ctx.outcomes(ctx.moment, ctx.moment + dt.timedelta(days=horizon))
        yb = labels(ctx.scoring, after, ctx.moment, horizon, rule)
        xb = learning.aligned(ctx.scoring, names)
        metrics["backtest"] = {
            name: learning.classification_metrics(yb, learning.probabilities(candidate, xb))
            for name, candidate in candidates.items()
        } | {
            "recency_alone": {"roc_auc": learning.ranking_auc(yb, xb[:, recency])},
            "horizon_complete": ctx.horizon_complete(horizon),
        }
    artefact = {
        "model": model,
        "names": names,
        "reference": np.median(x[train_rows], axis=0),
    }
    parameters = {
        **rule,
        "horizon_days": horizon,
        "training_cut": cut.isoformat(),
        "features": names,
        "sample": {"trained": len(train_rows), "validated": len(validation_rows), "seed": ctx.seed},
        "estimator": _estimator_parameters(candidates),
        "bands": {"medium": settings.CHURN_BAND_MEDIUM, "high": settings.CHURN_BAND_HIGH},
        "base_rate": churned / len(y),
    }
    return Fitted(
        algorithm=algorithm,
        parameters=parameters,
        metrics=metrics,
        artefact=artefact,
        customers=len(y),
        training_start=None,
        training_end=ctx.moment,
    )


def predict(artefact: dict, matrix: FeatureMatrix, currency: str, as_of: dt.datetime | None = None) -> Predictions:
    names, model = artefact["names"], artefact["model"]
    x = learning.aligned(matrix, names)
    probability = learning.probabilities(model, x)
    explained = [name for name in EXPLAINED if name in names]
    columns = [names.index(name) for name in explained]
    details = []
    for start in range(0, len(x), learning.PREDICT_CHUNK):
        chunk = x[start : start + learning.PREDICT_CHUNK]
        effects = learning.contributions(model, chunk, columns, artefact["reference"])
        for row_values, row_effects in zip(chunk, effects, strict=True):
            row = dict(zip(names, row_values.tolist(), strict=True))
            contribution = dict(zip(explained, row_effects.tolist(), strict=True))
            details.append({"churn_reasons": reasons_for(row, contribution, currency)})
    bands = [band(float(p)) for p in probability]
    return Predictions(score=probability, band=bands, details=details)
