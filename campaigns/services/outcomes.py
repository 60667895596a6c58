"""Outcomes and uplift: purchases in the campaign window are attributed to the campaign's audience, and treatment is
compared with control (and arm with arm) on conversion, revenue per customer and average basket, overall and per
segment, each with a 95% confidence interval and a significance test.

- Conversion: the share of customers with a purchase in the window; difference of two proportions (normal
  approximation), two-sided z-test with the pooled proportion; each group's own interval by Wilson's method.
- Revenue per customer (net of returns, zero for those who did not buy): difference of means, Welch's t-test.
- Average basket (revenue per receipt): a ratio of sums per customer, its variance by the delta method (customers are
  the unit that was randomised, so their receipts are not treated as independent), z-test on the difference.
A comparison in which either group has fewer than UPLIFT_MIN_GROUP customers is inconclusive, whatever its p-value:
it is never reported as a win.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from scipy import stats

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from campaigns.models import AudienceMember, Campaign, CampaignResult
from campaigns.services.audience import AudienceError, campaign_end, campaign_start
from cdp.money import currency_exponent
from segments.models import Segment

NOT_LAUNCHED = "the campaign has not been launched: there is nothing to measure yet"
Z95 = 1.959963984540054
ALPHA = 0.05


@dataclass
class Group:
    """Per-customer outcomes of one group: revenue (major units) and receipts."""

    revenue: list[float] = field(default_factory=list)
    orders: list[int] = field(default_factory=list)

    def add(self, revenue: float, orders: int) -> None:
        self.revenue.append(revenue)
        self.orders.append(orders)

    @property
    def n(self) -> int:
        return len(self.revenue)


def _mean_var(values: list[float]) -> tuple[float, float]:
    n = len(values)
    if n == 0:
        return 0.0, 0.0
    mean = sum(values) / n
    var = sum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else 0.0
    return mean, var


def _wilson(k: int, n: int) -> tuple[float, float]:
    if n == 0:
        return 0.0, 0.0
    p = k / n
    denominator = 1 + Z95**2 / n
    centre = (p + Z95**2 / (2 * n)) / denominator
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def _basket(group: Group) -> tuple[float | None, float]:
    """Revenue per receipt and its variance (delta method over customers)."""
    total_orders = sum(group.orders)
    if total_orders == 0 or group.n < 2:
        return None, 0.0
    ratio = sum(group.revenue) / total_orders
    mean_orders = total_orders / group.n
    residuals = [r - ratio * o for r, o in zip(group.revenue, group.orders, strict=True)]
    _, var_residual = _mean_var(residuals)
    return ratio, var_residual / (group.n * mean_orders**2)


def group_summary(group: Group) -> dict[str, Any]:
    converted = sum(1 for o in group.orders if o > 0)
    rate = converted / group.n if group.n else 0.0
    mean, var = _mean_var(group.revenue)
    se = math.sqrt(var / group.n) if group.n else 0.0
    basket, basket_var = _basket(group)
    basket_se = math.sqrt(basket_var)
    return {
        "customers": group.n,
        "converted": converted,
        "conversion": rate,
        "conversion_ci": list(_wilson(converted, group.n)),
        "revenue": sum(group.revenue),
        "revenue_per_customer": mean,
        "revenue_per_customer_ci": [mean - Z95 * se, mean + Z95 * se],
        "receipts": sum(group.orders),
        "average_basket": basket,
        "average_basket_ci": None if basket is None else [basket - Z95 * basket_se, basket + Z95 * basket_se],
    }


def _two_sided(z: float) -> float:
    return float(2 * stats.norm.sf(abs(z)))


def _verdict(diff: float, p_value: float | None, small: bool) -> str:
    if small:
        return "inconclusive"
    if p_value is None or p_value >= ALPHA:
        return "no_significant_difference"
    return "better" if diff > 0 else "worse"


def compare(a: Group, b: Group, *, min_group: int) -> dict[str, Any]:
    """`a` (treatment, or an arm) against `b` (control, or the other arm)."""
    small = min(a.n, b.n) < min_group
    result: dict[str, Any] = {"small_group": small, "min_group": min_group}
    # conversion
    ka, kb = sum(1 for o in a.orders if o > 0), sum(1 for o in b.orders if o > 0)
    pa, pb = (ka / a.n if a.n else 0.0), (kb / b.n if b.n else 0.0)
    diff = pa - pb
    se = math.sqrt(pa * (1 - pa) / a.n + pb * (1 - pb) / b.n) if a.n and b.n else 0.0
    pooled = (ka + kb) / (a.n + b.n) if a.n + b.n else 0.0
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / a.n + 1 / b.n)) if a.n and b.n else 0.0
    p_value = _two_sided(diff / se0) if se0 > 0 else None
    result["conversion"] = {
        "difference": diff, "ci": [diff - Z95 * se, diff + Z95 * se], "relative": diff / pb if pb else None,
        "p_value": p_value, "verdict": _verdict(diff, p_value, small),
    }  # fmt: skip
    # revenue per customer
    ma, va = _mean_var(a.revenue)
    mb, vb = _mean_var(b.revenue)
    diff = ma - mb
    se = math.sqrt(va / a.n + vb / b.n) if a.n > 1 and b.n > 1 else 0.0
    p_value = None
    if se > 0:
        dof = se**4 / ((va / a.n) ** 2 / (a.n - 1) + (vb / b.n) ** 2 / (b.n - 1))
        p_value = float(2 * stats.t.sf(abs(diff / se), dof))
        half = float(stats.t.ppf(0.975, dof)) * se
    else:
        half = 0.0
    result["revenue_per_customer"] = {
        "difference": diff, "ci": [diff - half, diff + half], "relative": diff / mb if mb else None,
        "p_value": p_value, "verdict": _verdict(diff, p_value, small),
    }  # fmt: skip
    # average basket
    ra, rva = _basket(a)
    rb, rvb = _basket(b)
    if ra is None or rb is None:
        result["average_basket"] = {"difference": None, "ci": None, "relative": None, "p_value": None,
                                    "verdict": "inconclusive"}  # fmt: skip
    else:
        diff, se = ra - rb, math.sqrt(rva + rvb)
        p_value = _two_sided(diff / se) if se > 0 else None
        result["average_basket"] = {
            "difference": diff, "ci": [diff - Z95 * se, diff + Z95 * se], "relative": diff / rb if rb else None,
            "p_value": p_value, "verdict": _verdict(diff, p_value, small),
        }  # fmt: skip
    return result


def _outcomes(campaign: Campaign) -> tuple[dict[Any, tuple[float, int]], str]:
    """customer -> (net revenue in major units, receipts with a positive total) in the window; the currency."""
    members = AudienceMember.objects.filter(campaign=campaign).values("customer_id")
    rows = (
        campaign_receipts(campaign)
        .filter(customer_id__in=members)
        .values("customer_id", "currency")
        .annotate(revenue=Sum("total_minor"), orders=Count("id", filter=Q(total_minor__gt=0)))
        .values_list("customer_id", "currency", "revenue", "orders")
    )
    found: dict[Any, tuple[float, int]] = {}
    currency = settings.CLIENTELE_CURRENCY
    for pk, cur, revenue, orders in rows.iterator(chunk_size=5000):
        currency = cur
        before = found.get(pk, (0.0, 0))
        found[pk] = (before[0] + (revenue or 0) / 10 ** currency_exponent(cur), before[1] + orders)
    return found, currency


def campaign_receipts(campaign: Campaign):
    from cdp.models import Receipt

    return Receipt.objects.filter(purchased_at__gte=campaign_start(campaign), purchased_at__lt=campaign_end(campaign))


def _block(treatment: Group, control: Group, min_group: int) -> dict[str, Any]:
    return {
        "treatment": group_summary(treatment),
        "control": group_summary(control),
        "uplift": compare(treatment, control, min_group=min_group),
    }


@transaction.atomic
def uplift_compute(*, campaign: Campaign) -> CampaignResult:
    """Measure the campaign: store and return one result row. Raises AudienceError for a draft."""
    if campaign.status == Campaign.Status.DRAFT:
        raise AudienceError(NOT_LAUNCHED)
    min_group = settings.UPLIFT_MIN_GROUP
    outcomes, currency = _outcomes(campaign)
    overall = {"treatment": Group(), "control": Group()}
    by_segment: dict[Any, dict[str, Group]] = defaultdict(lambda: {"treatment": Group(), "control": Group()})
    by_arm: dict[str, Group] = defaultdict(Group)
    members = AudienceMember.objects.filter(campaign=campaign).values_list("customer_id", "group", "arm", "segment_id")
    for pk, group, arm, segment in members.iterator(chunk_size=5000):
        revenue, orders = outcomes.get(pk, (0.0, 0))
        overall[group].add(revenue, orders)
        by_segment[segment][group].add(revenue, orders)
        if group == AudienceMember.Group.TREATMENT and arm:
            by_arm[arm].add(revenue, orders)
    names = dict(Segment.objects.filter(pk__in=[s for s in by_segment if s]).values_list("pk", "name"))
    segments = [
        {"segment_id": segment, "segment": names.get(segment, "no segment"),
         **_block(groups["treatment"], groups["control"], min_group)}
        for segment, groups in sorted(by_segment.items(), key=lambda kv: names.get(kv[0], "~"))
    ]  # fmt: skip
    arms = sorted(by_arm)
    report: dict[str, Any] = {
        "campaign": campaign.pk,
        "name": campaign.name,
        "window": [campaign_start(campaign).isoformat(), campaign_end(campaign).isoformat()],
        "currency": currency,
        "computed_at": timezone.now().isoformat(),
        "min_group": min_group,
        "confidence": 0.95,
        "overall": _block(overall["treatment"], overall["control"], min_group),
        "segments": segments,
        "arms": [
            {
                "arm": arm,
                "treatment": group_summary(by_arm[arm]),
                "uplift": compare(by_arm[arm], overall["control"], min_group=min_group),
            }
            for arm in arms
        ],  # fmt: skip
        "arm_vs_arm": (
            {"a": arms[0], "b": arms[1], **compare(by_arm[arms[0]], by_arm[arms[1]], min_group=min_group)}
            if len(arms) == 2
            else None
        ),  # fmt: skip
    }
    result = CampaignResult.objects.create(
        campaign=campaign, window_start=campaign_start(campaign), window_end=campaign_end(campaign), report=report
    )
    if campaign.status == Campaign.Status.LAUNCHED and timezone.now() >= campaign_end(campaign):
        Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.FINISHED, updated_at=timezone.now())
    return result


def result_latest(campaign: Campaign) -> CampaignResult | None:
    return CampaignResult.objects.filter(campaign=campaign).order_by("-computed_at", "-id").first()
