"""What every kind of score shares: the context of one scoring (the as-of moment, the features and outcomes it reads,
cached), what a fit returns, what a prediction returns, and the "not enough data" refusal."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from django.conf import settings

from cdp.features.compute import FeatureMatrix
from cdp.features.services import features_compute
from segments.services.outcomes import Outcomes, data_end, outcomes_between


class NotEnoughData(Exception):
    """The data cannot support the model: the message says what is missing, instead of a number."""


@dataclass
class Fitted:
    algorithm: str
    parameters: dict
    metrics: dict
    artefact: object
    customers: int
    training_start: dt.datetime | None
    training_end: dt.datetime | None


@dataclass
class Predictions:
    score: np.ndarray  # the kind's main figure, one per customer
    band: list[str] | None
    details: list[dict]  # the other figures, by their column names


def buyers(matrix: FeatureMatrix) -> FeatureMatrix:
    """The customers who bought before the matrix's date: the ones scores are for."""
    keep = matrix.column("frequency") > 0
    return FeatureMatrix(
        [c for c, kept in zip(matrix.customer_ids, keep, strict=True) if kept],
        matrix.features,
        matrix.values[keep],
        matrix.parameters,
    )


@dataclass
class Context:
    moment: dt.datetime
    scoring: FeatureMatrix  # buyers as of the moment
    backtest: bool  # an as-of date was given: check on what happened after it
    seed: int = 42
    currency: str = ""
    _features: dict = field(default_factory=dict)
    _outcomes: dict = field(default_factory=dict)
    _end: dt.datetime | None = None

    def features_at(self, moment: dt.datetime) -> FeatureMatrix:
        """Buyers' features as of `moment` (never stored: a training cut, not a snapshot scores are read from)."""
        if moment not in self._features:
            self._features[moment] = buyers(features_compute(as_of=moment))
        return self._features[moment]

    def outcomes(self, start: dt.datetime, end: dt.datetime, categories: bool = False) -> Outcomes:
        key = (start, end, categories)
        if key not in self._outcomes:
            self._outcomes[key] = outcomes_between(start=start, end=end, with_categories=categories)
        return self._outcomes[key]

    def horizon_complete(self, horizon: int) -> bool:
        """Whether the data reach the end of the back-test's horizon (else its figures undercount purchases)."""
        if self._end is None:
            self._end = data_end()
        return self._end is not None and self._end >= self.moment + dt.timedelta(days=horizon - 1)


def data_problem(scoring: FeatureMatrix, moment: dt.datetime) -> str | None:
    """Why the data cannot support predictions as of `moment`, or None (thresholds are settings)."""
    count = len(scoring.customer_ids)
    day = f"{moment:%Y-%m-%d}"
    if count < settings.SCORES_MIN_BUYERS:
        return f"not enough data: {count} customers bought before {day} ({settings.SCORES_MIN_BUYERS} needed)"
    history = float(scoring.column("tenure_days").max())
    if history < settings.SCORES_MIN_HISTORY_DAYS:
        return (
            f"not enough data: the purchase history spans {history:.0f} days before {day} "
            f"({settings.SCORES_MIN_HISTORY_DAYS} needed)"
        )
    latest = float(scoring.column("recency_days").min())
    if latest > settings.SCORES_RECENT_ORDER_DAYS:
        return (
            f"not enough data: no purchase in the {settings.SCORES_RECENT_ORDER_DAYS} days before {day} "
            f"(the latest is {latest:.0f} days before)"
        )
    return None
