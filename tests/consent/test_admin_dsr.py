"""The DPO handles every step of a request in the admin, without a shell: list by deadline, steps, export, erasure."""

from __future__ import annotations

import datetime as dt

import pytest

from django.urls import reverse
from django.utils import timezone

from cdp.models import Customer
from consent.models import DataSubjectRequest, ErasureReceipt, RequestStatus, SubjectExport
from consent.services import requests as dsr
from tests.cdp.factories import ReceiptLineFactory, SourceRecordFactory

# A past day: 09:00 today is still in the future early in the morning, and a request is never received later.
YESTERDAY = (timezone.localdate() - dt.timedelta(days=1)).isoformat()

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:consent_datasubjectrequest_changelist")


@pytest.fixture
def dpo_client(client, role_users):
    client.force_login(role_users["dpo"])
    return client


def step(client, request: DataSubjectRequest, name: str, data: dict | None = None):
    return client.post(reverse("admin:consent_dsr_step", args=[request.pk, name]), data or {})


def test_the_list_is_sorted_by_deadline_with_overdue_requests_flagged(dpo_client):
    now = timezone.now()
    later = dsr.dsr_create(kind="access", received_via="email", subject_reference="a", received_at=now)
    overdue = dsr.dsr_create(
        kind="erasure", received_via="post", subject_reference="b", received_at=now - dt.timedelta(days=45)
    )
    page = dpo_client.get(CHANGELIST)
    assert page.status_code == 200
    html = page.content.decode()
    assert html.index(f"DSR-{overdue.pk}") < html.index(f"DSR-{later.pk}")
    assert html.count("OVERDUE") == 1
    only_overdue = dpo_client.get(CHANGELIST, {"deadline": "overdue"}).content.decode()
    assert f"DSR-{overdue.pk}" in only_overdue
    assert f"DSR-{later.pk}" not in only_overdue


@pytest.mark.usefixtures("eager_tasks")
def test_the_dpo_walks_a_portability_request_to_a_one_time_download(
    dpo_client, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path / "media"
    customer = SourceRecordFactory().customer
    # created in the admin's add form
    response = dpo_client.post(
        reverse("admin:consent_datasubjectrequest_add"),
        {
            "kind": "portability",
            "received_via": "email",
            "received_at_0": YESTERDAY,
            "received_at_1": "09:00:00",
            "subject_reference": "e-mail of 2 Nov",
            "details": "",
            "objection_scope": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    request = DataSubjectRequest.objects.get()
    assert request.created_by.username == "dpo"
    assert request.events.count() == 1
    change = reverse("admin:consent_datasubjectrequest_change", args=[request.pk])
    page = dpo_client.get(change).content.decode()
    assert 'id="dsr-step-link"' in page
    assert 'id="dsr-step-export"' not in page
    # a step with missing input is answered with the form again, nothing changes
    assert step(dpo_client, request, "verify", {"text": ""}).status_code == 200
    assert step(dpo_client, request, "link", {"customer": str(customer.pk)}).status_code == 302
    assert step(dpo_client, request, "verify", {"text": "call-back"}).status_code == 302
    assert step(dpo_client, request, "extend", {"months": "2", "text": "archives to search"}).status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        assert step(dpo_client, request, "export").status_code == 302
    export = SubjectExport.objects.get(request=request)
    # download once through the expiring link
    link = dpo_client.post(reverse("admin:consent_dsr_export_link", args=[request.pk, export.pk]))
    assert link.status_code == 302
    download = dpo_client.get(link["Location"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content)[:2] == b"PK"
    assert dpo_client.get(link["Location"]).status_code == 302  # used: back to the list with a message
    assert step(dpo_client, request, "complete", {"text": "archive handed over"}).status_code == 302
    request.refresh_from_db()
    assert request.status == RequestStatus.COMPLETED
    assert request.is_extended
    trail = [event.action for event in request.events.all()]
    assert trail == [
        "created",
        "customer_linked",
        "identity_verified",
        "extended",
        "export_produced",
        "export_downloaded",
        "completed",
    ]
    assert "archive handed over" in dpo_client.get(change).content.decode()


def test_the_dpo_erases_with_a_receipt(dpo_client):
    line = ReceiptLineFactory()
    customer = line.receipt.customer
    request = dsr.dsr_create(kind="erasure", received_via="email", customer=customer)
    # erasure is offered only once the identity is verified
    assert step(dpo_client, request, "erase", {"text": "Art. 17", "confirm": "on"}).status_code == 404
    dsr.dsr_verify_identity(request=request, method="signed letter")
    # confirming is required
    assert step(dpo_client, request, "erase", {"text": "Art. 17"}).status_code == 200
    assert Customer.objects.filter(pk=customer.pk).exists()
    response = step(dpo_client, request, "erase", {"text": "Art. 17", "confirm": "on"})
    assert response.status_code == 302
    receipt = ErasureReceipt.objects.get(request=request)
    assert not Customer.objects.filter(pk=customer.pk).exists()
    page = dpo_client.get(reverse("admin:consent_erasurereceipt_change", args=[receipt.pk])).content.decode()
    assert "cdp.Receipt" in page
    assert "accounting" in page
    request.refresh_from_db()
    assert request.customer is None
    assert request.subject_reference == ""


def test_other_roles_cannot_handle_requests(client, role_users):
    request = dsr.dsr_create(kind="access", received_via="email", subject_reference="x")
    client.force_login(role_users["crm"])
    assert step(client, request, "verify", {"text": "x"}).status_code == 403
    client.force_login(role_users["marketing"])
    assert client.get(CHANGELIST).status_code == 403


def test_the_dpo_finds_the_receipt_of_an_erased_customer_by_its_id(dpo_client):
    from consent.services.erasure import subject_erase

    erased, other = SourceRecordFactory.create_batch(2)
    customer_id = erased.customer_id
    receipt = subject_erase(customer=erased.customer, reason="Art. 17")
    subject_erase(customer=other.customer, reason="Art. 17")
    page = dpo_client.get(reverse("admin:consent_erasurereceipt_changelist"), {"q": str(customer_id)})
    assert page.status_code == 200
    html = page.content.decode()
    assert str(receipt.reference) in html
    assert len(page.context["cl"].result_list) == 1


def test_a_customer_is_not_deleted_in_the_admin_but_erased_through_a_request(dpo_client):
    customer = SourceRecordFactory().customer
    response = dpo_client.get(reverse("admin:cdp_customer_delete", args=[customer.pk]))
    assert response.status_code == 403
    assert Customer.objects.filter(pk=customer.pk).exists()


def test_a_bad_request_in_the_add_form_is_shown_with_its_reason(dpo_client):
    response = dpo_client.post(
        reverse("admin:consent_datasubjectrequest_add"),
        {
            "kind": "objection",
            "received_via": "email",
            "received_at_0": YESTERDAY,
            "received_at_1": "09:00:00",
            "subject_reference": "",
            "details": "",
            "objection_scope": "telepathy",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert dsr.NO_SUBJECT in html
    assert "unknown objection scope" in html
    assert not DataSubjectRequest.objects.exists()
