"""The consent app's API under /api/v1/: data-subject requests."""

from django.urls import path

from consent.api import requests

app_name = "consent-api"

urlpatterns = [
    path("subject-requests/", requests.RequestListApi.as_view(), name="subject-request-list"),
    path("subject-requests/<int:pk>/", requests.RequestDetailApi.as_view(), name="subject-request-detail"),
    path("subject-requests/<int:pk>/export/", requests.RequestExportApi.as_view(), name="subject-request-export"),
    path(
        "subject-requests/<int:pk>/export-link/",
        requests.RequestExportLinkApi.as_view(),
        name="subject-request-export-link",
    ),
    path("subject-exports/<str:token>/", requests.ExportDownloadApi.as_view(), name="subject-export-download"),
]
