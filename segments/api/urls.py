"""/api/v1/segments/ routes."""

from django.urls import path

from segments.api import views

app_name = "segments-api"

urlpatterns = [
    path("segments/runs/", views.RunListApi.as_view(), name="run-list"),
    # str, not int: a malformed id gets the API's JSON 404 rather than the HTML page
    path("segments/runs/<str:run_id>/", views.RunDetailApi.as_view(), name="run-detail"),
    path("segments/<str:segment_id>/", views.SegmentDetailApi.as_view(), name="segment-detail"),
    path("segments/<str:segment_id>/customers/", views.SegmentCustomersApi.as_view(), name="segment-customers"),
]
