"""A launched campaign's frozen audience (treatment and control, the arm, the rule that chose the action) and the
contact records that bound how often a customer is contacted."""

from __future__ import annotations

from django.db import models

from campaigns.models.campaign import Campaign, DecisionRule


class AudienceMember(models.Model):
    """One customer of a launched campaign's audience. Control customers are never contacted nor briefed.

    related_name "+": a membership says who was in the audience, as that customer.
    """

    class Group(models.TextChoices):
        TREATMENT = "treatment", "Treatment"
        CONTROL = "control", "Control"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="members")
    customer = models.ForeignKey("cdp.Customer", on_delete=models.CASCADE, related_name="+")
    group = models.CharField(max_length=10, choices=Group.choices)
    arm = models.CharField(max_length=10, blank=True)
    stratum = models.CharField(max_length=40, blank=True, help_text="The segment id the draw was stratified by.")
    segment = models.ForeignKey("segments.Segment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    rule = models.ForeignKey(DecisionRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    offer = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "customer"], name="audiencemember_unique")]
        indexes = [models.Index(fields=["campaign", "group"], name="audiencemember_group_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} in {self.campaign_id} ({self.group})"


class ContactRecord(models.Model):
    """A customer contacted by a campaign (its treatment group): contact pressure counts these per period."""

    customer = models.ForeignKey("cdp.Customer", on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="contacts")
    contacted_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["customer", "contacted_at"], name="contactrecord_customer_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} by {self.campaign_id}"
