"""Campaigns on real scores: a score filter keeps exactly the customers the active model puts past it, a churn-band
rule chooses their action, and a brief carries each lead's churn risk, its reasons and the predicted value."""

from __future__ import annotations

import csv
from io import StringIO

import pytest

from django.core.management import call_command

from campaigns.models import AudienceMember, Campaign, DecisionRule
from campaigns.services.brief_files import brief_csv
from campaigns.services.briefs import brief_create, brief_generate
from campaigns.services.launch import campaign_create, campaign_launch
from cdp.models import SourceRecord
from segments.selectors import latest_scores
from segments.services.scoring import scores_run
from tests.campaigns.retailer import CHANNEL, PURPOSE
from tests.cdp.importing import run_command
from tests.segments.scoring_data import import_retailer, small_retailer_settings, write_retailer

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return write_retailer(tmp_path_factory.mktemp("scored-retailer"))


@pytest.fixture
def scored(files, settings, tmp_path):
    # given the five-behaviour retailer, scored, whose customers all agreed to marketing e-mails
    small_retailer_settings(settings)
    import_retailer(files)
    consents = tmp_path / "email.csv"
    with consents.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["customer_external_id", "purpose", "channel", "status", "timestamp", "source", "policy_version"]
        )
        for external_id in SourceRecord.objects.values_list("external_id", flat=True):
            writer.writerow([external_id, PURPOSE, CHANNEL, "granted", "2025-01-02T09:00:00+01:00", "web", "1"])
    assert run_command("import_consents", consents, "crm")[0] == 0
    run = scores_run(kinds=["churn", "clv"])
    assert all(version.status == "succeeded" for version in run.versions), [v.message for v in run.versions]


def test_a_score_filter_keeps_exactly_the_customers_past_it(scored):
    # when a campaign targets the customers whose churn probability is at least 0.5
    out = StringIO()
    options = ["--min-score", "churn_probability=0.5", "--control-share", "0.2", "--seed", "4"]
    call_command(
        "campaign_launch", "--name", "Win back", "--purpose", PURPOSE, "--channel", CHANNEL, *options, stdout=out
    )
    campaign = Campaign.objects.get(pk=int(out.getvalue().splitlines()[0]))
    members = set(AudienceMember.objects.filter(campaign=campaign).values_list("customer_id", flat=True))
    # then its audience (treatment and control) is exactly those customers, by the active model's scores
    everyone = latest_scores(list(SourceRecord.objects.values_list("customer_id", flat=True)))
    expected = {pk for pk, row in everyone.items() if row.get("churn_probability", 0) >= 0.5}
    assert expected, "the model puts nobody past 0.5: the test would prove nothing"
    assert expected != set(everyone), "the model puts everybody past 0.5: the test would prove nothing"
    assert members == expected


def test_a_churn_band_rule_chooses_the_action_and_the_brief_says_why(scored, settings):
    campaign = campaign_create(name="Bands", purpose=PURPOSE, channel=CHANNEL, control_share=0.1, seed=2)
    DecisionRule.objects.create(
        campaign=campaign, name="Keep them", score_field="churn_probability", band="high", offer="-20% voucher",
        priority=1,
    )  # fmt: skip
    DecisionRule.objects.create(campaign=campaign, name="Everyone else", offer="newsletter", priority=2)
    campaign_launch(campaign=campaign)
    campaign.refresh_from_db()
    scores = latest_scores(list(AudienceMember.objects.filter(campaign=campaign).values_list("customer_id", flat=True)))
    offers = dict(AudienceMember.objects.filter(campaign=campaign).values_list("customer_id", "offer"))
    # each customer's action follows their churn band
    assert {offers[pk] for pk, row in scores.items() if row.get("churn_band") == "high"} == {"-20% voucher"}
    assert {offers[pk] for pk, row in scores.items() if row.get("churn_band") != "high"} == {"newsletter"}
    # and the brief carries each lead's churn risk with its reasons and the predicted value
    brief = brief_generate(brief_id=brief_create(campaign=campaign, start=False).pk)
    rows = list(csv.DictReader(StringIO(brief_csv(brief).decode("utf-8-sig"))))
    assert rows
    high = [row for row in rows if "(high)" in row["churn_risk"]]
    assert high
    assert any(row["churn_reasons"] for row in high)
    missing = [row for row in rows if not row["expected_value"].endswith(f" {settings.CLIENTELE_CURRENCY}")]
    assert not missing, missing[:3]
