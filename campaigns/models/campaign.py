"""Campaigns, their A/B arms and their decision rules (segment × score band → offer, message, channel)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

# the scores a decision rule can band on, and how the pages name them
SCORE_CHOICES = (
    ("churn_probability", _("Churn risk")),
    ("purchase_probability", _("Chance of buying")),
    ("expected_purchases", _("Expected purchases")),
    ("p_alive", _("Probability still a customer")),
    ("expected_value", _("Predicted value")),
    ("historic_value", _("Spent so far")),
    ("offer_uplift", _("What an offer adds")),
)
SCORE_FIELDS = tuple(field for field, _label in SCORE_CHOICES)


class Band(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class Campaign(models.Model):
    """A campaign: what for (objective), under which purpose and channel (consent), when, for whom (target filters),
    and, once launched, its frozen audience with its control group drawn from `seed`."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        LAUNCHED = "launched", "Launched"
        FINISHED = "finished", "Finished"

    name = models.CharField(max_length=150)
    objective = models.TextField(blank=True, help_text="What the campaign is for, in the analyst's words.")
    purpose = models.ForeignKey("consent.Purpose", on_delete=models.PROTECT, related_name="+")
    channel = models.ForeignKey("consent.Channel", on_delete=models.PROTECT, related_name="+")
    starts_on = models.DateField(help_text="First day of the campaign window (purchases from then on count).")
    ends_on = models.DateField(help_text="Last day of the campaign window.")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    target = models.JSONField(
        default=dict,
        blank=True,
        help_text="Filters: segments (ids), stores (codes), cities, postcode prefixes, recency, score bounds.",
    )
    default_offer = models.CharField(max_length=200, blank=True, help_text="The offer when no rule is defined.")
    control_share = models.FloatField(default=0.1, help_text="Share of the audience held out, never contacted.")
    seed = models.PositiveIntegerField(default=42, help_text="Draws the control group and the arms: reproducible.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    segmentation_run = models.ForeignKey(
        "segments.SegmentationRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    matched = models.IntegerField(default=0, help_text="Customers the target matched at launch.")
    audience_size = models.IntegerField(default=0, help_text="Treatment and control.")
    control_size = models.IntegerField(default=0)
    exclusions = models.JSONField(default=dict, blank=True, help_text="Customers left out at launch, by reason.")
    launched_at = models.DateTimeField(null=True, blank=True)
    launched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(control_share__gte=0) & Q(control_share__lte=0.9), name="campaign_control_share_range"
            ),
            models.CheckConstraint(condition=Q(ends_on__gte=models.F("starts_on")), name="campaign_window_order"),
        ]
        permissions = [("launch_campaign", "Can launch a campaign")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT


class CampaignArm(models.Model):
    """One strategy of an A/B test: its share of the treatment group. A campaign without arms has one strategy."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="arms")
    key = models.CharField(max_length=10, help_text="A, B, ...")
    name = models.CharField(max_length=150)
    description = models.TextField(blank=True)
    share = models.FloatField(default=0.5, help_text="Share of the treatment group.")

    class Meta:
        ordering = ["campaign", "key"]
        constraints = [models.UniqueConstraint(fields=["campaign", "key"], name="campaignarm_unique_key")]

    def __str__(self) -> str:
        return f"{self.key}: {self.name}"


class DecisionRule(models.Model):
    """A cell of the decision matrix: customers of `segment` (any when empty) whose `score_field` falls in `band`
    (any when empty) get `offer` through `channel` with `message`. Rules are tried by ascending priority; the first
    that matches chooses the customer's one action, and is recorded with the lead."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="rules")
    name = models.CharField(max_length=150, blank=True)
    segment = models.ForeignKey("segments.Segment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    score_field = models.CharField(max_length=30, blank=True, choices=SCORE_CHOICES)
    band = models.CharField(max_length=10, blank=True, choices=Band.choices)
    offer = models.CharField(max_length=200)
    message = models.TextField(blank=True, help_text="Message template: {first_name}, {offer}, {segment}.")
    channel = models.ForeignKey(
        "consent.Channel", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="Empty: the campaign's channel.",
    )  # fmt: skip
    arm = models.CharField(max_length=10, blank=True, help_text="The A/B arm this rule belongs to; empty: every arm.")
    priority = models.PositiveSmallIntegerField(default=100, help_text="Lower first.")

    class Meta:
        ordering = ["campaign", "priority", "id"]

    def __str__(self) -> str:
        return self.name or self.offer
