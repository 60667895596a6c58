"""subject_erase: merged profiles go together, retention erases without suppressing, requests are checked, the
receipt holds no personal value, devices and quoted values are covered."""

from __future__ import annotations

import json
import uuid

import pytest

from django.conf import settings
from django.core.exceptions import ValidationError

from cdp.ingest.service import import_records
from cdp.models import Customer, ImportBatch, Interaction, MergeEvent, SourceRecord
from cdp.personal_data import REDACTED
from consent.models import ErasureReceipt, SubjectExport, SuppressedIdentifier
from consent.services import requests as dsr
from consent.services.erasure import ALREADY_ERASED, NOT_AN_ERASURE_REQUEST, NOT_THE_REQUEST_CUSTOMER, subject_erase
from consent.services.suppression import ERASED_SUBJECT
from tests.cdp.factories import CustomerFactory, InteractionFactory, SourceFactory, SourceRecordFactory

pytestmark = pytest.mark.django_db


def _person(external_id: str, email: str):
    return SourceRecordFactory(external_id=external_id, email=email, customer__email=email)


def test_customers_merged_into_the_subject_are_erased_with_it():
    survivor = _person("C1", "ada@example.org")
    merged = _person("C2", "ada.l@example.org")
    Customer.objects.filter(pk=merged.customer_id).update(status="merged", merged_into=survivor.customer_id)
    SourceRecord.objects.filter(pk=merged.pk).update(customer=survivor.customer_id)
    other = _person("C3", "grace@example.org")
    # when the merged customer's id is given, the survivor's whole record is erased
    receipt = subject_erase(customer=Customer.objects.get(pk=merged.customer_id), reason="Art. 17")
    assert not Customer.objects.filter(pk__in=[survivor.customer_id, merged.customer_id]).exists()
    assert list(SourceRecord.objects.values_list("external_id", flat=True)) == ["C3"]
    history = Customer.history.model.objects
    assert not history.filter(id__in=[survivor.customer_id, merged.customer_id]).exists()
    assert history.filter(id=other.customer_id).exists()  # nobody else's history goes
    deleted = {line["model"]: line["rows"] for line in receipt.summary if line["action"] == "deleted"}
    assert deleted["cdp.Customer"] == 2
    assert deleted["cdp.SourceRecord"] == 2


def test_retention_erases_without_suppressing_so_the_customer_may_come_back():
    record = _person("C1", "ada@example.org")
    receipt = subject_erase(customer=record.customer, reason="retention: 3 years without contact", suppress=False)
    assert receipt.suppressed is False
    assert not SuppressedIdentifier.objects.exists()
    result, _ = import_records(kind="customers", records=[{"external_id": "C1"}], source_key="crm")
    assert result.created == 1


def test_suppression_refuses_the_subject_in_every_source_by_email_too():
    record = _person("C1", "ada@example.org")
    subject_erase(customer=record.customer, reason="Art. 17")
    result, _ = import_records(
        kind="customers",
        records=[{"external_id": "X9", "email": "ADA@example.org"}, {"external_id": "X10", "email": "bo@example.org"}],
        source_key="eshop",
    )
    assert result.created == 1
    assert [error.reasons for error in result.errors] == [(ERASED_SUBJECT,)]


def test_the_request_must_allow_the_erasure():
    record = _person("C1", "ada@example.org")
    other = _person("C2", "bo@example.org")
    request = dsr.dsr_create(kind="erasure", received_via="email", customer=record.customer)
    with pytest.raises(ValidationError, match=dsr.NOT_VERIFIED):
        subject_erase(customer=record.customer, reason="Art. 17", request=request)
    dsr.dsr_verify_identity(request=request, method="signed letter")
    with pytest.raises(ValidationError, match=NOT_THE_REQUEST_CUSTOMER):
        subject_erase(customer=other.customer, reason="Art. 17", request=request)
    access = dsr.dsr_verify_identity(
        request=dsr.dsr_create(kind="access", received_via="email", customer=record.customer), method="letter"
    )
    with pytest.raises(ValidationError, match=NOT_AN_ERASURE_REQUEST):
        subject_erase(customer=record.customer, reason="Art. 17", request=access)
    customer = record.customer
    subject_erase(customer=customer, reason="Art. 17", request=request)
    with pytest.raises(ValidationError, match="already erased"):
        subject_erase(customer=customer, reason="again")
    assert ALREADY_ERASED.startswith("this customer no longer exists")
    assert ErasureReceipt.objects.get().request == request


def test_the_receipt_holds_no_personal_value_and_devices_and_quoted_values_go():
    record = _person("C1", "ada@example.org")
    eshop = SourceFactory(key="eshop")
    InteractionFactory(customer=record.customer, source=eshop, anonymous_id="web-ada-1")
    before_login = InteractionFactory(customer=None, source=eshop, anonymous_id="web-ada-1")
    someone_else = InteractionFactory(customer=None, source=eshop, anonymous_id="web-bob-2")
    batch = ImportBatch.objects.create(
        kind="customers",
        source=eshop,
        origin="api",
        idempotency_key="retry-ada@example.org",
        row_errors=[{"index": 0, "reasons": ["birth date after signup date for ada@example.org"]}],
    )
    receipt = subject_erase(customer=record.customer, reason="Art. 17")
    as_text = json.dumps(receipt.summary) + receipt.subject_digest + receipt.actor_name
    for value in ("ada@example.org", "C1", str(record.customer_id), "web-ada-1"):
        assert value not in as_text
    assert list(Interaction.objects.values_list("pk", flat=True)) == [someone_else.pk]
    assert not Interaction.objects.filter(pk=before_login.pk).exists()
    batch.refresh_from_db()
    assert batch.row_errors[0]["reasons"] == [f"birth date after signup date for {REDACTED}"]
    assert "ada" not in batch.idempotency_key
    lines = {line["model"]: line for line in receipt.summary}
    assert lines["cdp.ImportBatch (row errors)"]["rows"] == 1


def test_a_customer_without_identifiers_is_erased_too():
    customer = CustomerFactory(email="")
    receipt = subject_erase(customer=customer, reason="Art. 17")
    assert receipt.identifiers_suppressed == 0
    assert not Customer.objects.filter(pk=customer.pk).exists()


@pytest.mark.skipif(not settings.CELERY_RESULT_BACKEND, reason="no result backend configured (CI's second run has one)")
def test_stored_task_results_about_the_subject_are_forgotten():
    from celery.result import AsyncResult

    from cdp.celery import app

    record = _person("C1", "ada@example.org")
    task_id = str(uuid.uuid4())
    app.backend.store_result(task_id, None, "SUCCESS")
    SubjectExport.objects.create(customer=record.customer, task_id=task_id)
    assert AsyncResult(task_id).state == "SUCCESS"
    receipt = subject_erase(customer=record.customer, reason="Art. 17")
    assert receipt.task_results_deleted == 1
    assert AsyncResult(task_id).state == "PENDING"  # nothing stored any more


def test_history_of_another_customer_keeps_none_of_the_subjects_identifiers():
    # given a customer whose golden record once carried the subject's e-mail (while they were merged), then fixed
    subject = _person("C1", "ada@example.org")
    other = _person("C2", "bob@example.org")
    other.customer.email = "ada@example.org"
    other.customer.save()
    MergeEvent.objects.create(kind="merge", survivor=other.customer, other_id=subject.customer_id, undone=True)
    other.customer.email = "bob@example.org"
    other.customer.save()
    history = Customer.history.model.objects
    assert history.filter(id=other.customer_id, email="ada@example.org").exists()
    # when the subject is erased
    subject_erase(customer=subject.customer, reason="Art. 17")
    # then the other customer's history keeps its rows, without the subject's e-mail
    assert not history.filter(email="ada@example.org").exists()
    assert history.filter(id=other.customer_id, email="bob@example.org").exists()
