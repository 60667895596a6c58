"""Batch ingestion API: per-record errors, valid records kept, idempotency key, limits and permissions."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from cdp.api.ingest import MAX_RECORDS
from cdp.models import ImportBatch, Interaction, ReceiptLine, SourceRecord

pytestmark = pytest.mark.django_db

URL = "/api/v1/ingest/{}/"


@pytest.fixture
def marketing_api(role_users) -> APIClient:
    api = APIClient()
    api.force_authenticate(role_users["marketing"])
    return api


def test_customers_batch_keeps_valid_records_and_reports_each_error(marketing_api):
    records = [
        {"external_id": "W1", "first_name": "Anne", "email": "anne@example.org"},
        {"external_id": "W2", "email": "not-an-email", "birth_date": "1800-01-01"},
        {"first_name": "no id"},
        {"external_id": "W1", "first_name": "Anne"},
    ]
    response = marketing_api.post(URL.format("customers"), {"source": "eshop", "records": records}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["read"], body["created"], body["rejected"], body["replayed"]) == (4, 1, 3, False)
    errors = {e["index"]: e["reasons"] for e in body["errors"]}
    assert set(errors) == {1, 2, 3}
    assert any("invalid e-mail" in r for r in errors[1])
    assert any("implausible birth date" in r for r in errors[1])
    assert errors[2] == ["missing required field 'external_id'"]
    assert errors[3] == ["duplicate of row 0"]
    assert SourceRecord.objects.get().external_id == "W1"


def test_a_retry_with_the_same_idempotency_key_changes_nothing(marketing_api):
    payload = {
        "source": "eshop",
        "records": [
            {"receipt_id": "W-1", "timestamp": "2025-05-01T10:00:00Z", "sku": "A", "quantity": 2, "unit_price": "3.5"}
        ],
    }
    first = marketing_api.post(URL.format("transactions"), payload, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.json()["created"] == 1
    # when the same call is retried
    again = marketing_api.post(URL.format("transactions"), payload, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    # then the stored answer is replayed and nothing is written
    assert again.status_code == 200
    assert again.json()["replayed"] is True
    assert again.json()["batch_id"] == first.json()["batch_id"]
    assert ImportBatch.objects.count() == 1
    # a new key with changed content is a new batch
    payload["records"][0]["quantity"] = 5
    third = marketing_api.post(URL.format("transactions"), payload, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert third.json()["updated"] == 1
    assert ReceiptLine.objects.get().quantity == 5


def test_events_batch_accepts_json_properties(marketing_api):
    records = [
        {
            "anonymous_id": "a1",
            "timestamp": "2025-05-01T10:00:00Z",
            "type": "search",
            "channel": "web",
            "properties": {"q": "vin"},
        }
    ]
    response = marketing_api.post(URL.format("events"), {"source": "eshop", "records": records}, format="json")
    assert response.json()["created"] == 1
    assert Interaction.objects.get().properties == {"q": "vin"}


@pytest.mark.parametrize(
    ("kind", "payload", "status", "message"),
    [
        ("customers", {"source": "eshop"}, 400, "records"),
        ("customers", {"source": "eshop", "records": []}, 400, "records"),
        ("customers", {"source": "bad source!", "records": [{"external_id": "1"}]}, 400, "source"),
        ("customers", {"source": "eshop", "records": [{"first_name": "x"}]}, 400, "required columns missing"),
        ("customers", {"source": "eshop", "records": ["not an object"]}, 400, "records"),
        ("receipts", {"source": "eshop", "records": [{"external_id": "1"}]}, 404, "unknown kind"),
    ],
)
def test_bad_requests_get_a_4xx_with_a_message(marketing_api, kind, payload, status, message):
    response = marketing_api.post(URL.format(kind), payload, format="json")
    assert response.status_code == status
    assert message in response.content.decode()
    assert SourceRecord.objects.count() == 0


def test_more_than_the_limit_is_refused(marketing_api):
    records = [{"external_id": str(i)} for i in range(MAX_RECORDS + 1)]
    response = marketing_api.post(URL.format("customers"), {"source": "eshop", "records": records}, format="json")
    assert response.status_code == 400
    assert "at most 10000 records" in response.content.decode()


@pytest.mark.parametrize(("role", "status"), [("crm", 403), ("sales", 403), ("dpo", 403), ("marketing", 200)])
def test_only_roles_that_may_import_can(role_users, role, status):
    api = APIClient()
    api.force_authenticate(role_users[role])
    payload = {"source": "eshop", "records": [{"external_id": "W1"}]}
    assert api.post(URL.format("customers"), payload, format="json").status_code == status


def test_anonymous_clients_are_refused():
    response = APIClient().post(URL.format("customers"), {"source": "eshop", "records": []}, format="json")
    assert response.status_code in {401, 403}
