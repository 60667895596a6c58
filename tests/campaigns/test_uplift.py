"""Uplift statistics: a known effect is found within its interval, no effect is not called a win, small groups are
inconclusive; and the command's report on a launched campaign."""

from __future__ import annotations

import json
import random
from io import StringIO

import pytest

from django.core.management import CommandError, call_command

from campaigns.services.launch import campaign_create, campaign_launch
from campaigns.services.outcomes import Group, compare, group_summary
from tests.campaigns.retailer import CHANNEL, PURPOSE


def draw(n: int, chance: float, basket: float, seed: int) -> Group:
    rng = random.Random(seed)
    group = Group()
    for _ in range(n):
        if rng.random() < chance:
            group.add(rng.gammavariate(4, basket / 4), 1)
        else:
            group.add(0.0, 0)
    return group


def test_a_known_uplift_is_inside_its_interval_and_significant():
    treatment, control = draw(5000, 0.30, 50, 1), draw(5000, 0.20, 50, 2)
    result = compare(treatment, control, min_group=100)
    conversion = result["conversion"]
    assert conversion["ci"][0] <= 0.10 <= conversion["ci"][1]
    assert conversion["verdict"] == "better"
    assert conversion["p_value"] < 0.001
    revenue = result["revenue_per_customer"]
    assert revenue["ci"][0] <= 0.10 * 50 <= revenue["ci"][1]
    basket = result["average_basket"]
    assert basket["ci"][0] <= 0 <= basket["ci"][1]  # the same basket in both groups


def test_no_effect_is_not_a_win_and_small_groups_are_inconclusive():
    same = compare(draw(3000, 0.2, 40, 3), draw(3000, 0.2, 40, 4), min_group=100)
    assert same["conversion"]["verdict"] == "no_significant_difference"
    small = compare(draw(50, 0.9, 40, 5), draw(50, 0.1, 40, 6), min_group=100)
    assert small["small_group"]
    assert {small[k]["verdict"] for k in ("conversion", "revenue_per_customer", "average_basket")} == {"inconclusive"}


def test_a_group_summary_has_its_intervals():
    summary = group_summary(draw(400, 0.25, 30, 7))
    assert summary["conversion_ci"][0] < summary["conversion"] < summary["conversion_ci"][1]
    assert summary["revenue_per_customer_ci"][0] < summary["revenue_per_customer"]
    empty = group_summary(Group())
    assert empty["customers"] == 0
    assert empty["average_basket"] is None


@pytest.mark.django_db
def test_the_command_writes_the_report(retailer, tmp_path):
    campaign = campaign_create(
        name="Measured", purpose=PURPOSE, channel=CHANNEL, control_share=0.3, arms=[("A", "a", 0.5), ("B", "b", 0.5)]
    )
    campaign = campaign_launch(campaign=campaign).campaign
    out = StringIO()
    call_command("uplift_report", str(campaign.pk), "--report", str(tmp_path / "r.json"), stdout=out)
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    overall = report["overall"]
    assert overall["treatment"]["customers"] + overall["control"]["customers"] == campaign.audience_size
    assert {"conversion", "revenue_per_customer", "average_basket"} <= set(overall["uplift"])
    assert report["segments"]
    assert report["arm_vs_arm"]["a"] == "A"
    assert overall["uplift"]["conversion"]["verdict"] == "inconclusive"  # a few dozen customers
    assert out.getvalue().startswith(f"campaign {campaign.pk}: treatment")
    with pytest.raises(CommandError, match="no campaign"):
        call_command("uplift_report", "12345", "--report", str(tmp_path / "x.json"))
