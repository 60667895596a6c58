"""Purposes, channels, versioned consent wording and the append-only consent ledger.

``consent`` imports no other app. The ledger points at ``cdp.Customer`` by a lazy string reference (a schema link,
not a Python import) and keeps the source's own subject id, so an event that arrives before its customer is kept
and linked when the customer is imported, like receipts are.
"""

from __future__ import annotations

from simple_history.models import HistoricalRecords

from django.conf import settings
from django.db import models
from django.db.models import Q

from consent.display import local_date


class LegalBasis(models.TextChoices):
    """GDPR Art. 6(1): the ground on which a purpose's processing is lawful."""

    CONSENT = "consent", "Consent (Art. 6(1)(a))"
    CONTRACT = "contract", "Contract (Art. 6(1)(b))"
    LEGAL_OBLIGATION = "legal_obligation", "Legal obligation (Art. 6(1)(c))"
    VITAL_INTEREST = "vital_interest", "Vital interest (Art. 6(1)(d))"
    PUBLIC_TASK = "public_task", "Public task (Art. 6(1)(e))"
    LEGITIMATE_INTEREST = "legitimate_interest", "Legitimate interest (Art. 6(1)(f))"


class ConsentStatus(models.TextChoices):
    GRANTED = "granted", "Granted"
    WITHDRAWN = "withdrawn", "Withdrawn (or objection)"


class Purpose(models.Model):
    """Why personal data is processed: what a customer consents to, or may object to."""

    key = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, help_text="For staff: what the purpose covers and its legal grounds.")
    customer_wording = models.TextField(
        blank=True,
        help_text="What customers read on their preference page, in plain words (the description is for staff).",
    )
    legal_basis = models.CharField(max_length=20, choices=LegalBasis.choices, default=LegalBasis.CONSENT)
    retention_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Days the data is kept after the last contact; empty means no fixed period."
    )
    is_active = models.BooleanField(default=True, help_text="Inactive purposes are refused by imports and checks.")
    direct_marketing = models.BooleanField(
        default=False,
        help_text="Direct marketing: an objection to direct marketing (Art. 21(2)) withdraws every such purpose.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    # A changed legal basis changes every later decision: keep who changed what, and when.
    history = HistoricalRecords()

    class Meta:
        ordering = ["key"]
        constraints = [
            models.CheckConstraint(
                condition=Q(retention_days__isnull=True) | Q(retention_days__gt=0), name="purpose_retention_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.key


class Channel(models.Model):
    """How a customer is contacted or where consent is asked: e-mail, SMS, phone, post, web, store, app."""

    key = models.SlugField(max_length=20, unique=True)
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.name or self.key


class PolicyVersion(models.Model):
    """The wording a customer was shown for a purpose. Versioned and never edited: a new text is a new version."""

    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT, related_name="policy_versions")
    version = models.CharField(max_length=32, help_text='As the files name it, e.g. "2024-01".')
    text = models.TextField()
    published_at = models.DateTimeField()

    class Meta:
        ordering = ["purpose", "-published_at"]
        constraints = [
            models.UniqueConstraint(fields=["purpose", "version"], name="policyversion_unique_per_purpose"),
        ]

    def __str__(self) -> str:
        return f"{self.purpose_id}:{self.version}"


class ConsentEvent(models.Model):
    """One grant or withdrawal, as captured. Append-only: the current state is the latest event, never an update."""

    source_key = models.CharField(max_length=50, help_text="Key of the source system the event came from.")
    event_key = models.CharField(
        max_length=64, help_text="Hash of the event's content: the same event imported twice is stored once."
    )
    customer = models.ForeignKey(
        "cdp.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="consent_events"
    )
    subject_external_id = models.CharField(
        max_length=128, help_text="The customer's id in the source; kept so a customer imported later is linked."
    )
    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT, related_name="events")
    channel = models.ForeignKey(Channel, null=True, blank=True, on_delete=models.PROTECT, related_name="events")
    status = models.CharField(max_length=10, choices=ConsentStatus.choices)
    occurred_at = models.DateTimeField(help_text="When the customer gave or withdrew consent.")
    captured_via = models.CharField(
        max_length=50, blank=True, help_text="Where it was captured: web, app, store, call_centre, email, post, ..."
    )
    policy_version = models.CharField(max_length=32, blank=True, help_text="The wording's version, as given.")
    policy = models.ForeignKey(
        PolicyVersion,
        null=True,
        blank=True,
        on_delete=models.PROTECT,  # the wording is the proof of what was consented to
        related_name="events",
        help_text="The published wording that matches policy_version, when there is one.",
    )
    evidence = models.TextField(blank=True, help_text="Form id, IP address and user agent, call-centre agent, ...")
    recorded_at = models.DateTimeField(auto_now_add=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        permissions = [
            # Batches of consents (API, files) speak for many customers at once: a right of its own, given to the
            # integration that collects consent, never implied by importing other data.
            ("import_consentevent", "Can import consent events in batches"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["source_key", "event_key"], name="consentevent_unique_event"),
            models.CheckConstraint(condition=Q(status__in=ConsentStatus.values), name="consentevent_known_status"),
        ]
        indexes = [
            # The current state of a customer: latest event per (purpose, channel).
            models.Index(fields=["customer", "purpose", "channel", "occurred_at"], name="consentevent_state_idx"),
            # The DPO's search by a subject's id, and linking the events of a customer imported later.
            models.Index(fields=["subject_external_id", "source_key"], name="consentevent_subject_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.source_key}:{self.subject_external_id} {self.status} {local_date(self.occurred_at)}"

    @property
    def granted(self) -> bool:
        return self.status == ConsentStatus.GRANTED
