"""Every page requires a logged-in user (the REST API authenticates on its own, by session or token); no answer of
Django is stored by a browser or a proxy; the client's address behind trusted proxies."""

from __future__ import annotations

from rest_framework.views import APIView

from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequiredMiddleware


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


def client_ip(request) -> str:
    """The client's address: the connection's, or behind TRUSTED_PROXY_COUNT proxies the one the outermost trusted
    proxy saw (X-Forwarded-For, read from the right, so a client cannot choose it)."""
    from django.conf import settings

    remote = request.META.get("REMOTE_ADDR", "")
    proxies = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < proxies:
        return remote
    return forwarded[-proxies]
