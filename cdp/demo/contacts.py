"""The demo's consents (the ledger each source keeps) and interactions (web sessions, e-mails opened), and the
helpers that write them."""

from __future__ import annotations

import json
import math
import random
from bisect import bisect, bisect_left
from datetime import date
from typing import Any

from cdp.demo import vocab
from cdp.demo.basics import (
    ANONYMOUS_BROWSE_SHARE,
    DAY_MINUTES,
    GDPR_DATE,
    Calendar,
    by_chance,
    cumulative_weights,
    poisson,
    weighted_pick,
)
from cdp.demo.population import Catalogue, Person
from cdp.demo.records import RecordDraft
from cdp.demo.shop import Basket

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
            granted = by_chance(self.rng, self._rate(person, purpose, base))
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
        if by_chance(rng, 0.6):
            return moment, "store", f"store form {person.store_on(record.signup)}"
        if by_chance(rng, 0.7):
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
        if granted and by_chance(rng, 0.2 if churned else 0.08):
            moment = self._later_moment(person, later, end)
            history.append((moment, "withdrawn", *self._withdrawal_evidence(record)))
        elif not granted and by_chance(rng, 0.05):
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
        if person.churn_day is not None and by_chance(self.rng, 0.6):
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
        self._call_reasons = (
            [r for r, _ in vocab.CALL_REASONS],
            cumulative_weights([w for _, w in vocab.CALL_REASONS]),
        )
        self._visit_reasons = (
            [r for r, _ in vocab.STORE_VISIT_REASONS],
            cumulative_weights([w for _, w in vocab.STORE_VISIT_REASONS]),
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
        if by_chance(rng, 0.5):
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
        logged_in = account is not None and day >= account.signup and not by_chance(rng, ANONYMOUS_BROWSE_SHARE)
        customer = account.external_id if logged_in and account else ""
        minute = weighted_pick(rng, range(DAY_MINUTES), self.web_hours)
        session = _Session(self, customer, self._device(person, channel), channel, (day * DAY_MINUTES + minute) * 60)
        session.add(events, "page_view", {"page": rng.choice(vocab.WEB_PAGES)})
        weights = cumulative_weights(habits.weights)
        cat = bisect(weights, rng.random() * weights[-1])
        if by_chance(rng, 0.4):
            session.add(events, "search", {"query": rng.choice(vocab.SEARCH_TERMS[vocab.CATEGORIES[cat]])})
        for _ in range(1 + poisson(rng, 1.2)):
            product = self.catalogue.pick(rng, cat, 1)
            session.add(events, "product_view", {"category": product.category, "sku": product.sku})
        if by_chance(rng, 0.2):
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
        if not by_chance(rng, habits.engagement * (1.0 if active else 0.35)):
            return
        opened = sent + int(rng.expovariate(1 / 300.0))
        if opened >= self.end:
            return
        props = {"campaign": key, "category": category}
        self._add(events, customer, opened, rng.randrange(59), "email_open", "email", props)
        interested = vocab.CATEGORIES.index(category) in habits.top_categories
        if active and by_chance(rng, 0.12 * (2.5 if interested else 1.0)):
            props["url"] = f"/campagne/{key}"
            clicked = min(opened + rng.randrange(0, 5), self.end - 1)
            self._add(events, customer, clicked, 59, "email_click", "email", props)

    def _calls(self, person: Person, record: RecordDraft, events: list[tuple[int, list[str]]]) -> None:
        rng = self.rng
        low = max(record.signup, person.active_from)
        days = self._arrivals(low, person.active_to, 0.3 / 365.0)
        if person.event == "move" and low <= person.event_day < person.active_to and by_chance(rng, 0.4):
            days.append(min(person.event_day + rng.randrange(0, 30), person.active_to - 1))  # new address to give
        for day in days:
            if self.cal.weekdays[day] == 6 or self.cal.closed[day]:
                continue
            moving = person.event == "move" and 0 <= day - person.event_day < 30
            reason = "address_change" if moving else weighted_pick(rng, *self._call_reasons)
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
            props = {"reason": weighted_pick(rng, *self._visit_reasons), "store": store}
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
