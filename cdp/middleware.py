"""Every page requires a logged-in user (the REST API authenticates on its own, by session or token); no answer of
Django is stored by a browser or a proxy; the product's own error pages, DEBUG or not; the client's address behind
trusted proxies."""

from __future__ import annotations

import logging

from rest_framework.views import APIView

from django.conf import settings
from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequiredMiddleware
from django.core.exceptions import PermissionDenied
from django.http import Http404

request_logger = logging.getLogger("django.request")


class LoginRequiredMiddleware(DjangoLoginRequiredMiddleware):
    """Django's login-required middleware, leaving DRF views to DRF's authentication and permissions.

    A token-authenticated API client has no session, so redirecting it to the login page would be wrong: the API
    answers 401/403 itself (DEFAULT_PERMISSION_CLASSES requires authentication).
    """

    def process_view(self, request, view_func, view_args, view_kwargs):
        view_class = getattr(view_func, "cls", None)
        if view_class is not None and issubclass(view_class, APIView):
            # DRF marks its views login_not_required; a DRF view that is a page for people opts back in.
            if getattr(view_class, "is_login_page", False) and not request.user.is_authenticated:
                return self.handle_no_permission(request, view_func)
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


class NoStoreMiddleware:
    """`Cache-Control: no-store` on every answer that does not say otherwise: profiles, search results, the customer
    API and the preference page carry personal data, which no browser history, disk cache or shared proxy keeps.
    Static files are served above this middleware (whitenoise) and keep their own long cache."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            response["Cache-Control"] = "no-store"
        elif "no-store" not in response["Cache-Control"]:
            response["Cache-Control"] = f"{response['Cache-Control']}, no-store"
        return response


class ErrorPagesMiddleware:
    """The product's own 404 and 500 pages even under DEBUG, which would show Django's debug pages (the URL list, a
    traceback with settings) to whoever opens the demo. The traceback still goes to the log (the console in
    development). Without DEBUG, Django's handlers (cdp.views) already answer with these pages."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # No view was found for the path (the resolver's 404 is answered before any view or middleware sees it).
        if settings.DEBUG and response.status_code == 404 and getattr(request, "resolver_match", None) is None:
            from cdp.views import page_not_found

            return page_not_found(request)
        return response

    def process_exception(self, request, exception):
        if not settings.DEBUG or isinstance(exception, PermissionDenied):
            return None  # Django's handlers answer (403 is the product's page in DEBUG too)
        from cdp.views import page_not_found, server_error

        if isinstance(exception, Http404):
            return page_not_found(request, exception)
        request_logger.error("Internal Server Error: %s", request.path, exc_info=exception)
        return server_error(request)


def client_ip(request) -> str:
    """The client's address: the connection's, or behind TRUSTED_PROXY_COUNT proxies the one the outermost trusted
    proxy saw (X-Forwarded-For, read from the right, so a client cannot choose it)."""
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < proxies:
        return remote
    return forwarded[-proxies]
