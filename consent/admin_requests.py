"""The DPO's admin for data-subject requests: the list by deadline (overdue flagged), one button per workflow step,
the audit trail inline, one-time export downloads, erasure receipts. Every button calls a service."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from consent.admin_base import ReadOnlyAdmin, ReadOnlyInline
from consent.display import local_date
from consent.models import (
    DataSubjectRequest,
    DataSubjectRequestEvent,
    ErasureReceipt,
    ProcessingRestriction,
    RequestAction,
    RequestStatus,
    SubjectExport,
)
from consent.services import request_steps as steps
from consent.services import requests as dsr
from consent.services.erasure import SUBJECT_DIGEST_KIND, subject_erase
from consent.services.export import subject_export_claim, subject_export_discard, subject_export_link
from consent.services.requests import WARNING_DAYS, dsr_audit
from consent.services.restriction import objection_record, restriction_apply, restriction_lift
from consent.services.suppression import suppression_digest
from consent.tasks import subject_export_task


class DeadlineFilter(admin.SimpleListFilter):
    title = gettext_lazy("deadline")
    parameter_name = "deadline"

    def lookups(self, request, model_admin):
        return (
            ("open", _("Open")),
            ("overdue", _("Overdue")),
            ("soon", _("Due within %(days)s days") % {"days": WARNING_DAYS}),
            ("closed", _("Closed")),
        )

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        now = timezone.now()
        if self.value() == "open":
            return queryset.open()
        if self.value() == "overdue":
            return queryset.overdue(now)
        if self.value() == "soon":
            return queryset.open().filter(due_at__gte=now, due_at__lte=now + dt.timedelta(days=WARNING_DAYS))
        if self.value() == "closed":
            return queryset.exclude(status__in=[RequestStatus.RECEIVED, RequestStatus.IN_PROGRESS])
        return queryset


class EventInline(ReadOnlyInline):
    model = DataSubjectRequestEvent
    fields = ("at", "action", "actor_name", "from_status", "to_status", "note")
    verbose_name = gettext_lazy("audit step")
    verbose_name_plural = gettext_lazy("audit trail (who, when, what)")


class ExportInline(ReadOnlyInline):
    model = SubjectExport
    fields = ("created_at", "size", "sha256", "expires_at", "downloaded_at", "downloaded_by", "deleted_at")
    fk_name = "request"


class ReceiptInline(ReadOnlyInline):
    model = ErasureReceipt
    fields = ("reference", "erased_at", "actor_name", "suppressed", "identifiers_suppressed", "files_deleted")
    show_change_link = True


# --- Workflow steps: a small form each, applied by a service ---------------------------------------------------------
class NoteForm(forms.Form):
    text = forms.CharField(label=gettext_lazy("Reason"), widget=forms.Textarea(attrs={"rows": 3}))


class VerifyForm(forms.Form):
    text = forms.CharField(
        label=gettext_lazy("How was the identity verified?"),
        help_text=gettext_lazy(
            "e.g. 'answered from the e-mail address on file'; never copy an identity document here."
        ),
        max_length=255,
    )


class ExtendForm(forms.Form):
    months = forms.TypedChoiceField(
        label=gettext_lazy("Months"),
        choices=((1, gettext_lazy("1 month")), (2, gettext_lazy("2 months"))),
        coerce=int,
        initial=2,
    )
    text = forms.CharField(label=gettext_lazy("Reason (told to the subject)"), widget=forms.Textarea(attrs={"rows": 3}))


class LinkForm(forms.Form):
    """The customer, found by name, e-mail, phone or a pasted id as the customer admin's search finds them."""

    customer = forms.ModelChoiceField(
        queryset=None,
        label=gettext_lazy("Customer"),
        help_text=gettext_lazy("Type a name, an e-mail address, a phone number or paste the customer's id."),
    )

    def __init__(self, *args, **kwargs) -> None:
        from consent.registry import subject_model

        super().__init__(*args, **kwargs)
        field = self.fields["customer"]
        field.widget = AutocompleteSelect(DataSubjectRequest._meta.get_field("customer"), admin.site)
        field.queryset = subject_model()._default_manager.all()  # after the widget: it hands the widget its choices


class ObjectionForm(forms.Form):
    scope = forms.CharField(
        initial=dsr.OBJECTION_DIRECT_MARKETING,
        help_text='"direct_marketing" withdraws every direct-marketing purpose (Art. 21(2)); or a purpose key.',
    )


class EraseForm(forms.Form):
    text = forms.CharField(label=gettext_lazy("Reason (kept on the receipt)"), widget=forms.Textarea(attrs={"rows": 3}))
    confirm = forms.BooleanField(label=gettext_lazy("I understand that erasure cannot be undone"))


class NoForm(forms.Form):
    pass


@dataclass(frozen=True)
class Step:
    """A button of the request's page: which step of consent.services.request_steps, its form and its service."""

    name: str
    label: str
    form: type[forms.Form]
    apply: Callable[[DataSubjectRequest, dict, object], str]  # (request, cleaned data, user) -> message
    danger: bool = False


def _customer(request: DataSubjectRequest):
    if request.customer is None:
        raise ValidationError(dsr.NO_CUSTOMER)
    return request.customer


def _link(request, data, user) -> str:
    dsr.dsr_link_customer(request=request, customer=data["customer"], actor=user)
    return _("Customer linked.")


def _export(request, data, user) -> str:
    dsr.dsr_require_verified(request)
    transaction.on_commit(lambda: subject_export_task.delay(request.pk, user.pk))
    return _("The export is being produced; it appears below when ready.")


def _erase(request, data, user) -> str:
    receipt = subject_erase(customer=_customer(request), reason=data["text"], actor=user, request=request)
    return _("Erased. Receipt %(reference)s.") % {"reference": receipt.reference}


def _restrict(request, data, user) -> str:
    restriction_apply(customer=_customer(request), reason=data["text"], actor=user, request=request)
    return _("Processing restricted.")


def _lift(request, data, user) -> str:
    restriction_lift(customer=_customer(request), reason=data["text"], actor=user, request=request)
    return _("Restriction lifted.")


def _object(request, data, user) -> str:
    events = objection_record(customer=_customer(request), scope=data["scope"], actor=user, request=request)
    return _("Objection recorded (%(count)s purposes withdrawn).") % {"count": len(events)}


def _rectified(request, data, user) -> str:
    dsr.dsr_require_verified(request)
    dsr_audit(request=request, action=RequestAction.RECTIFIED, actor=user, note="corrected in the customer's record")
    return _("Rectification recorded.")


STEPS = {
    step.name: step
    for step in (
        Step(steps.LINK, gettext_lazy("Link customer"), LinkForm, _link),
        Step(
            steps.VERIFY,
            gettext_lazy("Verify identity"),
            VerifyForm,
            lambda r, d, u: dsr.dsr_verify_identity(request=r, method=d["text"], actor=u) and _("Identity verified."),
        ),
        Step(
            steps.EXTEND,
            gettext_lazy("Extend deadline"),
            ExtendForm,
            lambda r, d, u: (
                dsr.dsr_extend(request=r, months=d["months"], reason=d["text"], actor=u) and _("Deadline extended.")
            ),
        ),
        Step(steps.EXPORT, gettext_lazy("Produce export"), NoForm, _export),
        Step(steps.ERASE, gettext_lazy("Erase subject"), EraseForm, _erase, danger=True),
        Step(steps.RESTRICT, gettext_lazy("Restrict processing"), NoteForm, _restrict),
        Step(steps.LIFT, gettext_lazy("Lift restriction"), NoteForm, _lift),
        Step(steps.OBJECT, gettext_lazy("Record objection"), ObjectionForm, _object),
        Step(steps.RECTIFIED, gettext_lazy("Record rectification"), NoForm, _rectified),
        Step(
            steps.COMPLETE,
            gettext_lazy("Complete"),
            NoteForm,
            lambda r, d, u: dsr.dsr_complete(request=r, outcome=d["text"], actor=u) and _("Completed."),
        ),
        Step(
            steps.REJECT,
            gettext_lazy("Reject"),
            NoteForm,
            lambda r, d, u: dsr.dsr_reject(request=r, reason=d["text"], actor=u) and _("Rejected."),
            danger=True,
        ),
    )
}


def available_steps(request: DataSubjectRequest) -> list[Step]:
    """The buttons of the steps that apply now (consent.services.request_steps decides)."""
    return [STEPS[name] for name in steps.dsr_steps_available(request)]


class DataSubjectRequestAddForm(forms.ModelForm):
    class Meta:
        model = DataSubjectRequest
        fields = ("kind", "received_via", "received_at", "customer", "subject_reference", "details", "objection_scope")

    def clean(self) -> dict:
        data = super().clean()
        if self.errors:
            return data
        errors = dsr.dsr_check(
            kind=data.get("kind", ""),
            received_via=data.get("received_via", ""),
            customer=data.get("customer"),
            subject_reference=data.get("subject_reference", ""),
            received_at=data.get("received_at") or timezone.now(),
            objection_scope=data.get("objection_scope", ""),
        )
        for field, message in errors.items():
            self.add_error(field, message)
        return data


@admin.register(DataSubjectRequest)
class DataSubjectRequestAdmin(admin.ModelAdmin):
    list_display = ("reference", "kind", "status", "received_via", "received_at", "deadline", "identity", "customer")
    list_filter = (DeadlineFilter, "status", "kind", "received_via")
    list_select_related = ("customer",)
    ordering = ("due_at", "pk")  # the most urgent first (index dsr_open_due_idx)
    search_fields = ("=id",)
    autocomplete_fields = ("customer",)  # found by name, e-mail or phone (the customer admin's search)
    inlines = (EventInline, ExportInline, ReceiptInline)
    change_form_template = "admin/consent/datasubjectrequest/change_form.html"
    readonly_fields = (
        "kind",
        "status",
        "received_via",
        "received_at",
        "due_at",
        "original_due_at",
        "extension_reason",
        "customer",
        "subject_reference",
        "details",
        "objection_scope",
        "identity_verified_at",
        "identity_verified_by",
        "identity_verification",
        "outcome",
        "closed_at",
        "closed_by",
        "created_at",
        "created_by",
    )

    @admin.display(description=gettext_lazy("Request"), ordering="pk")
    def reference(self, obj: DataSubjectRequest) -> str:
        return f"DSR-{obj.pk}"

    @admin.display(description=gettext_lazy("Due"), ordering="due_at")
    def deadline(self, obj: DataSubjectRequest) -> str:
        if obj.is_overdue:
            return format_html('<strong class="dsr-overdue">{}</strong> {}', _("OVERDUE"), local_date(obj.due_at))
        extended = f" ({_('extended')})" if obj.is_extended else ""
        return f"{local_date(obj.due_at)}{extended}"

    @admin.display(description=gettext_lazy("Identity"), boolean=True)
    def identity(self, obj: DataSubjectRequest) -> bool:
        return obj.identity_verified_at is not None

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = DataSubjectRequestAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ()

    def get_fields(self, request, obj=None):
        if obj is None:
            return DataSubjectRequestAddForm.Meta.fields
        return self.readonly_fields

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else ()

    def get_changeform_initial_data(self, request):
        return {"received_at": timezone.now(), "received_via": "email"}

    def save_model(self, request, obj: DataSubjectRequest, form, change: bool) -> None:
        if change:
            return  # a request changes only through its workflow steps
        created = dsr.dsr_create(
            kind=obj.kind,
            received_via=obj.received_via,
            customer=obj.customer,
            subject_reference=obj.subject_reference,
            details=obj.details,
            actor=request.user,
            received_at=obj.received_at,
            objection_scope=obj.objection_scope,
        )
        obj.pk = created.pk

    def save_related(self, request, form, formsets, change) -> None:
        if change:
            super().save_related(request, form, formsets, change)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the record of a request is evidence; erasure anonymises it

    def get_urls(self):
        urls = [
            path("<int:pk>/step/<str:step>/", self.admin_site.admin_view(self.step_view), name="consent_dsr_step"),
            path(
                "<int:pk>/export/<int:export_pk>/link/",
                self.admin_site.admin_view(self.export_link_view),
                name="consent_dsr_export_link",
            ),
            path(
                "export/download/<str:token>/",
                self.admin_site.admin_view(self.export_download_view),
                name="consent_dsr_export_download",
            ),
        ]
        return urls + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if obj is not None:
            can_act = self.has_change_permission(request, obj)
            extra["dsr_steps"] = available_steps(obj) if can_act else []
            extra["dsr_exports"] = (
                obj.exports.filter(downloaded_at__isnull=True).exclude(file="")
                if can_act
                else SubjectExport.objects.none()
            )
            extra["dsr_restricted"] = (
                obj.customer_id is not None
                and ProcessingRestriction.objects.filter(customer_id=obj.customer_id, lifted_at__isnull=True).exists()
            )
        return super().change_view(request, object_id, form_url, extra)

    def _get_for_change(self, request: HttpRequest, pk: int) -> DataSubjectRequest:
        obj = DataSubjectRequest.objects.select_related("customer").filter(pk=pk).first()
        if obj is None:
            raise Http404
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        return obj

    def step_view(self, request: HttpRequest, pk: int, step: str) -> HttpResponse:
        obj = self._get_for_change(request, pk)
        found = next((s for s in available_steps(obj) if s.name == step), None)
        if found is None:
            raise Http404
        form = found.form(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                with transaction.atomic():
                    message = found.apply(obj, form.cleaned_data, request.user)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                self.message_user(request, message, messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:consent_datasubjectrequest_change", args=[obj.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": obj,
            "title": f"{found.label}: {obj}",
            "step": found,
            "form": form,
        }
        return TemplateResponse(request, "admin/consent/datasubjectrequest/step.html", context)

    def export_link_view(self, request: HttpRequest, pk: int, export_pk: int) -> HttpResponse:
        if request.method != "POST":
            raise Http404
        obj = self._get_for_change(request, pk)
        export = obj.exports.filter(pk=export_pk).first()
        if export is None:
            raise Http404
        try:
            token = subject_export_link(export=export, actor=request.user)
        except ValidationError as exc:
            self.message_user(request, "; ".join(exc.messages), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:consent_datasubjectrequest_change", args=[obj.pk]))
        return HttpResponseRedirect(reverse("admin:consent_dsr_export_download", args=[token]))

    def export_download_view(self, request: HttpRequest, token: str) -> HttpResponse:
        if not self.has_change_permission(request):
            raise PermissionDenied
        try:
            path = subject_export_claim(token=token, actor=request.user)
        except ValidationError as exc:
            self.message_user(request, "; ".join(exc.messages), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:consent_datasubjectrequest_changelist"))
        handle = path.open("rb")  # open before the file is removed: the download is its one use
        subject_export_discard(path=path)
        return FileResponse(handle, as_attachment=True, filename="personal-data-export.zip")


@admin.register(ErasureReceipt)
class ErasureReceiptAdmin(ReadOnlyAdmin):
    list_display = ("reference", "erased_at", "actor_name", "request", "suppressed", "identifiers_suppressed")
    list_filter = ("suppressed",)
    search_fields = ("=reference",)
    fields = (
        "reference",
        "erased_at",
        "actor_name",
        "request",
        "reason",
        "suppressed",
        "identifiers_suppressed",
        "files_deleted",
        "task_results_deleted",
        "what",
    )
    readonly_fields = fields

    def get_search_results(self, request, queryset, search_term):
        """A pasted customer id finds the receipts of that customer's erasure (by its keyed hash, never stored)."""
        term = search_term.strip()
        try:
            given = uuid.UUID(term)
        except ValueError:
            return super().get_search_results(request, queryset, search_term)
        digest = suppression_digest(SUBJECT_DIGEST_KIND, str(given))
        return queryset.filter(Q(subject_digest=digest) | Q(reference=given)), False

    @admin.display(description="What was erased, and what was kept and why")
    def what(self, obj: ErasureReceipt) -> str:
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((line["model"], line["action"], line["rows"], line.get("reason", "")) for line in obj.summary),
        )
        return format_html(
            "<table><thead><tr><th>Table</th><th>Action</th><th>Rows</th><th>Legal reason</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            rows,
        )


@admin.register(ProcessingRestriction)
class ProcessingRestrictionAdmin(ReadOnlyAdmin):
    list_display = ("customer", "started_at", "lifted_at", "request")
    list_filter = (("lifted_at", admin.EmptyFieldListFilter),)
    list_select_related = ("customer", "request")
    raw_id_fields = ("customer", "request")
    readonly_fields = (
        "customer",
        "request",
        "reason",
        "started_at",
        "started_by",
        "lifted_at",
        "lifted_by",
        "lift_reason",
    )
    # Added and lifted only through a restriction request, so that it is audited (ReadOnlyAdmin).
