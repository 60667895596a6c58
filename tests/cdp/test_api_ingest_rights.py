"""Who may push what, and what an Idempotency-Key promises: each kind of batch needs its own permission (consent only
for those given exactly that right), and a key belongs to its caller and endpoint and never stands for another body.
Requests carry a token, as an integration's do."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from cdp.api.ingest import IDEMPOTENCY_KEY_INVALID, IDEMPOTENCY_KEY_REUSED, INGEST_PERMISSIONS
from cdp.models import ImportBatch, ReceiptLine, SourceRecord
from consent.models import ConsentEvent

pytestmark = pytest.mark.django_db

URL = "/api/v1/ingest/{}/"
CONSENTS = [
    {"customer_external_id": "C1", "purpose": purpose, "status": "granted", "timestamp": "2025-05-01T10:00:00Z"}
    for purpose in ("email_marketing", "sms_marketing", "profiling")
]
SAMPLES = {
    "customers": [{"external_id": "W1", "first_name": "Anne"}],
    "transactions": [
        {"receipt_id": "W-1", "timestamp": "2025-05-01T10:00:00Z", "sku": "A", "quantity": 2, "unit_price": "3.5"}
    ],
    "events": [{"anonymous_id": "a1", "timestamp": "2025-05-01T10:00:00Z", "type": "search"}],
    "consents": CONSENTS,
}


def token_client(user) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return api


def integration_user(name: str, *permissions: str):
    """An integration's account: no role, exactly the permissions named (app_label.codename)."""
    user = get_user_model().objects.create_user(username=name, password=None)
    for permission in permissions:
        app_label, codename = permission.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return user


@pytest.fixture
def clients(role_users) -> dict[str, APIClient]:
    return {role: token_client(user) for role, user in role_users.items()}


# ---------------------------------------------------------------------------------------------------------------------
# Finding 3: each kind needs its own permission; marketing cannot create consents


def test_marketing_cannot_create_consents(clients):
    response = clients["marketing"].post(URL.format("consents"), {"source": "crm", "records": CONSENTS}, format="json")
    assert response.status_code == 403
    assert INGEST_PERMISSIONS["consents"] in response.json()["detail"]
    assert not ConsentEvent.objects.exists()
    assert not ImportBatch.objects.exists()


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("marketing", {"customers", "transactions", "events"}),
        ("crm", set()),
        ("sales", set()),
        ("dpo", {"consents"}),
    ],
)
def test_each_role_imports_exactly_the_kinds_it_is_given(clients, role, allowed):
    for kind, records in SAMPLES.items():
        response = clients[role].post(URL.format(kind), {"source": "api", "records": records}, format="json")
        assert response.status_code == (200 if kind in allowed else 403), (role, kind)


def test_an_integration_token_given_exactly_the_consent_right_records_consents_and_nothing_else():
    api = token_client(integration_user("consent-platform", INGEST_PERMISSIONS["consents"]))
    response = api.post(URL.format("consents"), {"source": "cmp", "records": CONSENTS}, format="json")
    assert response.status_code == 200
    assert response.json()["created"] == 3
    assert ConsentEvent.objects.filter(recorded_by__username="consent-platform").count() == 3
    refused = api.post(URL.format("customers"), {"source": "cmp", "records": SAMPLES["customers"]}, format="json")
    assert refused.status_code == 403
    assert not SourceRecord.objects.exists()


# ---------------------------------------------------------------------------------------------------------------------
# Finding 4: an Idempotency-Key is the caller's, for one endpoint, and one body


def post(api: APIClient, kind: str, records: list, key: str, source: str = "eshop"):
    return api.post(URL.format(kind), {"source": source, "records": records}, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_a_key_reused_with_another_body_is_refused_and_says_so(clients):
    first = post(clients["marketing"], "transactions", SAMPLES["transactions"], "k-1")
    assert first.status_code == 200
    changed = [{**SAMPLES["transactions"][0], "quantity": 5}]
    for records, source in ((changed, "eshop"), (SAMPLES["transactions"], "till")):
        again = post(clients["marketing"], "transactions", records, "k-1", source=source)
        assert again.status_code == 422
        assert again.json()["detail"] == IDEMPOTENCY_KEY_REUSED
    assert ReceiptLine.objects.get().quantity == 2
    assert ImportBatch.objects.count() == 1


def test_the_same_key_and_body_is_replayed(clients):
    first = post(clients["marketing"], "customers", [{"external_id": "W1"}, {"first_name": "no id"}], "k-2")
    again = post(clients["marketing"], "customers", [{"external_id": "W1"}, {"first_name": "no id"}], "k-2")
    assert again.status_code == 200
    assert again.json()["replayed"] is True
    assert (again.json()["batch_id"], again.json()["errors"]) == (first.json()["batch_id"], first.json()["errors"])
    assert ImportBatch.objects.count() == 1


def test_keys_are_not_shared_between_callers(role_users, clients, superuser):
    # marketing's batch was refused for a reason that quotes the personal value sent
    records = [{"external_id": "W1", "email": "audrey.maillard1976@orange"}]
    first = post(clients["marketing"], "customers", records, "shared-key")
    assert "audrey.maillard1976" in str(first.json()["errors"])
    # when another user (the administrator) sends another batch under the same key
    other = [{"external_id": "W2", "email": "someone@example.org"}]
    response = post(token_client(superuser), "customers", other, "shared-key")
    # then it is imported as its own batch, and nothing of marketing's answer comes back
    assert response.status_code == 200
    body = response.json()
    assert (body["replayed"], body["created"], body["errors"]) == (False, 1, [])
    assert "audrey" not in response.content.decode()
    assert set(SourceRecord.objects.values_list("external_id", flat=True)) == {"W2"}


def test_a_key_belongs_to_one_endpoint(clients):
    assert post(clients["marketing"], "customers", SAMPLES["customers"], "k-3").status_code == 200
    events = post(clients["marketing"], "events", SAMPLES["events"], "k-3")
    assert events.status_code == 200
    assert events.json()["replayed"] is False
    assert events.json()["created"] == 1


@pytest.mark.parametrize("key", ["x" * 129, "tab\tkey", "é-key"])
def test_a_malformed_key_is_refused_with_a_message(clients, key):
    response = post(clients["marketing"], "customers", SAMPLES["customers"], key)
    assert response.status_code == 400
    assert response.json()["detail"] == IDEMPOTENCY_KEY_INVALID
    assert not ImportBatch.objects.exists()
