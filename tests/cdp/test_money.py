"""Money is exact: decimals in, integer minor units stored, decimals out."""

from __future__ import annotations

from decimal import Decimal

import pytest

from django.utils import translation

from cdp.money import MoneyError, format_minor, from_minor, to_minor


@pytest.mark.parametrize(
    ("value", "currency", "minor"),
    [
        ("12.34", "EUR", 1234),
        ("0.1", "EUR", 10),
        ("-3.5", "EUR", -350),
        ("1000", "JPY", 1000),
        ("1.2345", "KWD", 1234),
        ("0.125", "EUR", 12),
        ("0.135", "EUR", 14),
        (Decimal("19.99"), "USD", 1999),
    ],
)
def test_to_minor(value, currency, minor):
    assert to_minor(value, currency) == minor


@pytest.mark.parametrize("value", ["abc", "", "NaN", "Infinity", "1,5"])
def test_to_minor_rejects_what_is_not_an_amount(value):
    with pytest.raises(MoneyError):
        to_minor(value, "EUR")


def test_round_trip_is_exact():
    assert from_minor(to_minor("0.30", "EUR"), "EUR") == Decimal("0.30")
    assert sum(to_minor("0.10", "EUR") for _ in range(3)) == to_minor("0.30", "EUR")


def test_format_shows_decimals_in_english():
    with translation.override("en"):
        assert format_minor(123456, "EUR") == "€1,234.56"
        assert format_minor(-250, "EUR") == "-€2.50"
        assert format_minor(500, "JPY") == "¥500"
        assert format_minor(1200, "CHF") == "CHF\xa012.00"
        assert format_minor(None, "EUR") == ""


def test_format_shows_decimals_in_french_with_non_breaking_spaces():
    # the spaces inside an amount never break: "4 493,93 €" stays on one line
    with translation.override("fr"):
        assert format_minor(449393, "EUR") == "4\xa0493,93\xa0€"
        assert format_minor(-250, "EUR") == "-2,50\xa0€"
        assert format_minor(123456789, "EUR") == "1\xa0234\xa0567,89\xa0€"
