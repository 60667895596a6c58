"""The processing register (GDPR Art. 30): seeded activities, runs recorded by the product, CSV and PDF exports."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import re
import zlib

import pytest

from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from cdp.identity.services import identity_resolve_all
from cdp.models import ImportBatch, ResolutionRun
from consent.management.commands.export_register import UNKNOWN_FORMAT
from consent.models import DpiaStatus, ProcessingActivity, ProcessingRun, RunStatus
from consent.services.register import (
    ACTIVITY_CONSENT_MANAGEMENT,
    ACTIVITY_CUSTOMER_DATA_IMPORT,
    ACTIVITY_IDENTITY_RESOLUTION,
    COUNT_NOT_INTEGER,
    RUN_ALREADY_FINISHED,
    UNKNOWN_ACTIVITY,
    UnknownProcessingActivity,
    processing_run_finish,
    processing_run_record,
    processing_run_start,
)
from consent.services.register_export import ART30_FIELDS, register_export_csv, register_export_pdf
from tests.cdp.factories import SourceRecordFactory
from tests.cdp.identity_data import generate_demo, import_demo
from tests.cdp.importing import run_command, write

pytestmark = pytest.mark.django_db

# The product's activities the data migration seeds (Art. 30 asks for every processing the controller performs).
SEEDED = {
    "customer_data_import",
    "identity_resolution",
    "profiling_segmentation",
    "scoring",
    "marketing_campaigns",
    "sales_briefs",
    "analytics",
    "consent_management",
    "dsr_handling",
    "data_retention",
}
# Art. 30(1)(a) to (g), then the legal basis, the DPIA and the last review the register also keeps.
ARTICLE_30 = (
    "Controller",
    "Controller contact",
    "Joint controllers",
    "Representative",
    "Data protection officer",
    "Purposes of the processing",
    "Categories of data subjects",
    "Categories of personal data",
    "Categories of recipients",
    "Transfers to third countries",
    "Transfer safeguards",
    "Time limits for erasure",
    "Security measures",
    "Legal basis",
    "DPIA status",
    "Last review",
)


def pdf_text(content: bytes) -> str:
    """The text a PDF written by reportlab shows: its page streams, decoded (ASCII85 then deflate), strings joined."""
    strings = []
    for match in re.finditer(rb"stream\r?\n(.*?)endstream", content, re.S):
        raw = match.group(1).strip()
        if raw.endswith(b"~>"):
            raw = zlib.decompress(base64.a85decode(raw[:-2]))
        strings += re.findall(rb"\(((?:[^()\\]|\\.)*)\)\s*Tj", raw)
    text = " ".join(s.decode("latin-1") for s in strings)
    return re.sub(r"\\(.)", r"\1", text)


def test_the_product_activities_are_seeded_with_every_article_30_field():
    # given the migrated database
    activities = ProcessingActivity.objects.select_related("controller").prefetch_related("purposes")
    # then every activity of the product is there, each with what Art. 30(1)(b) to (g) asks for
    assert {activity.key for activity in activities} == SEEDED
    for activity in activities:
        for name in (
            "purpose_description",
            "data_subject_categories",
            "personal_data_categories",
            "recipient_categories",
            "third_country_transfers",
            "retention_period",
            "security_measures",
        ):
            assert getattr(activity, name).strip(), (activity.key, name)
    # and activities are linked to the purposes they serve
    linked = {a.key: sorted(p.key for p in a.purposes.all()) for a in activities}
    assert linked["analytics"] == ["analytics"]
    assert linked["sales_briefs"] == ["sales_contact"]
    assert "email_marketing" in linked["marketing_campaigns"]


def test_a_run_is_recorded_under_its_activity_with_counts_and_reference():
    # given an import batch (any row of the product)
    batch = ImportBatch.objects.create(kind="customers", source=SourceRecordFactory().source)
    started = timezone.now() - dt.timedelta(minutes=3)
    # when a run is recorded
    run = processing_run_record(
        activity=ACTIVITY_CUSTOMER_DATA_IMPORT,
        kind="import_customers",
        started_at=started,
        counts={"read": 3, "created": 2},
        reference=batch,
    )
    # then it belongs to the activity, with its counts and a reference to the batch
    run.refresh_from_db()
    assert run.activity.key == ACTIVITY_CUSTOMER_DATA_IMPORT
    assert run.counts == {"read": 3, "created": 2}
    assert (run.reference_type, run.reference_id) == ("cdp.importbatch", str(batch.pk))
    assert run.started_at == started
    assert run.finished_at >= started
    assert run.status == RunStatus.SUCCEEDED


def test_a_run_refuses_an_unknown_activity_and_counts_that_are_not_integers():
    with pytest.raises(UnknownProcessingActivity, match=UNKNOWN_ACTIVITY):
        processing_run_record(activity="nothing_like_it", kind="x", started_at=timezone.now())
    # a count holding a value could carry personal data: only integers are stored
    with pytest.raises(ValidationError, match=COUNT_NOT_INTEGER):
        processing_run_record(
            activity=ACTIVITY_CUSTOMER_DATA_IMPORT, kind="x", started_at=timezone.now(), counts={"who": "Jane"}
        )
    assert not ProcessingRun.objects.exists()


def test_a_started_run_is_finished_once():
    run = processing_run_start(activity=ACTIVITY_CUSTOMER_DATA_IMPORT, kind="import_events")
    assert (run.status, run.finished_at) == (RunStatus.RUNNING, None)
    processing_run_finish(run=run, status=RunStatus.PARTIAL, counts={"read": 2})
    run.refresh_from_db()
    assert (run.status, run.counts) == (RunStatus.PARTIAL, {"read": 2})
    assert run.finished_at is not None
    with pytest.raises(ValidationError, match=RUN_ALREADY_FINISHED):
        processing_run_finish(run=run)


def test_an_import_records_a_run_of_customer_data_import(tmp_path):
    # given a customers file with one rejected row
    path = write(tmp_path / "customers.csv", "external_id,email", "C1,a@example.org", "C2,b@example.org", ",x")
    # when it is imported
    code, _ = run_command("import_customers", path, "crm")
    # then the register holds one run of the import activity, with the batch's counts and a reference to it
    assert code == 1
    batch = ImportBatch.objects.get()
    run = ProcessingRun.objects.get()
    assert run.activity.key == ACTIVITY_CUSTOMER_DATA_IMPORT
    assert run.kind == "import_customers"
    assert run.status == RunStatus.PARTIAL
    assert run.counts["read"] == 3
    assert run.counts["created"] == 2
    assert run.counts["rejected"] == 1
    assert (run.reference_type, run.reference_id) == ("cdp.importbatch", str(batch.pk))
    assert run.parameters == {"source": "crm", "origin": "file"}
    # and nothing of the file's values is in the run
    assert "example.org" not in str((run.counts, run.parameters, run.message))


def test_a_consent_import_is_a_run_of_consent_management(tmp_path):
    SourceRecordFactory(external_id="C1")
    path = write(
        tmp_path / "consents.csv",
        "customer_external_id,purpose,channel,status,timestamp",
        "C1,email_marketing,email,granted,2025-03-01T10:00:00+00:00",
    )
    code, _ = run_command("import_consents", path, "crm")
    assert code == 0
    run = ProcessingRun.objects.get()
    assert (run.activity.key, run.kind, run.counts["created"]) == (ACTIVITY_CONSENT_MANAGEMENT, "import_consents", 1)


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    return generate_demo(tmp_path_factory.mktemp("register-identity"), customers=80, seed=3)


def test_an_identity_resolution_records_a_run(demo_dir):
    # given the records of a small demo retailer
    import_demo(demo_dir)
    ProcessingRun.objects.all().delete()  # the imports' own runs
    # when identities are resolved
    resolution = identity_resolve_all()
    # then the register holds a run of identity resolution pointing at the resolution run, with its counts
    run = ProcessingRun.objects.get()
    assert resolution.status == ResolutionRun.Status.SUCCEEDED
    assert run.activity.key == ACTIVITY_IDENTITY_RESOLUTION
    assert (run.reference_type, run.reference_id) == ("cdp.resolutionrun", str(resolution.pk))
    assert run.counts["records"] == resolution.records > 0
    assert run.counts["merges"] == resolution.merges
    assert run.status == RunStatus.SUCCEEDED


def test_the_csv_export_has_every_article_30_field_and_the_runs():
    # given a run recorded under the analytics activity, and a DPO's details
    activity = ProcessingActivity.objects.get(key="analytics")
    activity.controller.dpo_email = "dpo@retailer.example"
    activity.controller.save()
    processing_run_record(activity="analytics", kind="report", started_at=timezone.now())
    # when the register is exported as CSV
    content = register_export_csv().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(content)))
    # then each field of Art. 30 is a column, and each activity a row
    assert set(ARTICLE_30) <= set(rows[0])
    assert {row["Key"] for row in rows} == SEEDED
    analytics = next(row for row in rows if row["Key"] == "analytics")
    assert analytics["Data protection officer"] == "dpo@retailer.example"
    assert analytics["Legal basis"] == "Legitimate interest (Art. 6(1)(f))"
    assert analytics["Runs recorded"] == "1"
    assert analytics["Transfers to third countries"] == "None"
    assert "395 days" in analytics["Consent purposes"]


def test_the_pdf_export_has_every_article_30_field_for_each_activity():
    # given one activity with a distinctive security measure
    activity = ProcessingActivity.objects.get(key="scoring")
    activity.security_measures = "Pseudonymised feature store"
    activity.dpia_status = DpiaStatus.COMPLETED
    activity.save()
    # when the register is exported as PDF
    content = register_export_pdf(activities=ProcessingActivity.objects.filter(key="scoring"))
    # then it is a PDF showing every field of Art. 30 and the activity's own values
    assert content.startswith(b"%PDF-")
    text = pdf_text(content)
    for label in ARTICLE_30:
        assert label in text, label
    assert "Pseudonymised feature store" in text
    assert "Completed" in text
    assert "Customer data import" not in text  # only the selected activity


def test_the_field_list_drives_both_exports():
    labels = [field.label for field in ART30_FIELDS]
    assert len(labels) == len(set(labels))
    assert set(ARTICLE_30) <= set(labels)


def test_exports_read_a_fixed_number_of_queries(django_assert_max_num_queries):
    for key in ("analytics", "scoring", "sales_briefs"):
        processing_run_record(activity=key, kind="x", started_at=timezone.now())
    with django_assert_max_num_queries(3):
        register_export_csv()


# ---------------------------------------------------------------------------------------------------------------------
# Admin: the DPO manages the register


def test_the_dpo_edits_an_activity_and_its_history_keeps_the_change(client, role_users):
    client.force_login(role_users["dpo"])
    activity = ProcessingActivity.objects.get(key="analytics")
    url = reverse("admin:consent_processingactivity_change", args=[activity.pk])
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {name: form.initial.get(name) for name in form.fields if form.initial.get(name) is not None}
    data["purposes"] = [p.pk for p in activity.purposes.all()]
    data["dpia_status"] = DpiaStatus.NOT_REQUIRED
    data["retention_period"] = "13 months"
    data["is_active"] = "on"
    data["last_reviewed_on"] = ""
    for prefix in ("runs",):
        data.update({f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0})
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    activity.refresh_from_db()
    assert activity.retention_period == "13 months"
    assert activity.history.count() >= 1
    assert activity.history.first().history_user == role_users["dpo"]


def test_the_dpo_exports_the_register_from_the_admin(client, role_users):
    client.force_login(role_users["dpo"])
    ids = list(ProcessingActivity.objects.values_list("pk", flat=True))
    url = reverse("admin:consent_processingactivity_changelist")
    for action, content_type in (("export_csv", "text/csv"), ("export_pdf", "application/pdf")):
        response = client.post(url, {"action": action, "_selected_action": ids})
        assert response.status_code == 200
        assert response["Content-Type"].startswith(content_type)
        assert "attachment" in response["Content-Disposition"]
    csv_body = client.post(url, {"action": "export_csv", "_selected_action": ids}).content.decode("utf-8-sig")
    assert "Categories of personal data" in csv_body


def test_the_dpo_marks_activities_as_reviewed(client, role_users):
    client.force_login(role_users["dpo"])
    activity = ProcessingActivity.objects.get(key="scoring")
    url = reverse("admin:consent_processingactivity_changelist")
    client.post(url, {"action": "mark_reviewed", "_selected_action": [activity.pk]})
    activity.refresh_from_db()
    assert activity.last_reviewed_on == timezone.localdate()


def test_the_activity_page_shows_its_latest_runs(client, role_users):
    client.force_login(role_users["dpo"])
    for _ in range(3):
        processing_run_record(activity="scoring", kind="score_churn", started_at=timezone.now())
    processing_run_record(activity="analytics", kind="not_this_one", started_at=timezone.now())
    activity = ProcessingActivity.objects.get(key="scoring")
    body = client.get(reverse("admin:consent_processingactivity_change", args=[activity.pk])).content.decode()
    kinds = re.findall(r'class="field-kind">\s*<p>(\w+)</p>', body)
    assert kinds == ["score_churn"] * 3
    assert "not_this_one" not in body
    assert client.get(reverse("admin:consent_processingrun_changelist")).status_code == 200


def test_marketing_cannot_change_the_register(client, role_users):
    client.force_login(role_users["marketing"])
    activity = ProcessingActivity.objects.get(key="scoring")
    assert client.get(reverse("admin:consent_processingactivity_change", args=[activity.pk])).status_code == 403


# ---------------------------------------------------------------------------------------------------------------------
# Command


def test_the_command_writes_the_register_as_csv_and_pdf(tmp_path):
    out = io.StringIO()
    call_command("export_register", out=str(tmp_path / "register.csv"), stdout=out)
    assert (
        out.getvalue().strip()
        == f"processing register: {len(SEEDED)} activities written to {tmp_path / 'register.csv'}"
    )
    assert "Categories of data subjects" in (tmp_path / "register.csv").read_text(encoding="utf-8-sig")
    call_command("export_register", out=str(tmp_path / "register.pdf"), stdout=io.StringIO())
    assert "Security measures" in pdf_text((tmp_path / "register.pdf").read_bytes())
    with pytest.raises(CommandError, match=UNKNOWN_FORMAT):
        call_command("export_register", out=str(tmp_path / "register.txt"))


def test_the_register_pages_open_for_the_dpo(client, role_users):
    client.force_login(role_users["dpo"])
    activity = ProcessingActivity.objects.get(key="analytics")
    for url in (
        reverse("admin:consent_processingactivity_changelist"),
        reverse("admin:consent_processingactivity_changelist") + "?dpia_status__exact=required",
        reverse("admin:consent_processingactivity_history", args=[activity.pk]),
        reverse("admin:consent_controller_change", args=[activity.controller_id]),
        reverse("admin:consent_processingrun_changelist"),
        reverse("admin:consent_processingactivity_add"),
    ):
        assert client.get(url).status_code == 200, url
