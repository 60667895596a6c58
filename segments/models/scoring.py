"""Predictive models as versions (a registry, as MLflow keeps one) and the scores each version gave customers."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class ModelVersion(models.Model):
    """One fitted model of a kind: what it learned from, how it did on the horizon after its date, and the artefact.

    The artefact is the fitted pipeline (joblib) the product wrote itself; its SHA-256 is checked before it is ever
    loaded. One version per kind is active: the one whose scores the profile, the API and campaigns read.
    """

    class Kind(models.TextChoices):
        CHURN = "churn", "Churn risk"
        PROPENSITY = "propensity", "Purchase propensity"
        CLV = "clv", "Lifetime value"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        NOT_ENOUGH_DATA = "not_enough_data", "Not enough data"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=12, choices=Kind.choices)
    number = models.PositiveIntegerField(help_text="The version's number within its kind (v1, v2...).")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    algorithm = models.CharField(max_length=80, blank=True)
    parameters = models.JSONField(default=dict, blank=True, help_text="Fitted parameters and settings used.")
    metrics = models.JSONField(default=dict, blank=True, help_text="Validation and back-test metrics, baselines.")
    snapshot = models.ForeignKey(
        "cdp.FeatureSnapshot", null=True, blank=True, on_delete=models.PROTECT, related_name="model_versions"
    )
    as_of = models.DateTimeField(help_text="Scores are as of this moment; nothing at or after it was read to fit.")
    horizon_days = models.PositiveIntegerField()
    training_start = models.DateTimeField(null=True, blank=True)
    training_end = models.DateTimeField(null=True, blank=True)
    customers = models.IntegerField(default=0, help_text="Customers the model was fitted on.")
    scored = models.IntegerField(default=0, help_text="Customers scored.")
    library_versions = models.JSONField(default=dict, blank=True)
    seed = models.PositiveIntegerField(default=42)
    artefact = models.BinaryField(null=True, blank=True, help_text="The fitted model (joblib, written by us only).")
    artefact_sha256 = models.CharField(max_length=64, blank=True)
    is_active = models.BooleanField(default=False)
    message = models.TextField(blank=True, help_text="Why there is no model (not enough data, an error).")
    actor = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    seconds = models.FloatField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "number"], name="modelversion_unique_number"),
            models.UniqueConstraint(
                fields=["kind"], condition=Q(is_active=True), name="modelversion_one_active_per_kind"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        """How people read it: "churn v3 (2026-12-06)"."""
        made = self.created_at or self.as_of
        return f"{self.kind} v{self.number} ({made:%Y-%m-%d})"


class CustomerScore(models.Model):
    """A customer's score from one model version: the kind's main figure (indexed), its band, and the rest.

    `details` holds the other figures by their column names (p_alive, expected_purchases, purchase_probability_<c>,
    churn_reasons...). related_name "+": a score is what the version said of that customer.
    """

    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="scores")
    customer = models.ForeignKey("cdp.Customer", on_delete=models.CASCADE, related_name="+")
    score = models.FloatField(help_text="churn_probability, purchase_probability or expected_value.")
    band = models.CharField(max_length=10, blank=True)
    details = models.JSONField(default=dict, blank=True)
    scored_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["version", "customer"], name="customerscore_unique")]
        indexes = [
            models.Index(fields=["version", "score"], name="customerscore_version_score"),
            models.Index(fields=["customer"], name="customerscore_customer_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.score:.3f} ({self.version_id})"
