"""`export_subject` and `erase_subject`: the same services as the admin, a one-line summary, non-zero on failure."""

from __future__ import annotations

import json
import zipfile
from io import StringIO

import pytest

from django.core.management import CommandError, call_command

from cdp.models import Customer, SourceRecord
from consent.management.subject import CHOOSE_ONE, NOT_FOUND, USER_NOT_FOUND
from consent.models import ErasureReceipt, ProcessingRun, SubjectExport, SuppressedIdentifier
from consent.services.register import ACTIVITY_DSR_HANDLING
from tests.cdp.factories import ReceiptLineFactory, SourceRecordFactory

pytestmark = pytest.mark.django_db


def run(command: str, **options) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command(command, stdout=out, **options)
    except CommandError as exc:
        return exc.returncode, out.getvalue() + str(exc)
    return 0, out.getvalue()


@pytest.fixture
def record():
    record = SourceRecordFactory(
        external_id="CRM-77", email="ada@example.org", phone="+33612345678", customer__email="ada@example.org"
    )
    ReceiptLineFactory(receipt__customer=record.customer)
    return record


def test_export_subject_by_source_and_external_id_writes_the_archive(record, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    out = tmp_path / "ada.zip"
    code, text = run("export_subject", source="crm", external_id="CRM-77", out=out)
    assert code == 0, text
    assert text.count("\n") == 1
    assert f"exported customer {record.customer_id}" in text
    with zipfile.ZipFile(out) as archive:
        tables = json.loads(archive.read("subject.json"))["tables"]
    assert [row["external_id"] for row in tables["cdp.SourceRecord"]["rows"]] == ["CRM-77"]
    # the file went where asked; nothing stays under MEDIA_ROOT
    assert not (tmp_path / "media").exists() or not any((tmp_path / "media").rglob("*.zip"))
    assert SubjectExport.objects.get().file == ""
    # the register lists the export under the handling of data-subject requests
    run_row = ProcessingRun.objects.get(activity__key=ACTIVITY_DSR_HANDLING)
    assert (run_row.kind, run_row.reference_id) == ("subject_export", str(SubjectExport.objects.get().pk))


def test_erase_subject_by_customer_id_prints_the_receipt(record, role_users):
    customer_id = record.customer_id
    code, text = run("erase_subject", customer=str(customer_id), reason="Art. 17 request 2026-11", actor="dpo")
    assert code == 0, text
    receipt = ErasureReceipt.objects.get()
    assert text.startswith(f"erased: receipt {receipt.reference}")
    assert text.count("\n") == 1
    assert receipt.actor_name == "dpo"
    assert receipt.reason == "Art. 17 request 2026-11"
    assert not Customer.objects.filter(pk=customer_id).exists()
    assert not SourceRecord.objects.filter(external_id="CRM-77").exists()
    assert SuppressedIdentifier.objects.count() == 3  # external id, e-mail, phone
    # the register lists the erasure, by its receipt, with no personal value
    run_row = ProcessingRun.objects.get(activity__key=ACTIVITY_DSR_HANDLING)
    assert (run_row.kind, run_row.reference_id) == ("subject_erasure", str(receipt.pk))
    assert run_row.counts["identifiers_suppressed"] == 3
    assert str(customer_id) not in json.dumps([run_row.counts, run_row.parameters, run_row.message])


@pytest.mark.parametrize(
    ("command", "options", "code", "message"),
    [
        ("erase_subject", {"customer": "00000000-0000-0000-0000-000000000000", "reason": "x"}, 2, NOT_FOUND),
        ("erase_subject", {"customer": "not-a-uuid", "reason": "x"}, 2, NOT_FOUND),
        ("erase_subject", {"source": "crm", "reason": "x"}, 2, CHOOSE_ONE),
        ("erase_subject", {"source": "crm", "external_id": "CRM-77", "reason": "  "}, 1, "needs its reason"),
        (
            "erase_subject",
            {"source": "crm", "external_id": "CRM-77", "reason": "x", "actor": "nobody"},
            2,
            USER_NOT_FOUND,
        ),
        ("export_subject", {"source": "crm", "external_id": "NOPE", "out": "x.zip"}, 2, NOT_FOUND),
        ("export_subject", {"source": "crm", "external_id": "CRM-77", "out": "x.txt"}, 2, ".zip"),
    ],
)
def test_a_failure_exits_non_zero_with_its_reason(record, command, options, code, message):
    got, text = run(command, **options)
    assert got == code
    assert message in text
    assert Customer.objects.filter(pk=record.customer_id).exists()
    for given in (options.get("customer"), options.get("external_id")):  # ids may be personal data: never echoed
        assert not given or given not in text


def test_export_subject_reports_an_unwritable_path(record, tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("")
    code, text = run("export_subject", source="crm", external_id="CRM-77", out=blocked / "sub" / "a.zip")
    assert code == 1
    assert "cannot write" in text
