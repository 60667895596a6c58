"""import_consents: ledger events validated against the purposes and channels, idempotent, linked to customers."""

from __future__ import annotations

import csv
from io import StringIO
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cdp.ingest import types as t
from cdp.ingest.service import import_records
from cdp.models import ImportBatch, SourceRecord
from consent.models import ConsentEvent, PolicyVersion, Purpose
from consent.selectors import consent_allows
from consent.services.policies import policy_version_publish

pytestmark = pytest.mark.django_db

HEADER = "customer_external_id,purpose,channel,status,timestamp,source,policy_version,evidence"
GOOD = "C0,email_marketing,email,granted,2025-01-01T10:00:00Z,web,2024-01,form 12"


def write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run(command: str, path: Path, source: str = "crm", **options) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command(command, str(path), source=source, stdout=out, **options)
    except CommandError as exc:
        return exc.returncode, out.getvalue() + str(exc)
    except SystemExit as exc:  # a partial import: its summary is printed, the status says it
        return exc.code, out.getvalue()
    return 0, out.getvalue()


def errors_of(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_import_records_events_normalised_and_linked_to_known_customers(tmp_path):
    # given a known customer and a published wording
    run("import_customers", write(tmp_path / "c.csv", "external_id,first_name", "C1,Anne"))
    policy = policy_version_publish(purpose=Purpose.objects.get(key="sms_marketing"), version="2025-06", text="SMS")
    # when a file in the spellings of real exports is imported
    path = write(
        tmp_path / "consents.csv",
        HEADER,
        "C1,Email Marketing,E-mail,Opt-in,2025-01-01T10:00:00+01:00,Call Centre,2024-01,agent 12",
        "C1,sms_marketing,text,oui,2025-02-01,store,2025-06,store form PAR-01",
        "C2,analytics,website,0,2025-03-01T08:00:00Z,web,,IP 203.0.113.9; Firefox",
    )
    code, out = run("import_consents", path)
    # then every row is an event, normalised, linked to its customer when known
    assert code == 0, out
    assert "consents from crm: read 3, created 3, updated 0, unchanged 0, rejected 0" in out
    anne = SourceRecord.objects.get(external_id="C1").customer
    email = ConsentEvent.objects.get(purpose__key="email_marketing")
    assert (email.customer, email.subject_external_id, email.source_key) == (anne, "C1", "crm")
    assert (email.channel.key, email.status, email.captured_via, email.evidence) == (
        "email",
        "granted",
        "call_centre",
        "agent 12",
    )
    assert email.occurred_at.isoformat() == "2025-01-01T09:00:00+00:00"
    assert (email.policy_version, email.policy) == ("2024-01", None)  # no published wording for this version
    sms = ConsentEvent.objects.get(purpose__key="sms_marketing")
    assert (sms.channel.key, sms.status, sms.policy) == ("sms", "granted", policy)
    analytics = ConsentEvent.objects.get(purpose__key="analytics")
    assert (analytics.customer, analytics.channel.key, analytics.status) == (None, "web", "withdrawn")
    assert len(email.event_key) == 64
    assert ImportBatch.objects.get(kind=t.KIND_CONSENTS).created == 3


def test_reimport_is_idempotent_and_a_new_choice_is_a_new_event(tmp_path):
    rows = [HEADER, GOOD, "C0,sms_marketing,sms,granted,2025-01-01T10:00:00Z,web,2024-01,form 12"]
    run("import_consents", write(tmp_path / "a.csv", *rows))
    # when the same file is imported again
    code, out = run("import_consents", write(tmp_path / "a.csv", *rows))
    # then nothing is written
    assert code == 0
    assert "created 0, updated 0, unchanged 2" in out
    assert ConsentEvent.objects.count() == 2
    # and a withdrawal is appended, never written over the grant
    rows.append("C0,email_marketing,email,withdrawn,2025-02-01T10:00:00Z,email,2024-01,unsubscribe link")
    code, out = run("import_consents", write(tmp_path / "b.csv", *rows))
    assert "created 1, updated 0, unchanged 2" in out
    assert list(
        ConsentEvent.objects.filter(purpose__key="email_marketing")
        .order_by("occurred_at")
        .values_list("status", flat=True)
    ) == ["granted", "withdrawn"]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("C1,newsletter,email,granted,2025-01-01,web,,", "unknown purpose 'newsletter'"),
        ("C1,email_marketing,fax,granted,2025-01-01,web,,", "unknown channel 'fax'"),
        ("C1,email_marketing,other,granted,2025-01-01,web,,", "unknown channel 'other'"),
        ("C1,email_marketing,email,maybe,2025-01-01,web,,", "unknown consent status 'maybe'"),
        (",email_marketing,email,granted,2025-01-01,web,,", "missing required field 'customer_external_id'"),
        ("C1,,email,granted,2025-01-01,web,,", "missing required field 'purpose'"),
        ("C1,email_marketing,email,,2025-01-01,web,,", "missing required field 'status'"),
        ("C1,email_marketing,email,granted,,web,,", "missing required field 'timestamp'"),
        ("C1,email_marketing,email,granted,01/02/2025,web,,", "unparsable timestamp '01/02/2025'"),
        ("C1,email_marketing,email,granted,2099-01-01,web,,", "is in the future"),
        ("C1,email_marketing,email,granted,2025-01-01,web," + "v" * 33 + ",", "policy_version too long"),
        (GOOD, "duplicate of row 2"),
    ],
)
def test_each_consent_rejection_reason(tmp_path, row, reason):
    # given a file with one good row and one bad row
    path = write(tmp_path / "consents.csv", HEADER, GOOD, row)
    # when it is imported with an errors file
    code, out = run("import_consents", path, errors=str(tmp_path / "errors.csv"))
    # then the good row is kept, the bad one is listed with its reason, and the exit code is 1
    assert code == 1
    assert "read 2, created 1" in out
    errors = errors_of(tmp_path / "errors.csv")
    assert [e["row"] for e in errors] == ["3"]
    assert reason in errors[0]["reasons"]
    assert ConsentEvent.objects.count() == 1


def test_a_deactivated_purpose_is_refused_like_an_unknown_one(tmp_path):
    Purpose.objects.filter(key="phone_marketing").update(is_active=False)
    path = write(tmp_path / "c.csv", HEADER, "C1,phone_marketing,phone,granted,2025-01-01,store,,")
    code, _ = run("import_consents", path, errors=str(tmp_path / "e.csv"))
    assert code == 1
    assert errors_of(tmp_path / "e.csv")[0]["reasons"] == "unknown purpose 'phone_marketing'"


def test_a_file_without_a_required_column_is_unusable(tmp_path):
    path = write(tmp_path / "c.csv", "customer_external_id,channel,status,timestamp", "C1,email,granted,2025-01-01")
    code, out = run("import_consents", path)
    assert code == 2
    assert "required columns missing: purpose" in out
    assert ConsentEvent.objects.count() == 0


def test_an_event_for_a_customer_imported_later_is_linked_when_the_customer_arrives(tmp_path):
    # given consents recorded by the e-shop before its customer file, and a CRM customer with the same id
    run("import_customers", write(tmp_path / "crm.csv", "external_id,first_name", "W1,Paul"), source="crm")
    run("import_consents", write(tmp_path / "k.csv", HEADER, GOOD.replace("C0", "W1")), source="eshop")
    event = ConsentEvent.objects.get()
    assert event.customer_id is None  # the CRM's W1 is another person
    # when the e-shop's customer file arrives
    run("import_customers", write(tmp_path / "eshop.csv", "external_id,first_name", "W1,Anne"), source="eshop")
    # then the waiting event is that customer's, and the ledger entry itself is unchanged
    event.refresh_from_db()
    assert event.customer == SourceRecord.objects.get(source__key="eshop", external_id="W1").customer
    assert event.customer.first_name == "Anne"
    assert consent_allows(customer_id=event.customer_id, purpose="email_marketing", channel="email").allowed


def test_the_latest_imported_event_decides(tmp_path):
    run("import_customers", write(tmp_path / "c.csv", "external_id", "C0"))
    withdrawal = "C0,email_marketing,email,withdrawn,2025-03-01T10:00:00Z,email,2024-01,unsubscribe link"
    run("import_consents", write(tmp_path / "k.csv", HEADER, withdrawal, GOOD))  # the file is not in time order
    customer_id = SourceRecord.objects.get().customer_id
    assert not consent_allows(customer_id=customer_id, purpose="email_marketing", channel="email").allowed


def test_purposes_and_channels_are_read_once_per_import_not_once_per_row():
    def queries_for(rows: int) -> int:
        records = [
            {
                "customer_external_id": f"C{rows}-{i}",
                "purpose": "profiling",
                "status": "granted",
                "timestamp": "2025-01-01",
            }
            for i in range(rows)
        ]
        with CaptureQueriesContext(connection) as captured:
            result, _ = import_records(kind=t.KIND_CONSENTS, records=records, source_key="api")
        assert result.created == rows
        return len(captured)

    queries_for(1)  # the first import creates the source
    assert queries_for(2) == queries_for(20)


def test_the_api_accepts_a_batch_of_consents(role_users):
    api = APIClient()
    api.force_authenticate(role_users["dpo"])
    records = [
        {"customer_external_id": "W1", "purpose": "email_marketing", "channel": "email", "status": "granted",
         "timestamp": "2025-05-01T10:00:00Z", "source": "web", "evidence": "form 3"},
        {"customer_external_id": "W1", "purpose": "teleportation", "status": "granted", "timestamp": "2025-05-01"},
    ]  # fmt: skip
    response = api.post("/api/v1/ingest/consents/", {"source": "eshop", "records": records}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["kind"], body["created"], body["rejected"]) == ("consents", 1, 1)
    assert body["errors"] == [{"index": 1, "reasons": ["unknown purpose 'teleportation'"]}]
    event = ConsentEvent.objects.get()
    assert (event.source_key, event.recorded_by, event.channel.key) == ("eshop", role_users["dpo"], "email")


def test_a_policy_version_published_later_does_not_rewrite_the_ledger(tmp_path):
    run("import_consents", write(tmp_path / "k.csv", HEADER, GOOD))
    policy_version_publish(purpose=Purpose.objects.get(key="email_marketing"), version="2024-01", text="Words")
    # the event keeps the version string it was captured with; only imports made after publication link the wording
    assert ConsentEvent.objects.get().policy_id is None
    assert PolicyVersion.objects.count() == 1
