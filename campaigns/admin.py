"""Campaigns in the admin: campaigns and rules read-only beside the pages; briefs' downloads as the audit."""

from __future__ import annotations

from django.contrib import admin

from campaigns.models import Brief, BriefDownload, Campaign, CampaignResult, DecisionRule


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class RuleInline(admin.TabularInline):
    model = DecisionRule
    extra = 0
    fields = ("priority", "name", "segment", "score_field", "band", "offer", "channel", "arm")
    raw_id_fields = ("segment",)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Campaign)
class CampaignAdmin(ReadOnly):
    list_display = ("name", "status", "purpose", "channel", "starts_on", "ends_on", "audience_size", "control_size")
    list_filter = ("status", "purpose", "channel")
    list_select_related = ("purpose", "channel")
    search_fields = ("name",)
    inlines = [RuleInline]


@admin.register(Brief)
class BriefAdmin(ReadOnly):
    list_display = ("id", "campaign", "rep", "status", "lead_count", "created_at", "expires_at")
    list_filter = ("status",)
    list_select_related = ("campaign", "rep")


@admin.register(BriefDownload)
class BriefDownloadAdmin(ReadOnly):
    list_display = ("at", "brief", "user", "format", "leads")
    list_select_related = ("brief", "user")
    date_hierarchy = "at"


@admin.register(CampaignResult)
class CampaignResultAdmin(ReadOnly):
    list_display = ("id", "campaign", "computed_at", "window_start", "window_end")
    list_select_related = ("campaign",)
