"""Sales briefs: treatment only, consent checked again at generation, contact details of consented channels only,
erasure, expiry, the download audit, the files and the command."""

from __future__ import annotations

import csv
import datetime as dt
from io import StringIO

import pytest

from django.core.management import CommandError, call_command
from django.utils import timezone

from campaigns.models import AudienceMember, Brief, BriefDownload, BriefLead
from campaigns.services.brief_files import CSV_COLUMNS, brief_csv, brief_pdf
from campaigns.services.briefs import (
    EXPIRED,
    BriefError,
    brief_create,
    brief_download_record,
    brief_generate,
    brief_purge_expired,
)
from campaigns.services.launch import campaign_create, campaign_launch
from consent.models import Channel, Purpose
from consent.services.erasure import subject_erase
from consent.services.ledger import LedgerEntry, ledger_append
from tests.campaigns.checks import may_contact
from tests.campaigns.retailer import CHANNEL, PURPOSE
from tests.conftest import make_role_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def launched(retailer):
    campaign = campaign_create(
        name="Autumn", purpose=PURPOSE, channel=CHANNEL, control_share=0.2, default_offer="10% off"
    )
    return campaign_launch(campaign=campaign).campaign


def generate(campaign, rep=None) -> Brief:
    brief = brief_create(campaign=campaign, rep=rep, start=False)
    return brief_generate(brief_id=brief.pk)


def test_a_brief_holds_treatment_customers_who_may_be_contacted_only(launched):
    brief = generate(launched)
    leads = list(BriefLead.objects.filter(brief=brief).values_list("customer_id", flat=True))
    treatment = set(
        AudienceMember.objects.filter(campaign=launched, group="treatment").values_list("customer_id", flat=True)
    )
    control = set(
        AudienceMember.objects.filter(campaign=launched, group="control").values_list("customer_id", flat=True)
    )
    assert brief.status == Brief.Status.SUCCEEDED
    assert brief.lead_count == len(leads) == len(treatment)
    assert not control & set(leads)
    assert all(may_contact(pk, PURPOSE, CHANNEL) for pk in leads)
    # ranked by value, best first, with their reasons
    ranks = list(BriefLead.objects.filter(brief=brief).order_by("rank").values_list("priority", flat=True))
    assert ranks == sorted(ranks, reverse=True)
    details = BriefLead.objects.filter(brief=brief).order_by("rank").first().details
    assert details["segment"]
    assert details["segment_description"]
    assert details["offer"] == "10% off"
    assert details["last_purchases"]


def test_consent_withdrawn_after_the_launch_keeps_a_customer_out_of_the_brief(launched):
    member = AudienceMember.objects.filter(campaign=launched, group="treatment").first()
    ledger_append(
        [
            LedgerEntry(
                source_key="web", event_key="late-withdrawal", customer_id=member.customer_id,
                subject_external_id=str(member.customer_id), purpose_id=Purpose.objects.get(key=PURPOSE).pk,
                channel_id=Channel.objects.get(key=CHANNEL).pk, status="withdrawn", occurred_at=timezone.now(),
                captured_via="web", evidence="test",
            )
        ]
    )  # fmt: skip
    brief = generate(launched)
    assert not BriefLead.objects.filter(brief=brief, customer_id=member.customer_id).exists()
    assert brief.left_out["no_longer_consents"] == 1


def test_contact_details_only_for_consented_channels(launched):
    brief = generate(launched)
    for lead in BriefLead.objects.filter(brief=brief).select_related("customer"):
        contacts = lead.details["contacts"]
        assert contacts.get("email") == lead.customer.email  # they consented by e-mail
        # the demo retailer's customers consented to nothing by phone or post for this purpose
        assert "phone" not in contacts
        assert "address" not in contacts


def test_erasure_removes_a_person_from_stored_briefs(launched):
    brief = generate(launched)
    lead = BriefLead.objects.filter(brief=brief).first()
    subject_erase(customer=lead.customer, reason="Art. 17")
    assert not BriefLead.objects.filter(brief=brief, customer_id=lead.customer_id).exists()
    assert lead.details["name"] not in brief_csv(brief).decode()


def test_files_expiry_and_the_download_audit(launched, db):
    rep = make_role_user("sales")
    brief = generate(launched, rep)
    text = brief_csv(brief).decode("utf-8-sig")
    rows = list(csv.reader(StringIO(text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == brief.lead_count + 1
    pdf = brief_pdf(brief)
    assert pdf.startswith(b"%PDF")
    brief_download_record(brief=brief, user=rep, format="csv")
    audit = BriefDownload.objects.get(brief=brief)
    assert audit.user == rep
    assert audit.format == "csv"
    # once expired, it is refused and its leads go
    Brief.objects.filter(pk=brief.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    brief.refresh_from_db()
    with pytest.raises(BriefError, match=EXPIRED):
        brief_download_record(brief=brief, user=rep, format="pdf")
    assert brief_purge_expired() == brief.lead_count
    assert not BriefLead.objects.filter(brief=brief).exists()


def test_the_task_runs_once(launched, eager_tasks, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        brief = brief_create(campaign=launched)
    brief.refresh_from_db()
    assert brief.status == Brief.Status.SUCCEEDED
    count = BriefLead.objects.filter(brief=brief).count()
    # a second run of the task changes nothing
    from campaigns.tasks import brief_generate_task

    brief_generate_task.delay(brief.pk)
    assert BriefLead.objects.filter(brief=brief).count() == count


def test_the_command_writes_csv_and_pdf(launched, tmp_path):
    rep = make_role_user("sales")
    out = StringIO()
    call_command("brief_export", str(launched.pk), "--out", str(tmp_path / "brief.csv"), "--rep", "sales", stdout=out)
    assert "leads written to" in out.getvalue()
    rows = list(csv.DictReader((tmp_path / "brief.csv").open(encoding="utf-8-sig")))
    assert rows
    assert Brief.objects.filter(rep=rep).count() == 1
    call_command("brief_export", str(launched.pk), "--out", str(tmp_path / "brief.pdf"), stdout=StringIO())
    assert (tmp_path / "brief.pdf").read_bytes().startswith(b"%PDF")
    for bad, message in (("999", "no campaign"), ("x", "no campaign")):
        with pytest.raises(CommandError, match=message):
            call_command("brief_export", bad, "--out", str(tmp_path / "b.csv"))
    with pytest.raises(CommandError, match="must end in"):
        call_command("brief_export", str(launched.pk), "--out", str(tmp_path / "b.txt"))
    with pytest.raises(CommandError, match="no user"):
        call_command("brief_export", str(launched.pk), "--out", str(tmp_path / "b.csv"), "--rep", "nobody")


def test_a_draft_has_no_brief(retailer):
    campaign = campaign_create(name="Draft", purpose=PURPOSE, channel=CHANNEL)
    with pytest.raises(BriefError):
        brief_create(campaign=campaign)


def test_brief_generation_reads_a_bounded_number_of_queries(launched, django_assert_max_num_queries):
    brief = brief_create(campaign=launched, start=False)
    # 37 today for one chunk (fewer than 1,000 leads): the claim, consent per channel, spend, then per chunk the
    # customers, last purchases and the leads, and the register; a chunk's queries never depend on its leads' number
    with django_assert_max_num_queries(40):
        brief_generate(brief_id=brief.pk)
