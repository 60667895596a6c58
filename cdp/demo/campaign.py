"""How the demo retailer's customers respond to a campaign: a known truth to measure uplift against.

Each persona has a chance of buying in the campaign window without being contacted (the control group's chance),
a true uplift of that chance when contacted (zero for the weekly shoppers, who buy anyway; negative for newcomers,
whom early pressure puts off), and a basket that the offer may change. Given who was in the treatment and the
control group, `respond` draws every customer's purchases in the window from those chances and writes them as the
contract's receipt-line files (one per source), with the truth of each customer beside them: their persona, group,
chance of buying and expected revenue. `cdp` knows nothing of campaigns: the caller hands in the groups.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cdp.demo import vocab
from cdp.demo.basics import PARIS, TRANSACTION_COLUMNS


@dataclass(frozen=True)
class Response:
    control: float  # chance of buying in the window when not contacted
    uplift: float  # added to that chance when contacted (the true uplift)
    basket: float  # mean receipt, in euros
    basket_uplift: float  # added to the mean receipt when contacted


# Persona -> response to a two-week e-mail campaign with an offer.
RESPONSES: dict[str, Response] = {
    "premium_food_lovers": Response(0.22, 0.06, 72.0, 8.0),
    "bargain_hunters": Response(0.24, 0.12, 34.0, -3.0),
    "young_families": Response(0.26, 0.05, 56.0, 0.0),
    "seasonal_gift_buyers": Response(0.08, 0.03, 61.0, 0.0),
    "weekly_loyal_shoppers": Response(0.72, 0.0, 46.0, 0.0),
    "online_only": Response(0.16, 0.04, 41.0, 0.0),
    "lapsing": Response(0.07, 0.08, 39.0, 0.0),
    "newcomers": Response(0.2, -0.04, 38.0, 0.0),
}
DEFAULT_RESPONSE = Response(0.15, 0.0, 40.0, 0.0)
SECOND_RECEIPT = 0.3  # a buyer buys a second time in the window with this chance
TRUTH_COLUMNS = ("source", "external_id", "person_id", "persona", "group", "buy_chance", "expected_revenue")
SOURCE_PREFERENCE = ("loyalty", "eshop", "crm")
STORE_OF_CITY = {city: store for city, _, _, store, _ in vocab.CITIES}


@dataclass(frozen=True)
class ResponseFiles:
    transactions: dict[str, Path]  # source -> receipt-line file
    truth: Path
    receipts: int


def cities_of(data_dir: Path) -> dict[str, str]:
    with (data_dir / "truth" / "persons.csv").open(encoding="utf-8", newline="") as handle:
        return {row["person_id"]: row["city"] for row in csv.DictReader(handle)}


def personas_of(data_dir: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """(source, external id) -> (person id, persona), from the generator's truth files."""
    personas = {}
    with (data_dir / "truth" / "persons.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            personas[row["person_id"]] = row["persona"]
    found = {}
    with (data_dir / "truth" / "records.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            person = row["person_id"]
            found[(row["source"], row["external_id"])] = (person, personas.get(person, ""))
    return found


def expected(persona: str, treated: bool) -> tuple[float, float]:
    """(chance of buying, expected revenue) of a customer of `persona` in the window."""
    response = RESPONSES.get(persona, DEFAULT_RESPONSE)
    chance = min(1.0, max(0.0, response.control + (response.uplift if treated else 0.0)))
    basket = response.basket + (response.basket_uplift if treated else 0.0)
    return chance, chance * (1 + SECOND_RECEIPT) * basket


def respond(
    data_dir: Path,
    members: Iterable[tuple[list[tuple[str, str]], bool]],
    *,
    starts_on: dt.date,
    days: int,
    seed: int,
    name: str = "campaign",
) -> ResponseFiles:
    """Draw the purchases in the window [starts_on, starts_on + days) of each member ((source, external id) pairs
    of one customer, treated or not) and write them, with the truth, into data_dir."""
    personas = personas_of(data_dir)
    cities = cities_of(data_dir)
    rng = random.Random(seed)
    rows: dict[str, list[tuple]] = defaultdict(list)
    truth: list[tuple] = []
    receipt = 0
    for records, treated in sorted(members, key=lambda m: sorted(m[0])):
        known = [r for r in records if r in personas]
        if not known:
            continue
        source, external_id = min(
            known, key=lambda r: SOURCE_PREFERENCE.index(r[0]) if r[0] in SOURCE_PREFERENCE else 9
        )
        person, persona = personas[(source, external_id)]
        chance, revenue = expected(persona, treated)
        truth.append((source, external_id, person, persona, "treatment" if treated else "control", f"{chance:.4f}",
                      f"{revenue:.2f}"))  # fmt: skip
        if rng.random() >= chance:
            continue
        response = RESPONSES.get(persona, DEFAULT_RESPONSE)
        mean = response.basket + (response.basket_uplift if treated else 0.0)
        for _ in range(2 if rng.random() < SECOND_RECEIPT else 1):
            receipt += 1
            day = starts_on + dt.timedelta(days=rng.randrange(days))
            moment = dt.datetime.combine(day, dt.time(rng.randrange(9, 20), rng.randrange(60)), PARIS)
            amount = max(1.0, rng.gammavariate(4.0, mean / 4.0))
            channel = "web" if source == "eshop" else "store"
            store = "WEB" if source == "eshop" else STORE_OF_CITY.get(cities.get(person, ""), vocab.STORES[0])
            rows[source].append(
                (f"{name.upper()}-{receipt:07d}", 1, external_id, moment.isoformat(), store, channel, "CMP-OFFER",
                 "Campaign offer basket", "campaign", 1, f"{amount:.2f}", "0.00")
            )  # fmt: skip
    paths = {}
    for source, lines in rows.items():
        path = data_dir / f"transactions_{name}_{source}.csv"
        _write(path, TRANSACTION_COLUMNS, lines)
        paths[source] = path
    truth_path = data_dir / "truth" / f"{name}_response.csv"
    _write(truth_path, TRUTH_COLUMNS, truth)
    return ResponseFiles(paths, truth_path, receipt)


def _preference(record: tuple[str, str]) -> int:
    return SOURCE_PREFERENCE.index(record[0]) if record[0] in SOURCE_PREFERENCE else len(SOURCE_PREFERENCE)


def _write(path: Path, header: tuple[str, ...], rows: list[tuple]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
