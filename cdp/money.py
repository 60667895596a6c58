"""Money as integer minor units: parsing decimals exactly, and showing them as decimals to people."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

# ISO 4217 minor-unit exponents that differ from 2; every other currency has cents.
_EXPONENTS = {"JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0, "XOF": 0, "XAF": 0, "BHD": 3, "KWD": 3, "TND": 3}
_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "CHF": "CHF", "JPY": "¥"}


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


def format_minor(amount_minor: int | None, currency: str) -> str:
    """`123456, "EUR"` → `"1,234.56 €"`; None shows as an empty string."""
    if amount_minor is None:
        return ""
    exponent = currency_exponent(currency)
    value = from_minor(amount_minor, currency)
    text = f"{value:,.{exponent}f}"
    symbol = _SYMBOLS.get(currency.upper(), currency.upper())
    return f"{text} {symbol}"
