"""The data-subject requests API: create, status, export and one-time download; 4xx with a message, never a 500."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest

from django.urls import reverse
from django.utils import timezone

from consent.api.params import BLANK_PARAMETER
from consent.api.requests import CUSTOMER_NOT_FOUND, NO_EXPORT_READY, REQUEST_NOT_FOUND
from consent.models import DataSubjectRequest, RequestAction, SubjectExport
from consent.services import requests as dsr
from consent.services.export import LINK_EXPIRED, LINK_UNKNOWN, subject_export, subject_export_link
from tests.cdp.factories import SourceRecordFactory

pytestmark = pytest.mark.django_db

LIST = reverse("consent-api:subject-request-list")


@pytest.fixture
def dpo_client(client, role_users):
    client.force_login(role_users["dpo"])
    return client


def test_the_dpo_creates_a_request_and_reads_its_status(dpo_client):
    customer = SourceRecordFactory().customer
    # when a request is posted
    response = dpo_client.post(
        LIST, {"kind": "portability", "customer": str(customer.pk), "details": "all my purchases"}, "application/json"
    )
    # then it is created as received through the API, due in one month, with its trail
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["kind"], body["status"], body["received_via"]) == ("portability", "received", "api")
    assert body["customer"] == str(customer.pk)
    assert body["identity_verified"] is False
    assert [event["action"] for event in body["events"]] == ["created"]
    assert body["events"][0]["actor"] == "dpo"
    detail = dpo_client.get(reverse("consent-api:subject-request-detail", args=[body["id"]]))
    assert detail.status_code == 200
    assert detail.json()["due_at"] == body["due_at"]
    listed = dpo_client.get(LIST).json()
    assert [row["id"] for row in listed["results"]] == [body["id"]]


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"kind": "forget"}, "kind", "not a valid choice"),
        ({"kind": "erasure"}, "subject_reference", dsr.NO_SUBJECT),
        ({"kind": "erasure", "customer": "5b0f1c1e-0000-4000-8000-000000000000"}, "customer", CUSTOMER_NOT_FOUND),
        ({"kind": "erasure", "customer": "nope"}, "customer", "valid UUID"),
        ({"kind": "access", "subject_reference": "x", "received_via": "fax"}, "received_via", "not a valid choice"),
    ],
)
def test_a_bad_request_gets_a_400_with_its_reason(dpo_client, payload, field, message):
    response = dpo_client.post(LIST, payload, "application/json")
    assert response.status_code == 400
    assert message in " ".join(response.json()[field])
    assert not DataSubjectRequest.objects.exists()


def test_roles_without_the_permission_are_refused(client, role_users):
    client.force_login(role_users["sales"])
    assert client.get(LIST).status_code == 403
    client.force_login(role_users["marketing"])
    response = client.post(LIST, {"kind": "access", "subject_reference": "x"}, "application/json")
    assert response.status_code == 403
    assert "consent.add_datasubjectrequest" in response.json()["detail"]
    client.logout()
    assert client.get(LIST).status_code in (401, 403)


def test_unknown_request_is_a_404(dpo_client):
    response = dpo_client.get(reverse("consent-api:subject-request-detail", args=[999]))
    assert response.status_code == 404
    assert response.json()["detail"] == REQUEST_NOT_FOUND


@pytest.mark.usefixtures("eager_tasks")
def test_the_export_is_produced_then_downloaded_once_through_its_link(
    dpo_client, role_users, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path / "media"
    customer = SourceRecordFactory(external_id="CRM-5").customer
    request = dsr.dsr_create(kind="access", received_via="email", customer=customer)
    export_url = reverse("consent-api:subject-request-export", args=[request.pk])
    link_url = reverse("consent-api:subject-request-export-link", args=[request.pk])
    # before the identity is verified, nothing is produced
    response = dpo_client.post(export_url)
    assert response.status_code == 400
    assert dsr.NOT_VERIFIED in str(response.json())
    assert dpo_client.post(link_url).json() == {"detail": NO_EXPORT_READY}
    dsr.dsr_verify_identity(request=request, method="call-back on the number on file", actor=role_users["dpo"])
    # when the export is asked for (the task runs at once in eager mode)
    with django_capture_on_commit_callbacks(execute=True):
        response = dpo_client.post(export_url)
    assert response.status_code == 202
    assert SubjectExport.objects.filter(request=request).count() == 1
    # then a link downloads it once
    link = dpo_client.post(link_url)
    assert link.status_code == 200, link.json()
    download = dpo_client.get(link.json()["url"])
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    with zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content))) as archive:
        assert "subject.json" in archive.namelist()
    again = dpo_client.get(link.json()["url"])
    assert again.status_code == 404
    assert LINK_UNKNOWN in str(again.json())
    actions = list(request.events.values_list("action", flat=True))
    assert RequestAction.EXPORT_PRODUCED in actions
    assert RequestAction.EXPORT_DOWNLOADED in actions
    assert dpo_client.post(link_url).status_code == 409


def test_the_list_costs_the_same_queries_for_more_requests(dpo_client, django_assert_num_queries):
    def create(count: int) -> None:
        for _ in range(count):
            dsr.dsr_create(kind="access", received_via="email", subject_reference="ticket")

    create(2)
    with django_assert_num_queries(7) as few:  # session, user, permissions (2); count, page, their events
        assert len(dpo_client.get(LIST).json()["results"]) == 2
    create(5)
    with django_assert_num_queries(len(few.captured_queries)):
        assert len(dpo_client.get(LIST).json()["results"]) == 7


# ---------------------------------------------------------------------------------------------------------------------
# The schema and the API agree (what schema fuzzing found)


def test_an_unknown_download_link_is_a_json_404_and_an_expired_one_a_410(dpo_client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    response = dpo_client.get(reverse("consent-api:subject-export-download", args=["0"]))
    assert response.status_code == 404
    assert response.json() == {"detail": LINK_UNKNOWN}
    customer = SourceRecordFactory().customer
    export_path = subject_export(customer=customer)
    export = SubjectExport.objects.get()
    token = subject_export_link(export=export)
    SubjectExport.objects.filter(pk=export.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    response = dpo_client.get(reverse("consent-api:subject-export-download", args=[token]))
    assert response.status_code == 410
    assert response.json() == {"detail": LINK_EXPIRED}
    assert export_path.exists()


def test_a_request_received_before_the_gdpr_applied_is_refused(dpo_client):
    response = dpo_client.post(
        LIST, {"kind": "access", "subject_reference": "letter", "received_at": "1237-07-15T04:22:01+04:13"}
    )
    assert response.status_code == 400
    assert response.json() == {"received_at": [dsr.RECEIVED_BEFORE_GDPR]}


@pytest.mark.parametrize("query", ["status=", "page=", "status=open&page="])
def test_a_query_parameter_given_empty_is_refused(dpo_client, query):
    response = dpo_client.get(f"{LIST}?{query}")
    assert response.status_code == 400
    assert BLANK_PARAMETER in str(response.json())


def test_the_schema_documents_every_refusal_of_the_export(dpo_client):
    schema = dpo_client.get("/api/schema/?format=json").json()
    export = schema["paths"]["/api/v1/subject-requests/{id}/export/"]["post"]["responses"]
    assert {"202", "400", "401", "403", "404"} <= set(export)
    assert "application/json" in export["404"]["content"]
    download = schema["paths"]["/api/v1/subject-exports/{token}/"]["get"]["responses"]
    assert {"200", "404", "410"} <= set(download)
