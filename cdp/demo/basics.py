"""The demo retailer's vocabulary of files and rates, the small random helpers, and its calendar (sales, holidays).

Shared by the parts of the generator (cdp.demo.generator assembles them)."""

from __future__ import annotations

import math
import random
import unicodedata
from bisect import bisect
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cdp.demo import vocab

DEFAULT_END_DATE = date(2026, 9, 30)
MIN_END_DATE = date(2020, 1, 1)  # the two years lie after the GDPR re-consent campaign of 2018
PARIS = ZoneInfo("Europe/Paris")
DAY_MINUTES = 1440
SOURCES: tuple[str, ...] = ("crm", "eshop", "loyalty")

CUSTOMER_COLUMNS: tuple[str, ...] = (
    "external_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "birth_date",
    "gender",
    "address",
    "postcode",
    "city",
    "country",
    "signup_date",
)
LOYALTY_COLUMNS: tuple[str, ...] = (*CUSTOMER_COLUMNS, "card_tier")
TRANSACTION_COLUMNS: tuple[str, ...] = (
    "receipt_id",
    "line",
    "customer_external_id",
    "timestamp",
    "store",
    "channel",
    "sku",
    "product_name",
    "category",
    "quantity",
    "unit_price",
    "discount",
)
EVENT_COLUMNS: tuple[str, ...] = ("customer_external_id", "anonymous_id", "timestamp", "type", "channel", "properties")
CONSENT_COLUMNS: tuple[str, ...] = (
    "customer_external_id",
    "purpose",
    "channel",
    "status",
    "timestamp",
    "source",
    "policy_version",
    "evidence",
)
PERSON_COLUMNS: tuple[str, ...] = (
    "person_id",
    "persona",
    "household_id",
    "first_name",
    "last_name",
    "birth_date",
    "gender",
    "postcode",
    "city",
    "churn_date",
    "lookalike_of",
    "lookalike_kind",
)
RECORD_COLUMNS: tuple[str, ...] = ("source", "external_id", "person_id")
LIFE_EVENT_COLUMNS: tuple[str, ...] = ("person_id", "event", "date")
SHARED_COLUMNS: tuple[str, ...] = ("identifier", "value", "household_id", "person_id", "source", "external_id")

# Every file the generator writes: key -> (path inside the output folder, header).
FILES: dict[str, tuple[str, tuple[str, ...]]] = {
    "customers_crm": ("customers_crm.csv", CUSTOMER_COLUMNS),
    "customers_eshop": ("customers_eshop.csv", CUSTOMER_COLUMNS),
    "customers_loyalty": ("customers_loyalty.csv", LOYALTY_COLUMNS),
    "transactions_loyalty": ("transactions_loyalty.csv", TRANSACTION_COLUMNS),
    "transactions_eshop": ("transactions_eshop.csv", TRANSACTION_COLUMNS),
    "events_eshop": ("events_eshop.csv", EVENT_COLUMNS),
    "events_crm": ("events_crm.csv", EVENT_COLUMNS),
    "consents_crm": ("consents_crm.csv", CONSENT_COLUMNS),
    "consents_eshop": ("consents_eshop.csv", CONSENT_COLUMNS),
    "truth_persons": ("truth/persons.csv", PERSON_COLUMNS),
    "truth_records": ("truth/records.csv", RECORD_COLUMNS),
    "truth_life_events": ("truth/life_events.csv", LIFE_EVENT_COLUMNS),
    "truth_shared_identifiers": ("truth/shared_identifiers.csv", SHARED_COLUMNS),
}

# Receipts a year per person are the persona's rate times this factor: N persons give about 25 x N receipt lines.
RATE_SCALE = 0.63
SOURCE_COUNT_WEIGHTS: tuple[float, ...] = (0.45, 0.40, 0.15)
LOOKALIKE_RATES: tuple[tuple[str, float], ...] = (("namesake", 0.03), ("twin", 0.025), ("family", 0.035))
LOOKALIKE_POOL = 600
CARD_REISSUE_RATE = 0.015
ANONYMOUS_BROWSE_SHARE = 0.3
GDPR_DATE = date(2018, 5, 25)
LEGACY_TILL_END = date(2016, 1, 1)  # loyalty cards issued before it hold upper-case names without accents

# Base rates of identity variations in a source record, multiplied by the noise level.
NOISE_RATES: dict[str, float] = {
    "nickname": 0.05,
    "typo_first": 0.025,
    "typo_last": 0.025,
    "swap": 0.012,
    "case": 0.06,
    "birth_transpose": 0.012,
    "birth_day_month": 0.012,
    "email_new": 0.05,
    "email_case": 0.03,
    "old_address": 0.035,
    "abbreviation": 0.12,
    "complement": 0.25,
    "postcode_typo": 0.008,
    "phone_typo": 0.008,
    "missing": 0.03,
}
# Share of records of each source that carry a field at all: (email, phone, birth date, gender, address).
SOURCE_FIELDS: dict[str, tuple[float, float, float, float, float]] = {
    "crm": (0.82, 0.75, 0.85, 0.95, 0.96),
    "eshop": (1.0, 0.65, 0.35, 0.45, 0.9),
    "loyalty": (0.1, 0.3, 0.94, 0.3, 0.98),
}
PHONE_FORMATS: dict[str, tuple[tuple[str, int], ...]] = {
    "crm": (("spaced", 60), ("dotted", 10), ("plain", 20), ("intl_spaced", 10)),
    "eshop": (("plain", 35), ("intl", 25), ("intl_spaced", 20), ("spaced", 20)),
    "loyalty": (("spaced", 50), ("plain", 40), ("dotted", 10)),
}
COUNTRY: dict[str, str] = {"crm": "FR", "eshop": "France", "loyalty": "FR"}
PROMO_PERCENTS: tuple[int, ...] = (10, 15, 20, 25, 30, 34, 50)
PROMO_WEIGHTS = ((20, 20, 25, 15, 10, 6, 4), (8, 10, 20, 20, 18, 12, 12))
EMAIL_PATTERNS: tuple[tuple[str, int], ...] = (
    ("{f}.{l}", 35),
    ("{f}{l}", 10),
    ("{i}{l}", 12),
    ("{f}.{l}{yy}", 10),
    ("{f}.{l}{yyyy}", 5),
    ("{l}.{f}", 8),
    ("{f}{nn}", 5),
    ("{f}_{l}", 5),
    ("{f}.{l}{nn}", 10),
)
AZERTY_ROWS = ("azertyuiop", "qsdfghjklm", "wxcvbn")


# --- small helpers ----------------------------------------------------------------------------------------------


def cumulative_weights(weights: Sequence[float]) -> list[float]:
    total = 0.0
    out = []
    for weight in weights:
        total += weight
        out.append(total)
    return out


def weighted_pick(rng: random.Random, items: Sequence[Any], cum: Sequence[float]) -> Any:
    return items[bisect(cum, rng.random() * cum[-1])]


def by_chance(rng: random.Random, probability: float) -> bool:
    return rng.random() < probability


def poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, int(rng.gauss(lam, math.sqrt(lam)) + 0.5))
    limit = math.exp(-lam)
    count = 0
    product = rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def money_text(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def strip_accents(text: str) -> str:
    text = text.replace("œ", "oe").replace("Œ", "OE").replace("æ", "ae").replace("Æ", "AE")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def ascii_slug(text: str) -> str:
    return "".join(ch for ch in strip_accents(text).lower() if ch.isalnum() or ch == "-")


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _utc_offset(day: date, minute: int) -> str:
    moment = datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=PARIS)
    offset = moment.utcoffset() or timedelta(0)
    total = int(offset.total_seconds()) // 60
    sign = "+" if total >= 0 else "-"
    hours, minutes = divmod(abs(total), 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


def _keyboard_neighbours() -> dict[str, str]:
    neighbours: dict[str, str] = {}
    for row_index, row in enumerate(AZERTY_ROWS):
        for col, letter in enumerate(row):
            near = [row[col - 1]] if col > 0 else []
            near += [row[col + 1]] if col + 1 < len(row) else []
            for other in (row_index - 1, row_index + 1):
                if 0 <= other < len(AZERTY_ROWS) and col < len(AZERTY_ROWS[other]):
                    near.append(AZERTY_ROWS[other][col])
            neighbours[letter] = "".join(near)
    return neighbours


KEYBOARD = _keyboard_neighbours()


# --- calendar ---------------------------------------------------------------------------------------------------


class Calendar:
    """The two years of the demo, as day indices from the first day (negative before it)."""

    def __init__(self, end: date) -> None:
        self.end = end
        self.start = years_before(end, 2) + timedelta(days=1)
        self.days = (end - self.start).days + 1
        self.dates = [self.start + timedelta(days=i) for i in range(self.days)]
        self.iso = [d.isoformat() for d in self.dates]
        self.months = [d.month - 1 for d in self.dates]
        self.weekdays = [d.weekday() for d in self.dates]
        self.closed = [(d.month, d.day) in vocab.CLOSED_DAYS for d in self.dates]
        self.sales = [_is_sales_day(d) for d in self.dates]
        self.black_friday = [_is_black_friday_week(d) for d in self.dates]
        self._offsets = [_utc_offset(d, 720) for d in self.dates]
        self._dst_days = {i for i, d in enumerate(self.dates) if _utc_offset(d, 0) != _utc_offset(d, 1439)}
        special = [_special_day_factor(d) for d in self.dates]
        self.shopping = [vocab.SHOPPING_SEASON[m] * s for m, s in zip(self.months, special, strict=True)]
        self.gifting = [vocab.GIFT_SEASON[m] * s for m, s in zip(self.months, special, strict=True)]
        self.shopping_peak = max(self.shopping)
        self.gifting_peak = max(self.gifting)
        self.campaigns = self._campaigns()

    def index(self, day: date) -> int:
        return (day - self.start).days

    def date_of(self, index: int) -> date:
        if 0 <= index < self.days:
            return self.dates[index]
        return self.start + timedelta(days=index)

    def iso_date(self, index: int) -> str:
        if 0 <= index < self.days:
            return self.iso[index]
        return self.date_of(index).isoformat()

    def stamp(self, moment: int, second: int = 0) -> str:
        """ISO 8601 local Paris time with its offset, from minutes since the first day."""
        day, minute = divmod(moment, DAY_MINUTES)
        if 0 <= day < self.days and day not in self._dst_days:
            offset = self._offsets[day]
        else:
            offset = _utc_offset(self.date_of(day), minute)
        return f"{self.iso_date(day)}T{minute // 60:02d}:{minute % 60:02d}:{second:02d}{offset}"

    def _campaigns(self) -> list[tuple[int, int, str, str]]:
        campaigns = []
        for index, day in enumerate(self.dates):
            if day.weekday() == 3:
                category = vocab.CATEGORIES[(day.isocalendar()[1] * 5) % len(vocab.CATEGORIES)]
                campaigns.append((index, 600, f"newsletter-{day.isoformat()}", category))
            for month, dom, key, category in vocab.SEASONAL_CAMPAIGNS:
                if (day.month, day.day) == (month, dom):
                    campaigns.append((index, 540, f"{key}-{day.year}", category))
        return campaigns


def _is_sales_day(day: date) -> bool:
    winter = (day.month == 1 and day.day >= 8) or (day.month == 2 and day.day <= 4)
    summer = (day.month == 6 and day.day >= 24) or (day.month == 7 and day.day <= 21)
    return winter or summer


def _is_black_friday_week(day: date) -> bool:
    if day.month != 11 and not (day.month == 12 and day.day <= 3):
        return False
    black_friday = next(date(day.year, 11, d) for d in range(23, 30) if date(day.year, 11, d).weekday() == 4)
    return 0 <= (day - black_friday).days <= 3


def _special_day_factor(day: date) -> float:
    if day.month == 12 and 15 <= day.day <= 24:
        return 1.3
    if day.month == 12 and day.day >= 26:
        return 0.75
    if _is_black_friday_week(day):
        return 1.3
    if (day.month == 8 and day.day >= 20) or (day.month == 9 and day.day <= 10):
        return 1.1  # back to school
    return 1.0
