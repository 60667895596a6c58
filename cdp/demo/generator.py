"""Demo retailer generator: customers in three sources, receipts, interactions, consents and their ground truth."""

from __future__ import annotations

import csv
import json
import math
import random
import time
import unicodedata
import zlib
from bisect import bisect, bisect_left
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, Any
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


def _cumulative(weights: Sequence[float]) -> list[float]:
    total = 0.0
    out = []
    for weight in weights:
        total += weight
        out.append(total)
    return out


def _pick(rng: random.Random, items: Sequence[Any], cum: Sequence[float]) -> Any:
    return items[bisect(cum, rng.random() * cum[-1])]


def _chance(rng: random.Random, probability: float) -> bool:
    return rng.random() < probability


def _poisson(rng: random.Random, lam: float) -> int:
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


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _strip_accents(text: str) -> str:
    text = text.replace("œ", "oe").replace("Œ", "OE").replace("æ", "ae").replace("Æ", "AE")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _ascii_slug(text: str) -> str:
    return "".join(ch for ch in _strip_accents(text).lower() if ch.isalnum() or ch == "-")


def _years_before(day: date, years: int) -> date:
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
        self.start = _years_before(end, 2) + timedelta(days=1)
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


# --- catalogue --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShelfItem:
    """A product on the demo retailer's shelves (the generator writes files; cdp.models.Product is what they become)."""

    sku: str
    name: str
    category: str
    cat: int
    tier: int
    price: int  # cents

    @property
    def price_text(self) -> str:
        return _money(self.price)


class Catalogue:
    """About 400 products in 12 categories with stable prices; popular products come first in each category."""

    def __init__(self) -> None:
        self.products: list[ShelfItem] = []
        self._pools: list[list[tuple[tuple[ShelfItem, ...], list[float]]]] = []
        for cat, category in enumerate(vocab.CATEGORIES):
            by_tier = self._category(cat, category)
            pools = []
            for tier in range(3):
                items = by_tier[tier] or by_tier[1]
                pools.append((tuple(p for p, _ in items), _cumulative([w for _, w in items])))
            self._pools.append(pools)

    def _category(self, cat: int, category: str) -> list[list[tuple[ShelfItem, float]]]:
        budget_label, premium_label, bases = vocab.PRODUCTS[category]
        labels = {"b": budget_label, "s": "", "p": premium_label}
        by_tier: list[list[tuple[ShelfItem, float]]] = [[], [], []]
        number = 0
        for rank, (base, price, tiers) in enumerate(bases):
            for tier_code in tiers:
                number += 1
                tier = "bsp".index(tier_code)
                name = f"{base} {labels[tier_code]}".strip()
                cents = price if tier_code == "s" else _shelf_price(price * vocab.TIER_PRICE_FACTORS[tier_code])
                sku = f"{vocab.CATEGORY_CODES[category]}-{number:04d}"
                product = ShelfItem(sku, name, category, cat, tier, cents)
                self.products.append(product)
                by_tier[tier].append((product, 1.0 / (rank + 1) ** 0.7))
        return by_tier

    def pick(self, rng: random.Random, cat: int, tier: int) -> ShelfItem:
        items, cum = self._pools[cat][tier]
        return items[bisect(cum, rng.random() * cum[-1])]


def _shelf_price(cents: float) -> int:
    return max(49, int(round(cents / 10.0)) * 10 - 1)


# --- persons ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Persona:
    key: str
    index: int
    share: float
    rate: float
    lines: float
    quantity: float
    channels: tuple[float, float, float]
    promo: float
    tiers: tuple[float, float, float]
    churn: float
    ages: tuple[int, int]
    female: float
    weights: tuple[float, ...]


PERSONAS: tuple[Persona, ...] = tuple(
    Persona(key=key, index=i, **values)  # type: ignore[arg-type]
    for i, (key, values) in enumerate(vocab.PERSONAS.items())
)


@dataclass(frozen=True, slots=True)
class Address:
    number: str
    street_type: str
    street_name: str
    complement: str
    postcode: str
    city: str
    store: str
    prefix: str


@dataclass(slots=True)
class Habits:
    rate: float  # receipts a day
    channels: tuple[float, float, float]  # store, web, app
    weights: list[float]
    tiers_cum: list[float]
    promo: float
    lines: float
    quantity: float
    engagement: float
    browse: float  # browsing sessions a day
    consent_bias: float
    card_use: float
    top_categories: frozenset[int]
    favourites: dict[int, list[ShelfItem]] = field(default_factory=dict)
    mix_cache: dict[tuple[int, int], list[float]] = field(default_factory=dict)


@dataclass(slots=True)
class Person:
    index: int
    pid: str
    persona: Persona
    household: str
    gender: str
    first: str
    last: str
    birth: date
    address: Address
    previous: Address
    email: str
    alt_email: str
    mobile: str
    landline: str
    lookalike_of: str = ""
    lookalike_kind: str = ""
    shared_email: str = ""
    since: int = 0  # day the relationship started
    active_from: int = 0
    active_to: int = 0  # exclusive: churn day or the end of the period
    churn_day: int | None = None
    event: str = ""
    event_day: int = 0
    sources: dict[str, int] = field(default_factory=dict)  # source -> signup day
    habits: Habits | None = None
    cookie: str = ""

    def store_on(self, day: int) -> str:
        if self.event == "move" and day < self.event_day:
            return self.previous.store
        return self.address.store

    def retired_on(self, day: int) -> bool:
        return self.event == "retirement" and day >= self.event_day


class UniqueRegistry:
    """A fixed-size bit set of values already handed out (e-mails, phone numbers): bounded memory at any scale."""

    BITS = 1 << 25

    def __init__(self) -> None:
        self._bits = bytearray(self.BITS >> 3)

    def claim(self, value: str) -> bool:
        slot = zlib.crc32(value.encode()) & (self.BITS - 1)
        mask = 1 << (slot & 7)
        if self._bits[slot >> 3] & mask:
            return False
        self._bits[slot >> 3] |= mask
        return True


class PersonFactory:
    """Draws who a customer is: persona, identity, household, lookalikes of recent customers, life course."""

    def __init__(self, rng: random.Random, calendar: Calendar) -> None:
        self.rng = rng
        self.cal = calendar
        self.pool: deque[Person] = deque(maxlen=LOOKALIKE_POOL)
        self.emails = UniqueRegistry()
        self.phones = UniqueRegistry()
        self.households = 0
        self._persona_cum = _cumulative([p.share for p in PERSONAS])
        self._last_cum = _cumulative([1.0 / (r + 1) ** 0.6 for r in range(len(vocab.LAST_NAMES))])
        self._city_cum = _cumulative([c[2] for c in vocab.CITIES])
        self._street_types = [s for s, _ in vocab.STREET_TYPES]
        self._street_cum = _cumulative([w for _, w in vocab.STREET_TYPES])
        self._domains = [d for d, _ in vocab.EMAIL_DOMAINS]
        self._domain_cum = _cumulative([w for _, w in vocab.EMAIL_DOMAINS])
        self._patterns = [p for p, _ in EMAIL_PATTERNS]
        self._pattern_cum = _cumulative([w for _, w in EMAIL_PATTERNS])
        self._kinds = [k for k, _ in LOOKALIKE_RATES]
        self._kind_limits = _cumulative([r for _, r in LOOKALIKE_RATES])

    def create(self, index: int) -> Person:
        rng = self.rng
        persona = _pick(rng, PERSONAS, self._persona_cum)
        kind = self._lookalike_kind()
        if kind and self.pool:
            person = self._lookalike(index, persona, kind, rng.choice(self.pool))
        else:
            person = self._fresh(index, persona)
        self.pool.append(person)
        return person

    def _lookalike_kind(self) -> str:
        draw = self.rng.random()
        slot = bisect(self._kind_limits, draw)
        return self._kinds[slot] if slot < len(self._kinds) else ""

    # identity pieces

    def _fresh(self, index: int, persona: Persona) -> Person:
        rng = self.rng
        gender = "F" if _chance(rng, persona.female) else "M"
        birth = self._birth(persona)
        first = self._first_name(gender, birth)
        last = _pick(rng, vocab.LAST_NAMES, self._last_cum)
        address = self._address()
        return self._assemble(index, persona, gender, first, last, birth, address, self._household(address))

    def _assemble(
        self,
        index: int,
        persona: Persona,
        gender: str,
        first: str,
        last: str,
        birth: date,
        address: Address,
        household: tuple[str, str],
    ) -> Person:
        rng = self.rng
        email = self._email(first, last, birth, index)
        mobile = self._phone(rng.choice("67")) if _chance(rng, 0.9) else ""
        return Person(
            index=index,
            pid=f"P{index + 1:07d}",
            persona=persona,
            household=household[0],
            gender=gender,
            first=first,
            last=last,
            birth=birth,
            address=address,
            previous=self._previous_address(address),
            email=email,
            alt_email=self._alt_email(email),
            mobile=mobile,
            landline=household[1],
            cookie=f"{rng.getrandbits(48):012x}",
        )

    def _household(self, address: Address) -> tuple[str, str]:
        self.households += 1
        landline = self._phone(address.prefix[1]) if _chance(self.rng, 0.35) else ""
        return f"H{self.households:07d}", landline

    def _birth(self, persona: Persona) -> date:
        low, high = persona.ages
        age = int(self.rng.triangular(low, high + 1, low + (high - low) * 0.35))
        year = self.cal.end.year - age
        return date(year, 1, 1) + timedelta(days=self.rng.randrange(365))

    def _first_name(self, gender: str, birth: date, avoid: str = "") -> str:
        cohort = bisect(vocab.COHORT_LAST_BIRTH_YEAR, birth.year - 1)
        names = (vocab.FIRST_NAMES_F if gender == "F" else vocab.FIRST_NAMES_M)[cohort]
        name = self.rng.choice(names)
        while name == avoid:
            name = self.rng.choice(names)
        return name

    def _address(self, city_row: tuple[str, tuple[str, ...], int, str, str] | None = None) -> Address:
        rng = self.rng
        city, postcodes, _, store, prefix = city_row or _pick(rng, vocab.CITIES, self._city_cum)
        number = str(1 + int(rng.expovariate(1 / 25.0)) % 180)
        if _chance(rng, 0.04):
            number += rng.choice((" bis", " ter", "B"))
        complement = rng.choice(vocab.ADDRESS_COMPLEMENTS) if _chance(rng, 0.12) else ""
        return Address(
            number=number,
            street_type=_pick(rng, self._street_types, self._street_cum),
            street_name=rng.choice(vocab.STREET_NAMES),
            complement=complement,
            postcode=rng.choice(postcodes),
            city=city,
            store=store,
            prefix=prefix,
        )

    def _previous_address(self, current: Address) -> Address:
        if _chance(self.rng, 0.7):
            nearby = [row for row in vocab.CITIES if row[3] == current.store]
            return self._address(self.rng.choice(nearby))
        return self._address()

    def _phone(self, lead: str) -> str:
        while True:
            number = f"0{lead}{self.rng.randrange(10_000_000, 100_000_000)}"
            if self.phones.claim(number):
                return number

    def _email(self, first: str, last: str, birth: date, index: int) -> str:
        rng = self.rng
        given, family = _ascii_slug(first), _ascii_slug(last).replace("-", "")
        pattern = _pick(rng, self._patterns, self._pattern_cum)
        local = pattern.format(
            f=given, l=family, i=given[0], yy=f"{birth.year % 100:02d}", yyyy=birth.year, nn=rng.randrange(1, 100)
        )
        domain = _pick(rng, self._domains, self._domain_cum)
        # a taken address gets the customer number: what people do when their first choice is gone
        candidates = (f"{local}@{domain}", f"{given}{family}{index}@{domain}", f"{given}.{family}.{index}@{domain}")
        for email in candidates:
            if self.emails.claim(email):
                return email
        return f"{given}.{family}.{index}.{rng.getrandbits(32):08x}@{domain}"

    def _alt_email(self, email: str) -> str:
        local, domain = email.split("@")
        other = _pick(self.rng, self._domains, self._domain_cum)
        if other == domain:
            return ""
        alt = f"{local}@{other}"
        return alt if self.emails.claim(alt) else ""

    # lookalikes

    def _lookalike(self, index: int, persona: Persona, kind: str, source: Person) -> Person:
        if kind == "namesake":
            person = self._namesake(index, persona, source)
        elif kind == "twin":
            person = self._twin(index, persona, source)
        else:
            person = self._relative(index, persona, source)
        person.lookalike_of = source.pid
        person.lookalike_kind = kind
        return person

    def _namesake(self, index: int, persona: Persona, source: Person) -> Person:
        birth = self._birth(persona)
        while birth == source.birth:
            birth = self._birth(persona)
        if _chance(self.rng, 0.5):
            same_city = [row for row in vocab.CITIES if row[0] == source.address.city]
            address = self._address(self.rng.choice(same_city))
        else:
            address = self._address()
        return self._assemble(
            index, persona, source.gender, source.first, source.last, birth, address, self._household(address)
        )

    def _twin(self, index: int, persona: Persona, source: Person) -> Person:
        gender = "F" if _chance(self.rng, 0.5) else "M"
        first = self._first_name(gender, source.birth, avoid=source.first)
        household = (source.household, source.landline)
        return self._assemble(index, persona, gender, first, source.last, source.birth, source.address, household)

    def _relative(self, index: int, persona: Persona, source: Person) -> Person:
        rng = self.rng
        birth = self._relative_birth(source.birth)
        spouse = abs((birth - source.birth).days) < 15 * 365
        if spouse:
            gender = source.gender if _chance(rng, 0.08) else ("M" if source.gender == "F" else "F")
        else:
            gender = "F" if _chance(rng, 0.5) else "M"
        first = self._first_name(gender, birth, avoid=source.first)
        household = (source.household, source.landline)
        person = self._assemble(index, persona, gender, first, source.last, birth, source.address, household)
        if _chance(rng, 0.1):
            person.shared_email = source.email  # one household e-mail address given for both
        return person

    def _relative_birth(self, birth: date) -> date:
        rng = self.rng
        youngest = _years_before(self.cal.start, 18)
        oldest = _years_before(self.cal.start, 92)
        if _chance(rng, 0.35):
            gap = timedelta(days=rng.randrange(22 * 365, 36 * 365))
            for candidate in (birth + gap, birth - gap):
                if oldest <= candidate <= youngest:
                    return candidate
        candidate = birth + timedelta(days=rng.randrange(-6 * 365, 6 * 365))
        return min(max(candidate, oldest), youngest)


# --- life course and habits -------------------------------------------------------------------------------------


class LifeCourse:
    """Which sources know a person and since when, their habits, churn and life event."""

    def __init__(self, rng: random.Random, calendar: Calendar, catalogue: Catalogue) -> None:
        self.rng = rng
        self.cal = calendar
        self.catalogue = catalogue

    def shape(self, person: Person) -> None:
        self._relationship(person)
        self._sources(person)
        person.habits = self._habits(person)
        self._activity(person)
        self._life_event(person)

    def _relationship(self, person: Person) -> None:
        rng = self.rng
        days = self.cal.days
        if person.persona.key == "newcomers":
            person.since = days - rng.randrange(14, 240)
        elif _chance(rng, 0.8):
            person.since = -rng.randrange(0, 12 * 365)
        else:
            person.since = rng.randrange(0, 500)

    def _sources(self, person: Person) -> None:
        rng = self.rng
        store, web, app = person.persona.channels
        weights = {"crm": 0.55, "eshop": 0.2 + 0.9 * (web + app), "loyalty": 0.05 + 2.0 * store}
        count = 1 + bisect(_cumulative(SOURCE_COUNT_WEIGHTS), rng.random())
        chosen: list[str] = ["eshop"] if store == 0 else []
        while len(chosen) < count:
            left = [s for s in SOURCES if s not in chosen]
            chosen.append(_pick(rng, left, _cumulative([weights[s] for s in left])))
        rng.shuffle(chosen)
        day = person.since
        for i, source in enumerate(chosen):
            if i:
                day = min(day + int(rng.expovariate(1 / (60.0 if day > 0 else 700.0))), self.cal.days - 1)
            person.sources[source] = day

    def _habits(self, person: Person) -> Habits:
        rng = self.rng
        persona = person.persona
        channels = self._channels(person)
        weights = [w * rng.lognormvariate(0, 0.45) for w in persona.weights]
        top = sorted(range(len(weights)), key=lambda c: -weights[c])[:3]
        rate = persona.rate * RATE_SCALE * rng.gammavariate(2.0, 0.5) / 365.0
        online = channels[1] + channels[2]
        return Habits(
            rate=rate,
            channels=channels,
            weights=weights,
            tiers_cum=_cumulative(persona.tiers),
            promo=min(0.8, persona.promo * rng.lognormvariate(0, 0.3)),
            lines=persona.lines * rng.uniform(0.8, 1.2),
            quantity=persona.quantity,
            engagement=rng.betavariate(1.3, 4.0),
            browse=online * (1.5 + rate * 365 * 0.5) / 365.0,
            consent_bias=rng.gauss(0, 1.0),
            card_use=rng.uniform(0.9, 1.0),
            top_categories=frozenset(top),
        )

    def _channels(self, person: Person) -> tuple[float, float, float]:
        rng = self.rng
        store, web, app = (c * rng.lognormvariate(0, 0.35) for c in person.persona.channels)
        if "eshop" not in person.sources:
            web = app = 0.0
            store = 1.0
        total = store + web + app
        return store / total, web / total, app / total

    def _activity(self, person: Person) -> None:
        rng = self.rng
        days = self.cal.days
        start = max(0, person.since)
        if person.habits and person.habits.channels[0] == 0:
            start = max(start, person.sources.get("eshop", start))
        person.active_from = start
        person.active_to = days
        churn = person.persona.churn
        window = (start + 45, days - 20)
        if window[0] < window[1] and _chance(rng, churn):
            if person.persona.key == "lapsing":
                person.churn_day = int(rng.triangular(window[0], window[1], window[0]))
            else:
                person.churn_day = rng.randrange(*window)
            person.active_to = person.churn_day

    def _life_event(self, person: Person) -> None:
        rng = self.rng
        low, high = max(person.active_from, 30), min(person.active_to, self.cal.days - 30)
        if low >= high:
            return
        day = rng.randrange(low, high)
        age = (self.cal.date_of(day) - person.birth).days / 365.25
        baby_rate = 0.22 if person.persona.key == "young_families" else 0.05
        if 23 <= age <= 44 and _chance(rng, baby_rate):
            person.event = "baby"
        elif 60 <= age <= 66 and _chance(rng, 0.3):
            person.event = "retirement"
        elif _chance(rng, 0.045):
            person.event = "move"
        person.event_day = day


# --- source records ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class RecordDraft:
    """A customer as one demo source will write it: a row of customers_<source>.csv and when it is valid."""

    source: str
    external_id: str
    signup: int  # day index
    valid_to: int  # exclusive day index until which the id is in use
    row: list[str]


class RecordFactory:
    """Writes what each source knows about a person, with the variations real files have."""

    def __init__(self, rng: random.Random, ids: random.Random, calendar: Calendar, noise: float) -> None:
        self.rng = rng
        self.ids = ids  # a stream of its own: the noise level changes identity fields only, never ids
        self.cal = calendar
        self.rates = {key: min(0.9, rate * noise) for key, rate in NOISE_RATES.items()}
        self.counters = {"crm": 1000, "eshop": 8_100_000, "loyalty": 100_000_000}
        self.legacy_day = calendar.index(LEGACY_TILL_END)
        self._formats = {
            src: ([f for f, _ in formats], _cumulative([w for _, w in formats]))
            for src, formats in PHONE_FORMATS.items()
        }

    def build(self, person: Person) -> list[RecordDraft]:
        records = []
        for source, signup in person.sources.items():
            if source == "loyalty" and self._reissued(person, signup):
                reissue = self.ids.randrange(max(signup, 0) + 60, self.cal.days - 30)
                records.append(self._record(person, source, signup, reissue))
                signup = reissue
            records.append(self._record(person, source, signup, self.cal.days))
        return records

    def _reissued(self, person: Person, signup: int) -> bool:
        return max(signup, 0) + 60 < self.cal.days - 30 and _chance(self.ids, CARD_REISSUE_RATE)

    def _next_id(self, source: str) -> str:
        self.counters[source] += self.ids.randint(1, 4)
        number = self.counters[source]
        if source == "crm":
            return f"C{number:07d}"
        if source == "eshop":
            return f"W{number:07d}"
        body = f"290{number:09d}"
        return body + _ean_check_digit(body)

    def _record(self, person: Person, source: str, signup: int, valid_to: int) -> RecordDraft:
        rng, rates = self.rng, self.rates
        email_share, phone_share, birth_share, gender_share, address_share = SOURCE_FIELDS[source]
        first, last = self._names(person)
        legacy = source == "loyalty" and signup < self.legacy_day  # cards printed by the old till system
        if source == "loyalty":
            last = _strip_accents(last).upper() if legacy else last.upper()
        email = self._email(person) if _chance(rng, email_share) else ""
        phone = self._phone(person, source) if _chance(rng, phone_share) else ""
        birth = self._birth(person) if _chance(rng, birth_share) else ""
        gender = person.gender if _chance(rng, gender_share) else ""
        street, postcode, city = self._address(person, signup, legacy) if _chance(rng, address_share) else ("", "", "")
        email, phone, birth, gender = (
            v if not _chance(rng, rates["missing"]) else "" for v in (email, phone, birth, gender)
        )
        external_id = self._next_id(source)
        row = [
            external_id,
            first,
            last,
            email,
            phone,
            birth,
            gender,
            street,
            postcode,
            city,
            COUNTRY[source] if street else "",
            self.cal.iso_date(signup),
        ]
        if source == "loyalty":
            row.append(_card_tier(person))
        return RecordDraft(source, external_id, signup, valid_to, row)

    def _names(self, person: Person) -> tuple[str, str]:
        rng, rates = self.rng, self.rates
        first, last = person.first, person.last
        nicknames = vocab.NICKNAMES.get(first)
        if nicknames and _chance(rng, rates["nickname"]):
            first = rng.choice(nicknames)
        if _chance(rng, rates["typo_first"]):
            first = _typo(rng, first)
        if _chance(rng, rates["typo_last"]):
            last = _typo(rng, last)
        if _chance(rng, rates["case"]):
            first, last = _recase(rng, first), _recase(rng, last)
        if _chance(rng, rates["swap"]):
            first, last = last, first
        return first, last

    def _email(self, person: Person) -> str:
        rng, rates = self.rng, self.rates
        email = person.email
        if person.shared_email and _chance(rng, 0.5):
            email = person.shared_email
        elif person.alt_email and _chance(rng, rates["email_new"]):
            email = person.alt_email
        if _chance(rng, rates["email_case"]):
            local, domain = email.split("@")
            email = f"{local.title()}@{domain}" if _chance(rng, 0.7) else email.upper()
        return email

    def _phone(self, person: Person, source: str) -> str:
        rng = self.rng
        number = person.mobile
        if person.landline and (not number or _chance(rng, 0.25)):
            number = person.landline
        if not number:
            return ""
        if _chance(rng, self.rates["phone_typo"]):
            position = rng.randrange(2, 10)
            number = number[:position] + str(rng.randrange(10)) + number[position + 1 :]
        formats, cum = self._formats[source]
        return _format_phone(number, _pick(rng, formats, cum))

    def _birth(self, person: Person) -> str:
        rng, rates = self.rng, self.rates
        birth = person.birth
        if _chance(rng, rates["birth_day_month"]) and birth.day <= 12 and birth.day != birth.month:
            birth = date(birth.year, birth.day, birth.month)
        elif _chance(rng, rates["birth_transpose"]):
            birth = _transpose_digits(rng, birth)
        return birth.isoformat()

    def _address(self, person: Person, signup: int, legacy: bool) -> tuple[str, str, str]:
        rng, rates = self.rng, self.rates
        address = person.address
        moved_since = person.event == "move" and signup < person.event_day and not _chance(rng, _MOVE_UPDATE)
        if moved_since or _chance(rng, rates["old_address"]):
            address = person.previous
        street_type = address.street_type
        if _chance(rng, rates["abbreviation"]):
            street_type = rng.choice(vocab.STREET_ABBREVIATIONS[street_type])
        street = f"{address.number} {street_type} {address.street_name}"
        if address.complement and not _chance(rng, rates["complement"]):
            street = f"{street}, {address.complement}" if _chance(rng, 0.6) else f"{address.complement}, {street}"
        postcode, city = address.postcode, address.city
        if _chance(rng, rates["postcode_typo"]):
            position = rng.randrange(2, 5)
            postcode = postcode[:position] + str(rng.randrange(10)) + postcode[position + 1 :]
        if legacy:
            street, city = _strip_accents(street).upper(), _strip_accents(city).upper()
        return street, postcode, city


_MOVE_UPDATE = 0.45  # share of records written before a move that the customer updated since


def _ean_check_digit(body: str) -> str:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return str((10 - total % 10) % 10)


def _card_tier(person: Person) -> str:
    habits = person.habits
    if habits is None:
        return ""
    yearly_lines = habits.rate * 365 * habits.lines
    if yearly_lines > 90:
        return "gold"
    return "silver" if yearly_lines > 30 else "standard"


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 3:
        return word
    i = rng.randrange(1, len(word) - 1)  # the first letter is rarely wrong
    draw = rng.random()
    if draw < 0.35:
        letter = rng.choice(KEYBOARD.get(word[i].lower(), "aeiou") or "e")
        letter = letter.upper() if word[i].isupper() else letter
        return word[:i] + letter + word[i + 1 :]
    if draw < 0.6:
        return word[:i] + word[i + 1 :]
    if draw < 0.85:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word[:i] + word[i] + word[i:]


def _recase(rng: random.Random, name: str) -> str:
    draw = rng.random()
    if draw < 0.3:
        return name.upper()
    if draw < 0.5:
        return _strip_accents(name).upper()
    if draw < 0.7:
        return _strip_accents(name).lower()
    if draw < 0.85:
        return name.lower()
    return _strip_accents(name)


def _transpose_digits(rng: random.Random, birth: date) -> date:
    text = birth.strftime("%Y%m%d")
    for position in rng.sample((2, 4, 6), 3):
        swapped = text[:position] + text[position + 1] + text[position] + text[position + 2 :]
        try:
            candidate = date(int(swapped[:4]), int(swapped[4:6]), int(swapped[6:]))
        except ValueError:
            continue
        if candidate != birth:
            return candidate
    return birth


def _format_phone(number: str, style: str) -> str:
    pairs = [number[i : i + 2] for i in range(0, 10, 2)]
    if style == "spaced":
        return " ".join(pairs)
    if style == "dotted":
        return ".".join(pairs)
    if style == "intl_spaced":
        return "+33 " + number[1] + " " + " ".join(pairs[1:])
    if style == "intl":
        return "+33" + number[1:]
    return number


# --- receipts ---------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Basket:
    """A demo purchase (or return) before it is written as receipt lines."""

    moment: int  # minutes since the first day
    channel: str  # store, web or app
    store: str
    customer: str
    lines: list[list[Any]]  # [product, quantity, discount in cents]


class Shop:
    """Simulates when a person shops, where, and what goes into the basket; returns come back later."""

    def __init__(self, rng: random.Random, calendar: Calendar, catalogue: Catalogue) -> None:
        self.rng = rng
        self.cal = calendar
        self.catalogue = catalogue
        self._store_hours = _hour_table(vocab.STORE_HOURS)
        self._retired_hours = _hour_table(vocab.RETIRED_STORE_HOURS)
        self._sunday_hours = _hour_table(vocab.SUNDAY_HOURS)
        self.web_hours = _hour_table(vocab.WEB_HOURS)
        self._promo_cums = [_cumulative(w) for w in PROMO_WEIGHTS]

    def receipts(self, person: Person, records: list[RecordDraft]) -> list[Basket]:
        cards = [r for r in records if r.source == "loyalty"]
        account = next((r for r in records if r.source == "eshop"), None)
        receipts: list[Basket] = []
        for day in self._shopping_days(person):
            receipt = self._receipt(person, day, cards, account)
            if receipt is not None:
                receipts.append(receipt)
        receipts += [r for r in (self._returns(person, receipt) for receipt in list(receipts)) if r is not None]
        receipts.sort(key=lambda r: r.moment)
        return receipts

    def _shopping_days(self, person: Person) -> list[int]:
        """A Poisson process with the person's rate, thinned by season, weekday, life stage and lapsing."""
        rng, cal = self.rng, self.cal
        habits = person.habits
        assert habits is not None
        gifts = person.persona.key == "seasonal_gift_buyers"
        season = cal.gifting if gifts else cal.shopping
        peak = habits.rate * (cal.gifting_peak if gifts else cal.shopping_peak) * 1.6 * 1.3
        days: list[int] = []
        moment = person.active_from + rng.expovariate(peak)
        while moment < person.active_to:
            day = int(moment)
            intensity = habits.rate * season[day] * self._weekday(person, day) * self._stage(person, day)
            if rng.random() * peak < intensity:
                days.append(day)
            moment += rng.expovariate(peak)
        return days

    def _weekday(self, person: Person, day: int) -> float:
        store = person.habits.channels[0] if person.habits else 1.0
        weekday = self.cal.weekdays[day]
        table = vocab.RETIRED_STORE_WEEKDAYS if person.retired_on(day) else vocab.STORE_WEEKDAYS
        return store * table[weekday] + (1 - store) * vocab.WEB_WEEKDAYS[weekday]

    def _stage(self, person: Person, day: int) -> float:
        factor = 1.0
        if person.persona.key == "lapsing":
            factor = math.exp(-(day - person.active_from) / 300.0)
        if person.event and day >= person.event_day:
            factor *= {"baby": 1.25, "retirement": 1.3, "move": 1.0}[person.event]
        if person.event == "move" and abs(day - person.event_day) < 20:
            factor *= 0.5
        return factor

    def _receipt(
        self, person: Person, day: int, cards: list[RecordDraft], account: RecordDraft | None
    ) -> Basket | None:
        rng, cal = self.rng, self.cal
        habits = person.habits
        assert habits is not None
        channel = self._channel(person, day, account)
        if channel is None:
            return None
        if channel == "store":
            store = person.store_on(day) if _chance(rng, 0.92) else rng.choice(vocab.STORES)
            weekday = cal.weekdays[day]
            if cal.closed[day] or (weekday == 6 and store not in vocab.SUNDAY_STORES):
                return None
            card = next((c for c in cards if c.signup <= day < c.valid_to), None)
            customer = card.external_id if card and _chance(rng, habits.card_use) else ""
            minute = self._store_minute(person, day)
        else:
            store, customer = "WEB", account.external_id if account else ""
            minute = _pick(rng, range(DAY_MINUTES), self.web_hours)
        receipt = Basket(day * DAY_MINUTES + minute, channel, store, customer, [])
        self._fill(person, receipt, day)
        return receipt

    def _channel(self, person: Person, day: int, account: RecordDraft | None) -> str | None:
        habits = person.habits
        assert habits is not None
        store, web, app = habits.channels
        if account is None or day < account.signup:
            return "store" if store > 0 else None
        weekday = self.cal.weekdays[day]
        store *= vocab.STORE_WEEKDAYS[weekday]
        online = vocab.WEB_WEEKDAYS[weekday]
        draw = self.rng.random() * (store + (web + app) * online)
        if draw < store:
            return "store"
        return "web" if draw < store + web * online else "app"

    def _store_minute(self, person: Person, day: int) -> int:
        if self.cal.weekdays[day] == 6:
            table = self._sunday_hours
        elif person.retired_on(day):
            table = self._retired_hours
        else:
            table = self._store_hours
        return _pick(self.rng, range(DAY_MINUTES), table)

    def _fill(self, person: Person, receipt: Basket, day: int) -> None:
        rng = self.rng
        habits = person.habits
        assert habits is not None
        mean = habits.lines + {"store": 0.0, "web": 1.2, "app": -0.4}[receipt.channel]
        if person.event == "baby" and day >= person.event_day:
            mean *= 1.3
        if self.cal.months[day] == 11:
            mean *= 1.15
        count = min(40, 1 + _poisson(rng, max(0.0, mean - 1)))
        mix = self._mix(person, day)
        seen: dict[str, list[Any]] = {}
        for _ in range(count):
            cat = bisect(mix, rng.random() * mix[-1])
            product = self._product(habits, cat)
            quantity = 1 + _poisson(rng, vocab.CATEGORY_QUANTITY[product.category] * habits.quantity - 1)
            if product.sku in seen:
                seen[product.sku][1] += quantity
                continue
            line = [product, min(quantity, 12), 0]
            seen[product.sku] = line
            receipt.lines.append(line)
        for line in receipt.lines:
            line[1] = min(line[1], 12)
            line[2] = self._discount(habits, line[0], line[1], day, bool(receipt.customer))

    def _mix(self, person: Person, day: int) -> list[float]:
        """Cumulative category weights for the person on that day (season and life stage)."""
        habits = person.habits
        assert habits is not None
        stage = _life_stage(person, day)
        key = (self.cal.months[day], stage)
        cached = habits.mix_cache.get(key)
        if cached is not None:
            return cached
        month = key[0]
        weights = [w * vocab.CATEGORY_SEASONS[c][month] for c, w in zip(vocab.CATEGORIES, habits.weights, strict=True)]
        total = sum(habits.weights)
        _apply_stage(weights, stage, total)
        cached = _cumulative(weights)
        habits.mix_cache[key] = cached
        return cached

    def _product(self, habits: Habits, cat: int) -> ShelfItem:
        rng = self.rng
        favourites = habits.favourites.get(cat)
        if favourites is None:
            favourites = [self.catalogue.pick(rng, cat, self._tier(habits)) for _ in range(2)]
            habits.favourites[cat] = favourites
        if _chance(rng, 0.4):
            return rng.choice(favourites)
        return self.catalogue.pick(rng, cat, self._tier(habits))

    def _tier(self, habits: Habits) -> int:
        return bisect(habits.tiers_cum, self.rng.random() * habits.tiers_cum[-1])

    def _discount(self, habits: Habits, product: ShelfItem, quantity: int, day: int, card: bool) -> int:
        rng, cal = self.rng, self.cal
        chance = habits.promo * vocab.CATEGORY_PROMO_FACTOR[product.category] * (1.25 if card else 1.0)
        if cal.sales[day] and product.category in ("textile", "home", "electronics"):
            chance *= 2.0
        if cal.black_friday[day] and product.category in ("electronics", "toys"):
            chance *= 2.0
        if not _chance(rng, min(chance, 0.9)):
            return 0
        percent = _pick(rng, PROMO_PERCENTS, self._promo_cums[1 if habits.promo > 0.3 else 0])
        return (quantity * product.price * percent + 50) // 100

    def _returns(self, person: Person, receipt: Basket) -> Basket | None:
        rng = self.rng
        factor = 1.6 if receipt.channel != "store" else 1.0
        returned = [
            [product, -rng.randint(1, quantity), 0]
            for product, quantity, discount in receipt.lines
            if discount == 0 and _chance(rng, vocab.CATEGORY_RETURN_RATE[product.category] * factor)
        ]
        if not returned:
            return None
        day = receipt.moment // DAY_MINUTES + 1 + int(rng.expovariate(1 / 6.0))
        if day >= person.active_to or (receipt.channel == "store" and self._closed(day, receipt.store)):
            return None
        if receipt.channel == "store":
            minute = _pick(
                rng, range(DAY_MINUTES), self._sunday_hours if self.cal.weekdays[day] == 6 else self._store_hours
            )
        else:
            minute = _pick(rng, range(DAY_MINUTES), self.web_hours)
        return Basket(day * DAY_MINUTES + minute, receipt.channel, receipt.store, receipt.customer, returned)

    def _closed(self, day: int, store: str) -> bool:
        return self.cal.closed[day] or (self.cal.weekdays[day] == 6 and store not in vocab.SUNDAY_STORES)


def _hour_table(hours: Sequence[tuple[int, float]]) -> list[float]:
    """Cumulative weights over the 1,440 minutes of a day from weights per hour."""
    per_minute = [0.0] * DAY_MINUTES
    for hour, weight in hours:
        for minute in range(hour * 60, hour * 60 + 60):
            per_minute[minute] = weight
    return _cumulative(per_minute)


def _life_stage(person: Person, day: int) -> int:
    """0 nothing special, 1 expecting a baby, 2 baby, 3 toddler, 4 moving, 5 retired."""
    if not person.event:
        return 0
    delta = day - person.event_day
    if person.event == "baby":
        if delta < -90:
            return 0
        return 1 if delta < 0 else (2 if delta < 240 else 3)
    if person.event == "move":
        return 4 if -30 <= delta <= 60 else 0
    return 5 if delta >= 0 else 0


_STAGE_BOOSTS: dict[int, tuple[tuple[int, float, float], ...]] = {
    # stage -> (category index, extra share of the basket, multiplier)
    1: ((4, 0.08, 1.0),),
    2: ((4, 0.25, 1.0), (5, 0.02, 1.0)),
    3: ((4, 0.18, 1.0), (5, 0.08, 1.0), (9, 0.03, 1.0)),
    4: ((6, 0.0, 2.5), (7, 0.0, 1.8)),
    5: ((7, 0.0, 1.5), (2, 0.0, 1.2), (3, 0.0, 1.2)),
}


def _apply_stage(weights: list[float], stage: int, total: float) -> None:
    for cat, share, multiplier in _STAGE_BOOSTS.get(stage, ()):
        weights[cat] = weights[cat] * multiplier + share * total


# --- consents ---------------------------------------------------------------------------------------------------


class ConsentLedger:
    """Consent choices made at signup, later withdrawals and late opt-ins, per source record."""

    def __init__(self, rng: random.Random, calendar: Calendar) -> None:
        self.rng = rng
        self.cal = calendar
        self.gdpr_day = calendar.index(GDPR_DATE)
        self.versions = [key for key, _ in vocab.POLICY_VERSIONS]
        self.version_days = [calendar.index(date(*when)) for _, when in vocab.POLICY_VERSIONS]

    def build(self, person: Person, record: RecordDraft) -> tuple[list[tuple[int, list[str]]], list[tuple[int, int]]]:
        """Rows (moment, row) of one record, and the minutes between which e-mail marketing was allowed."""
        rows: list[tuple[int, list[str]]] = []
        email_windows: list[tuple[int, int]] = []
        signup_moment, capture, evidence = self._signup(person, record)
        for purpose, base, crm_channel, eshop_channel, needs in vocab.CONSENT_PURPOSES:
            channel = self._channel(person, record, crm_channel, eshop_channel, needs)
            if not channel:
                continue
            granted = _chance(self.rng, self._rate(person, purpose, base))
            history = self._history(person, record, granted, signup_moment, capture, evidence)
            for moment, status, where, why in history:
                rows.append((moment, self._row(record, purpose, channel, status, moment, where, why)))
            if purpose == "email_marketing":
                email_windows = _granted_windows(history, self.cal.days * DAY_MINUTES)
        rows.sort(key=lambda item: item[0])
        return rows, email_windows

    def _signup(self, person: Person, record: RecordDraft) -> tuple[int, str, str]:
        rng = self.rng
        if record.signup < self.gdpr_day:
            moment = (self.gdpr_day + rng.randrange(0, 40)) * DAY_MINUTES + rng.randrange(480, 1320)
            return moment, "email", "GDPR re-consent e-mail"
        moment = record.signup * DAY_MINUTES + rng.randrange(540, 1200)
        if record.source == "eshop":
            app = person.habits is not None and person.habits.channels[2] > person.habits.channels[1]
            return (moment, "app", "app signup") if app else (moment, "web", "web form signup")
        if _chance(rng, 0.6):
            return moment, "store", f"store form {person.store_on(record.signup)}"
        if _chance(rng, 0.7):
            return moment, "call_centre", f"call centre agent {rng.randint(1, 40)}"
        return moment, "post", "paper form"

    def _channel(self, person: Person, record: RecordDraft, crm: str, eshop: str, needs: str) -> str:
        row = record.row
        if (
            (needs == "email" and not row[3])
            or (needs == "phone" and not row[4])
            or (needs == "address" and not row[7])
        ):
            return ""
        channel = crm if record.source == "crm" else eshop
        if channel == "web" and person.habits is not None and person.habits.channels[2] > person.habits.channels[1]:
            return "app"
        return channel

    def _rate(self, person: Person, purpose: str, base: float) -> float:
        habits = person.habits
        bias = habits.consent_bias if habits else 0.0
        if person.persona.key == "bargain_hunters" and purpose in ("email_marketing", "sms_marketing"):
            bias += 0.5
        logit = math.log(base / (1 - base)) + 1.1 * bias
        return 1 / (1 + math.exp(-logit))

    def _history(
        self, person: Person, record: RecordDraft, granted: bool, signup: int, capture: str, evidence: str
    ) -> list[tuple[int, str, str, str]]:
        rng = self.rng
        end = self.cal.days * DAY_MINUTES - 1
        history: list[tuple[int, str, str, str]] = []
        if granted or record.source == "eshop":  # the web form records both answers, head office only opt-ins
            history.append((signup, "granted" if granted else "withdrawn", capture, evidence))
        later = max(signup + DAY_MINUTES, 0)
        if later >= end:
            return history
        churned = person.churn_day is not None
        if granted and _chance(rng, 0.2 if churned else 0.08):
            moment = self._later_moment(person, later, end)
            history.append((moment, "withdrawn", *self._withdrawal_evidence(record)))
        elif not granted and _chance(rng, 0.05):
            moment = rng.randrange(later, end)
            where = "web" if record.source == "eshop" else "store"
            why = (
                "account settings"
                if record.source == "eshop"
                else f"store form {person.store_on(moment // DAY_MINUTES)}"
            )
            history.append((moment, "granted", where, why))
        return history

    def _later_moment(self, person: Person, low: int, high: int) -> int:
        rng = self.rng
        if person.churn_day is not None and _chance(self.rng, 0.6):
            around = person.churn_day * DAY_MINUTES + rng.randrange(-30 * DAY_MINUTES, 60 * DAY_MINUTES)
            return min(max(around, low), high)
        return rng.randrange(low, high)

    def _withdrawal_evidence(self, record: RecordDraft) -> tuple[str, str]:
        draw = self.rng.random()
        if draw < 0.5:
            return "email", "unsubscribe link"
        if record.source == "eshop":
            return "web", "account settings"
        return "call_centre", f"call centre agent {self.rng.randint(1, 40)}"

    def _row(
        self, record: RecordDraft, purpose: str, channel: str, status: str, moment: int, where: str, evidence: str
    ) -> list[str]:
        if status == "withdrawn" and evidence == "unsubscribe link" and channel == "sms":
            where, evidence = "sms", "STOP SMS"
        day = moment // DAY_MINUTES
        version = self.versions[max(0, bisect(self.version_days, day) - 1)]
        return [record.external_id, purpose, channel, status, self.cal.stamp(moment), where, version, evidence]


def _granted_windows(history: list[tuple[int, str, str, str]], end: int) -> list[tuple[int, int]]:
    windows = []
    opened: int | None = None
    for moment, status, _, _ in sorted(history):
        if status == "granted" and opened is None:
            opened = moment
        elif status == "withdrawn" and opened is not None:
            windows.append((opened, moment))
            opened = None
    if opened is not None:
        windows.append((opened, end))
    return windows


# --- interactions -----------------------------------------------------------------------------------------------


class Interactions:
    """Web and app sessions around orders and browsing; e-mails opened, calls, visits to a store's desk."""

    def __init__(self, rng: random.Random, calendar: Calendar, catalogue: Catalogue, web_hours: list[float]) -> None:
        self.rng = rng
        self.cal = calendar
        self.catalogue = catalogue
        self.web_hours = web_hours
        self._call_reasons = ([r for r, _ in vocab.CALL_REASONS], _cumulative([w for _, w in vocab.CALL_REASONS]))
        self._visit_reasons = (
            [r for r, _ in vocab.STORE_VISIT_REASONS],
            _cumulative([w for _, w in vocab.STORE_VISIT_REASONS]),
        )
        self._campaign_days = [c[0] for c in calendar.campaigns]
        self.end = calendar.days * DAY_MINUTES

    # web and app

    def eshop(self, person: Person, account: RecordDraft | None, receipts: list[Basket]) -> list[tuple[int, list[str]]]:
        events: list[tuple[int, list[str]]] = []
        for receipt in receipts:
            if receipt.channel != "store" and receipt.lines[0][1] > 0:
                self._order_session(person, receipt, events)
        habits = person.habits
        if habits is None or habits.browse <= 0 or person.active_from >= person.active_to:
            return _sorted(events)
        peak = habits.browse
        moment = person.active_from + self.rng.expovariate(peak)
        while moment < person.active_to:
            self._browse_session(person, account, int(moment), events)
            moment += self.rng.expovariate(peak)
        return _sorted(events)

    def _order_session(self, person: Person, receipt: Basket, events: list[tuple[int, list[str]]]) -> None:
        rng = self.rng
        lines = receipt.lines
        count = 1 + len(lines) * 2 + 1
        second = receipt.moment * 60 - count * 50 - rng.randrange(30, 600)
        session = _Session(self, receipt.customer, self._device(person, receipt.channel), receipt.channel, second)
        session.add(events, "page_view", {"page": "/"})
        if _chance(rng, 0.5):
            session.add(events, "search", {"query": rng.choice(vocab.SEARCH_TERMS[lines[0][0].category])})
        for product, quantity, _ in lines:
            session.add(events, "product_view", {"category": product.category, "sku": product.sku})
            session.add(events, "add_to_cart", {"category": product.category, "quantity": quantity, "sku": product.sku})

    def _browse_session(
        self, person: Person, account: RecordDraft | None, day: int, events: list[tuple[int, list[str]]]
    ) -> None:
        rng = self.rng
        habits = person.habits
        assert habits is not None
        channel = "app" if rng.random() * (habits.channels[1] + habits.channels[2]) >= habits.channels[1] else "web"
        logged_in = account is not None and day >= account.signup and not _chance(rng, ANONYMOUS_BROWSE_SHARE)
        customer = account.external_id if logged_in and account else ""
        minute = _pick(rng, range(DAY_MINUTES), self.web_hours)
        session = _Session(self, customer, self._device(person, channel), channel, (day * DAY_MINUTES + minute) * 60)
        session.add(events, "page_view", {"page": rng.choice(vocab.WEB_PAGES)})
        weights = _cumulative(habits.weights)
        cat = bisect(weights, rng.random() * weights[-1])
        if _chance(rng, 0.4):
            session.add(events, "search", {"query": rng.choice(vocab.SEARCH_TERMS[vocab.CATEGORIES[cat]])})
        for _ in range(1 + _poisson(rng, 1.2)):
            product = self.catalogue.pick(rng, cat, 1)
            session.add(events, "product_view", {"category": product.category, "sku": product.sku})
        if _chance(rng, 0.2):
            session.add(events, "add_to_cart", {"category": product.category, "quantity": 1, "sku": product.sku})

    def _device(self, person: Person, channel: str) -> str:
        return f"{'app' if channel == 'app' else 'web'}-{person.cookie}"

    # head office

    def crm(
        self, person: Person, record: RecordDraft | None, email_windows: list[tuple[int, int]]
    ) -> list[tuple[int, list[str]]]:
        if record is None:
            return []
        events: list[tuple[int, list[str]]] = []
        if record.row[3]:
            self._emails(person, record.external_id, email_windows, events)
        self._calls(person, record, events)
        self._visits(person, record, events)
        return _sorted(events)

    def _add(
        self,
        events: list[tuple[int, list[str]]],
        customer: str,
        moment: int,
        second: int,
        kind: str,
        channel: str,
        props: dict[str, Any],
    ) -> None:
        row = [customer, "", self.cal.stamp(moment, second), kind, channel, _json(props)]
        events.append((moment * 60 + second, row))

    def _emails(
        self, person: Person, customer: str, windows: list[tuple[int, int]], events: list[tuple[int, list[str]]]
    ) -> None:
        """Newsletters and campaigns sent while e-mail marketing was allowed: some are opened, fewer clicked."""
        for low, high in windows:
            first = bisect_left(self._campaign_days, max(low, 0) // DAY_MINUTES)
            for campaign in self.cal.campaigns[first:]:
                sent = campaign[0] * DAY_MINUTES + campaign[1]
                if sent >= high:
                    break
                if sent >= low:
                    self._campaign(person, customer, campaign, sent, events)

    def _campaign(
        self,
        person: Person,
        customer: str,
        campaign: tuple[int, int, str, str],
        sent: int,
        events: list[tuple[int, list[str]]],
    ) -> None:
        rng = self.rng
        habits = person.habits
        assert habits is not None
        day, _, key, category = campaign
        active = day < person.active_to
        if not _chance(rng, habits.engagement * (1.0 if active else 0.35)):
            return
        opened = sent + int(rng.expovariate(1 / 300.0))
        if opened >= self.end:
            return
        props = {"campaign": key, "category": category}
        self._add(events, customer, opened, rng.randrange(59), "email_open", "email", props)
        interested = vocab.CATEGORIES.index(category) in habits.top_categories
        if active and _chance(rng, 0.12 * (2.5 if interested else 1.0)):
            props["url"] = f"/campagne/{key}"
            clicked = min(opened + rng.randrange(0, 5), self.end - 1)
            self._add(events, customer, clicked, 59, "email_click", "email", props)

    def _calls(self, person: Person, record: RecordDraft, events: list[tuple[int, list[str]]]) -> None:
        rng = self.rng
        low = max(record.signup, person.active_from)
        days = self._arrivals(low, person.active_to, 0.3 / 365.0)
        if person.event == "move" and low <= person.event_day < person.active_to and _chance(rng, 0.4):
            days.append(min(person.event_day + rng.randrange(0, 30), person.active_to - 1))  # new address to give
        for day in days:
            if self.cal.weekdays[day] == 6 or self.cal.closed[day]:
                continue
            moving = person.event == "move" and 0 <= day - person.event_day < 30
            reason = "address_change" if moving else _pick(rng, *self._call_reasons)
            moment = day * DAY_MINUTES + rng.randrange(540, 1080)
            self._add(events, record.external_id, moment, rng.randrange(60), "call_centre", "phone", {"reason": reason})

    def _visits(self, person: Person, record: RecordDraft, events: list[tuple[int, list[str]]]) -> None:
        rng = self.rng
        habits = person.habits
        assert habits is not None
        low = max(record.signup, person.active_from)
        for day in self._arrivals(low, person.active_to, 0.6 * habits.channels[0] / 365.0):
            store = person.store_on(day)
            if self.cal.closed[day] or (self.cal.weekdays[day] == 6 and store not in vocab.SUNDAY_STORES):
                continue
            moment = day * DAY_MINUTES + rng.randrange(570, 1140)
            props = {"reason": _pick(rng, *self._visit_reasons), "store": store}
            self._add(events, record.external_id, moment, rng.randrange(60), "store_visit", "store", props)

    def _arrivals(self, low: int, high: int, rate: float) -> list[int]:
        days: list[int] = []
        if rate <= 0 or low >= high:
            return days
        moment = low + self.rng.expovariate(rate)
        while moment < high:
            days.append(int(moment))
            moment += self.rng.expovariate(rate)
        return days


class _Session:
    """Events of one visit, a few seconds to a minute apart."""

    def __init__(self, owner: Interactions, customer: str, device: str, channel: str, second: int) -> None:
        self.owner = owner
        self.customer = customer
        self.device = device
        self.channel = channel
        self.second = max(0, second)

    def add(self, events: list[tuple[int, list[str]]], kind: str, props: dict[str, Any]) -> None:
        if self.second >= self.owner.cal.days * DAY_MINUTES * 60:
            return  # past the end of the period
        moment, second = divmod(self.second, 60)
        stamp = self.owner.cal.stamp(moment, second)
        events.append((self.second, [self.customer, self.device, stamp, kind, self.channel, _json(props)]))
        self.second += self.owner.rng.randrange(5, 50)


def _json(props: dict[str, Any]) -> str:
    return json.dumps(props, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _sorted(events: list[tuple[int, list[str]]]) -> list[tuple[int, list[str]]]:
    events.sort(key=lambda item: item[0])
    return events


# --- output -----------------------------------------------------------------------------------------------------


class Output:
    """Open CSV files of the output folder, with the number of data rows written to each."""

    def __init__(self, outdir: Path) -> None:
        self.outdir = outdir
        self.rows: dict[str, int] = dict.fromkeys(FILES, 0)
        self._handles: list[IO[str]] = []
        self.writers: dict[str, Any] = {}
        (outdir / "truth").mkdir(parents=True, exist_ok=True)
        for key, (path, header) in FILES.items():
            handle = open(outdir / path, "w", encoding="utf-8", newline="", buffering=1 << 20)  # noqa: SIM115
            self._handles.append(handle)
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(header)
            self.writers[key] = writer

    def write(self, key: str, row: Sequence[Any]) -> None:
        self.writers[key].writerow(row)
        self.rows[key] += 1

    def write_many(self, key: str, rows: list[Sequence[Any]]) -> None:
        self.writers[key].writerows(rows)
        self.rows[key] += len(rows)

    def close(self) -> None:
        for handle in self._handles:
            handle.close()


@dataclass(frozen=True)
class GenerationSummary:
    outdir: Path
    persons: int
    records: dict[str, int]
    receipts: int
    receipt_lines: int
    interactions: int
    consents: int
    seconds: float
    files: dict[str, int]

    def line(self) -> str:
        records = ", ".join(f"{source} {count}" for source, count in self.records.items())
        return (
            f"{self.persons} persons; source records: {records}; {self.receipt_lines} receipt lines "
            f"({self.receipts} receipts); {self.interactions} interactions; {self.consents} consents; "
            f"{self.seconds:.1f} s -> {self.outdir}"
        )


class DemoRetailer:
    """Generates one person after the other and writes their rows at once: memory stays bounded."""

    def __init__(self, *, seed: int, end_date: date, noise: float) -> None:
        self.cal = Calendar(end_date)
        self.catalogue = Catalogue()
        self.people = PersonFactory(random.Random(f"{seed}:people"), self.cal)
        self.life = LifeCourse(random.Random(f"{seed}:life"), self.cal, self.catalogue)
        self.records = RecordFactory(random.Random(f"{seed}:records"), random.Random(f"{seed}:ids"), self.cal, noise)
        self.shop = Shop(random.Random(f"{seed}:shop"), self.cal, self.catalogue)
        self.consents = ConsentLedger(random.Random(f"{seed}:consents"), self.cal)
        self.interactions = Interactions(
            random.Random(f"{seed}:interactions"), self.cal, self.catalogue, self.shop.web_hours
        )
        self.receipt_numbers: dict[str, int] = {}
        self.receipts = 0
        self.personas: dict[str, int] = dict.fromkeys((p.key for p in PERSONAS), 0)
        self.lookalikes: dict[str, int] = {"namesake": 0, "twin": 0, "family": 0}
        self.life_events: dict[str, int] = {"baby": 0, "move": 0, "retirement": 0}
        self.churned = 0

    def add_person(self, index: int, out: Output) -> None:
        person = self.people.create(index)
        self.life.shape(person)
        records = self.records.build(person)
        receipts = self.shop.receipts(person, records)
        self._write_records(person, records, out)
        self._write_receipts(receipts, out)
        windows = self._write_consents(person, records, out)
        account = next((r for r in records if r.source == "eshop"), None)
        crm = next((r for r in records if r.source == "crm"), None)
        out.write_many("events_eshop", [row for _, row in self.interactions.eshop(person, account, receipts)])
        out.write_many("events_crm", [row for _, row in self.interactions.crm(person, crm, windows)])
        self._write_truth(person, out)

    def _write_records(self, person: Person, records: list[RecordDraft], out: Output) -> None:
        for record in records:
            out.write(f"customers_{record.source}", record.row)
            out.write("truth_records", (record.source, record.external_id, person.pid))
            self._write_shared(person, record, out)

    def _write_shared(self, person: Person, record: RecordDraft, out: Output) -> None:
        email, phone = record.row[3], record.row[4]
        if person.shared_email and email.lower() == person.shared_email:
            out.write(
                "truth_shared_identifiers",
                ("email", email, person.household, person.pid, record.source, record.external_id),
            )
        if person.landline and phone and "".join(ch for ch in phone if ch.isdigit())[-9:] == person.landline[1:]:
            out.write(
                "truth_shared_identifiers",
                ("phone", person.landline, person.household, person.pid, record.source, record.external_id),
            )

    def _write_receipts(self, receipts: list[Basket], out: Output) -> None:
        for receipt in receipts:
            key = "transactions_eshop" if receipt.store == "WEB" else "transactions_loyalty"
            receipt_id = self._receipt_id(receipt.store)
            stamp = self.cal.stamp(receipt.moment)
            rows = [
                (
                    receipt_id,
                    number,
                    receipt.customer,
                    stamp,
                    receipt.store,
                    receipt.channel,
                    product.sku,
                    product.name,
                    product.category,
                    quantity,
                    product.price_text,
                    _money(discount),
                )
                for number, (product, quantity, discount) in enumerate(receipt.lines, start=1)
            ]
            out.write_many(key, rows)
            self.receipts += 1

    def _receipt_id(self, store: str) -> str:
        number = self.receipt_numbers.get(store, 0) + 1
        self.receipt_numbers[store] = number
        if store == "WEB":
            return f"W-{number:07d}"
        return f"S-{store.replace('-', '')}-{number:06d}"

    def _write_consents(self, person: Person, records: list[RecordDraft], out: Output) -> list[tuple[int, int]]:
        windows: list[tuple[int, int]] = []
        for record in records:
            if record.source == "loyalty":
                continue
            rows, email_windows = self.consents.build(person, record)
            out.write_many(f"consents_{record.source}", [row for _, row in rows])
            if record.source == "crm":
                windows = email_windows
        return windows

    def _write_truth(self, person: Person, out: Output) -> None:
        churn = self.cal.iso_date(person.churn_day) if person.churn_day is not None else ""
        out.write(
            "truth_persons",
            (
                person.pid,
                person.persona.key,
                person.household,
                person.first,
                person.last,
                person.birth.isoformat(),
                person.gender,
                person.address.postcode,
                person.address.city,
                churn,
                person.lookalike_of,
                person.lookalike_kind,
            ),
        )
        if person.event:
            out.write("truth_life_events", (person.pid, person.event, self.cal.iso_date(person.event_day)))
            self.life_events[person.event] += 1
        self.personas[person.persona.key] += 1
        if person.lookalike_kind:
            self.lookalikes[person.lookalike_kind] += 1
        self.churned += person.churn_day is not None


def generate(
    outdir: Path,
    *,
    customers: int,
    seed: int,
    end_date: date = DEFAULT_END_DATE,
    noise: float = 1.0,
    progress: Callable[[int, int], None] | None = None,
) -> GenerationSummary:
    """Write the demo retailer's files into outdir; the same arguments always give the same bytes."""
    if customers < 1:
        raise ValueError("customers must be at least 1")
    if not math.isfinite(noise) or noise < 0:
        raise ValueError("noise must be a finite number >= 0")
    if end_date < MIN_END_DATE:
        raise ValueError(f"end_date must be {MIN_END_DATE.isoformat()} or later")
    started = time.perf_counter()
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    retailer = DemoRetailer(seed=seed, end_date=end_date, noise=noise)
    out = Output(outdir)
    try:
        step = max(1, min(1000, customers // 100))
        for index in range(customers):
            retailer.add_person(index, out)
            if progress is not None and ((index + 1) % step == 0 or index + 1 == customers):
                progress(index + 1, customers)
    finally:
        out.close()
    _write_manifest(outdir, retailer, out.rows, customers=customers, seed=seed, noise=noise)
    return _summary(outdir, retailer, out.rows, customers, time.perf_counter() - started)


def _write_manifest(
    outdir: Path, retailer: DemoRetailer, rows: dict[str, int], *, customers: int, seed: int, noise: float
) -> None:
    manifest = {
        "seed": seed,
        "customers": customers,
        "noise": noise,
        "start_date": retailer.cal.start.isoformat(),
        "end_date": retailer.cal.end.isoformat(),
        "currency": "EUR",
        "timezone": "Europe/Paris",
        "files": [{"path": FILES[key][0], "rows": count} for key, count in rows.items()],
        "personas": retailer.personas,
        "lookalikes": retailer.lookalikes,
        "life_events": retailer.life_events,
        "churned": retailer.churned,
        "products": len(retailer.catalogue.products),
    }
    text = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    (outdir / "truth" / "manifest.json").write_text(text, encoding="utf-8")


def _summary(
    outdir: Path, retailer: DemoRetailer, rows: dict[str, int], customers: int, seconds: float
) -> GenerationSummary:
    return GenerationSummary(
        outdir=outdir,
        persons=customers,
        records={source: rows[f"customers_{source}"] for source in SOURCES},
        receipts=retailer.receipts,
        receipt_lines=rows["transactions_loyalty"] + rows["transactions_eshop"],
        interactions=rows["events_eshop"] + rows["events_crm"],
        consents=rows["consents_crm"] + rows["consents_eshop"],
        seconds=seconds,
        files={FILES[key][0]: count for key, count in rows.items()},
    )
