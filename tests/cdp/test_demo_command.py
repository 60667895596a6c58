"""`manage.py demo` generates the demo retailer and imports it through the importers."""

from __future__ import annotations

import csv
from io import StringIO

import pytest

from django.core.management import call_command

from cdp.models import Interaction, Receipt, ReceiptLine, SourceRecord
from consent.models import ConsentEvent, DataSubjectRequest, ProcessingRestriction

pytestmark = pytest.mark.django_db


def data_rows(path) -> int:
    with path.open(encoding="utf-8", newline="") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


def rejected_rows(path) -> int:
    return data_rows(path) if path.exists() else 0


def test_demo_imports_what_it_generated_and_a_second_run_changes_nothing(tmp_path):
    # when the demo runs on a small retailer
    out = StringIO()
    call_command("demo", customers=120, seed=7, data_dir=tmp_path, stdout=out)
    # then every generated row is in the database, less the rows the importers rejected with a reason
    errors = tmp_path / "errors"
    expected_records = sum(
        data_rows(tmp_path / f"customers_{s}.csv") - rejected_rows(errors / f"customers_{s}.csv")
        for s in ("crm", "eshop", "loyalty")
    )
    assert SourceRecord.objects.count() == expected_records
    expected_lines = sum(
        data_rows(tmp_path / f"transactions_{s}.csv") - rejected_rows(errors / f"transactions_{s}.csv")
        for s in ("loyalty", "eshop")
    )
    # and the campaign step's files: the personas' answer to the demo campaign (cdp.demo.campaign)
    expected_lines += sum(data_rows(path) for path in tmp_path.glob("transactions_campaign*_*.csv"))
    assert ReceiptLine.objects.count() == expected_lines
    expected_consents = sum(
        data_rows(tmp_path / f"consents_{s}.csv") - rejected_rows(errors / f"consents_{s}.csv")
        for s in ("crm", "eshop")
    )
    assert expected_consents > 0
    # the demo's objection request withdraws the direct-marketing purposes in the ledger
    objection_withdrawals = ConsentEvent.objects.filter(source_key="dsr").count()
    assert objection_withdrawals > 0
    assert ConsentEvent.objects.count() == expected_consents + objection_withdrawals
    # consents are imported after the customers, so each finds its customer at once
    assert not ConsentEvent.objects.filter(customer__isnull=True).exists()
    assert Interaction.objects.count() > 0
    assert Receipt.objects.filter(customer__isnull=False).exists()
    assert Receipt.objects.filter(customer__isnull=True, customer_external_id="").exists()  # anonymous shoppers
    text = out.getvalue()
    assert "generate:" in text
    assert "import:" in text
    assert "demo: 120 customers" in text
    # and the DPO has requests to practise on, in different states
    requests = list(DataSubjectRequest.objects.all())
    states = {(r.kind, r.status, r.is_overdue, r.customer_id is not None) for r in requests}
    assert ("access", "received", False, True) in states
    assert ("rectification", "received", False, False) in states
    assert ("erasure", "in_progress", True, True) in states
    assert ("objection", "completed", False, True) in states
    assert ProcessingRestriction.objects.filter(lifted_at__isnull=True).count() == 1
    # and one finished campaign with its results, and a brief for each demo sales rep
    from campaigns.models import Brief, Campaign, CampaignResult

    campaign = Campaign.objects.get()
    assert campaign.status == Campaign.Status.FINISHED
    assert CampaignResult.objects.filter(campaign=campaign).exists()
    assert sorted(Brief.objects.values_list("rep__username", flat=True)) == ["sales", "sales2"]
    # and a second run finds everything unchanged
    again = StringIO()
    call_command("demo", customers=120, seed=7, data_dir=tmp_path, stdout=again)
    assert "created 0, updated 0" in again.getvalue()
    assert ReceiptLine.objects.count() == expected_lines
    assert ConsentEvent.objects.count() == expected_consents + objection_withdrawals
    assert DataSubjectRequest.objects.count() == len(requests)


def test_make_run_keeps_an_existing_demo_database(tmp_path):
    # given a database that already holds a customer (the demo of an earlier `make run`)
    from tests.cdp.factories import CustomerFactory

    CustomerFactory()
    # when the demo runs as `make run` calls it
    out = StringIO()
    call_command("demo", customers=120, seed=7, data_dir=tmp_path, keep_existing=True, stdout=out)
    # then nothing is generated or imported, and the output says how to build it again
    assert not (tmp_path / "customers_crm.csv").exists()
    assert SourceRecord.objects.count() == 0
    assert "kept as it is" in out.getvalue()
    assert "make demo" in out.getvalue()


def test_make_files_run_keeps_and_demo_rebuilds():
    from pathlib import Path

    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    run = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    demo = makefile.split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    assert "--keep-existing" in run
    assert "manage.py demo" in demo
    assert "--keep-existing" not in demo


def test_the_demo_says_its_refused_rows_are_deliberate_and_where_they_are(tmp_path, monkeypatch):
    from cdp.demo import steps
    from cdp.ingest.types import ImportResult

    # given imports that refuse rows (the demo's files carry flawed rows on purpose)
    def import_file(*, kind, path, source_key, errors_path):
        return ImportResult(kind=kind, source=source_key, read=10, created=8, rejected=2)

    monkeypatch.setattr(steps, "import_file", import_file)
    lines = []
    ctx = steps.DemoContext(data_dir=tmp_path, customers=10, seed=1, write=lines.append)
    # when the import step runs
    account = steps.import_step(ctx)
    # then each file names its report, and one sentence says the refusals are the demo's on purpose
    text = "\n".join(lines)
    assert f"refused rows and their reasons: {tmp_path / 'errors' / 'customers_crm.csv'}" in text
    assert "deliberately flawed rows" in text
    assert "refused 18 rows and kept every other row" in text
    assert "refused on purpose" in account
