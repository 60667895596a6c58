"""Segmentation in the admin: runs and segments, read-only (runs are made by the `segment` command, the pages or
the API; segments are edited on the segmentation pages)."""

from __future__ import annotations

from django.contrib import admin

from segments.models import Segment, SegmentationRun


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
