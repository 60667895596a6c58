"""Admin of purposes, channels, policy wording and the consent ledger (append-only: events are added, never edited)."""

from __future__ import annotations

from simple_history.admin import SimpleHistoryAdmin

from django import forms
from django.contrib import admin
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.functional import cached_property

from consent.models import Channel, ConsentEvent, PolicyVersion, Purpose
from consent.services.ledger import consent_event_check, consent_event_record
from consent.services.policies import policy_version_publish


class LedgerPaginator(Paginator):
    """Counts at most COUNT_LIMIT rows, so the ledger's pages never scan millions of rows for a page count."""

    COUNT_LIMIT = 10_000

    @cached_property
    def count(self) -> int:
        object_list = self.object_list
        if isinstance(object_list, QuerySet):
            return object_list.order_by().values("pk")[: self.COUNT_LIMIT].count()
        return min(len(object_list), self.COUNT_LIMIT)


@admin.register(Purpose)
class PurposeAdmin(SimpleHistoryAdmin):
    list_display = ("key", "name", "legal_basis", "retention_days", "direct_marketing", "is_active", "created_at")
    list_filter = ("legal_basis", "direct_marketing", "is_active")
    search_fields = ("key", "name")
    readonly_fields = ("created_at",)


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ("key", "name")
    search_fields = ("key", "name")


@admin.register(PolicyVersion)
class PolicyVersionAdmin(admin.ModelAdmin):
    list_display = ("purpose", "version", "published_at")
    list_filter = ("purpose",)
    list_select_related = ("purpose",)
    search_fields = ("version", "purpose__key")
    fields = ("purpose", "version", "text", "published_at")

    def get_readonly_fields(self, request, obj=None):
        # Customers consented to the words they were shown: a saved version is evidence, never edited.
        return self.fields if obj is not None else ()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj: PolicyVersion, form, change: bool) -> None:
        if change:
            return
        created = policy_version_publish(
            purpose=obj.purpose, version=obj.version, text=obj.text, published_at=obj.published_at
        )
        obj.pk, obj.published_at = created.pk, created.published_at


class ConsentEventAddForm(forms.ModelForm):
    """A grant or a withdrawal recorded by staff: the service's checks run here, so a mistake is shown on the form."""

    class Meta:
        model = ConsentEvent
        fields = ("customer", "purpose", "channel", "status", "occurred_at", "captured_via", "evidence")
        help_texts = {"evidence": "The proof: call reference and agent, signed form, letter, ..."}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["customer"].required = True
        self.fields["occurred_at"].initial = timezone.now

    def clean(self):
        data = super().clean()
        if all(data.get(name) for name in ("purpose", "status", "occurred_at")):
            consent_event_check(
                purpose=data["purpose"],
                status=data["status"],
                occurred_at=data["occurred_at"],
                evidence=data.get("evidence", ""),
            )
        return data


@admin.register(ConsentEvent)
class ConsentEventAdmin(admin.ModelAdmin):
    list_display = (
        "occurred_at",
        "source_key",
        "subject_external_id",
        "customer",
        "purpose",
        "channel",
        "status",
        "captured_via",
        "policy_version",
    )
    list_filter = ("status", "purpose", "channel")
    list_select_related = ("customer", "purpose", "channel")
    search_fields = ("=subject_external_id",)
    raw_id_fields = ("customer", "policy", "recorded_by")
    ordering = ("-pk",)  # the primary key is always indexed: newest recorded first without a sort of the table
    paginator = LedgerPaginator
    show_full_result_count = False
    list_per_page = 50

    # The ledger is append-only: staff add an event (a grant or a withdrawal they took by phone, in store, by post),
    # through the same service as the other writes; no event is ever changed or removed here.
    add_fields = ("customer", "purpose", "channel", "status", "occurred_at", "captured_via", "evidence")

    def get_fields(self, request, obj=None):
        return self.add_fields if obj is None else super().get_fields(request, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ConsentEventAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def save_model(self, request, obj, form, change) -> None:
        if change:
            return
        data = form.cleaned_data
        created = consent_event_record(
            customer=data["customer"],
            purpose=data["purpose"],
            channel=data["channel"],
            status=data["status"],
            occurred_at=data["occurred_at"],
            captured_via=data["captured_via"],
            evidence=data["evidence"],
            actor=request.user,
        )
        for field in created._meta.concrete_fields:  # the admin's log and redirect read the saved event
            setattr(obj, field.attname, getattr(created, field.attname))

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# The processing register (GDPR Art. 30) and the data-subject requests (erasure receipts, restrictions: the DPO's
# workflow) have their own modules; importing them registers their admin pages.
from consent import admin_register, admin_requests  # noqa: E402, F401
