"""The campaigns' door to predictive scores (segments.selectors): score filters, score-band rules and the score lines
of briefs go through it.

Score filters and score-band rules need an active model version and fail with NO_SCORES without one; briefs then
leave the score lines out.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from segments.models import ModelVersion
from segments.selectors import customers_with_score, latest_scores

NO_SCORES = "no scores yet: run `manage.py score` first"


class ScoresUnavailable(LookupError):
    """Score filters or rules were asked for, but no model version is active."""


def available() -> bool:
    return ModelVersion.objects.filter(is_active=True, status=ModelVersion.Status.SUCCEEDED).exists()


def scores_for(customer_ids: Iterable[Any]) -> dict[Any, dict]:
    """customer id -> the latest scores (churn_probability, churn_band, churn_reasons, expected_value, ...); empty
    without scores."""
    ids = list(customer_ids)
    if not ids:
        return {}
    return latest_scores(ids) or {}


def ids_with_score(
    field: str, *, min_value: float | None = None, max_value: float | None = None, band: str | None = None
) -> set:
    """Customers whose `field` is within the bounds (or in `band`). Raises ScoresUnavailable without an active model,
    and ValueError for an unknown field."""
    if not available():
        raise ScoresUnavailable(NO_SCORES)
    return set(customers_with_score(field, min_value=min_value, max_value=max_value, band=band))
