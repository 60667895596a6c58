"""Root URL configuration."""

from drf_spectacular.views import SpectacularAPIView

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path

from cdp import views

admin.site.site_header = "Clientele administration"
admin.site.site_title = "Clientele"
admin.site.index_title = "Customer data, consent and GDPR"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("i18n/setlang/", views.language_set, name="set_language"),
    path("customers/", include("cdp.profile.urls")),
    path("segments/", include("segments.urls")),
    path("campaigns/", include("campaigns.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("cdp.api.urls")),
    path("api/v1/", include("consent.api.urls")),
    path("api/v1/", include("segments.api.urls")),
    path("api/v1/", include("campaigns.api.urls")),
    path("privacy/", include("consent.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", views.ApiDocsView.as_view(url_name="schema"), name="api-docs"),
    # Last: any other path under /api/ (an unknown endpoint, an id that is not one) is a JSON 404, DEBUG or not.
    re_path(r"^api/", views.api_not_found),
]

handler400 = "cdp.views.bad_request"
handler403 = "cdp.views.permission_denied"
handler404 = "cdp.views.page_not_found"
handler500 = "cdp.views.server_error"
