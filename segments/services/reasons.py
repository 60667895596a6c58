"""A customer's churn risk in words: the features that move their probability most, and what they recognise.

Contributions come from ``learning.contributions`` (the stored model, one feature moved to the population's median at
a time). The sentences read the customer's own values: "no purchase for 94 days, usually every 21", "spend down 60%
on the quarter before". Seasonal buyers and serial returners are named as such, so a long gap in a seasonal buyer's
off-season or a high return rate reads as the habit it is rather than as a bare alarm.
"""

from __future__ import annotations

import numpy as np

from cdp.features import definitions as d

# The features reasons are given for (each with a sentence below); others still count in the model.
EXPLAINED = (
    "recency_days",
    "frequency",
    "trend",
    "spend_365d",
    "avg_basket",
    "tenure_days",
    "interval_days",
    "interval_irregularity",
    "discount_share",
    "return_share",
    "categories",
    "month_concentration",
    "gift_season_share",
    "events_365d",
    "event_recency_days",
)
SEASONAL_CONCENTRATION = (
    0.5  # share of spend in its months (sum of squared monthly shares) from which buying is seasonal
)
SEASONAL_GIFT_SHARE = 0.6
SERIAL_RETURN_SHARE = 0.3
MIN_CONTRIBUTION = 0.01
SHOWN = 3
UP, DOWN = "raises the risk", "lowers the risk"


def _days(value: float) -> str:
    days = round(value)
    return "1 day" if days == 1 else f"{days} days"


def _percent(value: float) -> str:
    return f"{round(100 * value)}%"


def _trend_change(trend: float) -> float:
    """The trend feature ((a − b) / (a + b), last quarter against the one before) as a relative change a / b − 1."""
    trend = float(np.clip(trend, -0.999999, 0.999999))
    return (1 + trend) / (1 - trend) - 1


def _recency(v: float, row: dict) -> str:
    if v >= d.NEVER_DAYS:
        return "no purchase yet"
    if row.get("frequency", 0) >= 2:
        return f"no purchase for {_days(v)}, usually every {round(row.get('interval_days', 0))}"
    return f"no purchase for {_days(v)}, after a single purchase day"


def _trend(v: float, row: dict) -> str:
    if v == 0:
        return "spend flat on the quarter before"
    if v <= -0.999:
        return "no spend this quarter, after spending the quarter before"
    change = _trend_change(v)
    return f"spend {'down' if change < 0 else 'up'} {_percent(abs(change))} on the quarter before"


def _event_recency(v: float, row: dict) -> str:
    if v >= d.NEVER_DAYS or row.get("events_365d", 0) == 0:
        return "no interaction over the last year"
    return f"last interaction {_days(v)} ago"


_SENTENCES = {
    "recency_days": _recency,
    "trend": _trend,
    "event_recency_days": _event_recency,
    "frequency": lambda v, row: "a single purchase day so far" if v <= 1 else f"bought on {round(v)} days",
    "spend_365d": lambda v, row: f"spent {v:,.2f} {row['_currency']} over the last year",
    "avg_basket": lambda v, row: f"baskets of {v:,.2f} {row['_currency']} on average",
    "tenure_days": lambda v, row: f"a customer for {_days(v)}",
    "interval_days": lambda v, row: (
        f"buys every {round(v)} days on average" if row.get("frequency", 0) >= 2 else "no usual interval yet"
    ),
    "interval_irregularity": lambda v, row: "buys at irregular intervals" if v >= 0.5 else "buys at regular intervals",
    "discount_share": lambda v, row: f"{_percent(v)} of spend on discount",
    "return_share": lambda v, row: f"returns {_percent(v)} of purchases",
    "categories": lambda v, row: "buys in one category" if round(v) == 1 else f"buys in {round(v)} categories",
    "month_concentration": lambda v, row: (
        "buys in a few months of the year" if v >= SEASONAL_CONCENTRATION else "buys all year round"
    ),
    "gift_season_share": lambda v, row: f"{_percent(v)} of spend in November and December",
    "events_365d": lambda v, row: (
        "no visit, click or call over the last year" if v == 0 else f"{round(v)} interactions over the last year"
    ),
}


def sentence(name: str, row: dict[str, float], currency: str) -> str:
    """One feature of one customer in words."""
    words = _SENTENCES.get(name)
    if words is None:
        return name.replace("_", " ")
    return words(row.get(name, 0.0), {**row, "_currency": currency}).replace("  ", " ").strip()


def recognised(row: dict[str, float]) -> list[str]:
    """Habits that explain what could look like leaving."""
    notes = []
    if row.get("frequency", 0) >= 2:
        if row.get("gift_season_share", 0) >= SEASONAL_GIFT_SHARE:
            notes.append(
                f"seasonal buyer: {_percent(row['gift_season_share'])} of spend in November and December, "
                "so a gap in the rest of the year is usual"
            )
        elif row.get("month_concentration", 0) >= SEASONAL_CONCENTRATION:
            notes.append("seasonal buyer: buys in a few months of the year, so a gap outside them is usual")
    if row.get("return_share", 0) >= SERIAL_RETURN_SHARE:
        notes.append(f"serial returner: returns {_percent(row['return_share'])} of purchases")
    return notes


def reasons_for(row: dict[str, float], contribution: dict[str, float], currency: str, shown: int = SHOWN) -> list[str]:
    """Up to `shown` reasons, largest effect first, each saying which way it pushes; recognised habits first."""
    ranked = sorted(contribution.items(), key=lambda item: -abs(item[1]))
    said = [
        f"{sentence(name, row, currency)} ({UP if effect > 0 else DOWN})"
        for name, effect in ranked[:shown]
        if abs(effect) >= MIN_CONTRIBUTION
    ]
    return recognised(row) + said
