"""Segmentation runs, their segments, and customers' membership of them over time."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class SegmentationRun(models.Model):
    """One clustering of the customers who may be profiled, from one feature snapshot; the analyst may freeze it."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class Algorithm(models.TextChoices):
        KMEANS = "kmeans", "k-means"
        WARD = "ward", "Hierarchical (Ward)"
        HDBSCAN = "hdbscan", "HDBSCAN"
        OPTICS = "optics", "OPTICS"
        DBSCAN = "dbscan", "DBSCAN"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Per cent done.")
    step = models.CharField(max_length=100, blank=True, help_text="What the run is doing now.")
    algorithm = models.CharField(max_length=10, choices=Algorithm.choices, default=Algorithm.KMEANS)
    k_requested = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Empty: chosen automatically.")
    k = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Segments found.")
    as_of = models.DateTimeField()
    snapshot = models.ForeignKey(
        "cdp.FeatureSnapshot", null=True, blank=True, on_delete=models.PROTECT, related_name="segmentation_runs"
    )
    seed = models.PositiveIntegerField(default=42)
    parameters = models.JSONField(default=dict, blank=True, help_text="Features, transforms, PCA, sampling.")
    metrics = models.JSONField(default=dict, blank=True, help_text="Silhouette, Calinski-Harabasz, Davies-Bouldin...")
    curve = models.JSONField(default=list, blank=True, help_text="The metrics of every k tried.")
    scatter = models.JSONField(default=list, blank=True, help_text="A sample of customers on the first two axes.")
    rfm_crosstab = models.JSONField(default=dict, blank=True, help_text="Segments × RFM classes.")
    stability = models.JSONField(default=dict, blank=True, help_text="Bootstrap stability, drift from the last run.")
    alerts = models.JSONField(default=list, blank=True)
    customers = models.IntegerField(default=0)
    is_active = models.BooleanField(default=False, help_text="The frozen segmentation new customers are assigned to.")
    frozen_at = models.DateTimeField(null=True, blank=True)
    frozen_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    classifier = models.BinaryField(null=True, blank=True, help_text="The assignment model (joblib, ours only).")
    classifier_sha256 = models.CharField(max_length=64, blank=True)
    classifier_metrics = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    task_id = models.CharField(max_length=255, blank=True)
    message = models.TextField(blank=True)
    seconds = models.FloatField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=Q(is_active=True), name="segmentationrun_one_active"
            )
        ]

    def __str__(self) -> str:
        return f"Segmentation {self.pk} ({self.get_algorithm_display()}, {self.created_at:%Y-%m-%d})"

    @property
    def done(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)


class Segment(models.Model):
    """A group of customers of a run, named from the features that set it apart (the analyst may rename it)."""

    run = models.ForeignKey(SegmentationRun, on_delete=models.CASCADE, related_name="segments")
    number = models.PositiveSmallIntegerField(help_text="The run's label for the group.")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    generated_name = models.CharField(max_length=120, blank=True)
    profile = models.JSONField(default=list, blank=True, help_text="Features that set it apart, with plain values.")
    centroid = models.JSONField(default=list, blank=True, help_text="Mean of each feature, in the snapshot's order.")
    size = models.IntegerField(default=0)
    revenue_share = models.FloatField(default=0)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    is_noise = models.BooleanField(default=False, help_text="Density methods leave some customers in no cluster.")
    retired = models.BooleanField(default=False, help_text="Merged into another or split: no customer left in it.")
    renamed_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["run", "number"]
        constraints = [models.UniqueConstraint(fields=["run", "number"], name="segment_unique_number")]

    def __str__(self) -> str:
        return self.name


class SegmentMembership(models.Model):
    """A customer's time in a segment: entered, and left when a later assignment moved them (history kept).

    related_name "+": a merge of customers re-points every relation of Customer, but a membership says which segment
    a customer was in, as that customer.
    """

    class Origin(models.TextChoices):
        CLUSTERING = "clustering", "Clustering run"
        ASSIGNMENT = "assignment", "Assigned by the classifier"
        EDIT = "edit", "Merge or split by an analyst"

    customer = models.ForeignKey("cdp.Customer", on_delete=models.CASCADE, related_name="+")
    run = models.ForeignKey(SegmentationRun, on_delete=models.CASCADE, related_name="memberships")
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="memberships")
    origin = models.CharField(max_length=12, choices=Origin.choices, default=Origin.CLUSTERING)
    entered_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["run", "customer"], condition=Q(left_at__isnull=True), name="membership_one_current"
            )
        ]
        indexes = [
            models.Index(fields=["segment", "left_at"], name="membership_segment_idx"),
            models.Index(fields=["customer", "entered_at"], name="membership_customer_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} in {self.segment_id}"
