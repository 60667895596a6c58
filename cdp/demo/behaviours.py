"""A retailer whose customers behave in a few clearly different ways, with their truth: for checking that
segmentation finds behaviour that is there to find (never fed to it).

Each persona differs in how often and when its customers buy, what (categories, price level), through which
channel, at what hour, with how much discount, and in which season. The files are the contract's CSV files
(customers, receipt lines, consents granting profiling), imported through the real commands by whoever uses them.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Persona:
    name: str
    purchases_per_year: float
    basket_items: tuple[int, int]
    unit_price: tuple[float, float]
    categories: tuple[str, ...]
    channel: str
    hours: tuple[int, int]
    discount_share: float
    months: tuple[int, ...] = tuple(range(1, 13))
    weekend: bool = False


PERSONAS = (
    Persona("weekly_gourmet", 40, (3, 6), (8.0, 25.0), ("fine_food", "wine"), "store", (8, 11), 0.02),
    Persona("bargain_hunter", 14, (6, 12), (1.0, 4.0), ("grocery", "household"), "web", (19, 23), 0.4),
    Persona("year_end_gifter", 3, (2, 4), (20.0, 60.0), ("toys", "gifts"), "store", (14, 18), 0.05, (11, 12)),
    Persona(
        "weekend_gardener", 8, (2, 5), (10.0, 40.0), ("garden", "tools"), "store", (9, 12), 0.1, (3, 4, 5, 6), True
    ),
    Persona("app_tech_buyer", 4, (1, 2), (80.0, 400.0), ("electronics",), "app", (12, 14), 0.0),
)
CUSTOMER_COLUMNS = ("external_id", "first_name", "last_name", "email")
LINE_COLUMNS = (
    "receipt_id", "line", "customer_external_id", "timestamp", "store", "channel", "sku", "product_name", "category",
    "quantity", "unit_price", "discount",
)  # fmt: skip
CONSENT_COLUMNS = ("customer_external_id", "purpose", "channel", "status", "timestamp", "source", "policy_version")


@dataclass(frozen=True)
class Files:
    customers: Path
    transactions: Path
    consents: Path
    truth: dict[str, str]  # external id -> persona


def _day_in(rng: random.Random, start: dt.date, end: dt.date, persona: Persona) -> dt.date:
    for _ in range(200):
        day = start + dt.timedelta(days=rng.randrange((end - start).days))
        if day.month in persona.months and (not persona.weekend or day.isoweekday() >= 6):
            return day
    return day


def write(folder: Path, *, per_persona: int = 200, seed: int = 7, end: dt.date = dt.date(2025, 12, 31)) -> Files:
    """The three files of a retailer of len(PERSONAS) × `per_persona` customers over the two years before `end`."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    tz = ZoneInfo("Europe/Paris")
    start = end - dt.timedelta(days=730)
    truth, customers, lines, consents = {}, [], [], []
    receipt = 0
    for persona in PERSONAS:
        for n in range(per_persona):
            external_id = f"P{PERSONAS.index(persona) + 1}{n:05d}"
            truth[external_id] = persona.name
            customers.append((external_id, f"Given{n}", persona.name.title(), f"{external_id.lower()}@mail.example"))
            consents.append(
                (external_id, "profiling", "web", "granted", f"{start.isoformat()}T09:00:00+01:00", "web", "1")
            )
            purchases = max(1, round(rng.gauss(persona.purchases_per_year * 2, persona.purchases_per_year * 0.3)))
            for _ in range(purchases):
                receipt += 1
                day = _day_in(rng, start, end, persona)
                moment = dt.datetime.combine(day, dt.time(rng.randrange(*persona.hours), rng.randrange(60)), tz)
                for line in range(1, rng.randint(*persona.basket_items) + 1):
                    category = rng.choice(persona.categories)
                    price = round(rng.uniform(*persona.unit_price), 2)
                    discount = round(price * persona.discount_share * rng.uniform(0.5, 1.5), 2)
                    sku = f"{category[:4].upper()}-{rng.randrange(40):03d}"
                    lines.append(
                        (f"R{receipt:07d}", line, external_id, moment.isoformat(), "S1" if persona.channel == "store"
                         else persona.channel.upper(), persona.channel, sku, f"{category} item", category, 1,
                         f"{price:.2f}", f"{min(discount, price):.2f}")
                    )  # fmt: skip
    paths = Files(folder / "customers.csv", folder / "transactions.csv", folder / "consents.csv", truth)
    for path, columns, rows in (
        (paths.customers, CUSTOMER_COLUMNS, customers),
        (paths.transactions, LINE_COLUMNS, lines),
        (paths.consents, CONSENT_COLUMNS, consents),
    ):
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            writer.writerows(rows)
    return paths
