"""The demo retailer generator: contracts of its files, consistency with its ground truth, determinism."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections import Counter, defaultdict
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from django.core.management import call_command
from django.core.management.base import CommandError

from cdp.demo.basics import CONSENT_COLUMNS, CUSTOMER_COLUMNS, EVENT_COLUMNS, FILES, TRANSACTION_COLUMNS
from cdp.demo.generator import generate

END = date(2026, 9, 30)
START = date(2024, 10, 1)
SOURCES = ("crm", "eshop", "loyalty")
PURPOSES = {
    "email_marketing",
    "sms_marketing",
    "phone_marketing",
    "postal_marketing",
    "sales_contact",
    "profiling",
    "personalisation",
    "analytics",
}
CHANNELS = {"email", "sms", "phone", "post", "web", "store", "app"}
TRANSACTION_FILES = {"transactions_loyalty.csv": "loyalty", "transactions_eshop.csv": "eshop"}
EVENT_FILES = {"events_eshop.csv": "eshop", "events_crm.csv": "crm"}
CONSENT_FILES = {"consents_crm.csv": "crm", "consents_eshop.csv": "eshop"}


def read(folder: Path, name: str) -> tuple[list[str], list[dict[str, str]]]:
    with (folder / name).open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


def customers(folder: Path) -> dict[str, dict[str, dict[str, str]]]:
    return {source: {r["external_id"]: r for r in read(folder, f"customers_{source}.csv")[1]} for source in SOURCES}


def owners(folder: Path) -> dict[tuple[str, str], str]:
    return {(r["source"], r["external_id"]): r["person_id"] for r in read(folder, "truth/records.csv")[1]}


def folded(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    generate(folder, customers=600, seed=7, end_date=END, noise=1.0)
    return folder


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    # given two runs with the same arguments into different folders
    first, second = tmp_path / "a", tmp_path / "b"
    generate(first, customers=300, seed=11, end_date=END, noise=1.0)
    generate(second, customers=300, seed=11, end_date=END, noise=1.0)
    # when / then every file has the same bytes, and a different seed changes them
    names = sorted(p.relative_to(first).as_posix() for p in first.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(second).as_posix() for p in second.rglob("*") if p.is_file())
    assert len(names) == len(FILES) + 1  # and the manifest
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    generate(tmp_path / "c", customers=300, seed=12, end_date=END, noise=1.0)
    assert (tmp_path / "c" / "transactions_loyalty.csv").read_bytes() != (
        first / "transactions_loyalty.csv"
    ).read_bytes()


def test_every_file_has_its_contract_columns(demo: Path) -> None:
    for source in SOURCES:
        header, rows = read(demo, f"customers_{source}.csv")
        extra = ["card_tier"] if source == "loyalty" else []
        assert header == list(CUSTOMER_COLUMNS) + extra
        assert rows
    for name in TRANSACTION_FILES:
        assert read(demo, name)[0] == list(TRANSACTION_COLUMNS)
    for name in EVENT_FILES:
        assert read(demo, name)[0] == list(EVENT_COLUMNS)
    for name in CONSENT_FILES:
        assert read(demo, name)[0] == list(CONSENT_COLUMNS)
    assert read(demo, "truth/persons.csv")[0] == [
        "person_id",
        "persona",
        "household_id",
        "first_name",
        "last_name",
        "birth_date",
        "gender",
        "postcode",
        "city",
        "churn_date",
        "lookalike_of",
        "lookalike_kind",
    ]
    assert read(demo, "truth/records.csv")[0] == ["source", "external_id", "person_id"]
    assert read(demo, "truth/life_events.csv")[0] == ["person_id", "event", "date"]


def test_truth_records_list_every_customer_row_exactly_once(demo: Path) -> None:
    truth = read(demo, "truth/records.csv")[1]
    keys = [(r["source"], r["external_id"]) for r in truth]
    assert len(keys) == len(set(keys))
    in_files = [(source, r["external_id"]) for source in SOURCES for r in read(demo, f"customers_{source}.csv")[1]]
    assert len(in_files) == len(set(in_files))
    assert set(in_files) == set(keys)
    persons = {r["person_id"] for r in read(demo, "truth/persons.csv")[1]}
    assert {r["person_id"] for r in truth} == persons  # everyone is known to at least one source


def test_persons_in_several_sources_appear_under_each(demo: Path) -> None:
    sources_of: dict[str, set[str]] = defaultdict(set)
    for (source, _), person in owners(demo).items():
        sources_of[person].add(source)
    spread = Counter(len(s) for s in sources_of.values())
    total = sum(spread.values())
    assert 0.35 < spread[1] / total < 0.55
    assert 0.30 < spread[2] / total < 0.50
    assert 0.08 < spread[3] / total < 0.22
    # a person's records agree on the birth date in most cases (strong attributes are mostly right)
    files = customers(demo)
    births: dict[str, set[str]] = defaultdict(set)
    for (source, external_id), person in owners(demo).items():
        if files[source][external_id]["birth_date"]:
            births[person].add(files[source][external_id]["birth_date"])
    assert sum(len(b) == 1 for b in births.values()) / len(births) > 0.9


def test_ids_in_transactions_events_and_consents_exist_in_that_sources_customers(demo: Path) -> None:
    files = customers(demo)
    for name, source in {**TRANSACTION_FILES, **EVENT_FILES, **CONSENT_FILES}.items():
        ids = {r["customer_external_id"] for r in read(demo, name)[1]} - {""}
        assert ids, name
        assert ids <= set(files[source]), name


def test_churned_persons_buy_nothing_after_their_churn_date(demo: Path) -> None:
    churn = {
        r["person_id"]: date.fromisoformat(r["churn_date"])
        for r in read(demo, "truth/persons.csv")[1]
        if r["churn_date"]
    }
    assert 0.1 < len(churn) / 600 < 0.3
    who = owners(demo)
    checked = 0
    for name, source in TRANSACTION_FILES.items():
        for row in read(demo, name)[1]:
            person = who.get((source, row["customer_external_id"]))
            if person in churn:
                checked += 1
                assert datetime.fromisoformat(row["timestamp"]).date() <= churn[person], row
    assert checked > 0


def test_life_events_reference_existing_persons(demo: Path) -> None:
    persons = {r["person_id"] for r in read(demo, "truth/persons.csv")[1]}
    events = read(demo, "truth/life_events.csv")[1]
    assert 0.05 < len(events) / len(persons) < 0.16
    assert {e["event"] for e in events} == {"baby", "move", "retirement"}
    for event in events:
        assert event["person_id"] in persons
        assert START <= date.fromisoformat(event["date"]) <= END


def test_manifest_counts_match_the_files(demo: Path) -> None:
    manifest = json.loads((demo / "truth" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["seed"] == 7
    assert manifest["customers"] == 600
    assert (manifest["start_date"], manifest["end_date"]) == (START.isoformat(), END.isoformat())
    listed = {item["path"]: item["rows"] for item in manifest["files"]}
    assert set(listed) == {path for path, _ in FILES.values()}
    for path, rows in listed.items():
        assert len(read(demo, path)[1]) == rows, path
    assert sum(manifest["personas"].values()) == 600
    assert len(manifest["personas"]) == 8


def test_lookalikes_are_present_and_look_alike(demo: Path) -> None:
    persons = {r["person_id"]: r for r in read(demo, "truth/persons.csv")[1]}
    kinds = Counter(p["lookalike_kind"] for p in persons.values())
    for kind in ("namesake", "twin", "family"):
        assert 0.01 <= kinds[kind] / len(persons) <= 0.06, kinds
    for person in persons.values():
        if not person["lookalike_kind"]:
            assert not person["lookalike_of"]
            continue
        other = persons[person["lookalike_of"]]
        assert other["person_id"] < person["person_id"]
        assert person["last_name"] == other["last_name"]
        if person["lookalike_kind"] == "namesake":
            assert person["first_name"] == other["first_name"]
            assert person["birth_date"] != other["birth_date"]
            assert person["household_id"] != other["household_id"]
        else:
            assert person["household_id"] == other["household_id"]
            assert person["first_name"] != other["first_name"]
        if person["lookalike_kind"] == "twin":
            assert person["birth_date"] == other["birth_date"]


def test_emails_belong_to_one_person_except_recorded_household_emails(demo: Path) -> None:
    who = owners(demo)
    shared = {(r["source"], r["external_id"]) for r in read(demo, "truth/shared_identifiers.csv")[1]}
    holders: dict[str, set[str]] = defaultdict(set)
    for source, rows in customers(demo).items():
        for external_id, row in rows.items():
            if row["email"] and (source, external_id) not in shared:
                holders[row["email"].lower()].add(who[(source, external_id)])
    assert holders
    assert all(len(people) == 1 for people in holders.values())


def test_receipt_lines_are_valid(demo: Path) -> None:
    catalogue: dict[str, tuple[str, str, str]] = {}
    lines = returns = 0
    for name, source in TRANSACTION_FILES.items():
        seen_receipts: set[str] = set()
        previous = ""
        for row in read(demo, name)[1]:
            lines += 1
            receipt = row["receipt_id"]
            if receipt != previous:  # a receipt's rows are contiguous, numbered from 1
                assert receipt not in seen_receipts
                seen_receipts.add(receipt)
                expected_line = 1
                previous = receipt
            assert int(row["line"]) == expected_line
            expected_line += 1
            quantity, price, discount = int(row["quantity"]), Decimal(row["unit_price"]), Decimal(row["discount"])
            assert quantity != 0
            assert price > 0
            assert discount >= 0
            assert price.as_tuple().exponent == -2
            assert discount.as_tuple().exponent == -2
            assert discount <= abs(quantity) * price
            returns += quantity < 0
            assert START <= datetime.fromisoformat(row["timestamp"]).date() <= END
            assert datetime.fromisoformat(row["timestamp"]).utcoffset() is not None
            if source == "eshop":
                assert (row["store"], row["channel"] in {"web", "app"}) == ("WEB", True)
            else:
                assert row["channel"] == "store"
                assert row["store"] != "WEB"
            product = (row["product_name"], row["category"], row["unit_price"])
            assert catalogue.setdefault(row["sku"], product) == product  # one name, category and price per sku
    assert 0.015 < returns / lines < 0.05
    assert 15 < lines / 600 < 40
    assert len({category for _, category, _ in catalogue.values()}) == 12


def test_about_a_third_of_store_receipts_are_anonymous(demo: Path) -> None:
    receipts = {r["receipt_id"]: r["customer_external_id"] for r in read(demo, "transactions_loyalty.csv")[1]}
    anonymous = sum(1 for customer in receipts.values() if not customer)
    assert 0.15 < anonymous / len(receipts) < 0.45


def test_events_and_consents_are_well_formed(demo: Path) -> None:
    kinds = Counter()
    for name in EVENT_FILES:
        for row in read(demo, name)[1]:
            assert row["customer_external_id"] or row["anonymous_id"]
            assert isinstance(json.loads(row["properties"]), dict)
            assert START <= datetime.fromisoformat(row["timestamp"]).date() <= END
            kinds[(row["type"], row["channel"], bool(row["customer_external_id"]))] += 1
    types = {kind for kind, _, _ in kinds}
    assert types == {
        "page_view",
        "product_view",
        "add_to_cart",
        "search",
        "email_open",
        "email_click",
        "call_centre",
        "store_visit",
    }
    assert kinds[("page_view", "web", False)] > 0  # some visitors are anonymous
    assert all(channel == "phone" for kind, channel, _ in kinds if kind == "call_centre")
    for name in CONSENT_FILES:
        rows = read(demo, name)[1]
        assert rows
        for row in rows:
            assert row["purpose"] in PURPOSES
            assert row["channel"] in CHANNELS
            assert row["status"] in {"granted", "withdrawn"}
            assert datetime.fromisoformat(row["timestamp"]).date() <= END
            assert row["policy_version"]
            assert row["evidence"]


def test_more_noise_gives_more_variation_between_a_persons_records(tmp_path: Path) -> None:
    def share_with_differing_names(noise: float) -> float:
        folder = tmp_path / str(noise)
        generate(folder, customers=500, seed=3, end_date=END, noise=noise)
        names: dict[str, set[tuple[str, str]]] = defaultdict(set)
        files = customers(folder)
        for (source, external_id), person in owners(folder).items():
            row = files[source][external_id]
            names[person].add((folded(row["first_name"]), folded(row["last_name"])))
        several = [n for n in names.values() if n]
        return sum(len(n) > 1 for n in several) / len(several)

    quiet, usual, loud = (
        share_with_differing_names(0.0),
        share_with_differing_names(1.0),
        share_with_differing_names(2.0),
    )
    assert quiet == 0.0
    assert usual > 0.02
    assert loud > usual * 1.4


def test_generate_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="customers"):
        generate(tmp_path, customers=0, seed=1, end_date=END, noise=1.0)
    with pytest.raises(ValueError, match="noise"):
        generate(tmp_path, customers=10, seed=1, end_date=END, noise=-1.0)


def test_command_prints_a_one_line_summary(tmp_path: Path) -> None:
    out = io.StringIO()
    call_command("generate_demo_data", str(tmp_path / "demo"), "--customers", "40", "--seed", "5", stdout=out)
    text = out.getvalue().strip()
    assert len(text.splitlines()) == 1
    assert text.startswith("40 persons;")
    assert "receipt lines" in text
    assert "consents" in text
    assert (tmp_path / "demo" / "truth" / "manifest.json").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--customers", "0"], "--customers"),
        (["--noise", "-1"], "--noise"),
        (["--end-date", "2026-02-30"], "--end-date"),
        (["--end-date", "2010-01-01"], "--end-date"),
    ],
)
def test_command_rejects_bad_arguments(tmp_path: Path, args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("generate_demo_data", str(tmp_path / "demo"), *args, stdout=io.StringIO())
    assert not (tmp_path / "demo").exists()
