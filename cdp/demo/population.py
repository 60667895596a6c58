"""The demo retailer's people: the catalogue they buy from, who they are (personas, addresses, habits) and how they
are drawn, with their namesakes, twins and relatives."""

from __future__ import annotations

import random
import zlib
from bisect import bisect
from collections import deque
from dataclasses import dataclass, field
from datetime import date, timedelta

from cdp.demo import vocab
from cdp.demo.basics import (
    EMAIL_PATTERNS,
    LOOKALIKE_POOL,
    LOOKALIKE_RATES,
    Calendar,
    ascii_slug,
    by_chance,
    cumulative_weights,
    money_text,
    weighted_pick,
    years_before,
)

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
        return money_text(self.price)


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
                pools.append((tuple(p for p, _ in items), cumulative_weights([w for _, w in items])))
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
        self._persona_cum = cumulative_weights([p.share for p in PERSONAS])
        self._last_cum = cumulative_weights([1.0 / (r + 1) ** 0.6 for r in range(len(vocab.LAST_NAMES))])
        self._city_cum = cumulative_weights([c[2] for c in vocab.CITIES])
        self._street_types = [s for s, _ in vocab.STREET_TYPES]
        self._street_cum = cumulative_weights([w for _, w in vocab.STREET_TYPES])
        self._domains = [d for d, _ in vocab.EMAIL_DOMAINS]
        self._domain_cum = cumulative_weights([w for _, w in vocab.EMAIL_DOMAINS])
        self._patterns = [p for p, _ in EMAIL_PATTERNS]
        self._pattern_cum = cumulative_weights([w for _, w in EMAIL_PATTERNS])
        self._kinds = [k for k, _ in LOOKALIKE_RATES]
        self._kind_limits = cumulative_weights([r for _, r in LOOKALIKE_RATES])

    def create(self, index: int) -> Person:
        rng = self.rng
        persona = weighted_pick(rng, PERSONAS, self._persona_cum)
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
        gender = "F" if by_chance(rng, persona.female) else "M"
        birth = self._birth(persona)
        first = self._first_name(gender, birth)
        last = weighted_pick(rng, vocab.LAST_NAMES, self._last_cum)
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
        mobile = self._phone(rng.choice("67")) if by_chance(rng, 0.9) else ""
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
        landline = self._phone(address.prefix[1]) if by_chance(self.rng, 0.35) else ""
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
        city, postcodes, _, store, prefix = city_row or weighted_pick(rng, vocab.CITIES, self._city_cum)
        number = str(1 + int(rng.expovariate(1 / 25.0)) % 180)
        if by_chance(rng, 0.04):
            number += rng.choice((" bis", " ter", "B"))
        complement = rng.choice(vocab.ADDRESS_COMPLEMENTS) if by_chance(rng, 0.12) else ""
        return Address(
            number=number,
            street_type=weighted_pick(rng, self._street_types, self._street_cum),
            street_name=rng.choice(vocab.STREET_NAMES),
            complement=complement,
            postcode=rng.choice(postcodes),
            city=city,
            store=store,
            prefix=prefix,
        )

    def _previous_address(self, current: Address) -> Address:
        if by_chance(self.rng, 0.7):
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
        given, family = ascii_slug(first), ascii_slug(last).replace("-", "")
        pattern = weighted_pick(rng, self._patterns, self._pattern_cum)
        local = pattern.format(
            f=given, l=family, i=given[0], yy=f"{birth.year % 100:02d}", yyyy=birth.year, nn=rng.randrange(1, 100)
        )
        domain = weighted_pick(rng, self._domains, self._domain_cum)
        # a taken address gets the customer number: what people do when their first choice is gone
        candidates = (f"{local}@{domain}", f"{given}{family}{index}@{domain}", f"{given}.{family}.{index}@{domain}")
        for email in candidates:
            if self.emails.claim(email):
                return email
        return f"{given}.{family}.{index}.{rng.getrandbits(32):08x}@{domain}"

    def _alt_email(self, email: str) -> str:
        local, domain = email.split("@")
        other = weighted_pick(self.rng, self._domains, self._domain_cum)
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
        if by_chance(self.rng, 0.5):
            same_city = [row for row in vocab.CITIES if row[0] == source.address.city]
            address = self._address(self.rng.choice(same_city))
        else:
            address = self._address()
        return self._assemble(
            index, persona, source.gender, source.first, source.last, birth, address, self._household(address)
        )

    def _twin(self, index: int, persona: Persona, source: Person) -> Person:
        gender = "F" if by_chance(self.rng, 0.5) else "M"
        first = self._first_name(gender, source.birth, avoid=source.first)
        household = (source.household, source.landline)
        return self._assemble(index, persona, gender, first, source.last, source.birth, source.address, household)

    def _relative(self, index: int, persona: Persona, source: Person) -> Person:
        rng = self.rng
        birth = self._relative_birth(source.birth)
        spouse = abs((birth - source.birth).days) < 15 * 365
        if spouse:
            gender = source.gender if by_chance(rng, 0.08) else ("M" if source.gender == "F" else "F")
        else:
            gender = "F" if by_chance(rng, 0.5) else "M"
        first = self._first_name(gender, birth, avoid=source.first)
        household = (source.household, source.landline)
        person = self._assemble(index, persona, gender, first, source.last, birth, source.address, household)
        if by_chance(rng, 0.1):
            person.shared_email = source.email  # one household e-mail address given for both
        return person

    def _relative_birth(self, birth: date) -> date:
        rng = self.rng
        youngest = years_before(self.cal.start, 18)
        oldest = years_before(self.cal.start, 92)
        if by_chance(rng, 0.35):
            gap = timedelta(days=rng.randrange(22 * 365, 36 * 365))
            for candidate in (birth + gap, birth - gap):
                if oldest <= candidate <= youngest:
                    return candidate
        candidate = birth + timedelta(days=rng.randrange(-6 * 365, 6 * 365))
        return min(max(candidate, oldest), youngest)
