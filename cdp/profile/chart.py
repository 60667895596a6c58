"""The spend-per-month chart as geometry for an inline SVG drawn by the template: no JavaScript, nothing from a CDN."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.formats import date_format

from cdp.money import format_minor
from cdp.profile.selectors import SpendByMonth

WIDTH = 480
HEIGHT = 140
TOP = 8  # room above the tallest bar
LABELS = 18  # room below the baseline for the month labels
BAR_SHARE = 0.7  # of each month's slot


@dataclass(frozen=True)
class Bar:
    # Coordinates are strings: a float in a template would be localised ("12,5"), which SVG does not read.
    x: str
    y: str
    width: str
    height: str
    label_x: str
    label: str
    title: str
    empty: bool


@dataclass(frozen=True)
class SpendChart:
    width: int
    height: int
    baseline: str
    label_y: str
    bars: tuple[Bar, ...]
    currency: str
    other_currencies: tuple[str, ...]
    total_display: str


def _number(value: float) -> str:
    return f"{value:.1f}"


def spend_chart(series: SpendByMonth, *, width: int = WIDTH, height: int = HEIGHT) -> SpendChart:
    """One bar per month, scaled to the largest month; a month with net returns draws no bar but keeps its label."""
    months = series.months
    plot = height - TOP - LABELS
    baseline = height - LABELS
    peak = max((month.amount.minor for month in months), default=0)
    slot = width / max(1, len(months))
    bars = []
    for index, month in enumerate(months):
        value = max(0, month.amount.minor)
        bar_height = plot * value / peak if peak > 0 else 0.0
        left = index * slot + slot * (1 - BAR_SHARE) / 2
        bars.append(
            Bar(
                x=_number(left),
                y=_number(baseline - bar_height),
                width=_number(slot * BAR_SHARE),
                height=_number(bar_height),
                label_x=_number(index * slot + slot / 2),
                label=date_format(month.month, "M"),
                title=f"{date_format(month.month, 'F Y')}: {month.amount.display}",
                empty=value == 0,
            )
        )
    total = sum(month.amount.minor for month in months)
    currency = series.currency
    return SpendChart(
        width=width,
        height=height,
        baseline=_number(baseline),
        label_y=_number(height - 4),
        bars=tuple(bars),
        currency=currency,
        other_currencies=series.other_currencies,
        total_display=format_minor(total, currency),
    )
