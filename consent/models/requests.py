"""Data-subject requests (GDPR Art. 15-22), their audit trail, exports, restrictions, erasure receipts, suppression.

The subject is ``cdp.Customer``, named by a lazy string reference (a schema link, not a Python import), as the
ledger does. Nothing here holds a subject's identifiers once they are erased: the erasure receipt and the
suppression list keep keyed hashes (HMAC with PSEUDONYMISATION_KEY) and counts only.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consent.display import local_datetime


class RequestKind(models.TextChoices):
    ACCESS = "access", _("Access (Art. 15)")
    PORTABILITY = "portability", _("Portability (Art. 20)")
    ERASURE = "erasure", _("Erasure (Art. 17)")
    RECTIFICATION = "rectification", _("Rectification (Art. 16)")
    RESTRICTION = "restriction", _("Restriction of processing (Art. 18)")
    OBJECTION = "objection", _("Objection (Art. 21)")


class RequestChannel(models.TextChoices):
    ADMIN = "admin", _("Admin")
    API = "api", _("API")
    PREFERENCE_PAGE = "preference_page", _("Preference page")
    EMAIL = "email", _("E-mail")
    POST = "post", _("Post")
    PHONE = "phone", _("Phone")
    STORE = "store", _("In store")
    OTHER = "other", _("Other")


class RequestStatus(models.TextChoices):
    RECEIVED = "received", _("Received, identity to verify")
    IN_PROGRESS = "in_progress", _("Identity verified, in progress")
    COMPLETED = "completed", _("Completed")
    REJECTED = "rejected", _("Rejected")


OPEN_STATUSES = (RequestStatus.RECEIVED, RequestStatus.IN_PROGRESS)


class DataSubjectRequestQuerySet(models.QuerySet):
    def open(self) -> DataSubjectRequestQuerySet:
        return self.filter(status__in=OPEN_STATUSES)

    def overdue(self, now: dt.datetime | None = None) -> DataSubjectRequestQuerySet:
        return self.open().filter(due_at__lt=now or timezone.now())


class DataSubjectRequest(models.Model):
    """One request of a data subject, answered within one month of receipt (Art. 12(3)), extendable by two."""

    kind = models.CharField(max_length=20, choices=RequestKind.choices)
    status = models.CharField(max_length=12, choices=RequestStatus.choices, default=RequestStatus.RECEIVED)
    received_via = models.CharField(max_length=20, choices=RequestChannel.choices)
    received_at = models.DateTimeField(help_text="When the request reached the company: the deadline runs from it.")
    due_at = models.DateTimeField(help_text="One month after receipt, or later when extended.")
    original_due_at = models.DateTimeField(help_text="One month after receipt, whatever the extensions.")
    extension_reason = models.TextField(blank=True, help_text="Why the deadline was extended (Art. 12(3)).")
    customer = models.ForeignKey(
        "cdp.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="subject_requests"
    )
    subject_reference = models.CharField(
        max_length=255,
        blank=True,
        help_text="How the requester identified themselves when no customer is linked yet (cleared on erasure).",
    )
    details = models.TextField(blank=True, help_text="What the subject asks for, in their words (cleared on erasure).")
    objection_scope = models.CharField(
        max_length=20,
        blank=True,
        help_text='Objections: "direct_marketing" (Art. 21(2), every marketing purpose) or a purpose key.',
    )
    identity_verified_at = models.DateTimeField(null=True, blank=True)
    identity_verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    identity_verification = models.CharField(
        max_length=255, blank=True, help_text="How the identity was verified (never a copy of an identity document)."
    )
    outcome = models.TextField(blank=True, help_text="What was done, or why the request was rejected.")
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    deadline_warned_for = models.DateTimeField(
        null=True, blank=True, help_text="The due date the last deadline warning was sent for (one warning per date)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = DataSubjectRequestQuerySet.as_manager()

    class Meta:
        ordering = ["due_at", "pk"]
        verbose_name = "data-subject request"
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=RequestKind.values), name="dsr_known_kind"),
            models.CheckConstraint(condition=Q(status__in=RequestStatus.values), name="dsr_known_status"),
            models.CheckConstraint(condition=Q(due_at__gte=models.F("original_due_at")), name="dsr_due_not_earlier"),
        ]
        indexes = [models.Index(fields=["status", "due_at"], name="dsr_open_due_idx")]

    def __str__(self) -> str:
        return f"DSR-{self.pk} {self.get_kind_display()}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_overdue(self) -> bool:
        return self.is_open and self.due_at < timezone.now()

    @property
    def is_extended(self) -> bool:
        return self.due_at > self.original_due_at


class RequestAction(models.TextChoices):
    CREATED = "created", _("Created")
    IDENTITY_VERIFIED = "identity_verified", _("Identity verified")
    CUSTOMER_LINKED = "customer_linked", _("Customer linked")
    EXTENDED = "extended", _("Deadline extended")
    EXPORT_PRODUCED = "export_produced", _("Export produced")
    EXPORT_DOWNLOADED = "export_downloaded", _("Export downloaded")
    ERASED = "erased", _("Subject erased")
    RESTRICTED = "restricted", _("Processing restricted")
    RESTRICTION_LIFTED = "restriction_lifted", _("Restriction lifted")
    OBJECTION_RECORDED = "objection_recorded", _("Objection recorded")
    RECTIFIED = "rectified", _("Rectification recorded")
    DEADLINE_WARNING = "deadline_warning", _("Deadline warning sent")
    COMPLETED = "completed", _("Completed")
    REJECTED = "rejected", _("Rejected")


class DataSubjectRequestEvent(models.Model):
    """The audit trail of a request: who did what, when. Append-only; notes never hold the subject's identifiers."""

    request = models.ForeignKey(DataSubjectRequest, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=20, choices=RequestAction.choices)
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True, help_text="Kept when the user account is removed.")
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["request", "at"], name="dsrevent_request_idx")]

    def __str__(self) -> str:
        # In local time and the locale's format, like the row it captions in the admin.
        return f"{self.get_action_display()}, {local_datetime(self.at)}"


class SubjectExport(models.Model):
    """A portability archive: produced by a task, downloadable once by the DPO through an expiring link."""

    request = models.ForeignKey(
        DataSubjectRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="exports"
    )
    customer = models.ForeignKey(
        "cdp.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="subject_exports"
    )
    file = models.CharField(max_length=255, blank=True, help_text="Path under MEDIA_ROOT; emptied once deleted.")
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.BigIntegerField(default=0)
    token_hash = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the download token.")
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    downloaded_at = models.DateTimeField(null=True, blank=True)
    downloaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    deleted_at = models.DateTimeField(null=True, blank=True, help_text="When the file was removed from the disk.")
    task_id = models.CharField(max_length=64, blank=True, help_text="The task that produced it (its result is erased).")

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["customer"], name="subjectexport_customer_idx")]

    def __str__(self) -> str:
        return f"Export {self.pk} ({local_datetime(self.created_at)})"


class ProcessingRestriction(models.Model):
    """Art. 18: while in force, the customer's data is stored but not processed; the profile is read-only."""

    customer = models.ForeignKey("cdp.Customer", on_delete=models.CASCADE, related_name="restrictions")
    request = models.ForeignKey(
        DataSubjectRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="restrictions"
    )
    reason = models.TextField(help_text="Art. 18(1): contested accuracy, unlawful processing, legal claims, objection.")
    started_at = models.DateTimeField(default=timezone.now)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lift_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"], condition=Q(lifted_at__isnull=True), name="restriction_one_in_force"
            ),
        ]
        indexes = [
            # "Is this customer restricted?" reads only the restrictions in force.
            models.Index(fields=["customer"], condition=Q(lifted_at__isnull=True), name="restriction_in_force_idx"),
        ]

    def __str__(self) -> str:
        state = "in force" if self.lifted_at is None else "lifted"
        return f"Restriction {self.pk} ({state})"


class ErasureReceipt(models.Model):
    """Proof of an erasure: what was erased or kept anonymised, when, by whom, why. Holds no personal data."""

    reference = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    subject_digest = models.CharField(
        max_length=64,
        help_text="HMAC of the erased customer's id: answers 'was this customer erased?', reveals nothing.",
    )
    request = models.ForeignKey(
        DataSubjectRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="erasure_receipts"
    )
    reason = models.TextField()
    erased_at = models.DateTimeField(default=timezone.now)
    erased_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)
    suppressed = models.BooleanField(help_text="Whether the identifiers went on the suppression list.")
    identifiers_suppressed = models.IntegerField(default=0)
    summary = models.JSONField(
        default=list, help_text="Per model: action (deleted, anonymised, kept), row count and legal reason."
    )
    files_deleted = models.IntegerField(default=0)
    task_results_deleted = models.IntegerField(default=0)

    class Meta:
        ordering = ["-erased_at", "-pk"]
        indexes = [models.Index(fields=["subject_digest"], name="erasurereceipt_subject_idx")]

    def __str__(self) -> str:
        return f"Erasure {self.reference} ({local_datetime(self.erased_at)})"


class SuppressedIdentifier(models.Model):
    """An erased subject's identifier, as a keyed hash: imports refuse it, and nobody can read it back."""

    class Kind(models.TextChoices):
        EMAIL = "email", "E-mail"
        PHONE = "phone", "Phone"
        EXTERNAL_ID = "external_id", "Source external id"
        # A value the subject shared with others (a household's e-mail or landline), with the person who held it.
        EMAIL_HOLDER = "email_holder", "Shared e-mail, with its erased holder"
        PHONE_HOLDER = "phone_holder", "Shared phone, with its erased holder"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    digest = models.CharField(max_length=64, help_text="HMAC-SHA256 of the normalised value (PSEUDONYMISATION_KEY).")
    receipt = models.ForeignKey(
        ErasureReceipt, null=True, blank=True, on_delete=models.SET_NULL, related_name="suppressed_identifiers"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "digest"], name="suppression_unique_digest")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.digest[:12]}…"
