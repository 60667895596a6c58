"""Erasure is complete and provable: after it, no identifier of the subject is anywhere in the database or media
folder, what the law keeps is anonymised with its reason, and a re-import of the subject's rows is refused."""

from __future__ import annotations

import pytest

from django.contrib.auth import get_user_model

from cdp.ingest.service import import_file
from cdp.models import Customer, Receipt, SourceRecord
from consent.models import ConsentEvent, ErasureReceipt, SuppressedIdentifier
from consent.services.erasure import subject_erase
from consent.services.export import subject_export
from consent.services.suppression import ERASED_SUBJECT
from tests.cdp.factories import ReceiptFactory, SourceFactory
from tests.cdp.importing import read_errors
from tests.consent.gdpr_data import database_dump, demo_with_subject, header_of, import_demo, write_rows

pytestmark = pytest.mark.django_db

KINDS = {"customers": "customers", "consents": "consents", "transactions": "transactions", "events": "events"}


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def test_an_erased_demo_customer_is_nowhere_and_cannot_come_back(tmp_path, media):
    # given a small demo retailer whose chosen person bought, browsed and consented, under marker values
    subject = demo_with_subject(tmp_path / "demo")
    import_demo(subject.folder)
    customers = subject.customers()
    assert customers, "the subject was imported"
    main = customers[0]
    # ... with history rows (an edit), an unlinked receipt carrying one of their external ids, and a stored export
    main.city = "Lille"
    main.save()
    source_key, external_id = subject.records[0]
    unlinked = ReceiptFactory(source=SourceFactory(key=source_key), customer=None, customer_external_id=external_id)
    export_path = subject_export(customer=main)
    assert export_path.exists()
    assert media in export_path.parents
    assert subject.anonymous_ids, "the subject browsed with a cookie id: its anonymous events must go too"
    before = database_dump().lower()
    for needle in subject.needles():
        assert needle in before, f"the test data lacks {needle!r}: the check below would prove nothing"
    kept_receipts = set(Receipt.objects.filter(customer__in=customers).values_list("pk", flat=True))
    assert kept_receipts
    dpo = get_user_model().objects.create_user(username="dpo-erasure")

    # when the DPO erases every profile of the person
    receipts = [subject_erase(customer=c, reason="Art. 17 request by e-mail", actor=dpo) for c in customers]

    # then none of the person's identifiers is left anywhere in the database
    after = database_dump().lower()
    left = [needle for needle in subject.needles() if needle in after]
    assert left == []
    # and the export file is gone from the media folder
    assert [p for p in media.rglob("*") if p.is_file()] == []
    # and the receipts stay for accounting, anonymised and unlinked, with the reason on the erasure receipt
    remaining = Receipt.objects.filter(pk__in=kept_receipts | {unlinked.pk})
    assert remaining.count() == len(kept_receipts) + 1
    assert not remaining.exclude(customer=None, customer_external_id="").exists()
    receipt = receipts[0]
    lines = {line["model"]: line for line in receipt.summary}
    assert lines["cdp.Receipt"]["action"] == "anonymised"
    assert "accounting" in lines["cdp.Receipt"]["reason"]
    assert lines["cdp.Customer"]["action"] == "deleted"
    assert lines["cdp.SourceRecord (history)"]["rows"] > 0
    assert receipt.erased_by == dpo
    assert receipt.files_deleted == 1
    assert ErasureReceipt.objects.count() == len(customers)
    assert SuppressedIdentifier.objects.filter(kind="email").exists()

    # when their original rows are imported again, from every file
    for kind, name, source in _imports():
        rows = subject.rows[name]
        if not rows:
            continue
        path = write_rows(tmp_path / f"again_{name}", rows, header_of(subject.folder / name))
        errors = tmp_path / f"errors_{name}"
        result = import_file(kind=kind, path=path, source_key=source, errors_path=errors)
        if kind == "transactions":
            # then receipt lines are kept for accounting, anonymous and unlinked, as the erasure kept the others
            assert (result.rejected, result.created + result.updated + result.unchanged) == (0, len(rows)), name
            continue
        # then every other row is refused as an erased subject's
        assert result.rejected == len(rows), name
        assert {row["reasons"] for row in read_errors(errors)} == {ERASED_SUBJECT}, name
    assert not Receipt.objects.filter(customer_external_id__in=subject.external_ids).exists()
    assert not Receipt.objects.filter(customer__first_name="Zoltanne").exists()
    assert not SourceRecord.objects.filter(external_id__in=subject.external_ids).exists()
    assert not ConsentEvent.objects.filter(subject_external_id__in=subject.external_ids).exists()
    assert not Customer.objects.filter(first_name="Zoltanne").exists()


def _imports():
    from cdp.demo.steps import DEMO_IMPORTS

    return DEMO_IMPORTS
