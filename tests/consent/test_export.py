"""Access and portability: the archive holds every registered model's rows of the subject, and is handed out once."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile

import pytest

from django.core.exceptions import ValidationError
from django.utils import timezone

from consent.models import SubjectExport
from consent.registry import registry
from consent.services import export as ex
from consent.services.subject import history_model, subject_resolve
from tests.cdp.factories import ReceiptFactory, SourceFactory, SourceRecordFactory
from tests.consent.gdpr_data import MARKERS, demo_with_subject, import_demo

pytestmark = pytest.mark.django_db


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def demo_customer(tmp_path):
    subject = demo_with_subject(tmp_path / "demo")
    import_demo(subject.folder)
    customers = subject.customers()
    # The person's records are matched into one customer when their identifiers agree (same e-mail and phone).
    assert len(customers) == 1
    customer = customers[0]
    customer.city = "Lille"  # one more history row
    customer.save()
    return customer, subject


def test_the_portability_archive_holds_every_registered_models_rows(demo_customer, media):
    customer, subject = demo_customer
    source_key, external_id = subject.records[0]
    unlinked = ReceiptFactory(source=SourceFactory(key=source_key), customer=None, customer_external_id=external_id)
    resolved = subject_resolve(customer)
    expected_rows = {entry.model._meta.label: resolved.rows(entry).count() for entry in registry.entries()}
    # when the archive is produced
    path = ex.subject_export(customer=customer)
    # then its JSON has one table per registered model, with exactly the subject's rows and the registry's fields
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        document = json.loads(archive.read("subject.json"))
        tables = document["tables"]
        nested = {entry.model._meta.label for entry in registry.entries() if entry.nest}
        assert set(tables) == {entry.model._meta.label for entry in registry.entries()} - nested
        for entry in registry.entries():
            if entry.model._meta.label in nested:
                continue
            table = tables[entry.model._meta.label]
            expected = expected_rows[entry.model._meta.label]
            assert len(table["rows"]) == expected, entry.model._meta.label
            assert table["fields"] == [*ex._columns(entry), *table.get("nested", {})]
            assert all(set(row) == set(table["fields"]) for row in table["rows"])
            csv_name = entry.model._meta.label.replace(".", "_").lower() + ".csv"
            assert csv_name in names
            rows = list(csv.DictReader(io.StringIO(archive.read(csv_name).decode("utf-8"))))
            assert len(rows) == expected
            if history_model(entry.model) is not None and expected:
                assert table["history"], f"{entry.model._meta.label} keeps history: the archive shows it"
    # and the demo customer has rows in the tables that matter, unlinked ones included
    counts = {label: len(table["rows"]) for label, table in tables.items()}
    for label in ("cdp.Customer", "cdp.SourceRecord", "cdp.Receipt", "cdp.Interaction", "consent.ConsentEvent"):
        assert counts[label] > 0, label
    receipt_ids = {row["receipt_id"] for row in tables["cdp.Receipt"]["rows"]}
    assert unlinked.receipt_id in receipt_ids
    assert tables["cdp.Customer"]["rows"][0]["email"] == MARKERS["email"]
    assert {p["key"] for p in document["purposes"]} >= {"email_marketing", "profiling"}
    assert "README.txt" in names
    # and the file sits under MEDIA_ROOT with a random name, recorded with its checksum
    record = SubjectExport.objects.get()
    assert media / record.file == path
    assert MARKERS["last_name"].lower() not in path.name.lower()
    assert record.size == path.stat().st_size
    assert len(record.sha256) == 64


def test_a_download_link_works_once_and_expires(demo_customer, media, role_users):
    customer, _ = demo_customer
    dpo = role_users["dpo"]
    path = ex.subject_export(customer=customer, actor=dpo)
    export = SubjectExport.objects.get()
    # an unknown token is refused
    with pytest.raises(ValidationError, match=ex.LINK_UNKNOWN):
        ex.subject_export_claim(token="guess", actor=dpo)
    # an expired link is refused
    token = ex.subject_export_link(export=export, actor=dpo)
    SubjectExport.objects.filter(pk=export.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    with pytest.raises(ValidationError, match=ex.LINK_EXPIRED):
        ex.subject_export_claim(token=token, actor=dpo)
    # a fresh link serves the file once, and the file leaves the server
    export.refresh_from_db()
    token = ex.subject_export_link(export=export, actor=dpo)
    served = ex.subject_export_claim(token=token, actor=dpo)
    assert served == path
    ex.subject_export_discard(path=served)
    assert not path.exists()
    export.refresh_from_db()
    assert export.downloaded_by == dpo
    assert export.file == ""
    assert export.deleted_at is not None
    with pytest.raises(ValidationError, match=ex.LINK_UNKNOWN):
        ex.subject_export_claim(token=token, actor=dpo)
    with pytest.raises(ValidationError, match=ex.EXPORT_GONE):
        ex.subject_export_link(export=export, actor=dpo)


def test_archives_never_downloaded_are_purged_after_a_week(media):
    customer = SourceRecordFactory().customer
    fresh = ex.subject_export(customer=customer)
    stale = ex.subject_export(customer=customer)
    SubjectExport.objects.filter(file__endswith=stale.name).update(created_at=timezone.now() - dt.timedelta(days=8))
    # when the purge runs twice
    assert ex.subject_export_purge() == 1
    assert ex.subject_export_purge() == 0
    # then only the stale archive is gone, and its record says when
    assert fresh.exists()
    assert not stale.exists()
    assert SubjectExport.objects.filter(file="", deleted_at__isnull=False).count() == 1


def test_the_archive_reads_without_the_platforms_keys(media):
    from consent.models import Channel, Purpose
    from tests.cdp.factories import CategoryFactory, ProductFactory, ReceiptLineFactory, StoreFactory
    from tests.consent.factories import ConsentEventFactory

    # given a customer's receipt of two lines in a store, and a consent
    record = SourceRecordFactory(source=SourceFactory(key="loyalty", name="Loyalty programme"))
    customer = record.customer
    receipt = ReceiptFactory(
        customer=customer, source=record.source, store=StoreFactory(code="PAR-11", name="Paris 11"), currency="EUR"
    )
    rake = ProductFactory(sku="RAKE-01", name="Rake", category=CategoryFactory(key="garden", name="Garden"))
    ReceiptLineFactory(receipt=receipt, line_no=1, product=rake, quantity=2, unit_price_minor=1250, discount_minor=0)
    ReceiptLineFactory(receipt=receipt, line_no=2, quantity=1, unit_price_minor=399, discount_minor=100)
    ConsentEventFactory(
        customer=customer, purpose=Purpose.objects.get(key="email_marketing"), channel=Channel.objects.get(key="email")
    )
    # when the archive is produced
    path = ex.subject_export(customer=customer)
    with zipfile.ZipFile(path) as archive:
        document = json.loads(archive.read("subject.json"))
        lines_csv = list(csv.DictReader(io.StringIO(archive.read("cdp_receiptline.csv").decode("utf-8"))))
    tables = document["tables"]
    # then a receipt carries its lines, each saying which product it was and what it cost, in decimals
    (receipt_row,) = tables["cdp.Receipt"]["rows"]
    assert (receipt_row["source_name"], receipt_row["store_name"], receipt_row["currency"]) == (
        "Loyalty programme",
        "Paris 11",
        "EUR",
    )
    assert "total_minor" not in receipt_row
    first = receipt_row["lines"][0]
    assert (first["product_sku"], first["product_name"], first["category"]) == ("RAKE-01", "Rake", "Garden")
    assert (first["unit_price"], first["amount"], first["currency"]) == ("12.50", "25.00", "EUR")
    assert "cdp.ReceiptLine" not in tables
    assert dt.datetime.fromisoformat(receipt_row["purchased_at"].replace("Z", "+00:00"))
    # and the spreadsheet of lines is flat, with the same readable columns
    assert lines_csv[1]["discount"] == "1.00"
    assert lines_csv[0]["product_name"] == "Rake"
    assert "unit_price_minor" not in lines_csv[0]
    # and consents name their purpose and channel
    (consent,) = tables["consent.ConsentEvent"]["rows"]
    assert (consent["purpose_name"], consent["channel_name"]) == ("E-mail marketing", "E-mail")
