"""Segments in business language: the features that set a segment apart, a name and a one-line description.

A feature sets a segment apart by its standardised difference from the population: the segment's mean minus the
population's, over the population's standard deviation, on the scale segmentation uses (the logarithm for long-
tailed features). The name is made from the two strongest differences, each through a word for "high" or "low" on
that feature; the description says the plain values ("spends 3.1× the average", "buys every 9 days", "4% on
discount"). Nothing here knows a retailer's catalogue: category and channel features bring their own names.
"""

from __future__ import annotations

import numpy as np

from cdp.features.definitions import NEVER_DAYS, Feature, Kind, format_value

STRONG = 0.5  # a difference smaller than half a standard deviation does not set a segment apart
SHOWN = 4  # features a segment's profile lists

# Feature name -> (word when the segment is high on it, word when low); None: not worth a name that way.
WORDS: dict[str, tuple[str | None, str | None]] = {
    "recency_days": ("Lapsed", "Recently active"),
    "frequency": ("Frequent", "Occasional"),
    "receipts": ("Frequent", "Occasional"),
    "monetary": ("High-value", "Low-value"),
    "spend_365d": ("Big spenders", "Small spenders"),
    "avg_basket": ("Big-basket", "Small-basket"),
    "items_per_basket": ("Stock-up", "Few-item"),
    "avg_item_price": ("Premium", "Budget"),
    "tenure_days": ("Long-standing", "Newcomers"),
    "interval_days": ("Rare", "Regular"),
    "interval_irregularity": ("Irregular", None),
    "trend": ("Growing", "Declining"),
    "discount_share": ("Promotion-driven", "Full-price"),
    "return_share": ("Serial returners", None),
    "categories": ("Wide-ranging", "Single-category"),
    "products": ("Explorers", None),
    "stores": ("Multi-store", None),
    "main_store_share": ("Store-loyal", None),
    "weekend_share": ("Weekend", "Weekday"),
    "morning_share": ("Morning", None),
    "evening_share": ("Evening", None),
    "month_concentration": ("Seasonal", None),
    "gift_season_share": ("Year-end gifters", None),
    "events_365d": ("Engaged", "Unengaged"),
    "event_days_365d": ("Engaged", None),
    "event_recency_days": ("Dormant online", None),
}


def _words(feature: Feature) -> tuple[str | None, str | None]:
    if feature.name in WORDS:
        return WORDS[feature.name]
    if feature.name.startswith("share_category_"):
        name = feature.label.removeprefix("Share of spend in ")
        return (f"{name} lovers", None)
    if feature.name.startswith("share_channel_"):
        name = feature.label.removeprefix("Share of purchases through ")
        return (f"{name.capitalize()}-first", None)
    if feature.name.startswith("events_"):
        return (f"{feature.label.removesuffix(' over the last year')} fans", None)
    return (None, None)


def scaled(features: list[Feature], values: np.ndarray) -> np.ndarray:
    """Values on the scale segmentation compares them: the logarithm of long-tailed features."""
    out = values.astype(np.float64, copy=True)
    for index, feature in enumerate(features):
        if feature.skewed:
            out[:, index] = np.log1p(np.clip(out[:, index], 0, None))
    return out


def describe(
    features: list[Feature], values: np.ndarray, members: np.ndarray, currency: str
) -> tuple[list[dict], str, str]:
    """(profile, name, description) of the segment whose rows of `values` are `members` (a boolean mask)."""
    on_scale = scaled(features, values)
    mean, spread = on_scale.mean(axis=0), on_scale.std(axis=0)
    segment_mean = on_scale[members].mean(axis=0)
    z = np.divide(segment_mean - mean, spread, out=np.zeros_like(mean), where=spread > 1e-12)
    plain_segment, plain_all, never = _plain(features, values, members)
    order = np.argsort(-np.abs(z))
    profile = []
    for index in order[: SHOWN * 3]:
        feature = features[index]
        if abs(z[index]) < STRONG and len(profile) >= 2:
            break
        ratio = plain_segment[index] / plain_all[index] if abs(plain_all[index]) > 1e-12 else None
        profile.append(
            {
                "feature": feature.name,
                "label": feature.label,
                "z": round(float(z[index]), 2),
                "segment": float(plain_segment[index]),
                "population": float(plain_all[index]),
                "segment_text": format_value(feature, plain_segment[index], currency),
                "population_text": format_value(feature, plain_all[index], currency),
                "ratio": round(float(ratio), 2) if ratio is not None else None,
                "text": _sentence(feature, plain_segment[index], ratio, currency, never[index]),
            }
        )
        if len(profile) >= SHOWN:
            break
    return profile, _name(features, z, order), "; ".join(item["text"] for item in profile[:3])


def _plain(features: list[Feature], values: np.ndarray, members: np.ndarray):
    """(segment means, population means, share of the segment with none yet) in plain values. A days feature whose
    customers may have none yet ("last seen": no interaction at all) is averaged over those who have one: the
    stand-in value for "none" is not a number of days."""
    plain_segment, plain_all = values[members].mean(axis=0), values.mean(axis=0)
    never = np.zeros(len(features))
    for index, feature in enumerate(features):
        if not feature.never:
            continue
        seen = values[:, index] < NEVER_DAYS
        never[index] = 1.0 - float(seen[members].mean()) if members.any() else 0.0
        if seen[members].any():
            plain_segment[index] = values[members & seen, index].mean()
        if seen.any():
            plain_all[index] = values[seen, index].mean()
    return plain_segment, plain_all, never


def _sentence(feature: Feature, value: float, ratio: float | None, currency: str, never: float = 0.0) -> str:
    if never >= 0.5:
        return f"{never:.0%} {feature.never}"
    shown = format_value(feature, value, currency)
    text = feature.phrase.format(value=shown)
    if shown == "1":  # "buys in 1 category", not "1 categories"
        text = _singular(feature.phrase).format(value=shown)
    if feature.kind in (Kind.MONEY, Kind.COUNT) and ratio is not None and (ratio >= 1.5 or ratio <= 0.67):
        text += f" ({ratio:.1f}× the average)"
    return text


SINGULAR = {
    "days": "day",
    "receipts": "receipt",
    "items": "item",
    "categories": "category",
    "products": "product",
    "stores": "store",
    "interactions": "interaction",
}


def _singular(phrase: str) -> str:
    """The phrase with the first plural noun after its value in the singular."""
    before, marker, after = phrase.partition("{value}")
    words = after.split(" ")
    for position, word in enumerate(words):
        if word in SINGULAR:
            words[position] = SINGULAR[word]
            break
    return before + marker + " ".join(words)


def _name(features: list[Feature], z: np.ndarray, order: np.ndarray) -> str:
    words: list[str] = []
    for index in order:
        if abs(z[index]) < STRONG:
            break
        high, low = _words(features[index])
        word = high if z[index] > 0 else low
        if word and word not in words:
            words.append(word)
        if len(words) == 2:
            break
    return " · ".join(words) if words else "Typical customers"
