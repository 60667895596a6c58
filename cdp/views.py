"""Server-rendered pages of the core app: the home dashboard, health check and error pages."""

from __future__ import annotations

from dataclasses import dataclass

from drf_spectacular.views import SpectacularSwaggerSplitView

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET
from django.views.i18n import set_language

from cdp.api.exceptions import api_error_response, is_api_request
from cdp.home import home_section
from cdp.profile.selectors import PROFILE_PERMISSIONS
from cdp.selectors import dashboard_counts


@dataclass(frozen=True)
class HomeLink:
    url: str
    label: str


def _home_links(user) -> list[HomeLink]:
    """Where each role goes from the home page: every link named for what it opens, no two alike."""
    links = []
    if user.has_perms(PROFILE_PERMISSIONS):
        links.append(HomeLink(reverse("customers:search"), _("Search customers and open their profiles")))
    if user.is_staff:
        for perm, url, label in (
            ("cdp.view_customer", "admin:cdp_customer_changelist", _("Customer records, in the administration")),
            ("cdp.view_receipt", "admin:cdp_receipt_changelist", _("Receipts, in the administration")),
            ("cdp.view_interaction", "admin:cdp_interaction_changelist", _("Interactions, in the administration")),
            (
                "consent.view_datasubjectrequest",
                "admin:consent_datasubjectrequest_changelist",
                _("Data-subject requests, by deadline"),
            ),
        ):
            if user.has_perm(perm):
                links.append(HomeLink(reverse(url), label))
        links.append(HomeLink(reverse("admin:index"), _("Administration")))
        links.append(HomeLink(reverse("api-docs"), _("API documentation")))
    return links


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    context = {
        # The figures are the customer base's size: for those who read it, not for sales (their briefs are theirs).
        "counts": dashboard_counts() if user.has_perm("cdp.view_customer") else [],
        "show_briefs": user.has_module_perms("campaigns") or not user.has_perm("cdp.view_customer"),
        "briefs": home_section("briefs", user),  # filled by campaigns: the user's own briefs
        "links": _home_links(user),
    }
    return render(request, "cdp/home.html", context)


class ApiDocsView(SpectacularSwaggerSplitView):
    """The API documentation is a page for people: anonymous visitors go to the login page like everywhere else.

    Swagger UI's start-up script is served as a file of its own (the split view), and the page's styles too: the
    Content-Security-Policy allows no inline script or style."""

    template_name = "cdp/api_docs.html"

    is_login_page = True


# The language a visitor picks in the top bar (the login page and the customer's page included): Django's own view.
language_set = login_not_required(set_language)


@login_not_required
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers: answers 200 when the database answers, 503 otherwise. Says nothing else."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # noqa: BLE001 - any database failure means "not healthy"
        return JsonResponse({"status": "unavailable"}, status=503)
    return JsonResponse({"status": "ok"})


@login_not_required
@csrf_exempt
def api_not_found(request: HttpRequest) -> HttpResponse:
    """Every path under /api/ that no endpoint takes: the API's JSON 404 (Django's debug page would be HTML)."""
    return api_error_response(request, 404)


LOCKED_OUT_STATUS = 429


@login_not_required
def locked_out(request: HttpRequest, original_response=None, credentials: dict | None = None) -> HttpResponse:
    """django-axes: the answer to a login attempt while its username and address are locked out."""
    from axes.helpers import get_cool_off, get_failure_limit

    cool_off = get_cool_off(request)
    context = {
        "failure_limit": get_failure_limit(request, credentials),
        "minutes": max(1, round(cool_off.total_seconds() / 60)) if cool_off else None,
    }
    return render(request, "registration/locked_out.html", context, status=LOCKED_OUT_STATUS)


@login_not_required
def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_request(request):
        return api_error_response(request, 400, exception)
    return render(request, "400.html", status=400)


@login_not_required
def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_request(request):
        return api_error_response(request, 403, exception)
    return render(request, "403.html", status=403)


@login_not_required
def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_request(request):
        return api_error_response(request, 404, exception)
    return render(request, "404.html", status=404)


@login_not_required
def server_error(request: HttpRequest) -> HttpResponse:
    if is_api_request(request):
        return api_error_response(request, 500)
    return render(request, "500.html", status=500)
