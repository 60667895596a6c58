"""Admin of the core profile domain, tuned for big tables (no unbounded COUNT, no N+1)."""

from __future__ import annotations

import json
import uuid

from simple_history.admin import SimpleHistoryAdmin

from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from cdp.models import (
    Category,
    Customer,
    Identifier,
    ImportBatch,
    Interaction,
    Product,
    Receipt,
    ReceiptLine,
    Source,
    SourceRecord,
    Store,
)
from cdp.money import format_minor
from cdp.selectors import round_estimate
from consent.selectors import customer_is_restricted

RESTRICTED_NOTICE = "Processing of this customer is restricted (GDPR Art. 18): the profile is read-only."


UNMERGED = "Unmerged: the customer is on its own again, as it was before the merge."
UNMERGE_NOT_MERGED = "This customer is not merged into another: there is nothing to unmerge."


class BoundedCountPaginator(Paginator):
    """Counts at most COUNT_LIMIT rows on PostgreSQL: page links stay usable without scanning a table of millions.

    Beyond the limit the admin pages through the first COUNT_LIMIT rows and says how many there are about, from the
    planner's estimate of the same query (``estimated_count``); narrowing the search or the filters reaches the rest.
    SQLite, the embedded default for small data, counts exactly.
    """

    COUNT_LIMIT = 10_000

    @cached_property
    def count(self) -> int:
        object_list = self.object_list
        if not isinstance(object_list, QuerySet):
            return min(len(object_list), self.COUNT_LIMIT)
        rows = object_list.order_by().values("pk")
        if connections[object_list.db].vendor != "postgresql":
            return rows.count()
        return rows[: self.COUNT_LIMIT].count()

    @cached_property
    def estimated_count(self) -> int | None:
        """About how many rows there are, when there are more than COUNT_LIMIT (None otherwise)."""
        object_list = self.object_list
        if not isinstance(object_list, QuerySet) or connections[object_list.db].vendor != "postgresql":
            return None
        if self.count < self.COUNT_LIMIT:
            return None
        return max(self.COUNT_LIMIT, round_estimate(planner_rows(object_list.order_by())))


def planner_rows(queryset: QuerySet) -> int:
    """PostgreSQL's estimate of the rows a query returns (EXPLAIN, which runs nothing)."""
    sql, params = queryset.values("pk").query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return int(plan[0]["Plan"]["Plan Rows"])


class BigTableAdmin(admin.ModelAdmin):
    paginator = BoundedCountPaginator
    show_full_result_count = False
    list_per_page = 50


class ReceiptChannelFilter(admin.SimpleListFilter):
    """Fixed choices: the default filter would scan the whole receipts table for its DISTINCT values."""

    title = "channel"
    parameter_name = "channel"

    def lookups(self, request, model_admin):
        return [(key, label) for key, label in Interaction.Channel.choices if key in {"store", "web", "app", "phone"}]

    def queryset(self, request, queryset):
        return queryset.filter(channel=self.value()) if self.value() else queryset


class SourceRecordInline(admin.TabularInline):
    model = SourceRecord
    fields = ("source", "external_id", "first_name", "last_name", "email", "phone", "postcode", "updated_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("source")


class IdentifierInline(admin.TabularInline):
    model = Identifier
    fields = ("kind", "value", "source_record")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("source_record__source")


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ("key", "name", "kind", "priority", "created_at")
    list_editable = ("priority",)
    search_fields = ("key", "name")
    list_filter = ("kind",)


class CustomerStatusFilter(admin.SimpleListFilter):
    """Active customers unless asked: a merged customer is a record of the survivor's history, not a person to see."""

    title = _("status")
    parameter_name = "status"
    ALL = "all"

    def lookups(self, request, model_admin):
        return [*Customer.Status.choices, (self.ALL, _("All, merged ones included"))]

    def choices(self, changelist):
        current = self.value() or Customer.Status.ACTIVE
        for value, label in self.lookup_choices:
            yield {
                "selected": current == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request, queryset):
        value = self.value() or Customer.Status.ACTIVE
        return queryset if value == self.ALL else queryset.filter(status=value)


@admin.register(Customer)
class CustomerAdmin(SimpleHistoryAdmin):
    # Status second: the changelist is wide, and the column that says whether a row is a person must stay in sight.
    list_display = ("short_id", "status", "last_name", "first_name", "email", "phone", "postcode", "city", "created_at")
    list_display_links = ("short_id", "last_name")
    list_filter = (CustomerStatusFilter, "gender", "country")
    ordering = ("last_name", "first_name", "id")  # customer_name_idx serves it
    search_fields = ("last_name", "first_name", "=email", "=phone", "=postcode")
    readonly_fields = ("id", "field_sources", "created_at", "updated_at", "merged_into")
    inlines = (SourceRecordInline, IdentifierInline)
    paginator = BoundedCountPaginator
    show_full_result_count = False
    date_hierarchy = None
    fieldsets = (
        (None, {"fields": ("id", "status", "merged_into")}),
        ("Identity", {"fields": ("first_name", "last_name", "birth_date", "gender", "email", "phone")}),
        ("Address", {"fields": ("address", "postcode", "city", "country")}),
        ("Provenance", {"fields": ("signup_date", "field_sources", "created_at", "updated_at")}),
    )

    change_form_template = "admin/cdp/customer/change_form.html"

    def get_search_results(self, request, queryset, search_term):
        """A pasted customer id finds that customer; anything else searches names and identifiers. The autocomplete
        of other pages (a request's customer) offers active customers only: a merged one is its survivor now."""
        if request.resolver_match is not None and request.resolver_match.url_name == "autocomplete":
            queryset = queryset.active()
        try:
            customer_id = uuid.UUID(search_term.strip())
        except ValueError:
            return super().get_search_results(request, queryset, search_term)
        return queryset.filter(id=customer_id), False

    @admin.display(description="Id", ordering="id")
    def short_id(self, obj: Customer) -> str:
        return str(obj.id)[:8]

    # Unmerge: whoever decides the review queue may split a merged customer out again, with a reason (audited by
    # cdp.identity.services.customer_unmerge, like every merge and unmerge).

    def get_urls(self):
        from django.urls import path

        unmerge = path(
            "<uuid:object_id>/unmerge/",
            self.admin_site.admin_view(self.unmerge_view),
            name="cdp_customer_unmerge",
        )
        return [unmerge, *super().get_urls()]

    def can_unmerge(self, request) -> bool:
        return request.user.has_perm("cdp.change_mergereview")

    def render_change_form(self, request, context, *args, **kwargs):
        context["can_unmerge"] = self.can_unmerge(request)
        return super().render_change_form(request, context, *args, **kwargs)

    def unmerge_view(self, request, object_id):
        """The unmerge page: the merge it undoes (a selector), and on POST the service that undoes it."""
        from django.core.exceptions import PermissionDenied
        from django.http import Http404, HttpResponseRedirect
        from django.template.response import TemplateResponse
        from django.urls import reverse

        from cdp.identity.services import IdentityError, customer_unmerge
        from cdp.selectors import customer_merge_in_force

        customer = Customer.objects.select_related("merged_into").filter(pk=object_id).first()
        if customer is None:
            raise Http404
        if not self.can_unmerge(request):
            raise PermissionDenied
        error = "" if customer.status == Customer.Status.MERGED else UNMERGE_NOT_MERGED
        if request.method == "POST" and not error:
            try:
                customer_unmerge(customer=customer, actor=request.user, reason=request.POST.get("reason", ""))
            except IdentityError as exc:
                error = str(exc)
            else:
                self.message_user(request, UNMERGED, messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:cdp_customer_change", args=[customer.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Unmerge {customer}",
            "customer": customer,
            "merge": customer_merge_in_force(customer_id=customer.pk),
            "can_submit": customer.status == Customer.Status.MERGED,
            "error": error,
        }
        return TemplateResponse(request, "admin/cdp/customer/unmerge.html", context, status=400 if error else 200)

    def has_change_permission(self, request, obj=None) -> bool:
        # A restricted profile (GDPR Art. 18) is stored, not processed: read-only until the DPO lifts it.
        if obj is not None and customer_is_restricted(customer_id=obj.pk):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        # Deleting a row would leave its history, unlinked rows and export files behind, and let imports bring it
        # back: a customer is erased through an erasure request (consent), which does all of it and gives a receipt.
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "GET" and _is_restricted(object_id):
            self.message_user(request, RESTRICTED_NOTICE, messages.WARNING)
        return super().change_view(request, object_id, form_url, extra_context)


def _is_restricted(customer_id) -> bool:
    try:
        return customer_is_restricted(customer_id=uuid.UUID(str(customer_id)))
    except ValueError:
        return False


@admin.register(SourceRecord)
class SourceRecordAdmin(SimpleHistoryAdmin):
    list_display = ("external_id", "source", "first_name", "last_name", "email", "postcode", "customer", "updated_at")
    list_filter = ("source",)
    list_select_related = ("source", "customer")
    search_fields = ("=external_id", "last_name", "first_name", "=email", "=phone")
    raw_id_fields = ("customer",)
    readonly_fields = ("content_hash", "created_at", "updated_at")
    paginator = BoundedCountPaginator
    show_full_result_count = False

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.customer_id is not None and customer_is_restricted(customer_id=obj.customer_id):
            return False  # the record of a restricted customer (GDPR Art. 18) is read-only
        return super().has_change_permission(request, obj)


@admin.register(Identifier)
class IdentifierAdmin(BigTableAdmin):
    list_display = ("kind", "value", "customer", "source_record")
    list_filter = ("kind",)
    list_select_related = ("customer", "source_record__source")
    search_fields = ("=value",)
    raw_id_fields = ("customer", "source_record")


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "city", "postcode")
    list_filter = ("kind",)
    search_fields = ("code", "name", "city")


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("key", "name", "parent")
    list_select_related = ("parent",)
    search_fields = ("key", "name")


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("sku", "name", "category")
    list_filter = ("category",)
    list_select_related = ("category",)
    search_fields = ("=sku", "name")


class ReceiptLineInline(admin.TabularInline):
    model = ReceiptLine
    fields = ("line_no", "product", "quantity", "unit_price", "discount", "amount")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product", "receipt")

    @admin.display(description="Unit price")
    def unit_price(self, obj: ReceiptLine) -> str:
        return format_minor(obj.unit_price_minor, obj.receipt.currency)

    @admin.display(description="Discount")
    def discount(self, obj: ReceiptLine) -> str:
        return format_minor(obj.discount_minor, obj.receipt.currency)

    @admin.display(description="Amount")
    def amount(self, obj: ReceiptLine) -> str:
        return format_minor(obj.amount_minor, obj.receipt.currency)


@admin.register(Receipt)
class ReceiptAdmin(BigTableAdmin):
    list_display = ("receipt_id", "source", "purchased_at", "customer_link", "store", "channel", "items", "total")
    list_filter = ("source", ReceiptChannelFilter)
    list_select_related = ("source", "customer", "store")
    search_fields = ("=receipt_id", "=customer_external_id")
    raw_id_fields = ("customer", "store")
    readonly_fields = ("total_minor", "discount_minor", "item_count", "created_at")
    inlines = (ReceiptLineInline,)
    ordering = ("-purchased_at",)  # receipt_date_idx serves this order

    @admin.display(description="Customer")
    def customer_link(self, obj: Receipt) -> str:
        if obj.customer_id is None:
            return "anonymous"
        return format_html('<a href="../customer/{}/change/">{}</a>', obj.customer_id, obj.customer)

    @admin.display(description="Items", ordering="item_count")
    def items(self, obj: Receipt) -> int:
        return obj.item_count

    @admin.display(description="Total", ordering="total_minor")
    def total(self, obj: Receipt) -> str:
        return obj.total_display


@admin.register(ReceiptLine)
class ReceiptLineAdmin(BigTableAdmin):
    list_display = ("receipt", "line_no", "product", "quantity", "amount")
    list_select_related = ("receipt__source", "product")
    search_fields = ("=receipt__receipt_id", "=product__sku")
    raw_id_fields = ("receipt", "product")
    ordering = ("-id",)

    @admin.display(description="Amount", ordering="amount_minor")
    def amount(self, obj: ReceiptLine) -> str:
        return format_minor(obj.amount_minor, obj.receipt.currency)


@admin.register(Interaction)
class InteractionAdmin(BigTableAdmin):
    list_display = ("occurred_at", "type", "channel", "source", "customer", "anonymous_id")
    list_filter = ("channel", "source")  # no filter on type: its choices would need a DISTINCT over the table
    list_select_related = ("source", "customer")
    search_fields = ("=customer_external_id", "=anonymous_id", "=type")
    raw_id_fields = ("customer",)
    readonly_fields = ("event_key", "created_at")
    ordering = ("-occurred_at",)  # interaction_date_idx serves this order


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    """Every import, as it ran: read-only, for tracing a figure back to the file or API call it came from."""

    list_display = ("started_at", "kind", "source", "origin", "status", "read", "created", "updated", "rejected")
    list_filter = ("status", "kind", "source")
    list_select_related = ("source", "actor")
    search_fields = ("=origin", "=idempotency_key")
    date_hierarchy = "started_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


# ---------------------------------------------------------------------------------------------------------------------
# Identity resolution: the review queue (decided through cdp.identity.services), runs and merge events (read-only)


class MergeReviewAdmin(admin.ModelAdmin):
    """The review queue, most probable first; a pair is decided on its page, side by side, with a reason."""

    list_display = ("probability_display", "left", "right", "why_display", "status", "decided_by", "created_at")
    list_filter = ("status",)
    list_select_related = ("left__source", "right__source", "decided_by")
    search_fields = ("=left__external_id", "=right__external_id")
    ordering = ("-probability",)  # mergereview_queue_idx
    paginator = BoundedCountPaginator
    show_full_result_count = False
    change_form_template = "admin/cdp/mergereview/change_form.html"

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Probability", ordering="probability")
    def probability_display(self, obj) -> str:
        return f"{obj.probability:.3f}"

    @admin.display(description="Why it waits")
    def why_display(self, obj) -> str:
        from cdp.identity.selectors import NO_REASON_RECORDED

        return obj.why or NO_REASON_RECORDED

    def change_view(self, request, object_id, form_url="", extra_context=None):
        from django.contrib import messages
        from django.core.exceptions import PermissionDenied
        from django.http import Http404, HttpResponseRedirect
        from django.template.response import TemplateResponse
        from django.urls import reverse

        from cdp.identity.selectors import NO_REASON_RECORDED, merge_review_explanation, merge_review_side_by_side
        from cdp.identity.services import IdentityError, merge_review_decide, thresholds
        from cdp.models import MergeReview

        review = MergeReview.objects.select_related("left__source", "right__source", "decided_by").filter(pk=object_id)
        review = review.first()
        if review is None:
            raise Http404
        if not self.has_view_or_change_permission(request, review):
            raise PermissionDenied
        can_decide = self.has_change_permission(request, review) and review.status == MergeReview.Status.PENDING
        error = ""
        if request.method == "POST":
            if not can_decide:
                raise PermissionDenied
            accept = "_accept" in request.POST
            try:
                reason = request.POST.get("reason", "")
                merge_review_decide(review=review, accept=accept, actor=request.user, reason=reason)
            except IdentityError as exc:
                error = str(exc)
            else:
                self.message_user(request, "Merged." if accept else "Kept apart.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:cdp_mergereview_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Review {review.left} / {review.right}",
            "review": review,
            "rows": merge_review_side_by_side(review),
            "why": review.why or NO_REASON_RECORDED,
            "explanation": merge_review_explanation(review, thresholds()[0]),
            "can_decide": can_decide,
            "error": error,
        }
        return TemplateResponse(request, self.change_form_template, context)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ResolutionRunAdmin(ReadOnlyAdmin):
    list_display = ("started_at", "status", "records", "links_auto", "links_review", "merges", "customers_after")
    list_filter = ("status",)
    search_fields = ("=id",)
    date_hierarchy = "started_at"

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip().isdigit():
            return queryset.none() if search_term.strip() else queryset, False
        return queryset.filter(pk=int(search_term)), False


class MergeEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "kind", "survivor", "other_id", "actor", "reason", "undone", "unmerge_link")
    list_filter = ("kind", "undone")
    list_select_related = ("survivor", "actor")
    search_fields = ("=other_id", "=survivor__id")
    paginator = BoundedCountPaginator
    show_full_result_count = False

    def get_search_results(self, request, queryset, search_term):
        try:
            customer_id = uuid.UUID(search_term.strip())
        except ValueError:
            return (queryset.none() if search_term.strip() else queryset), False
        return queryset.filter(models_q_other_or_survivor(customer_id)), False

    @admin.display(description="Unmerge")
    def unmerge_link(self, obj) -> str:
        from django.urls import reverse

        if obj.kind != obj.Kind.MERGE or obj.undone:
            return ""
        return format_html('<a href="{}">Unmerge…</a>', reverse("admin:cdp_customer_unmerge", args=[obj.other_id]))


def models_q_other_or_survivor(customer_id):
    from django.db.models import Q

    return Q(other_id=customer_id) | Q(survivor_id=customer_id)


def _register_identity_admin() -> None:
    from cdp.models import MergeEvent, MergeReview, ResolutionRun

    admin.site.register(MergeReview, MergeReviewAdmin)
    admin.site.register(ResolutionRun, ResolutionRunAdmin)
    admin.site.register(MergeEvent, MergeEventAdmin)


_register_identity_admin()
