"""Every page requires a logged-in user; the REST API authenticates on its own (session or token)."""

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
