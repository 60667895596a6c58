"""Models of campaigns: campaigns, arms and decision rules; audiences and contact records; briefs; results."""

from campaigns.models.audience import AudienceMember, ContactRecord
from campaigns.models.briefs import Brief, BriefDownload, BriefLead, CampaignResult
from campaigns.models.campaign import SCORE_CHOICES, SCORE_FIELDS, Band, Campaign, CampaignArm, DecisionRule

__all__ = [
    "SCORE_CHOICES",
    "SCORE_FIELDS",
    "AudienceMember",
    "Band",
    "Brief",
    "BriefDownload",
    "BriefLead",
    "Campaign",
    "CampaignArm",
    "CampaignResult",
    "ContactRecord",
    "DecisionRule",
]
