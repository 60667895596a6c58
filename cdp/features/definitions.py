"""The behavioural features: their names, what each measures in words, and how to say a customer's value of it.

Fixed features hold for any retailer; the rest are made from the retailer's own data when a snapshot is computed
(its top-level categories, its channels, its interaction types), so nothing here knows the demo's catalogue.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


class Kind:
    DAYS = "days"
    COUNT = "count"
    MONEY = "money"
    SHARE = "share"  # 0..1
    RATIO = "ratio"  # a plain number (a coefficient, a trend in -1..1)


@dataclass(frozen=True)
class Feature:
    name: str
    label: str  # what it measures, for a table header
    kind: str
    # how a customer's value reads in a sentence; {value} is formatted by kind ("buys every {value}")
    phrase: str
    skewed: bool = False  # long right tail (money, counts): segmentation takes its logarithm
    # days features: how a customer reads who has none yet (their value is NEVER_DAYS, not a real number of days)
    never: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


FIXED: tuple[Feature, ...] = (
    Feature(
        "recency_days",
        "Days since the last purchase",
        Kind.DAYS,
        "last bought {value} ago",
        skewed=True,
        never="with no purchase yet",
    ),
    Feature("frequency", "Purchase days", Kind.COUNT, "bought on {value} days", skewed=True),
    Feature("receipts", "Receipts", Kind.COUNT, "{value} receipts", skewed=True),
    Feature("monetary", "Net spend", Kind.MONEY, "spent {value} in all", skewed=True),
    Feature("spend_365d", "Spend over the last year", Kind.MONEY, "spent {value} over the last year", skewed=True),
    Feature("avg_basket", "Average basket", Kind.MONEY, "baskets of {value} on average", skewed=True),
    Feature("basket_spread", "Spread of basket values", Kind.RATIO, "baskets vary by {value} of their mean"),
    Feature("items_per_basket", "Items per basket", Kind.COUNT, "{value} items a basket", skewed=True),
    Feature("avg_item_price", "Average item price", Kind.MONEY, "pays {value} an item", skewed=True),
    Feature("tenure_days", "Days since the first purchase", Kind.DAYS, "a customer for {value}", skewed=True),
    Feature("interval_days", "Days between purchases", Kind.DAYS, "buys every {value}", skewed=True),
    Feature("interval_irregularity", "Irregularity of purchase intervals", Kind.RATIO, "buys at irregular times"),
    Feature(
        "trend",
        "Spend trend (last 90 days against the 90 before)",
        Kind.RATIO,
        "spend trend {value} (−1: stopped buying, 0: steady, +1: only lately)",
    ),
    Feature("discount_share", "Share of spend on discount", Kind.SHARE, "{value} of spend on discount"),
    Feature("return_share", "Share of purchases returned", Kind.SHARE, "returns {value} of purchases"),
    Feature("categories", "Top-level categories bought", Kind.COUNT, "buys in {value} categories"),
    Feature("products", "Distinct products bought", Kind.COUNT, "{value} distinct products", skewed=True),
    Feature("stores", "Stores and channels used", Kind.COUNT, "uses {value} stores"),
    Feature("main_store_share", "Share of purchases in the main store", Kind.SHARE, "{value} in one store"),
    Feature("weekend_share", "Share of purchases at the weekend", Kind.SHARE, "{value} of purchases at the weekend"),
    Feature("morning_share", "Share of purchases before noon", Kind.SHARE, "{value} of purchases in the morning"),
    Feature("evening_share", "Share of purchases after 5 pm", Kind.SHARE, "{value} of purchases in the evening"),
    Feature("month_concentration", "Concentration of spend by month", Kind.RATIO, "buys in a few months of the year"),
    Feature("gift_season_share", "Share of spend in November and December", Kind.SHARE, "{value} of spend at year end"),
    Feature("events_365d", "Interactions over the last year", Kind.COUNT, "{value} interactions a year", skewed=True),
    Feature("event_days_365d", "Days with interactions over the last year", Kind.COUNT, "active {value} days a year"),
    Feature(
        "event_recency_days",
        "Days since the last interaction",
        Kind.DAYS,
        "last seen {value} ago",
        skewed=True,
        never="with no interaction over the last year",
    ),
)

# How many of the retailer's own categories, channels and interaction types become features of their own.
TOP_CATEGORIES = 12
TOP_CHANNELS = 6
TOP_EVENT_TYPES = 8
# Windows, in days before the as-of date.
YEAR = 365
QUARTER = 90
# A customer with no purchase (or no interaction) yet is this many days from one: past any window.
NEVER_DAYS = 3650


def category_feature(key: str, name: str) -> Feature:
    return Feature(f"share_category_{key}", f"Share of spend in {name}", Kind.SHARE, f"{{value}} of spend on {name}")


def channel_feature(channel: str) -> Feature:
    return Feature(
        f"share_channel_{channel}", f"Share of purchases through {channel}", Kind.SHARE, f"{{value}} through {channel}"
    )


def event_feature(event_type: str) -> Feature:
    label = event_type.replace("_", " ")
    return Feature(
        f"events_{event_type}_365d",
        f"{label.capitalize()} over the last year",
        Kind.COUNT,
        f"{{value}} × {label}",
        skewed=True,
    )


def format_value(feature: Feature, value: float, currency: str = "") -> str:
    """A value as a person reads it: "94 days", "4%", "€31.20", "3.1"."""
    if feature.kind == Kind.DAYS:
        days = round(value)
        return f"{days} day" if days == 1 else f"{days} days"
    if feature.kind == Kind.SHARE:
        return f"{value:.0%}"
    if feature.kind == Kind.MONEY:
        return f"{value:,.2f} {currency}".strip()
    if feature.kind == Kind.COUNT:
        return f"{value:,.0f}" if value >= 10 else f"{value:.1f}".rstrip("0").rstrip(".")
    return f"{value:.2f}"
