"""The record of processing activities (GDPR Art. 30) and the runs the product performed under each activity.

An activity holds every field Art. 30(1) asks for, plus its legal basis, DPIA status and last review; the DPO edits
it in the admin and simple-history keeps each change. A run is one import, resolution, segmentation, scoring,
campaign or retention sweep: the activity it belongs to, when, by whom, counts and a reference to the run's own row.
A run never holds personal data: counts are integers and parameters are the run's settings.
"""

from __future__ import annotations

from simple_history.models import HistoricalRecords

from django.conf import settings
from django.db import models
from django.db.models import Q

from consent.display import local_datetime
from consent.models.ledger import LegalBasis, Purpose


class Controller(models.Model):
    """Art. 30(1)(a): the controller, its representative and its data protection officer, with their contacts."""

    name = models.CharField(max_length=200)
    address = models.TextField(blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    representative = models.TextField(
        blank=True, help_text="Representative in the Union (Art. 27), when the controller is established outside it."
    )
    dpo_name = models.CharField("DPO name", max_length=200, blank=True)
    dpo_email = models.EmailField("DPO e-mail", blank=True)
    dpo_phone = models.CharField("DPO phone", max_length=40, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def contact(self) -> str:
        return "; ".join(part for part in (self.address, self.email, self.phone) if part)

    @property
    def dpo_contact(self) -> str:
        return "; ".join(part for part in (self.dpo_name, self.dpo_email, self.dpo_phone) if part)


class DpiaStatus(models.TextChoices):
    """Art. 35: whether a data protection impact assessment is needed, and where it stands."""

    NOT_ASSESSED = "not_assessed", "Not assessed yet"
    NOT_REQUIRED = "not_required", "Not required"
    REQUIRED = "required", "Required, not started"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"


class ProcessingActivity(models.Model):
    """One processing activity of the register, with every field of Art. 30(1)."""

    key = models.SlugField(
        max_length=50, unique=True, help_text="The product records its runs under this key: it never changes."
    )
    name = models.CharField(max_length=150)
    controller = models.ForeignKey(Controller, on_delete=models.PROTECT, related_name="activities")
    joint_controllers = models.TextField(blank=True, help_text="Joint controllers and their contacts, if any.")
    purposes = models.ManyToManyField(
        Purpose, blank=True, related_name="activities", help_text="The consent purposes this activity serves."
    )
    purpose_description = models.TextField("purposes of the processing", help_text="Art. 30(1)(b).")
    legal_basis = models.CharField(max_length=20, choices=LegalBasis.choices)
    legal_basis_details = models.TextField(blank=True, help_text="The legitimate interest pursued, the law, ...")
    data_subject_categories = models.TextField("categories of data subjects", help_text="Art. 30(1)(c).")
    personal_data_categories = models.TextField("categories of personal data", help_text="Art. 30(1)(c).")
    recipient_categories = models.TextField(
        "categories of recipients", help_text="Art. 30(1)(d), including recipients in third countries."
    )
    third_country_transfers = models.TextField(
        "transfers to third countries",
        default="None",
        help_text="Art. 30(1)(e): the countries or international organisations, or None.",
    )
    transfer_safeguards = models.TextField(
        blank=True, help_text="Art. 30(1)(e) and 49(1): the safeguards of each transfer (adequacy decision, SCCs, ...)."
    )
    retention_period = models.TextField("time limits for erasure", help_text="Art. 30(1)(f).")
    security_measures = models.TextField("technical and organisational security measures", help_text="Art. 30(1)(g).")
    dpia_status = models.CharField(
        "DPIA status", max_length=20, choices=DpiaStatus.choices, default=DpiaStatus.NOT_ASSESSED
    )
    dpia_notes = models.TextField("DPIA notes", blank=True)
    last_reviewed_on = models.DateField(null=True, blank=True)
    is_active = models.BooleanField(default=True, help_text="Activities are never deleted: they stop instead.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(m2m_fields=[purposes])

    class Meta:
        ordering = ["name"]
        verbose_name = "processing activity"
        verbose_name_plural = "processing activities"
        constraints = [
            models.CheckConstraint(condition=Q(legal_basis__in=LegalBasis.values), name="activity_known_basis"),
            models.CheckConstraint(condition=Q(dpia_status__in=DpiaStatus.values), name="activity_known_dpia"),
        ]

    def __str__(self) -> str:
        return self.name


class RunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    PARTIAL = "partial", "Succeeded in part"
    FAILED = "failed", "Failed"


class ProcessingRun(models.Model):
    """One run of processing the product performed, under the activity of the register it belongs to."""

    activity = models.ForeignKey(ProcessingActivity, on_delete=models.PROTECT, related_name="runs")
    kind = models.CharField(max_length=50, help_text='What ran: "import_customers", "identity_resolution", ...')
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.RUNNING)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    counts = models.JSONField(default=dict, blank=True, help_text="Name -> integer: rows read, created, deleted, ...")
    parameters = models.JSONField(default=dict, blank=True, help_text="The run's settings; never personal data.")
    reference_type = models.CharField(
        max_length=100, blank=True, help_text='The run\'s own row, as "app_label.model" (e.g. cdp.importbatch).'
    )
    reference_id = models.CharField(max_length=64, blank=True)
    message = models.CharField(max_length=255, blank=True, help_text="How a failed run ended (an error's type).")

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=RunStatus.values), name="processingrun_known_status"),
        ]
        indexes = [
            # The register lists what was done under an activity, newest first.
            models.Index(fields=["activity", "started_at"], name="processingrun_activity_idx"),
            models.Index(fields=["reference_type", "reference_id"], name="processingrun_reference_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {local_datetime(self.started_at)}"

    @property
    def reference(self) -> str:
        return f"{self.reference_type}:{self.reference_id}" if self.reference_type else ""
