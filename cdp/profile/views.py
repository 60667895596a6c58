"""The profile's pages: customer search and the 360° profile. Thin: they call the selectors and render."""

from __future__ import annotations

import uuid

from django import forms
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from cdp.profile.chart import spend_chart
from cdp.profile.panels import panels_render
from cdp.profile.selectors import (
    MAX_QUERY_LENGTH,
    MIN_QUERY_LENGTH,
    PROFILE_PERMISSIONS,
    CustomerMerged,
    CustomerNotFound,
    SearchQueryError,
    customer_profile,
    customer_search,
    customer_spend_by_month,
    customer_timeline,
)
from consent.selectors import restriction_in_force

SEARCH_LIMIT = 50
TIMELINE_PER_PAGE = 20


class SearchForm(forms.Form):
    q = forms.CharField(
        label=_("Name, e-mail, phone or customer id"), min_length=MIN_QUERY_LENGTH, max_length=MAX_QUERY_LENGTH
    )


def _page_number(value: str | None) -> int:
    try:
        return max(1, int(value or 1))
    except ValueError:
        return 1


@require_GET
@permission_required(PROFILE_PERMISSIONS, raise_exception=True)
def customer_search_page(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET if "q" in request.GET else None)
    hits = None
    if form.is_valid():
        try:
            hits = customer_search(query=form.cleaned_data["q"], limit=SEARCH_LIMIT)
        except SearchQueryError as exc:
            form.add_error("q", str(exc))
    return render(request, "cdp/customer_search.html", {"form": form, "hits": hits, "limit": SEARCH_LIMIT})


@require_GET
@permission_required(PROFILE_PERMISSIONS, raise_exception=True)
def customer_profile_page(request: HttpRequest, customer_id: uuid.UUID) -> HttpResponse:
    try:
        profile = customer_profile(customer_id=customer_id)
    except CustomerMerged as merged:
        return redirect("customers:profile", customer_id=merged.survivor_id)
    except CustomerNotFound as exc:
        raise Http404(_("No customer has this id.")) from exc
    context = {
        "profile": profile,
        "timeline": customer_timeline(
            customer_id=profile.id, page=_page_number(request.GET.get("page")), per_page=TIMELINE_PER_PAGE
        ),
        "chart": spend_chart(customer_spend_by_month(customer_id=profile.id)),
        "panels": panels_render(profile.customer),
        "restriction": restriction_in_force(customer_id=profile.id),
    }
    return render(request, "cdp/customer_profile.html", context)
