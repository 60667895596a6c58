"""The spend-per-month chart as geometry for an inline SVG drawn by the template: no JavaScript, nothing from a CDN.

Each bar is a month, labelled with the month and, under the first month and every January, the year; a value axis on
the left gives the amounts of its gridlines (0, half the top, the top: a round figure just above the best month).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.formats import date_format

from cdp.money import currency_exponent, format_minor
from cdp.profile.selectors import SpendByMonth

WIDTH = 480
HEIGHT = 160
LEFT = 62  # room for the value axis' labels
TOP = 10  # room above the top gridline
LABELS = 30  # room below the baseline for the months and the years
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
    year: str  # under the first month and every January, else ""
    title: str
    empty: bool


@dataclass(frozen=True)
class Tick:
    y: str
    label: str


@dataclass(frozen=True)
class SpendChart:
    width: int
    height: int
    left: str
    baseline: str
    label_y: str
    year_y: str
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]
    currency: str
    other_currencies: tuple[str, ...]
    total_display: str


def _number(value: float) -> str:
    return f"{value:.1f}"


def nice_top(peak_minor: int, currency: str) -> int:
    """The smallest 1, 2 or 5 × 10ⁿ whole units at or above the peak, in minor units (a peak of 437.50 € -> 500 €)."""
    unit = 10 ** currency_exponent(currency)
    whole = max(1, -(-peak_minor // unit))  # ceiling, in whole units
    magnitude = 10 ** (len(str(whole)) - 1)
    for step in (1, 2, 5, 10):
        if whole <= step * magnitude:
            return step * magnitude * unit
    return 10 * magnitude * unit  # pragma: no cover - the loop ends at 10 × magnitude


def _axis_label(minor: int, currency: str) -> str:
    """An axis amount, without cents when it has none ("250 €", "€250")."""
    return format_minor(minor, currency, whole=minor % 10 ** currency_exponent(currency) == 0)


def spend_chart(series: SpendByMonth, *, width: int = WIDTH, height: int = HEIGHT) -> SpendChart:
    """One bar per month, scaled to the axis' top; a month with net returns draws no bar but keeps its label."""
    months = series.months
    plot = height - TOP - LABELS
    baseline = height - LABELS
    peak = max((month.amount.minor for month in months), default=0)
    top = nice_top(peak, series.currency) if peak > 0 else 0
    slot = (width - LEFT) / max(1, len(months))
    bars = []
    for index, month in enumerate(months):
        value = max(0, month.amount.minor)
        bar_height = plot * value / top if top > 0 else 0.0
        left = LEFT + index * slot + slot * (1 - BAR_SHARE) / 2
        bars.append(
            Bar(
                x=_number(left),
                y=_number(baseline - bar_height),
                width=_number(slot * BAR_SHARE),
                height=_number(bar_height),
                label_x=_number(LEFT + index * slot + slot / 2),
                label=date_format(month.month, "M"),
                year=str(month.month.year) if index == 0 or month.month.month == 1 else "",
                title=f"{date_format(month.month, 'F Y')}: {month.amount.display}",
                empty=value == 0,
            )
        )
    ticks = tuple(
        Tick(y=_number(baseline - plot * numerator / 2), label=_axis_label(top * numerator // 2, series.currency))
        for numerator in ((0, 1, 2) if top else (0,))
    )
    total = sum(month.amount.minor for month in months)
    currency = series.currency
    return SpendChart(
        width=width,
        height=height,
        left=_number(LEFT),
        baseline=_number(baseline),
        label_y=_number(baseline + 13),
        year_y=_number(baseline + 26),
        bars=tuple(bars),
        ticks=ticks,
        currency=currency,
        other_currencies=series.other_currencies,
        total_display=format_minor(total, currency),
    )
