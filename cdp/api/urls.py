"""/api/v1/ routes."""

from django.urls import path

from cdp.api import views

app_name = "api"

urlpatterns = [
    path("me/", views.MeApi.as_view(), name="me"),
]
