"""The demo's campaign: launched on the day after the demo's history ends, answered by the demo's personas (their
true response, cdp.demo.campaign), measured against its control group, and briefed to each demo sales rep.

`campaign_truth` reads what the personas were drawn to do, per segment of the campaign: the figures the measured
uplift is checked against (benchmarks/campaign_bench.py).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from pathlib import Path

from django.conf import settings
from django.db.models import Count

from campaigns.models import AudienceMember, Campaign, CampaignResult
from campaigns.services.audience import segmentation_current
from campaigns.services.briefs import brief_create, brief_generate
from campaigns.services.launch import campaign_create, campaign_launch, rule_save
from campaigns.services.outcomes import uplift_compute
from cdp.demo.basics import DEFAULT_END_DATE
from cdp.demo.campaign import expected, respond
from cdp.demo.users import demo_sales_reps
from cdp.ingest.service import import_file
from cdp.ingest.types import KIND_TRANSACTIONS
from cdp.models import Receipt, SourceRecord, Store
from cdp.pipeline import DemoContext

DEMO_CAMPAIGN = "Autumn offer (demo)"
WINDOW_DAYS = 14
OFFERS = ("10% off your next basket", "Double loyalty points this fortnight", "Free delivery on the e-shop")


def demo_campaign_run(
    data_dir: Path, *, name: str = DEMO_CAMPAIGN, seed: int = 42, starts_on: dt.date | None = None,
    control_share: float = 0.2, days: int = WINDOW_DAYS, write=None,
) -> tuple[Campaign, CampaignResult]:  # fmt: skip
    """Launch a campaign to every e-mail subscriber, simulate the personas' response, import it and measure it."""
    starts_on = starts_on or DEFAULT_END_DATE + dt.timedelta(days=1)
    campaign = campaign_create(
        name=name,
        objective="Bring customers back in the fortnight after the summer with an offer chosen per segment.",
        purpose="email_marketing",
        channel="email",
        starts_on=starts_on,
        ends_on=starts_on + dt.timedelta(days=days - 1),
        control_share=control_share,
        seed=seed,
        default_offer=OFFERS[0],
    )
    run = segmentation_current()
    if run is not None:
        for position, segment in enumerate(run.segments.filter(retired=False).order_by("-size", "number")):
            rule_save(
                campaign=campaign,
                name=f"{segment.name}: {OFFERS[position % len(OFFERS)]}",
                segment=segment,
                offer=OFFERS[position % len(OFFERS)],
                message="Hello {first_name}, {offer}: we kept it for you.",
                priority=10 + position,
            )
    campaign = campaign_launch(campaign=campaign).campaign
    groups = dict(AudienceMember.objects.filter(campaign=campaign).values_list("customer_id", "group"))
    records: dict = defaultdict(list)
    for customer, source, external_id in SourceRecord.objects.filter(customer_id__in=list(groups)).values_list(
        "customer_id", "source__key", "external_id"
    ):
        records[customer].append((source, external_id))
    files = respond(
        data_dir,
        ((records[pk], group == AudienceMember.Group.TREATMENT) for pk, group in groups.items() if records[pk]),
        starts_on=starts_on,
        days=days,
        seed=seed,
        name=f"campaign{campaign.pk}",
    )
    for source, path in sorted(files.transactions.items()):
        result = import_file(kind=KIND_TRANSACTIONS, path=path, source_key=source)
        if write:
            write(f"  {path.name}: {result.summary()}")
    return campaign, uplift_compute(campaign=campaign)


def campaign_truth(campaign: Campaign, truth_path: Path) -> dict:
    """The true effects on the campaign's audience: overall and per segment, the mean of each member's difference
    between their chance of buying (and expected revenue) contacted and not contacted."""
    by_key = {}
    with truth_path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            by_key[(row["source"], row["external_id"])] = row["persona"]
    members = dict(AudienceMember.objects.filter(campaign=campaign).values_list("customer_id", "segment__name"))
    sums: dict = defaultdict(lambda: [0, 0.0, 0.0])
    for customer, source, external_id in SourceRecord.objects.filter(customer_id__in=list(members)).values_list(
        "customer_id", "source__key", "external_id"
    ):
        persona = by_key.get((source, external_id))
        if persona is None:
            continue
        (p1, r1), (p0, r0) = expected(persona, True), expected(persona, False)
        for key in ("overall", members[customer] or "no segment"):
            entry = sums[(key, customer)]
            entry[:] = [1, p1 - p0, r1 - r0]
    totals: dict = defaultdict(lambda: [0, 0.0, 0.0])
    for (key, _), (n, conversion, revenue) in sums.items():
        totals[key][0] += n
        totals[key][1] += conversion
        totals[key][2] += revenue
    return {
        key: {"customers": n, "conversion_uplift": c / n, "revenue_per_customer_uplift": r / n}
        for key, (n, c, r) in totals.items()
        if n
    }


def _stores_by_traffic() -> list[Store]:
    counts = Receipt.objects.filter(store__isnull=False).values("store").annotate(n=Count("id")).order_by("-n")
    ids = [row["store"] for row in counts[:20]]
    stores = {store.pk: store for store in Store.objects.filter(pk__in=ids)}
    return [stores[pk] for pk in ids if stores[pk].kind == Store.Kind.STORE] or [stores[pk] for pk in ids]


def _learn_offer_response(ctx: DemoContext) -> None:
    """With the campaign's window over, propensity is fitted again: it learns from the control group how each
    customer responds to an offer (segments.services.offers)."""
    from segments.models import ModelVersion
    from segments.services.scoring import scores_run

    if not ModelVersion.objects.filter(kind="propensity", is_active=True).exists():
        return
    version = scores_run(kinds=["propensity"]).versions[0]
    response = version.metrics.get("offer_response") or {}
    if version.status != ModelVersion.Status.SUCCEEDED:
        ctx.write(f"  propensity after the campaign: {version.message}")
    elif "not_estimated" in response:
        ctx.write(f"  propensity after the campaign: offer response not estimated ({response['not_estimated']})")
    else:
        held = response["held_out_uplift"]
        ctx.write(
            f"  {version.name}: offer response learnt from the campaign's groups; held-out customers predicted to "
            f"gain most bought {held['top_half']:+.1%} more when offered, the others {held['bottom_half']:+.1%}"
        )


def campaign_step(ctx: DemoContext) -> str:
    campaign = Campaign.objects.filter(name=DEMO_CAMPAIGN).first()
    if campaign is not None:
        return f"kept the demo campaign {campaign.pk} ({campaign.audience_size} customers), its results and briefs"
    if not SourceRecord.objects.exists():
        return "no customer: no campaign"
    campaign, result = demo_campaign_run(ctx.data_dir, seed=ctx.seed, write=ctx.write)
    overall = result.report["overall"]
    truth = campaign_truth(campaign, ctx.data_dir / "truth" / f"campaign{campaign.pk}_response.csv").get("overall", {})
    conversion = overall["uplift"]["conversion"]
    ctx.write(
        f"  measured conversion uplift {conversion['difference']:+.1%} "
        f"(95% CI {conversion['ci'][0]:+.1%} to {conversion['ci'][1]:+.1%}); the personas' truth "
        f"{truth.get('conversion_uplift', 0):+.1%}"
    )
    _learn_offer_response(ctx)
    briefs = []
    if not settings.PRODUCTION:
        stores = _stores_by_traffic()
        for position, rep in enumerate(demo_sales_reps()):
            store = stores[position % len(stores)] if stores else None
            brief = brief_create(campaign=campaign, rep=rep, store=store, start=False)
            briefs.append(brief_generate(brief_id=brief.pk))
    described = ", ".join(
        f"{b.rep.get_username()} {b.lead_count} leads" + (f" ({b.store.code})" if b.store else "") for b in briefs
    )
    return (
        f"campaign {campaign.pk} '{campaign.name}': {campaign.audience_size} customers ({campaign.control_size} "
        f"control), results measured; briefs: {described or 'none'}"
    )
