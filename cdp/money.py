"""Money as integer minor units: parsing decimals exactly, and showing them as decimals to people, in their language.

Shown amounts follow the active language (Django's number formats): "4 493,93 €" in French, "€4,493.93" in English;
the spaces inside an amount are non-breaking, so an amount never wraps across two lines.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from django.utils import formats, translation

# ISO 4217 minor-unit exponents that differ from 2; every other currency has cents.
_EXPONENTS = {"JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0, "XOF": 0, "XAF": 0, "BHD": 3, "KWD": 3, "TND": 3}
_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "CHF": "CHF", "JPY": "¥"}
NBSP = "\xa0"
# Languages that write the currency before the amount (Unicode CLDR's patterns); the others write it after.
_SYMBOL_FIRST = {"en"}


class MoneyError(ValueError):
    """A value that is not an amount of money."""


def currency_exponent(currency: str) -> int:
    return _EXPONENTS.get(currency.upper(), 2)


def to_minor(value: Decimal | str | int, currency: str) -> int:
    """Convert a decimal amount to integer minor units, rounding half to even (the banker's rule)."""
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise MoneyError(f"not an amount: {value!r}") from exc
    if not amount.is_finite():
        raise MoneyError(f"not an amount: {value!r}")
    scaled = amount.scaleb(currency_exponent(currency)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    return int(scaled)


def from_minor(amount_minor: int, currency: str) -> Decimal:
    return Decimal(amount_minor).scaleb(-currency_exponent(currency))


def format_minor(amount_minor: int | None, currency: str, *, whole: bool = False) -> str:
    """`123456, "EUR"` -> `"1 234,56 €"` in French, `"€1,234.56"` in English; None shows as an empty string.

    `whole` leaves the cents out (a chart's axis: "250 €")."""
    if amount_minor is None:
        return ""
    value = from_minor(amount_minor, currency)
    decimals = 0 if whole else currency_exponent(currency)
    number = formats.number_format(abs(value), decimal_pos=decimals, use_l10n=True, force_grouping=True)
    number = number.replace(" ", NBSP)
    symbol = _SYMBOLS.get(currency.upper(), currency.upper())
    sign = "-" if value < 0 else ""
    if (translation.get_language() or "").split("-")[0] in _SYMBOL_FIRST:
        gap = NBSP if symbol[-1].isalpha() else ""  # "CHF 12.00", "€12.00"
        return f"{sign}{symbol}{gap}{number}"
    return f"{sign}{number}{NBSP}{symbol}"
