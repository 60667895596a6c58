"""The campaign pages and API: who may do what, a rep sees only their own briefs, bad input is a 4xx with a message."""

from __future__ import annotations

import pytest

from django.test import Client

from campaigns.models import Brief, BriefDownload, Campaign
from campaigns.services.briefs import brief_create, brief_generate
from campaigns.services.launch import campaign_create, campaign_launch
from tests.campaigns.retailer import CHANNEL, PURPOSE

pytestmark = pytest.mark.django_db


@pytest.fixture
def launched(retailer):
    campaign = campaign_create(name="Autumn", purpose=PURPOSE, channel=CHANNEL, control_share=0.2)
    return campaign_launch(campaign=campaign).campaign


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_rep_reads_and_downloads_their_own_briefs_only(launched, role_users):
    sales = role_users["sales"]
    other = sales.__class__.objects.create_user(username="sales2")
    other.groups.add(*sales.groups.all())
    mine = brief_generate(brief_id=brief_create(campaign=launched, rep=sales, start=False).pk)
    theirs = brief_generate(brief_id=brief_create(campaign=launched, rep=other, start=False).pk)
    client = client_for(sales)
    home = client.get("/").content.decode()
    assert f'data-brief="{mine.pk}"' in home
    assert f'data-brief="{theirs.pk}"' not in home
    assert client.get(f"/campaigns/briefs/{mine.pk}/").status_code == 200
    csv_response = client.get(f"/campaigns/briefs/{mine.pk}/download.csv")
    assert csv_response.status_code == 200
    assert b"".join(csv_response.streaming_content).decode("utf-8-sig").startswith("rank,customer_id")
    pdf = client.get(f"/campaigns/briefs/{mine.pk}/download.pdf")
    assert pdf.content.startswith(b"%PDF")
    assert BriefDownload.objects.filter(brief=mine, user=sales).count() == 2
    # another rep's brief does not exist for them, in the pages and the API alike
    assert client.get(f"/campaigns/briefs/{theirs.pk}/").status_code == 404
    assert client.get(f"/campaigns/briefs/{theirs.pk}/download.csv").status_code == 404
    assert client.get(f"/api/v1/briefs/{theirs.pk}/").status_code == 404
    assert [b["id"] for b in client.get("/api/v1/briefs/").json()["results"]] == [mine.pk]
    # and a rep reads no campaign, audience or control group
    assert client.get(f"/campaigns/{launched.pk}/").status_code == 403
    assert client.get(f"/api/v1/campaigns/{launched.pk}/").status_code == 403
    assert client.get("/api/v1/campaigns/").status_code == 403


def test_marketing_builds_previews_launches_and_measures_in_the_pages(retailer, role_users):
    client = client_for(role_users["marketing"])
    response = client.post(
        "/campaigns/new/",
        {"name": "Pages", "purpose": PURPOSE, "channel": CHANNEL, "starts_on": "2026-10-01", "ends_on": "2026-10-14",
         "control_share": "0.2", "seed": "5", "default_offer": "5 euros off"},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    campaign = Campaign.objects.get(name="Pages")
    assert client.post(f"/campaigns/{campaign.pk}/rules/new/", {"offer": "Gift", "priority": "1"}).status_code == 302
    preview = client.get(f"/campaigns/{campaign.pk}/preview/").content.decode()
    assert 'data-reason="no_consent"' in preview
    assert client.post(f"/campaigns/{campaign.pk}/launch/").status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.LAUNCHED
    assert client.post(f"/campaigns/{campaign.pk}/results/measure/").status_code == 302
    results = client.get(f"/campaigns/{campaign.pk}/results/").content.decode()
    assert 'id="overall"' in results
    assert "inconclusive" in results  # a retailer of 200 customers is too small to conclude


def test_the_api_makes_a_campaign_and_refuses_bad_input_with_a_message(retailer, role_users):
    client = client_for(role_users["marketing"])
    bad = client.post("/api/v1/campaigns/", {"name": "X", "purpose": "nope", "channel": "email"}, "application/json")
    assert bad.status_code == 400
    assert "unknown purpose" in bad.json()["detail"]
    bad = client.post(
        "/api/v1/campaigns/", {"name": "X", "purpose": PURPOSE, "channel": "email", "target": {"colour": 1}},
        "application/json",
    )  # fmt: skip
    assert bad.status_code == 400
    assert "unknown target filter" in bad.json()["detail"]
    made = client.post(
        "/api/v1/campaigns/", {"name": "API", "purpose": PURPOSE, "channel": "email"}, "application/json"
    )
    assert made.status_code == 201
    pk = made.json()["id"]
    assert client.get(f"/api/v1/campaigns/{pk}/preview/").json()["eligible"] > 0
    assert client.post(f"/api/v1/campaigns/{pk}/results/").status_code == 409
    launched = client.post(f"/api/v1/campaigns/{pk}/launch/")
    assert launched.status_code == 200
    assert launched.json()["status"] == "launched"
    assert client.post(f"/api/v1/campaigns/{pk}/launch/").status_code == 409
    brief = client.post(f"/api/v1/campaigns/{pk}/briefs/", {"rep": "nobody"}, "application/json")
    assert brief.status_code == 400
    assert client.post(f"/api/v1/campaigns/{pk}/results/").json()["report"]["overall"]["treatment"]["customers"] > 0
    assert client.get("/api/v1/campaigns/abc/").status_code == 404


def test_the_api_downloads_a_brief(launched, role_users, eager_tasks, django_capture_on_commit_callbacks):
    client = client_for(role_users["marketing"])
    with django_capture_on_commit_callbacks(execute=True):
        made = client.post(f"/api/v1/campaigns/{launched.pk}/briefs/", {"rep": "sales"}, "application/json")
    assert made.status_code == 202
    brief = Brief.objects.get(pk=made.json()["id"])
    assert brief.status == Brief.Status.SUCCEEDED
    sales = client_for(role_users["sales"])
    response = sales.get(f"/api/v1/briefs/{brief.pk}/download/?file=pdf")
    assert response.content.startswith(b"%PDF")
    leads = sales.get(f"/api/v1/briefs/{brief.pk}/leads/").json()
    assert leads["count"] == brief.lead_count
    assert sales.get(f"/api/v1/briefs/{brief.pk}/download/?file=xls").status_code == 400
