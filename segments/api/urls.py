"""/api/v1/segments/ routes."""

from django.urls import path

from segments.api import scores, views

app_name = "segments-api"

urlpatterns = [
    path("segments/runs/", views.RunListApi.as_view(), name="run-list"),
    # str, not int: a malformed id gets the API's JSON 404 rather than the HTML page
    path("segments/runs/<str:run_id>/", views.RunDetailApi.as_view(), name="run-detail"),
    path("segments/<str:segment_id>/", views.SegmentDetailApi.as_view(), name="segment-detail"),
    path("segments/<str:segment_id>/customers/", views.SegmentCustomersApi.as_view(), name="segment-customers"),
    path("scores/", scores.ScoresListApi.as_view(), name="scores"),
    path("scores/models/", scores.ModelVersionListApi.as_view(), name="model-versions"),
    path("scores/models/<str:version_id>/", scores.ModelVersionDetailApi.as_view(), name="model-version"),
    path("scores/customers/<str:customer_id>/", scores.CustomerScoresApi.as_view(), name="customer-scores"),
]
