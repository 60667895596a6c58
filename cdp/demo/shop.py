"""The demo retailer's shop: the baskets each person buys (stores, web and app, returns) over the two years."""

from __future__ import annotations

import math
import random
from bisect import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cdp.demo import vocab
from cdp.demo.basics import (
    DAY_MINUTES,
    PROMO_PERCENTS,
    PROMO_WEIGHTS,
    Calendar,
    by_chance,
    cumulative_weights,
    poisson,
    weighted_pick,
)
from cdp.demo.population import Catalogue, Habits, Person, ShelfItem
from cdp.demo.records import RecordDraft

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
        self._promo_cums = [cumulative_weights(w) for w in PROMO_WEIGHTS]

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
            store = person.store_on(day) if by_chance(rng, 0.92) else rng.choice(vocab.STORES)
            weekday = cal.weekdays[day]
            if cal.closed[day] or (weekday == 6 and store not in vocab.SUNDAY_STORES):
                return None
            card = next((c for c in cards if c.signup <= day < c.valid_to), None)
            customer = card.external_id if card and by_chance(rng, habits.card_use) else ""
            minute = self._store_minute(person, day)
        else:
            store, customer = "WEB", account.external_id if account else ""
            minute = weighted_pick(rng, range(DAY_MINUTES), self.web_hours)
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
        return weighted_pick(self.rng, range(DAY_MINUTES), table)

    def _fill(self, person: Person, receipt: Basket, day: int) -> None:
        rng = self.rng
        habits = person.habits
        assert habits is not None
        mean = habits.lines + {"store": 0.0, "web": 1.2, "app": -0.4}[receipt.channel]
        if person.event == "baby" and day >= person.event_day:
            mean *= 1.3
        if self.cal.months[day] == 11:
            mean *= 1.15
        count = min(40, 1 + poisson(rng, max(0.0, mean - 1)))
        mix = self._mix(person, day)
        seen: dict[str, list[Any]] = {}
        for _ in range(count):
            cat = bisect(mix, rng.random() * mix[-1])
            product = self._product(habits, cat)
            quantity = 1 + poisson(rng, vocab.CATEGORY_QUANTITY[product.category] * habits.quantity - 1)
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
        cached = cumulative_weights(weights)
        habits.mix_cache[key] = cached
        return cached

    def _product(self, habits: Habits, cat: int) -> ShelfItem:
        rng = self.rng
        favourites = habits.favourites.get(cat)
        if favourites is None:
            favourites = [self.catalogue.pick(rng, cat, self._tier(habits)) for _ in range(2)]
            habits.favourites[cat] = favourites
        if by_chance(rng, 0.4):
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
        if not by_chance(rng, min(chance, 0.9)):
            return 0
        percent = weighted_pick(rng, PROMO_PERCENTS, self._promo_cums[1 if habits.promo > 0.3 else 0])
        return (quantity * product.price * percent + 50) // 100

    def _returns(self, person: Person, receipt: Basket) -> Basket | None:
        rng = self.rng
        factor = 1.6 if receipt.channel != "store" else 1.0
        returned = [
            [product, -rng.randint(1, quantity), 0]
            for product, quantity, discount in receipt.lines
            if discount == 0 and by_chance(rng, vocab.CATEGORY_RETURN_RATE[product.category] * factor)
        ]
        if not returned:
            return None
        day = receipt.moment // DAY_MINUTES + 1 + int(rng.expovariate(1 / 6.0))
        if day >= person.active_to or (receipt.channel == "store" and self._closed(day, receipt.store)):
            return None
        if receipt.channel == "store":
            minute = weighted_pick(
                rng, range(DAY_MINUTES), self._sunday_hours if self.cal.weekdays[day] == 6 else self._store_hours
            )
        else:
            minute = weighted_pick(rng, range(DAY_MINUTES), self.web_hours)
        return Basket(day * DAY_MINUTES + minute, receipt.channel, receipt.store, receipt.customer, returned)

    def _closed(self, day: int, store: str) -> bool:
        return self.cal.closed[day] or (self.cal.weekdays[day] == 6 and store not in vocab.SUNDAY_STORES)


def _hour_table(hours: Sequence[tuple[int, float]]) -> list[float]:
    """Cumulative weights over the 1,440 minutes of a day from weights per hour."""
    per_minute = [0.0] * DAY_MINUTES
    for hour, weight in hours:
        for minute in range(hour * 60, hour * 60 + 60):
            per_minute[minute] = weight
    return cumulative_weights(per_minute)


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
