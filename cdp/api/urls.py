"""/api/v1/ routes."""

from django.urls import path

from cdp.api import ingest, views

app_name = "api"

urlpatterns = [
    path("me/", views.MeApi.as_view(), name="me"),
    path("ingest/<str:kind>/", ingest.IngestApi.as_view(), name="ingest"),
]
