"""Helpers for the identity tests: a small demo retailer generated once per session, imported as a user would."""

from __future__ import annotations

import csv
from pathlib import Path

from cdp.demo.generator import generate
from tests.cdp.importing import run_command, write

HEADER = "external_id,first_name,last_name,email,phone,birth_date,gender,address,postcode,city,country,signup_date"
DEMO_SOURCES = ("crm", "eshop", "loyalty")


def generate_demo(folder: Path, customers: int = 300, seed: int = 11) -> Path:
    generate(folder, customers=customers, seed=seed)
    return folder


def import_demo(folder: Path) -> None:
    for source in DEMO_SOURCES:
        code, out = run_command("import_customers", folder / f"customers_{source}.csv", source)
        assert code in (0, 1), out


def import_rows(path: Path, source: str, *rows: str) -> str:
    code, out = run_command("import_customers", write(path, HEADER, *rows), source)
    assert code == 0, out
    return out


def truth_of(folder: Path) -> dict[tuple[str, str], str]:
    with (folder / "truth" / "records.csv").open(encoding="utf-8", newline="") as handle:
        return {(row["source"], row["external_id"]): row["person_id"] for row in csv.DictReader(handle)}
