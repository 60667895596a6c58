"""Demo retailer generator: customers in three sources, receipts, interactions, consents and their ground truth.

Its parts, one module each: the files, rates, helpers and calendar (cdp.demo.basics), the people and the catalogue
(population), their lives and source records (records), their baskets (shop), their consents and interactions
(contacts); this module draws the retailer with them and writes the files.
"""

from __future__ import annotations

import csv
import json
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, Any

from cdp.demo.basics import DEFAULT_END_DATE, FILES, MIN_END_DATE, SOURCES, Calendar, money_text
from cdp.demo.contacts import ConsentLedger, Interactions
from cdp.demo.population import PERSONAS, Catalogue, Person, PersonFactory
from cdp.demo.records import LifeCourse, RecordDraft, RecordFactory
from cdp.demo.shop import Basket, Shop

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
                    money_text(discount),
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
