"""The API and its OpenAPI schema agree: schemathesis generates requests for every operation from the schema (valid
ones and invalid ones) and checks each answer: never a server error, and every status, content type, header and
body one the schema documents. Bounded for CI: a few derandomised examples per operation, in-process through WSGI."""

from __future__ import annotations

import pytest
import schemathesis
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token

from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections

from tests.cdp.factories import CustomerFactory

MAX_EXAMPLES = 25
TOKEN = "schemathesis0token0for0the0api0fuzzing0"  # 40 characters, as DRF's tokens
# A request valid for the schema may still break a rule no schema can state (a customer id that names nobody, a
# purpose that does not exist, a moment in the future): the API refuses it with 400 (or 422 for a reused
# Idempotency-Key), a status the schema documents. Everything else keeps schemathesis's defaults.
CONFIG = {
    "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True},
    "auth": {"openapi": {"tokenAuth": {"api_key": f"Token {TOKEN}"}}},
    "checks": {
        "positive_data_acceptance": {
            "expected-statuses": ["2xx", "3xx", "400", "401", "403", "404", "409", "413", "422", "429"]
        },
    },
}


@pytest.fixture
def api_data(db, superuser):
    """The administrator's token (every operation is reached past its permission check), and a few customers."""
    Token.objects.create(user=superuser, key=TOKEN)
    CustomerFactory.create_batch(3)
    from campaigns.services.launch import campaign_create

    campaign_create(name="Fuzzed", purpose="email_marketing", channel="email")  # a draft for the campaign operations


@pytest.fixture
def in_test_transaction():
    """Django's WSGI application keeps its requests inside the test's transaction (as Django's test client does)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def _schema() -> schemathesis.BaseSchema:
    """The schema /api/schema/ serves, as drf-spectacular generates it, for schemathesis's WSGI client."""
    document = SchemaGenerator().get_schema(request=None, public=True)
    loaded = schemathesis.openapi.from_dict(document, config=schemathesis.Config.from_dict(CONFIG))
    loaded.app = get_wsgi_application()
    return loaded


schema = _schema()


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_answers_as_its_schema_says(case, api_data, in_test_transaction):
    case.call_and_validate()


def test_the_schema_holds_every_operation_of_the_api():
    """The fuzzing above covers what the schema names: every endpoint must be there."""
    operations = {
        (method.upper(), path)
        for path, item in SchemaGenerator().get_schema(request=None, public=True)["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }
    assert operations == {
        ("GET", "/api/v1/me/"),
        ("POST", "/api/v1/ingest/{kind}/"),
        ("GET", "/api/v1/customers/"),
        ("GET", "/api/v1/customers/{customer_id}/"),
        ("GET", "/api/v1/subject-requests/"),
        ("POST", "/api/v1/subject-requests/"),
        ("GET", "/api/v1/subject-requests/{id}/"),
        ("POST", "/api/v1/subject-requests/{id}/export/"),
        ("POST", "/api/v1/subject-requests/{id}/export-link/"),
        ("GET", "/api/v1/subject-exports/{token}/"),
        ("GET", "/api/v1/segments/runs/"),
        ("POST", "/api/v1/segments/runs/"),
        ("GET", "/api/v1/segments/runs/{run_id}/"),
        ("GET", "/api/v1/segments/{segment_id}/"),
        ("GET", "/api/v1/segments/{segment_id}/customers/"),
        ("GET", "/api/v1/scores/"),
        ("GET", "/api/v1/scores/models/"),
        ("GET", "/api/v1/scores/models/{version_id}/"),
        ("GET", "/api/v1/scores/customers/{customer_id}/"),
        ("GET", "/api/v1/campaigns/"),
        ("POST", "/api/v1/campaigns/"),
        ("GET", "/api/v1/campaigns/{campaign_id}/"),
        ("GET", "/api/v1/campaigns/{campaign_id}/rules/"),
        ("POST", "/api/v1/campaigns/{campaign_id}/rules/"),
        ("GET", "/api/v1/campaigns/{campaign_id}/preview/"),
        ("POST", "/api/v1/campaigns/{campaign_id}/launch/"),
        ("GET", "/api/v1/campaigns/{campaign_id}/results/"),
        ("POST", "/api/v1/campaigns/{campaign_id}/results/"),
        ("GET", "/api/v1/campaigns/{campaign_id}/briefs/"),
        ("POST", "/api/v1/campaigns/{campaign_id}/briefs/"),
        ("GET", "/api/v1/briefs/"),
        ("GET", "/api/v1/briefs/{brief_id}/"),
        ("GET", "/api/v1/briefs/{brief_id}/leads/"),
        ("GET", "/api/v1/briefs/{brief_id}/download/"),
    }
