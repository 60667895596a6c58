"""Control characters (a NUL byte, a bell, an escape...) are refused in every text field, each row with its reason, in
files and API batches alike: PostgreSQL refuses a NUL in a text, and it would fail the whole batch."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from cdp.ingest.reader import CONTROL_CHARACTER_IN_HEADER
from cdp.ingest.types import CONTROL_CHARACTER
from cdp.models import Interaction, ReceiptLine, SourceRecord
from consent.models import ConsentEvent
from tests.cdp.importing import TRANSACTIONS_HEADER, read_errors, run_command, write

pytestmark = pytest.mark.django_db

URL = "/api/v1/ingest/{}/"
CONTROLS = ("\x00", "\x07", "\x1b", "\x7f", "\x9f")


@pytest.fixture
def api(role_users) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=role_users['marketing']).key}")
    return client


def reasons_of(body: dict) -> dict[int, list[str]]:
    return {error["index"]: error["reasons"] for error in body["errors"]}


@pytest.mark.parametrize("control", CONTROLS)
def test_the_api_refuses_a_control_character_in_a_customer_field_with_the_row_reason(api, control):
    records = [
        {"external_id": "W1", "first_name": f"a{control}b"},
        {"external_id": "W2", "first_name": "Anne", "city": f"Li{control}lle"},
        {"external_id": "W3", "first_name": "Jeanne"},
    ]
    response = api.post(URL.format("customers"), {"source": "eshop", "records": records}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["created"], body["rejected"]) == (1, 2)
    reasons = reasons_of(body)
    assert any(CONTROL_CHARACTER in reason and "'first_name'" in reason for reason in reasons[0])
    assert any(CONTROL_CHARACTER in reason and "'city'" in reason for reason in reasons[1])
    assert list(SourceRecord.objects.values_list("external_id", flat=True)) == ["W3"]


def test_the_api_refuses_control_characters_in_column_names_and_in_json_properties(api):
    customers = [{"external_id": "W1", "loyalty\x00tier": "gold"}, {"external_id": "W2", "tier": "gold"}]
    body = api.post(URL.format("customers"), {"source": "eshop", "records": customers}, format="json").json()
    assert (body["created"], body["rejected"]) == (1, 1)
    assert any(CONTROL_CHARACTER in reason for reason in reasons_of(body)[0])
    event = {"anonymous_id": "a1", "timestamp": "2025-05-01T10:00:00Z", "type": "search", "channel": "web"}
    events = [
        {**event, "properties": {"q": "vin\x00rouge"}},
        {**event, "properties": {"q\x00": "vin"}},
        {**event, "properties": {"q": ["ok", {"deep": "x\x1by"}]}},
        {**event, "properties": {"q": "vin"}},
    ]
    body = api.post(URL.format("events"), {"source": "eshop", "records": events}, format="json").json()
    assert (body["created"], body["rejected"]) == (1, 3)
    assert all(any(CONTROL_CHARACTER in reason for reason in reasons) for reasons in reasons_of(body).values())
    assert Interaction.objects.get().properties == {"q": "vin"}


def test_consents_with_a_control_character_in_their_evidence_are_refused(role_users):
    api = APIClient()
    api.force_authenticate(role_users["dpo"])
    consent = {"customer_external_id": "C1", "purpose": "email_marketing", "status": "granted"}
    records = [
        {**consent, "timestamp": "2025-05-01T10:00:00Z", "evidence": "form\x00 42"},
        {**consent, "timestamp": "2025-05-02T10:00:00Z", "evidence": "form 43"},
    ]
    body = api.post(URL.format("consents"), {"source": "crm", "records": records}, format="json").json()
    assert (body["created"], body["rejected"]) == (1, 1)
    assert ConsentEvent.objects.get().evidence == "form 43"


def test_a_file_with_a_nul_byte_keeps_its_other_rows_and_lists_the_refused_one(tmp_path):
    path = write(tmp_path / "customers.csv", "external_id,first_name,city", "C1,Ma\x00rie,Lille", "C2,Anne,Lyon")
    errors = tmp_path / "rejected.csv"
    code, _ = run_command("import_customers", path, "crm", errors=str(errors))
    assert code == 1
    [row] = read_errors(errors)
    assert row["row"] == "2"
    assert CONTROL_CHARACTER in row["reasons"]
    assert "'first_name'" in row["reasons"]
    assert list(SourceRecord.objects.values_list("external_id", flat=True)) == ["C2"]


def test_receipt_lines_with_a_control_character_are_refused_by_either_path(tmp_path):
    # the same file on SQLite (row by row) and on PostgreSQL (DuckDB's scan, then COPY): the row is refused, the
    # rest kept
    path = write(
        tmp_path / "till.csv",
        TRANSACTIONS_HEADER,
        "R1,1,,2025-03-14T10:23:00+01:00,S1,store,SKU1,Pa\x00in,bakery,1,2.00,0",
        "R1,2,,2025-03-14T10:23:00+01:00,S1,store,SKU2,Vin,wine,1,9.00,0",
        "R2,1,,2025-03-14T10:23:00+01:00,S\x07,store,SKU3,Lait,dairy,1,1.00,0",
    )
    errors = tmp_path / "rejected.csv"
    code, out = run_command("import_transactions", path, "till", errors=str(errors))
    assert code == 1, out
    refused = read_errors(errors)
    assert [row["row"] for row in refused] == ["2", "4"]
    assert all(CONTROL_CHARACTER in row["reasons"] for row in refused)
    assert list(ReceiptLine.objects.values_list("product__sku", flat=True)) == ["SKU2"]


def test_tabs_and_line_breaks_are_not_control_characters_but_spaces(api):
    records = [{"external_id": "W1", "address": "12 rue\tdes Lilas\r\nBât. B"}]
    body = api.post(URL.format("customers"), {"source": "eshop", "records": records}, format="json").json()
    assert body["created"] == 1
    assert SourceRecord.objects.get().address == "12 rue des Lilas Bât. B"


def test_a_header_with_a_control_character_makes_the_file_unusable(tmp_path):
    path = write(tmp_path / "customers.csv", "external_id,first\x00name", "C1,Marie")
    code, out = run_command("import_customers", path, "crm")
    assert code == 2
    assert CONTROL_CHARACTER_IN_HEADER in out
    assert not SourceRecord.objects.exists()
