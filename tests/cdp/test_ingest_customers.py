"""import_customers: validated rows, idempotent re-imports, updates in place, exact exit codes and error files."""

from __future__ import annotations

from pathlib import Path

import pytest

from cdp.ingest.types import FileUnusable
from cdp.models import Customer, Identifier, ImportBatch, SourceRecord
from tests.cdp.importing import read_errors, run_command, write

pytestmark = pytest.mark.django_db

HEADER = "external_id,first_name,last_name,email,phone,birth_date,gender,address,postcode,city,country,signup_date"


def run(path: Path, source: str = "crm", **options) -> tuple[int, str]:
    return run_command("import_customers", path, source, **options)


def test_import_creates_records_customers_and_identifiers(tmp_path):
    # given a CRM export with an unknown column
    path = write(
        tmp_path / "c.csv",
        HEADER + ",tier",
        "C1, JEAN-PIERRE ,DUPONT, Jean.Dupont@Example.ORG ,06 12 34 56 78,1970-05-04,M,1 rue de la Paix,75002,"
        "Paris,France,2020-01-02,gold",
        "C2,,,,,,,,,,,,",
    )
    # when it is imported
    code, out = run(path)
    # then both rows are stored, normalised, with the unknown column kept as an attribute
    assert code == 0
    assert "read 2, created 2, updated 0, unchanged 0, rejected 0" in out
    record = SourceRecord.objects.get(external_id="C1")
    assert (record.first_name, record.last_name, record.email, record.phone, record.country) == (
        "Jean-Pierre",
        "Dupont",
        "jean.dupont@example.org",
        "+33612345678",
        "FR",
    )
    assert record.attributes == {"tier": "gold"}
    assert record.customer.email == "jean.dupont@example.org"
    assert record.customer.field_sources["email"] == "crm"
    assert set(Identifier.objects.filter(source_record=record).values_list("kind", "value")) == {
        ("external_id", "crm:C1"),
        ("email", "jean.dupont@example.org"),
        ("phone", "+33612345678"),
    }
    assert Customer.objects.count() == 2


def test_reimport_changes_nothing_and_an_updated_file_updates_only_changed_rows(tmp_path):
    rows = [HEADER, "C1,Anne,Martin,anne@example.org,,1980-01-01,F,,,,,", "C2,Paul,Durand,paul@example.org,,,,,,,,"]
    run(write(tmp_path / "v1.csv", *rows))
    code, out = run(write(tmp_path / "v1.csv", *rows))
    assert code == 0
    assert "created 0, updated 0, unchanged 2" in out
    assert SourceRecord.history.count() == 2  # no history row for an unchanged re-import
    # when one row changes
    rows[1] = "C1,Anne,Martin-Leroy,anne@example.org,,1980-01-01,F,,,,,"
    code, out = run(write(tmp_path / "v2.csv", *rows))
    # then exactly that record and its customer change, and history keeps both versions
    assert "created 0, updated 1, unchanged 1" in out
    record = SourceRecord.objects.get(external_id="C1")
    assert list(record.history.order_by("history_date").values_list("last_name", flat=True)) == [
        "Martin",
        "Martin-Leroy",
    ]
    assert record.customer.last_name == "Martin-Leroy"
    assert record.customer.history.count() == 2


def test_columns_missing_from_a_file_keep_their_stored_values(tmp_path):
    run(write(tmp_path / "full.csv", HEADER, "C1,Anne,Martin,anne@example.org,,,,,,,,"))
    code, out = run(write(tmp_path / "partial.csv", "external_id,city", "C1,Lyon"))
    assert "updated 1" in out
    record = SourceRecord.objects.get(external_id="C1")
    assert (record.email, record.city) == ("anne@example.org", "Lyon")


@pytest.mark.parametrize(
    ("row", "reasons"),
    [
        (",Anne,Martin,,,,,,,,,", ["missing required field 'external_id'"]),
        ("C1,Anne,Martin,not-an-email,,,,,,,,", ["invalid e-mail address"]),
        ("C1,Anne,Martin,,12,,,,,,,", ["invalid phone number"]),
        ("C1,Anne,Martin,,,31/02/1980,,,,,,", ["unparsable date"]),
        ("C1,Anne,Martin,,,1870-01-01,,,,,,", ["implausible birth date"]),
        ("C1,Anne,Martin,,,2099-01-01,,,,,,", ["implausible birth date"]),
        ("C1,Anne,Martin,,,1990-01-01,,,,,,1985-01-01", ["birth date after signup date"]),
        ("C1,Anne,Martin,,,,,,,,,2099-01-01", ["is in the future"]),
        ("C1,Anne,Martin,,,,Q,,,,,", ["unknown gender"]),
        ("C1,Anne,Martin,,,,,,,,Atlantis,", ["unknown country"]),
        ("C1,Anne,Martin,bad@,12,1870-01-01,,,,,,", ["invalid e-mail", "invalid phone", "implausible birth date"]),
    ],
)
def test_each_rejection_reason_is_reported_with_its_row(tmp_path, row, reasons):
    # given a file with one good row and one bad row
    path = write(tmp_path / "c.csv", HEADER, "C0,Good,Row,,,,,,,,,", row)
    # when it is imported with an errors file
    code, out = run(path, errors=str(tmp_path / "errors.csv"))
    # then the good row is kept, the bad one rejected whole with every reason, and the exit code is 1
    assert code == 1
    assert "read 2, created 1" in out
    assert "rejected 1" in out
    errors = read_errors(tmp_path / "errors.csv")
    assert [e["row"] for e in errors] == ["3"]
    for reason in reasons:
        assert reason in errors[0]["reasons"]
    assert errors[0]["first_name"] == "Anne"  # the original values come with the reasons
    assert not SourceRecord.objects.filter(external_id="C1").exists()


def test_a_duplicate_row_inside_the_file_is_rejected(tmp_path):
    path = write(tmp_path / "c.csv", HEADER, "C1,Anne,Martin,,,,,,,,,", "C1,Anne,Martin,,,,,,,,,")
    code, _ = run(path, errors=str(tmp_path / "e.csv"))
    assert code == 1
    assert read_errors(tmp_path / "e.csv")[0]["reasons"] == "duplicate of row 2"
    assert SourceRecord.objects.count() == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("", "the file is empty"),
        ("first_name,last_name\nAnne,Martin\n", "required columns missing: external_id"),
    ],
)
def test_an_unusable_file_exits_2_and_writes_nothing(tmp_path, content, message):
    path = tmp_path / "c.csv"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    code, out = run(path)
    assert code == 2
    assert message in out
    assert SourceRecord.objects.count() == 0


def test_a_row_in_the_wrong_encoding_is_rejected_not_the_file(tmp_path):
    path = tmp_path / "c.csv"
    path.write_bytes((HEADER + "\nC1,Anne,Martin,,,,,,,,,\n").encode() + "C2,Hélène,Dupré,,,,,,,,,\n".encode("latin-1"))
    code, _ = run(path, errors=str(tmp_path / "e.csv"))
    assert code == 1
    assert "not valid text in encoding utf-8" in read_errors(tmp_path / "e.csv")[0]["reasons"]
    # the same file read as Latin-1 imports whole
    code, _ = run(path, source="crm2", encoding="latin-1")
    assert code == 0
    assert SourceRecord.objects.get(source__key="crm2", external_id="C2").first_name == "Hélène"


def test_mapping_delimiter_and_date_format_read_a_spreadsheet_export(tmp_path):
    path = write(
        tmp_path / "export.csv",
        "Numéro client;Prénom;Nom;Date de naissance;Code postal;Ville;Fidélité",
        "A-17;Élodie;LEFÈVRE;03/11/1985;69003;Lyon;or",
        encoding="cp1252",
    )
    code, out = run(
        path,
        delimiter=";",
        encoding="cp1252",
        date_format="%d/%m/%Y",
        map="Numéro client=external_id,Prénom=first_name,Nom=last_name,Date de naissance=birth_date,"
        "Code postal=postcode,Ville=city",
    )
    assert code == 0, out
    record = SourceRecord.objects.get(external_id="A-17")
    assert (record.first_name, record.last_name, str(record.birth_date), record.postcode) == (
        "Élodie",
        "Lefèvre",
        "1985-11-03",
        "69003",
    )
    assert record.attributes == {"fidélité": "or"}


def test_every_import_is_recorded(tmp_path):
    run(write(tmp_path / "c.csv", HEADER, "C1,Anne,Martin,,,,,,,,,", ",,,,,,,,,,,"))
    batch = ImportBatch.objects.get()
    assert (batch.kind, batch.origin, batch.status, batch.read, batch.created, batch.rejected) == (
        "customers",
        "c.csv",
        "partial",
        2,
        1,
        1,
    )
    assert batch.finished_at is not None


def test_service_raises_file_unusable_for_a_bad_mapping(tmp_path):
    from cdp.ingest.reader import parse_mapping

    with pytest.raises(FileUnusable):
        parse_mapping("no equals sign")


def test_national_numbers_and_postcodes_are_read_in_the_row_s_own_country(tmp_path):
    # given customers of three countries in one file, national phone numbers, four- and five-digit postcodes
    path = write(
        tmp_path / "c.csv",
        HEADER,
        "B1,Lotte,Peeters,,02 123 45 67,,,Rue Haute 12,1000,Bruxelles,BE,",
        "D1,Jonas,Weber,,030 1234567,,,Hauptstraße 12,01067,Dresden,Deutschland,",
        "F1,Anne,Roux,,06 12 34 56 78,,,1 rue de la Paix,1000,Bourg-en-Bresse,FR,",
        "X1,Kim,Lee,,06 12 34 56 78,,,,,,,",
    )
    # when it is imported
    code, out = run(path)
    # then each number is read in its row's country (the retailer's region without one), and only a French postcode
    # is padded
    assert code == 0, out
    stored = {r.external_id: (r.phone, r.postcode) for r in SourceRecord.objects.all()}
    assert stored == {
        "B1": ("+3221234567", "1000"),
        "D1": ("+49301234567", "01067"),
        "F1": ("+33612345678", "01000"),
        "X1": ("+33612345678", ""),
    }


def test_a_partial_import_ends_with_a_plain_summary_and_status_1(tmp_path):
    # given a file with one good row and one bad row
    path = write(tmp_path / "c.csv", HEADER, "C0,Good,Row,,,,,,,,,", "C1,Anne,Martin,bad@,,,,,,,,")
    # when it is imported, with and without an errors file
    code, out = run(path, errors=str(tmp_path / "errors.csv"))
    bare_code, bare_out = run(path, source="crm2")
    # then it exits 1 with a plain account of what happened, not an error's
    assert (code, bare_code) == (1, 1)
    assert "CommandError" not in out + bare_out
    assert f"1 row was refused and the others kept; {tmp_path / 'errors.csv'} lists them in file order" in out
    assert "--errors PATH lists them" in bare_out


def test_the_errors_file_lists_refused_rows_in_file_order(tmp_path):
    # given an erased subject's row (refused when its batch is written) before a row with a bad value (refused as it
    # is read), and more of each after
    from consent.services.suppression import Kind, suppression_add

    suppression_add(identifiers=[(Kind.EXTERNAL_ID, "crm:C1"), (Kind.EXTERNAL_ID, "crm:C4")])
    rows = ["C1,Erased,One,,,,,,,,,", "C2,Bad,Mail,bad@,,,,,,,,", "C3,Good,Row,,,,,,,,,", "C4,Erased,Two,,,,,,,,,"]
    path = write(tmp_path / "c.csv", HEADER, *rows, "C5,Bad,Date,,,1870-01-01,,,,,,")
    # when it is imported in batches of two rows
    code, _ = run(path, errors=str(tmp_path / "errors.csv"), batch_size=2)
    # then the errors file lists the refused rows in the file's order
    assert code == 1
    assert [error["row"] for error in read_errors(tmp_path / "errors.csv")] == ["2", "3", "5", "6"]


def test_refused_rows_beyond_memory_are_sorted_on_disk(tmp_path, monkeypatch):
    from cdp.ingest.service import ErrorSink

    # given a sink that spills every two rows, fed rows out of order
    monkeypatch.setattr(ErrorSink, "SPILL_ROWS", 2)
    sink = ErrorSink(tmp_path / "e.csv", ["a"], keep=False)
    for row in (9, 3, 7, 2, 8, 5, 4):
        sink.add(row, [f"reason {row}"], {"a": f"=value {row}"})
    # when it is closed
    sink.close()
    # then every row is written once, in order, made safe for a spreadsheet
    errors = read_errors(tmp_path / "e.csv")
    assert [error["row"] for error in errors] == ["2", "3", "4", "5", "7", "8", "9"]
    assert errors[0]["a"] == "'=value 2"
