"""Reads of campaigns: lists, a campaign's figures, the briefs a user may read."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from campaigns.models import AudienceMember, Brief, Campaign
from cdp.roles import ROLE_SALES

MAX_OFFER_CAMPAIGNS = 20  # the scores keep the latest few of these (OFFER_RESPONSE_CAMPAIGNS)
READ_ALL_BRIEFS = "campaigns.view_campaign"  # marketing, CRM and the DPO read every brief; a rep only their own


def campaigns_list() -> QuerySet[Campaign]:
    return Campaign.objects.select_related("purpose", "channel", "owner").annotate(brief_count=Count("briefs"))


def briefs_visible(user) -> QuerySet[Brief]:
    """The briefs `user` may read: their own, or every brief for those who read campaigns."""
    briefs = Brief.objects.select_related("campaign", "rep", "store")
    if user.has_perm(READ_ALL_BRIEFS):
        return briefs
    if not user.has_perm("campaigns.view_brief"):
        return briefs.none()
    return briefs.filter(rep=user)


def briefs_own(user) -> QuerySet[Brief]:
    """A rep's briefs, newest first (their home page)."""
    return Brief.objects.filter(rep=user).select_related("campaign", "store").order_by("-created_at", "-id")


def audience_by_segment(campaign: Campaign) -> list[dict]:
    """Per segment: treatment and control counts of a launched campaign."""
    rows = (
        AudienceMember.objects.filter(campaign=campaign)
        .values("segment_id", "segment__name")
        .annotate(
            treatment=Count("id", filter=Q(group=AudienceMember.Group.TREATMENT)),
            control=Count("id", filter=Q(group=AudienceMember.Group.CONTROL)),
        )
        .order_by("segment__name")
    )
    return list(rows)


def sales_reps() -> QuerySet:
    return get_user_model().objects.filter(groups__name=ROLE_SALES, is_active=True).order_by("username")


def offer_histories(before):
    """Launched campaigns with a control group whose window ended before `before` (a moment), newest first, as the
    scores' offer-response model reads them: treatment members were offered the campaign's offer, control members
    were not contacted."""
    from campaigns.services.audience import campaign_end, campaign_start
    from segments.offer_history import OfferHistory

    campaigns = Campaign.objects.exclude(status=Campaign.Status.DRAFT).filter(
        control_size__gt=0, ends_on__lt=timezone.localtime(before).date()
    )
    histories = []
    for campaign in campaigns.order_by("-starts_on", "-id")[:MAX_OFFER_CAMPAIGNS]:
        end = campaign_end(campaign)
        groups = AudienceMember.objects.filter(campaign=campaign).values_list("customer_id", "group")
        offered = {customer: group == AudienceMember.Group.TREATMENT for customer, group in groups.iterator()}
        histories.append(OfferHistory(name=campaign.name, start=campaign_start(campaign), end=end, offered=offered))
    return histories
