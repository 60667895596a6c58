"""The ingest contract's 10,000 records fit in a request, and every refusal of the API is JSON: a body too large (413),
an id that is not a number, an unknown path."""

from __future__ import annotations

import json
import urllib.request

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from cdp.api.exceptions import BODY_TOO_LARGE, NOT_FOUND
from cdp.api.ingest import MAX_RECORDS
from cdp.models import ImportBatch, ReceiptLine
from consent.models import DataSubjectRequest

URL = "/api/v1/ingest/transactions/"


def receipt_lines(count: int) -> list[dict]:
    """Receipt lines as the demo's till files hold them: three lines a receipt, a customer's card on each."""
    return [
        {
            "receipt_id": f"T{index // 3:06d}",
            "line": index % 3 + 1,
            "customer_external_id": f"L{index // 7:07d}",
            "timestamp": "2025-05-01T10:15:00+02:00",
            "store": "PAR-01",
            "channel": "store",
            "sku": f"SKU-{index % 400:05d}",
            "product_name": "Pain de campagne au levain 500 g",
            "category": "fresh_food",
            "quantity": 1 + index % 3,
            "unit_price": "3.45",
            "discount": "0.00",
        }
        for index in range(count)
    ]


def token_header(user) -> str:
    return f"Token {Token.objects.create(user=user).key}"


@pytest.mark.django_db(transaction=True)
def test_a_batch_of_the_contract_size_goes_through_over_http(live_server, role_users, settings):
    # given the contract's largest batch: 10,000 receipt lines, more than Django's default 2.5 MB
    body = json.dumps({"source": "till", "records": receipt_lines(MAX_RECORDS)}).encode()
    assert len(body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    # when an integration sends it over HTTP
    request = urllib.request.Request(
        live_server.url + URL,
        data=body,
        headers={"Content-Type": "application/json", "Authorization": token_header(role_users["marketing"])},
    )
    with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 - the test's own live server
        answer = json.loads(response.read())
    # then every line is imported
    assert (answer["read"], answer["created"], answer["rejected"]) == (MAX_RECORDS, MAX_RECORDS, 0)
    assert ReceiptLine.objects.count() == MAX_RECORDS


@pytest.mark.django_db
def test_a_batch_of_the_contract_size_goes_through_with_a_session_too(role_users, settings):
    # a signed-in analyst's browser session: DRF's CSRF check reads the body before the view does
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(role_users["marketing"])
    client.get("/")  # the CSRF cookie, as a page sets it
    body = json.dumps({"source": "till", "records": receipt_lines(MAX_RECORDS)})
    assert len(body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    response = client.post(
        URL, body, content_type="application/json", HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value
    )
    assert response.status_code == 200, response.content[:200]
    assert response.json()["created"] == MAX_RECORDS


@pytest.mark.django_db
def test_a_body_over_the_ingest_limit_gets_a_413_in_json(role_users, settings):
    settings.INGEST_MAX_REQUEST_BYTES = 50_000
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=token_header(role_users["marketing"]))
    response = api.post(URL, {"source": "till", "records": receipt_lines(300)}, format="json")
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": BODY_TOO_LARGE.format(limit=50_000)}
    assert not ImportBatch.objects.exists()
    # and a batch under it goes through
    assert api.post(URL, {"source": "till", "records": receipt_lines(30)}, format="json").status_code == 200


@pytest.mark.django_db
def test_a_body_over_the_limit_of_another_endpoint_gets_a_413_in_json(role_users, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=token_header(role_users["dpo"]))
    payload = {"kind": "access", "subject_reference": "a letter", "details": "x" * 20_000}
    response = api.post("/api/v1/subject-requests/", payload, format="json")
    assert response.status_code == 413
    assert response.json() == {"detail": BODY_TOO_LARGE.format(limit=10_000)}
    assert not DataSubjectRequest.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/subject-requests/abc/",
        "/api/v1/subject-requests/1.5/export/",
        "/api/v1/no-such-endpoint/",
        "/api/v1/customers/not-a-uuid/",
    ],
)
def test_unknown_paths_and_malformed_ids_get_a_json_404(role_users, path):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=token_header(role_users["dpo"]))
    response = api.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True])
def test_an_unknown_api_path_is_json_in_development_too(role_users, settings, debug):
    settings.DEBUG = debug  # Django's debug 404 page is HTML
    api = APIClient()
    api.force_authenticate(role_users["dpo"])
    for path in ("/api/v1/subject-requests/abc/", "/api/v1/nothing/", "/api/v1/me"):
        response = api.get(path)
        assert response.status_code == 404, path
        assert response.json() == {"detail": NOT_FOUND}
    assert api.post("/api/v1/subject-requests/abc/export/", {}).json() == {"detail": NOT_FOUND}


@pytest.mark.django_db
def test_a_json_404_names_what_was_not_found(role_users):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=token_header(role_users["dpo"]))
    assert api.get("/api/v1/no-such-endpoint/").json() == {"detail": NOT_FOUND}


@pytest.mark.django_db
def test_malformed_json_gets_a_400_in_json(role_users):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=token_header(role_users["marketing"]))
    response = api.post(URL, b'{"source": "till", "records": [', content_type="application/json")
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


def test_pages_keep_their_html_error_pages(client):
    response = client.get("/no-such-page/")
    assert response.status_code in {302, 404}  # anonymous visitors are sent to the login page first
    assert "json" not in response.get("Content-Type", "")


@pytest.mark.django_db
def test_an_empty_batch_is_refused_as_the_schema_says(role_users, client):
    client.force_login(role_users["marketing"])
    schema = client.get("/api/schema/?format=json").json()
    records = schema["components"]["schemas"]["IngestInput"]["properties"]["records"]
    assert (records["minItems"], records["maxItems"]) == (1, MAX_RECORDS)
    response = client.post(URL, {"source": "till", "records": []}, content_type="application/json")
    assert response.status_code == 400
