"""Segments described in plain values: a stand-in for "none yet" never reads as a number of days."""

from __future__ import annotations

import numpy as np

from cdp.features.definitions import FIXED, NEVER_DAYS
from segments.services.naming import describe

LAST_SEEN = next(feature for feature in FIXED if feature.name == "event_recency_days")
RECEIPTS = next(feature for feature in FIXED if feature.name == "receipts")


def _profile(values: np.ndarray, members: np.ndarray) -> dict[str, str]:
    profile, _, _ = describe([LAST_SEEN, RECEIPTS], values, members, "EUR")
    return {item["feature"]: item["text"] for item in profile}


def test_a_segment_mostly_without_interactions_says_so():
    # six customers never seen online and buying little; four seen 10 to 40 days ago and buying more
    seen = [10.0, 20.0, 30.0, 40.0]
    values = np.array([[NEVER_DAYS, 1.0]] * 6 + [[days, 8.0] for days in seen])
    members = np.array([True] * 6 + [False] * 4)
    assert _profile(values, members)["event_recency_days"] == "100% with no interaction over the last year"


def test_the_days_of_a_segment_are_averaged_over_the_customers_who_have_them():
    # the segment: three seen 4, 6 and 8 days ago, one never; the others never seen
    values = np.array([[4.0, 9.0], [6.0, 9.0], [8.0, 9.0], [NEVER_DAYS, 9.0]] + [[NEVER_DAYS, 1.0]] * 6)
    members = np.array([True] * 4 + [False] * 6)
    assert _profile(values, members)["event_recency_days"] == "last seen 6 days ago"


def test_the_profile_gives_plain_values_for_the_table():
    values = np.array([[4.0, 9.0], [6.0, 9.0], [8.0, 9.0]] + [[30.0, 1.0]] * 6)
    members = np.array([True] * 3 + [False] * 6)
    profile, _, _ = describe([LAST_SEEN, RECEIPTS], values, members, "EUR")
    found = {item["feature"]: (item["segment_text"], item["population_text"]) for item in profile}
    assert found["event_recency_days"] == ("6 days", "22 days")
    assert found["receipts"] == ("9", "3.7")


def test_a_count_of_one_reads_in_the_singular():
    categories = next(feature for feature in FIXED if feature.name == "categories")
    products = next(feature for feature in FIXED if feature.name == "products")
    values = np.array([[1.0, 1.0]] * 3 + [[4.0, 20.0]] * 6)
    members = np.array([True] * 3 + [False] * 6)
    profile, _, _ = describe([categories, products], values, members, "EUR")
    texts = {item["feature"]: item["text"] for item in profile}
    assert texts["categories"].startswith("buys in 1 category")
    assert texts["products"].startswith("1 distinct product ")
    # and more than one stays plural
    profile, _, _ = describe([categories, products], values, ~members, "EUR")
    assert {item["feature"]: item["text"] for item in profile}["categories"].startswith("buys in 4 categories")
