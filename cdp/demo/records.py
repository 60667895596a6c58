"""How the demo's people live and appear in the sources: their life course, and the customer records the CRM, the
e-shop and the loyalty programme keep of them, with the typos, capitals and formats real sources have."""

from __future__ import annotations

import random
from bisect import bisect
from dataclasses import dataclass
from datetime import date

from cdp.demo import vocab
from cdp.demo.basics import (
    CARD_REISSUE_RATE,
    COUNTRY,
    KEYBOARD,
    LEGACY_TILL_END,
    NOISE_RATES,
    PHONE_FORMATS,
    RATE_SCALE,
    SOURCE_COUNT_WEIGHTS,
    SOURCE_FIELDS,
    SOURCES,
    Calendar,
    by_chance,
    cumulative_weights,
    strip_accents,
    weighted_pick,
)
from cdp.demo.population import Catalogue, Habits, Person

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
        elif by_chance(rng, 0.8):
            person.since = -rng.randrange(0, 12 * 365)
        else:
            person.since = rng.randrange(0, 500)

    def _sources(self, person: Person) -> None:
        rng = self.rng
        store, web, app = person.persona.channels
        weights = {"crm": 0.55, "eshop": 0.2 + 0.9 * (web + app), "loyalty": 0.05 + 2.0 * store}
        count = 1 + bisect(cumulative_weights(SOURCE_COUNT_WEIGHTS), rng.random())
        chosen: list[str] = ["eshop"] if store == 0 else []
        while len(chosen) < count:
            left = [s for s in SOURCES if s not in chosen]
            chosen.append(weighted_pick(rng, left, cumulative_weights([weights[s] for s in left])))
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
            tiers_cum=cumulative_weights(persona.tiers),
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
        if window[0] < window[1] and by_chance(rng, churn):
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
        if 23 <= age <= 44 and by_chance(rng, baby_rate):
            person.event = "baby"
        elif 60 <= age <= 66 and by_chance(rng, 0.3):
            person.event = "retirement"
        elif by_chance(rng, 0.045):
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
            src: ([f for f, _ in formats], cumulative_weights([w for _, w in formats]))
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
        return max(signup, 0) + 60 < self.cal.days - 30 and by_chance(self.ids, CARD_REISSUE_RATE)

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
            last = strip_accents(last).upper() if legacy else last.upper()
        email = self._email(person) if by_chance(rng, email_share) else ""
        phone = self._phone(person, source) if by_chance(rng, phone_share) else ""
        birth = self._birth(person) if by_chance(rng, birth_share) else ""
        gender = person.gender if by_chance(rng, gender_share) else ""
        street, postcode, city = (
            self._address(person, signup, legacy) if by_chance(rng, address_share) else ("", "", "")
        )
        email, phone, birth, gender = (
            v if not by_chance(rng, rates["missing"]) else "" for v in (email, phone, birth, gender)
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
        if nicknames and by_chance(rng, rates["nickname"]):
            first = rng.choice(nicknames)
        if by_chance(rng, rates["typo_first"]):
            first = _typo(rng, first)
        if by_chance(rng, rates["typo_last"]):
            last = _typo(rng, last)
        if by_chance(rng, rates["case"]):
            first, last = _recase(rng, first), _recase(rng, last)
        if by_chance(rng, rates["swap"]):
            first, last = last, first
        return first, last

    def _email(self, person: Person) -> str:
        rng, rates = self.rng, self.rates
        email = person.email
        if person.shared_email and by_chance(rng, 0.5):
            email = person.shared_email
        elif person.alt_email and by_chance(rng, rates["email_new"]):
            email = person.alt_email
        if by_chance(rng, rates["email_case"]):
            local, domain = email.split("@")
            email = f"{local.title()}@{domain}" if by_chance(rng, 0.7) else email.upper()
        return email

    def _phone(self, person: Person, source: str) -> str:
        rng = self.rng
        number = person.mobile
        if person.landline and (not number or by_chance(rng, 0.25)):
            number = person.landline
        if not number:
            return ""
        if by_chance(rng, self.rates["phone_typo"]):
            position = rng.randrange(2, 10)
            number = number[:position] + str(rng.randrange(10)) + number[position + 1 :]
        formats, cum = self._formats[source]
        return _format_phone(number, weighted_pick(rng, formats, cum))

    def _birth(self, person: Person) -> str:
        rng, rates = self.rng, self.rates
        birth = person.birth
        if by_chance(rng, rates["birth_day_month"]) and birth.day <= 12 and birth.day != birth.month:
            birth = date(birth.year, birth.day, birth.month)
        elif by_chance(rng, rates["birth_transpose"]):
            birth = _transpose_digits(rng, birth)
        return birth.isoformat()

    def _address(self, person: Person, signup: int, legacy: bool) -> tuple[str, str, str]:
        rng, rates = self.rng, self.rates
        address = person.address
        moved_since = person.event == "move" and signup < person.event_day and not by_chance(rng, _MOVE_UPDATE)
        if moved_since or by_chance(rng, rates["old_address"]):
            address = person.previous
        street_type = address.street_type
        if by_chance(rng, rates["abbreviation"]):
            street_type = rng.choice(vocab.STREET_ABBREVIATIONS[street_type])
        street = f"{address.number} {street_type} {address.street_name}"
        if address.complement and not by_chance(rng, rates["complement"]):
            street = f"{street}, {address.complement}" if by_chance(rng, 0.6) else f"{address.complement}, {street}"
        postcode, city = address.postcode, address.city
        if by_chance(rng, rates["postcode_typo"]):
            position = rng.randrange(2, 5)
            postcode = postcode[:position] + str(rng.randrange(10)) + postcode[position + 1 :]
        if legacy:
            street, city = strip_accents(street).upper(), strip_accents(city).upper()
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
        return strip_accents(name).upper()
    if draw < 0.7:
        return strip_accents(name).lower()
    if draw < 0.85:
        return name.lower()
    return strip_accents(name)


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
