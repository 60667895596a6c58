"""Segmentation in the admin: runs and segments, read-only (runs are made by the `segment` command, the pages or
the API; segments are edited on the segmentation pages)."""

from __future__ import annotations

from django.contrib import admin

from segments.models import ModelVersion, Segment, SegmentationRun


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SegmentationRun)
class SegmentationRunAdmin(ReadOnly):
    list_display = ("id", "created_at", "algorithm", "status", "k", "customers", "is_active", "actor")
    list_filter = ("status", "algorithm", "is_active")
    list_select_related = ("actor",)
    exclude = ("classifier", "scatter")
    date_hierarchy = "created_at"


@admin.register(Segment)
class SegmentAdmin(ReadOnly):
    list_display = ("name", "run", "size", "revenue_share", "retired")
    list_filter = ("retired",)
    list_select_related = ("run",)
    search_fields = ("name",)


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnly):
    """The model registry: every version with its metrics (the artefact itself stays out of the page)."""

    list_display = ("__str__", "kind", "status", "algorithm", "as_of", "horizon_days", "customers", "scored",
                    "headline_metric", "is_active")  # fmt: skip
    list_filter = ("kind", "status", "is_active")
    list_select_related = ("snapshot",)
    exclude = ("artefact",)
    readonly_fields = ("artefact_size",)
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        return super().get_queryset(request).defer("artefact")

    @admin.display(description="headline metric")
    def headline_metric(self, version: ModelVersion) -> str:
        metrics = version.metrics or {}
        source = metrics.get("backtest") or metrics.get("validation") or {}
        if version.kind == "churn":
            value = (source.get(metrics.get("kept_model", "gradient_boosting")) or {}).get("roc_auc")
            return "" if value is None else f"ROC-AUC {value:.3f}"
        if version.kind == "propensity":
            value = (source.get("purchase_probability") or {}).get("roc_auc")
            return "" if value is None else f"ROC-AUC {value:.3f}"
        if "bgnbd" in source:
            return f"purchases {source['bgnbd']['total_error']:+.1%}, MAE {source['bgnbd']['mae']:.2f}"
        return version.message[:60]

    @admin.display(description="stored model")
    def artefact_size(self, version: ModelVersion) -> str:
        size = ModelVersion.objects.filter(pk=version.pk).values_list("artefact", flat=True).first()
        return f"{len(size or b''):,} bytes, SHA-256 {version.artefact_sha256}"
