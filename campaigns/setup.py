"""Start-up of campaigns (called from CampaignsConfig.ready()): personal data, the home page's briefs, the demo."""

from __future__ import annotations

from cdp.home import register_home_section
from cdp.pipeline import register_demo_step
from consent.registry import Erasure, register_personal_data


def _campaign_step(ctx):
    from campaigns.demo import campaign_step

    return campaign_step(ctx)


def _home_briefs(user) -> dict | None:
    from django.utils import timezone

    from campaigns.models import Campaign
    from campaigns.selectors import briefs_own

    briefs = list(briefs_own(user)[:50])
    now = timezone.now()
    for brief in briefs:
        brief.expired = brief.expires_at <= now
    # Whether any campaign was launched only matters to the wording for those who cannot see the campaigns (sales);
    # the others are told no brief is theirs, without a query more on everyone's home page.
    launched = bool(briefs) or user.has_perm("campaigns.view_campaign")
    if not launched:
        launched = Campaign.objects.exclude(status=Campaign.Status.DRAFT).exists()
    return {"briefs": briefs, "campaigns_exist": launched}


def register() -> None:
    from campaigns.models import AudienceMember, BriefLead, ContactRecord

    # A campaign's audience, its contact records and the leads of stored briefs name the customer: erasure deletes
    # them, so an erased person is gone from every brief (the CSV and PDF files are rendered from the leads on
    # download, never stored).
    register_personal_data(AudienceMember, subject="customer", erasure=Erasure.DELETE)
    register_personal_data(ContactRecord, subject="customer", erasure=Erasure.DELETE)
    register_personal_data(BriefLead, subject="customer", erasure=Erasure.DELETE, export=("brief", "rank", "details"))
    # After segmentation (40) and scoring, before the DPO's requests (95): the requests' objection and restriction
    # then apply to a campaign already run, as they would in life.
    register_demo_step(60, "campaign", _campaign_step)
    # Past campaigns' treatment and control groups teach the scores how customers respond to an offer.
    from campaigns.selectors import offer_histories
    from segments.offer_history import offer_history_provider

    offer_history_provider(offer_histories)
    register_home_section(key="briefs", template="campaigns/home_briefs.html", context=_home_briefs)
