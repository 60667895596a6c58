"""The audience: only customers with valid consent for the campaign's purpose and channel, never suppressed,
objecting, restricted or erased; the control group's share, balance and reproducibility; contact pressure."""

from __future__ import annotations

from collections import Counter
from io import StringIO

import pytest

from django.core.management import CommandError, call_command

from campaigns.models import AudienceMember, Campaign, ContactRecord
from campaigns.services.audience import (
    CONTACT_PRESSURE,
    NO_CONSENT,
    OBJECTED,
    REASONS,
    RESTRICTED,
    SUPPRESSED,
    WITHDRAWN,
    audience_build,
)
from campaigns.services.launch import campaign_create, campaign_launch, control_draw
from cdp.models import Customer, SourceRecord
from tests.campaigns.checks import may_contact
from tests.campaigns.retailer import CHANNEL, PURPOSE

pytestmark = pytest.mark.django_db


def launch(name="Spring", **options) -> Campaign:
    campaign = campaign_create(name=name, purpose=PURPOSE, channel=CHANNEL, **options)
    campaign_launch(campaign=campaign)
    campaign.refresh_from_db()
    return campaign


def test_no_customer_without_valid_consent_ever_appears_in_an_audience(retailer):
    # given a retailer with mixed consent histories, objections, restrictions, erasures and a suppressed address
    # when a campaign for e-mail marketing by e-mail is launched to everyone
    campaign = launch(control_share=0.2)
    members = list(AudienceMember.objects.filter(campaign=campaign).values_list("customer_id", flat=True))
    # then every member, treatment and control, may be contacted, one customer at a time
    assert members
    assert all(may_contact(pk, PURPOSE, CHANNEL) for pk in members)
    # and everyone who may be contacted is in (nobody is left out without a reason)
    everyone = Customer.objects.active().values_list("pk", flat=True)
    assert {pk for pk in everyone if may_contact(pk, PURPOSE, CHANNEL)} == set(members)
    # and nobody objecting, restricted, suppressed or erased is
    for person in retailer.objected + retailer.restricted + retailer.suppressed:
        assert person.pk not in members
    assert not SourceRecord.objects.filter(external_id__in=retailer.erased_external_ids).exists()
    # and the left-out counts say why, adding up to what the target matched
    excluded = campaign.exclusions
    assert set(excluded) == set(REASONS)
    assert excluded[OBJECTED] == 3
    assert excluded[RESTRICTED] == 3
    assert excluded[SUPPRESSED] == 3
    assert excluded[NO_CONSENT] > 0
    assert excluded[WITHDRAWN] > 0
    assert campaign.matched == campaign.audience_size + sum(excluded.values())


def test_the_histories_that_grant_are_in_and_the_others_are_out(retailer):
    campaign = launch()
    members = set(AudienceMember.objects.filter(campaign=campaign).values_list("customer__pk", flat=True))
    left_out = {p.pk for p in retailer.objected + retailer.restricted + retailer.suppressed}
    for external_id, history in retailer.histories.items():
        record = SourceRecord.objects.filter(external_id=external_id).first()
        if record is None or record.customer_id in left_out:
            continue
        expected = history in ("granted", "withdrawn_then_granted", "purpose_wide")
        assert (record.customer_id in members) is expected, history


def test_control_share_balance_across_segments_and_the_seed(retailer):
    campaign = launch(control_share=0.25, seed=7)
    rows = list(AudienceMember.objects.filter(campaign=campaign).values_list("customer_id", "segment_id", "group"))
    control = [r for r in rows if r[2] == AudienceMember.Group.CONTROL]
    # the share holds overall
    assert abs(len(control) / len(rows) - 0.25) < 0.05
    # and in every segment (stratified): within one customer of the exact share
    by_segment = Counter(r[1] for r in rows)
    control_by_segment = Counter(r[1] for r in control)
    for segment, size in by_segment.items():
        assert abs(control_by_segment[segment] - size * 0.25) <= 1, (segment, size)
    # and the draw is reproducible from the stored seed
    again = control_draw([(r[0], r[1]) for r in rows], share=campaign.control_share, seed=campaign.seed)
    assert {pk for pk, (group, _) in again.items() if group == "control"} == {r[0] for r in control}
    # while another seed draws another group
    other = control_draw([(r[0], r[1]) for r in rows], share=0.25, seed=8)
    assert {pk for pk, (group, _) in other.items() if group == "control"} != {r[0] for r in control}


def test_ab_arms_split_the_treatment(retailer):
    campaign = campaign_create(
        name="A/B",
        purpose=PURPOSE,
        channel=CHANNEL,
        control_share=0.1,
        arms=[("A", "10% off", 0.5), ("B", "gift", 0.5)],
    )
    campaign_launch(campaign=campaign)
    arms = Counter(AudienceMember.objects.filter(campaign=campaign, group="treatment").values_list("arm", flat=True))
    assert set(arms) == {"A", "B"}
    assert abs(arms["A"] - arms["B"]) <= 0.2 * sum(arms.values())
    assert not AudienceMember.objects.filter(campaign=campaign, group="control").exclude(arm="").exists()


def test_contact_pressure_holds_across_two_campaigns(retailer, settings):
    settings.CAMPAIGN_CONTACT_MAX = 1
    first = launch("First", control_share=0.3)
    treated = set(
        AudienceMember.objects.filter(campaign=first, group="treatment").values_list("customer_id", flat=True)
    )
    held_out = set(AudienceMember.objects.filter(campaign=first, group="control").values_list("customer_id", flat=True))
    second = launch("Second", control_share=0.3)
    again = set(AudienceMember.objects.filter(campaign=second).values_list("customer_id", flat=True))
    # those the first contacted are left out of the second; its control group (never contacted) is not
    assert not treated & again
    assert held_out <= again
    assert second.exclusions[CONTACT_PRESSURE] == len(treated)
    assert ContactRecord.objects.filter(campaign=first).count() == len(treated)


def test_the_preview_counts_what_the_launch_does(retailer):
    campaign = campaign_create(name="Preview", purpose=PURPOSE, channel=CHANNEL)
    audience = audience_build(campaign)
    result = campaign_launch(campaign=campaign)
    assert audience.eligible == result.treatment + result.control
    assert audience.excluded == result.excluded


def test_the_command_prints_the_id_first_then_the_reasons(retailer):
    out = StringIO()
    segment = retailer_segment_name()
    call_command("campaign_launch", "--name", "Cmd", "--purpose", PURPOSE, "--channel", CHANNEL,
                 "--segment", segment, "--control-share", "0.2", "--seed", "3", stdout=out)  # fmt: skip
    lines = out.getvalue().splitlines()
    campaign = Campaign.objects.get(pk=int(lines[0]))
    assert campaign.name == "Cmd"
    assert campaign.seed == 3
    assert any(line.startswith("left out, no consent for this purpose and channel: ") for line in lines[1:])
    assert set(AudienceMember.objects.filter(campaign=campaign).values_list("segment__name", flat=True)) == {segment}


def retailer_segment_name() -> str:
    from segments.models import Segment

    return Segment.objects.order_by("-size").values_list("name", flat=True)[0]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--purpose", "nope", "--channel", "email"], "unknown purpose 'nope'"),
        (["--purpose", PURPOSE, "--channel", "pigeon"], "unknown channel 'pigeon'"),
        (["--purpose", PURPOSE, "--channel", "email", "--segment", "Nobody"], "no segment"),
        (["--purpose", PURPOSE, "--channel", "email", "--min-score", "churn_probability=0.5"], "no scores yet"),
        (["--purpose", PURPOSE, "--channel", "email", "--min-score", "churn"], "FIELD=NUMBER"),
    ],
)
def test_the_command_refuses_bad_input_with_a_clear_error(retailer, options, message):
    with pytest.raises(CommandError, match=message):
        call_command("campaign_launch", "--name", "Bad", *options, stdout=StringIO())
    assert not Campaign.objects.exists()


def test_without_segmentation_a_segment_filter_is_a_clear_error(db):
    with pytest.raises(CommandError, match="no segmentation yet"):
        call_command("campaign_launch", "--name", "X", "--purpose", PURPOSE, "--channel", "email", "--segment", "A")
    with pytest.raises(CommandError, match="nobody is left in the audience"):
        call_command("campaign_launch", "--name", "X", "--purpose", PURPOSE, "--channel", "email")
