"""The one door to predictive scores (segments.selectors, from the scoring work): campaigns work without them.

Score filters and score-band rules need them and fail with NO_SCORES when they are absent; briefs leave the score
lines out.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

NO_SCORES = "no scores yet: run `manage.py score` first"


class ScoresUnavailable(LookupError):
    """Score filters or rules were asked for, but no scores exist (the scoring code or its model versions)."""


def _selectors():
    try:
        from segments.selectors import customers_with_score, latest_scores
    except ImportError:
        return None, None
    return latest_scores, customers_with_score


def available() -> bool:
    return _selectors()[0] is not None


def scores_for(customer_ids: Iterable[Any]) -> dict[Any, dict]:
    """customer id -> the latest scores (churn_probability, churn_band, churn_reasons, expected_value, ...); empty
    without scores."""
    latest, _ = _selectors()
    ids = list(customer_ids)
    if latest is None or not ids:
        return {}
    return latest(ids) or {}


def ids_with_score(field: str, *, min_value: float | None = None, max_value: float | None = None,
                   band: str | None = None) -> set:  # fmt: skip
    """Customers whose `field` is within the bounds (or in `band`). Raises ScoresUnavailable without scores, and
    ValueError for an unknown field."""
    _, with_score = _selectors()
    if with_score is None:
        raise ScoresUnavailable(NO_SCORES)
    found = set(with_score(field, min_value=min_value, max_value=max_value, band=band))
    return found
