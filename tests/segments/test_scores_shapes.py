"""The `score` command on other retailers' data, in other shapes than the demo's: no e-mail and no names, one source,
another country (time zone and currency), no categories, no discounts, dates without a time; and on data that cannot
support a model (few customers, no consent to profiling): a clear sentence and exit 1, never a crash."""

from __future__ import annotations

import csv
import datetime as dt
import random
from io import StringIO
from pathlib import Path

import pytest

from django.core.management import CommandError, call_command

from segments.models import CustomerScore
from tests.cdp.importing import run_command

pytestmark = pytest.mark.django_db

START, END = dt.date(2024, 1, 1), dt.date(2025, 6, 30)


def write_plain_retailer(folder: Path, customers: int, seed: int = 3, consents: bool = True) -> dict[str, Path]:
    """Loyalty ids only, one store, receipts dated without a time, no category and no discount columns; a third
    of the customers stop buying at some point."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / f"{name}.csv" for name in ("customers", "transactions", "consents")}
    days = (END - START).days
    with paths["customers"].open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["external_id", "country"])
        writer.writerows([f"L{n:06d}", "US"] for n in range(customers))
    with paths["transactions"].open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["receipt_id", "customer_external_id", "timestamp", "store", "sku", "quantity", "unit_price"])
        receipt = 0
        for n in range(customers):
            rate = rng.choice((4, 8, 16, 30)) / 365
            stop = rng.randrange(days) if rng.random() < 0.35 else days
            day = rng.randrange(days // 2)
            while day < stop:
                receipt += 1
                price = round(rng.uniform(5, 60), 2)
                writer.writerow([f"T{receipt}", f"L{n:06d}", (START + dt.timedelta(days=day)).isoformat(), "Main",
                                 f"SKU{rng.randrange(30)}", rng.randint(1, 3), f"{price:.2f}"])  # fmt: skip
                day += max(1, round(rng.expovariate(rate)))
    with paths["consents"].open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["customer_external_id", "purpose", "channel", "status", "timestamp", "source"])
        if consents:
            writer.writerows(
                [f"L{n:06d}", "profiling", "store", "granted", "2023-12-01", "store"] for n in range(customers)
            )
    return paths


def load(paths: dict[str, Path], consents: bool = True) -> None:
    for kind in ("customers", "transactions", *(("consents",) if consents else ())):
        code, out = run_command(f"import_{kind}", paths[kind], "loyalty")
        assert code == 0, out


def score(*args: str, **options) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("score", *args, stdout=out, **options)
    except CommandError as exc:
        return exc.returncode, out.getvalue() + str(exc)
    return 0, out.getvalue()


def test_a_retailer_in_another_shape_and_country_is_scored(tmp_path, settings):
    # given an American retailer of loyalty ids only, one store, no categories and no discounts
    settings.TIME_ZONE, settings.CLIENTELE_CURRENCY = "America/New_York", "USD"
    settings.SCORES_MIN_BUYERS, settings.SCORES_MIN_REPEAT_BUYERS = 150, 50
    paths = write_plain_retailer(tmp_path, 300)
    load(paths)
    with paths["transactions"].open(encoding="utf-8", newline="") as handle:
        buyers = {row["customer_external_id"] for row in csv.DictReader(handle)}
    # when every model is scored, today and back-tested
    code, out = score("all", predictions=str(tmp_path / "p.csv"))
    assert code == 0, out
    assert "the data end on 2025-06-29: scores are as of 2025-06-30" in out  # an export, not a live feed
    code, back = score("all", "--as-of", "2025-03-01", "--horizon-days", "90")
    assert code == 0, back
    # then the predictions have the contract's columns, and no category it does not have
    with (tmp_path / "p.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["customer_id", "external_ids", "churn_probability", "purchase_probability",
                             "expected_purchases", "p_alive", "expected_value"]  # fmt: skip
    assert len(rows) == len(buyers)  # every customer who bought, once
    assert all(0 <= float(row["churn_probability"]) <= 1 for row in rows)
    assert rows[0]["external_ids"].startswith("loyalty:L")


def test_few_customers_get_a_sentence_not_numbers(tmp_path, settings):
    load(write_plain_retailer(tmp_path, 25))
    code, out = score("all", report=str(tmp_path / "r.json"))
    assert code == 1
    assert "churn: not enough data: 23 customers bought before 2025-06-28 (500 needed)" in out
    assert not CustomerScore.objects.exists()


def test_a_retailer_without_consent_to_profiling_is_told_why(tmp_path, settings):
    settings.SCORES_MIN_BUYERS = 10
    load(write_plain_retailer(tmp_path, 60, consents=False), consents=False)
    code, out = score("churn")
    assert code == 1
    assert "no customer may be profiled" in out
