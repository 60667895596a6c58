"""Helpers for the GDPR tests: a small demo retailer whose one person carries unmistakable marker values."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection

from cdp.demo.generator import generate
from cdp.demo.steps import DEMO_IMPORTS
from cdp.ingest.service import import_file
from cdp.models import Customer, SourceRecord

# Values no generated person has: finding one of them in a dump can only mean the subject's data is still there.
MARKERS = {
    "first_name": "Zoltanne",
    "last_name": "Erasmusdottir",
    "email": "zoltanne.erasmusdottir@erasure.example",
    "phone": "06 71 23 45 98",
    "birth_date": "1931-07-13",
}
PHONE_DIGITS = "671234598"  # in any form: "06 71 23 45 98", "+33671234598"


@dataclass
class DemoSubject:
    folder: Path
    person_id: str
    records: list[tuple[str, str]]  # (source, external_id)
    rows: dict[str, list[dict[str, str]]] = field(default_factory=dict)  # file name -> the subject's original rows

    @property
    def external_ids(self) -> list[str]:
        return [external_id for _, external_id in self.records]

    def needles(self) -> list[str]:
        """What must not be found anywhere after erasure (lower-case)."""
        values = [MARKERS["first_name"], MARKERS["last_name"], MARKERS["email"], PHONE_DIGITS, MARKERS["birth_date"]]
        return [value.lower() for value in (*values, *self.external_ids, *self.anonymous_ids)]

    @property
    def anonymous_ids(self) -> set[str]:
        """Cookie or device ids the subject's events carry."""
        return {
            row["anonymous_id"] for name, rows in self.rows.items() if name.startswith("events_") for row in rows
        } - {""}

    def customers(self) -> list[Customer]:
        ids = SourceRecord.objects.filter(external_id__in=self.external_ids, customer__isnull=False).values_list(
            "customer_id", flat=True
        )
        return list(Customer.objects.filter(pk__in=set(ids)))


def _records_by_person(folder: Path) -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = {}
    with (folder / "truth" / "records.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            found.setdefault(row["person_id"], []).append((row["source"], row["external_id"]))
    return found


def _ids_in(folder: Path, name: str, column: str) -> set[str]:
    with (folder / name).open(encoding="utf-8", newline="") as handle:
        return {row[column] for row in csv.DictReader(handle)}


def _choose_person(folder: Path) -> tuple[str, list[tuple[str, str]]]:
    """A person with two records or more who bought, browsed and consented: every kind of row erasure must reach."""
    bought = _ids_in(folder, "transactions_loyalty.csv", "customer_external_id") | _ids_in(
        folder, "transactions_eshop.csv", "customer_external_id"
    )
    with (folder / "events_eshop.csv").open(encoding="utf-8", newline="") as handle:
        # on the web shop with a cookie id: the anonymous events of that cookie are theirs too
        browsed = {row["customer_external_id"] for row in csv.DictReader(handle) if row["anonymous_id"]}
    consented = _ids_in(folder, "consents_crm.csv", "customer_external_id") | _ids_in(
        folder, "consents_eshop.csv", "customer_external_id"
    )
    for person_id, records in sorted(_records_by_person(folder).items()):
        ids = {external_id for _, external_id in records}
        if len(records) >= 2 and ids & bought and ids & browsed and ids & consented:
            return person_id, records
    raise AssertionError("the demo has no person with purchases, events and consents: raise its size")


def _rewrite(path: Path, key: str, ids: set[str], subject: DemoSubject) -> None:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        header, rows = reader.fieldnames, list(reader)
    kept = []
    for row in rows:
        if row.get(key) in ids:
            if path.name.startswith("customers_"):
                row.update(MARKERS)
            kept.append(dict(row))
    subject.rows[path.name] = kept
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)


def demo_with_subject(folder: Path, customers: int = 60, seed: int = 5) -> DemoSubject:
    """Generate the demo files, and give one person marker values in every source that knows them."""
    generate(folder, customers=customers, seed=seed)
    person_id, records = _choose_person(folder)
    subject = DemoSubject(folder=folder, person_id=person_id, records=records)
    ids = set(subject.external_ids)
    for _, name, _ in DEMO_IMPORTS:
        key = "external_id" if name.startswith("customers_") else "customer_external_id"
        _rewrite(folder / name, key, ids, subject)
    return subject


def import_demo(folder: Path) -> None:
    for kind, name, source in DEMO_IMPORTS:
        import_file(kind=kind, path=folder / name, source_key=source, errors_path=folder / "errors" / name)


def write_rows(path: Path, rows: list[dict[str, str]], header: list[str]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def header_of(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as handle:
        return next(csv.reader(handle))


def database_dump() -> str:
    """Every row of every table, as text: SQLite's iterdump, or COPY of each table on PostgreSQL.

    COPY runs on the test's own connection, so it sees the rows of the test's transaction.
    """
    if connection.vendor == "sqlite":
        return "\n".join(connection.connection.iterdump())
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            with cursor.cursor.copy(f'COPY "{table}" TO STDOUT') as copy:
                chunks.append(b"".join(bytes(block) for block in copy).decode("utf-8"))
    return "\n".join(chunks)
