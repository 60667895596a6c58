"""Server-rendered pages of the core app: the home dashboard, health check and error pages."""

from __future__ import annotations

from drf_spectacular.views import SpectacularSwaggerSplitView

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from cdp.api.exceptions import api_error_response, is_api_request
from cdp.selectors import dashboard_counts


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "cdp/home.html", {"counts": dashboard_counts()})


class ApiDocsView(SpectacularSwaggerSplitView):
    """The API documentation is a page for people: anonymous visitors go to the login page like everywhere else.

    Swagger UI's start-up script is served as a file of its own (the split view), and the page's styles too: the
    Content-Security-Policy allows no inline script or style."""

    template_name = "cdp/api_docs.html"

    is_login_page = True


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
