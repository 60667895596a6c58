"""Admin of the processing register (GDPR Art. 30): the DPO edits activities, reads the runs, exports CSV and PDF."""

from __future__ import annotations

from simple_history.admin import SimpleHistoryAdmin

from django.contrib import admin, messages
from django.db.models import Count, Max, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from consent.admin_base import ReadOnlyAdmin, ReadOnlyInline
from consent.models import Controller, ProcessingActivity, ProcessingRun
from consent.services.register import processing_activities_review
from consent.services.register_export import register_export_csv, register_export_pdf

INLINE_RUNS = 50


def _download(content: bytes, content_type: str, extension: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="processing-register-{stamp}.{extension}"'
    return response


@admin.register(Controller)
class ControllerAdmin(SimpleHistoryAdmin):
    list_display = ("name", "email", "dpo_name", "dpo_email", "updated_at")
    search_fields = ("name",)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the register names its controller: activities keep pointing at it


class ProcessingRunInline(ReadOnlyInline):
    """The latest runs recorded under the activity; the full list is on the runs page, filtered by activity."""

    model = ProcessingRun
    fields = ("kind", "status", "started_at", "finished_at", "actor", "counts", "reference")
    max_num = 0
    show_change_link = True
    verbose_name_plural = f"latest runs (up to {INLINE_RUNS})"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor").order_by("-started_at", "-pk")


@admin.register(ProcessingActivity)
class ProcessingActivityAdmin(SimpleHistoryAdmin):
    list_display = (
        "name",
        "key",
        "legal_basis",
        "dpia_status",
        "last_reviewed_on",
        "is_active",
        "run_count",
        "latest_run",
    )
    list_filter = ("legal_basis", "dpia_status", "is_active", "purposes", "controller")
    list_select_related = ("controller",)
    search_fields = ("name", "key", "purpose_description")
    filter_horizontal = ("purposes",)
    readonly_fields = ("runs_link", "created_at", "updated_at")
    inlines = (ProcessingRunInline,)
    actions = ("export_csv", "export_pdf", "mark_reviewed")
    fieldsets = (
        (None, {"fields": ("key", "name", "controller", "joint_controllers", "is_active")}),
        (
            "Purposes and legal basis",
            {"fields": ("purpose_description", "purposes", "legal_basis", "legal_basis_details")},
        ),
        (
            "Data, recipients and transfers",
            {
                "fields": (
                    "data_subject_categories",
                    "personal_data_categories",
                    "recipient_categories",
                    "third_country_transfers",
                    "transfer_safeguards",
                )
            },
        ),
        ("Retention and security", {"fields": ("retention_period", "security_measures")}),
        ("Impact assessment and review", {"fields": ("dpia_status", "dpia_notes", "last_reviewed_on")}),
        ("Runs", {"fields": ("runs_link", "created_at", "updated_at")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_run_count=Count("runs"), _latest_run=Max("runs__started_at"))

    def get_formset_kwargs(self, request, obj, inline, prefix):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, ProcessingRunInline) and obj is not None and obj.pk is not None:
            # An activity such as imports gathers thousands of runs: the form shows the latest ones only.
            latest = list(obj.runs.order_by("-started_at", "-pk").values_list("pk", flat=True)[:INLINE_RUNS])
            kwargs["queryset"] = kwargs["queryset"].filter(pk__in=latest)
        return kwargs

    def get_readonly_fields(self, request, obj=None):
        # The product records its runs under the key: it is set once.
        return (*self.readonly_fields, "key") if obj is not None else self.readonly_fields

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # an activity stops (is_active), it never disappears from the record

    @admin.display(description="runs", ordering="_run_count")
    def run_count(self, obj: ProcessingActivity) -> int:
        return obj._run_count

    @admin.display(description="latest run", ordering="_latest_run")
    def latest_run(self, obj: ProcessingActivity):
        return obj._latest_run

    @admin.display(description="all runs")
    def runs_link(self, obj: ProcessingActivity) -> str:
        if obj.pk is None:
            return "-"
        url = reverse("admin:consent_processingrun_changelist") + f"?activity__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, "Every run recorded under this activity")

    @admin.action(description="Export the selected activities as CSV", permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet[ProcessingActivity]) -> HttpResponse:
        return _download(register_export_csv(activities=queryset), "text/csv; charset=utf-8", "csv")

    @admin.action(description="Export the selected activities as PDF", permissions=["view"])
    def export_pdf(self, request: HttpRequest, queryset: QuerySet[ProcessingActivity]) -> HttpResponse:
        return _download(register_export_pdf(activities=queryset), "application/pdf", "pdf")

    @admin.action(description="Mark the selected activities as reviewed today", permissions=["change"])
    def mark_reviewed(self, request: HttpRequest, queryset: QuerySet[ProcessingActivity]) -> None:
        marked = processing_activities_review(activities=queryset, actor=request.user)
        self.message_user(request, f"{marked} activities marked as reviewed today.", messages.SUCCESS)


@admin.register(ProcessingRun)
class ProcessingRunAdmin(ReadOnlyAdmin):
    """Runs are recorded by the product: read-only here."""

    list_display = ("started_at", "activity", "kind", "status", "finished_at", "actor", "counts", "reference")
    list_filter = ("activity", "kind", "status")
    list_select_related = ("activity", "actor")
    date_hierarchy = "started_at"
    ordering = ("-started_at", "-pk")
    show_full_result_count = False
    list_per_page = 50
