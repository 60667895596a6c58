"""/api/v1/ routes."""

from django.urls import path

from cdp.api import customers, ingest, views

app_name = "api"

urlpatterns = [
    path("me/", views.MeApi.as_view(), name="me"),
    path("ingest/<str:kind>/", ingest.IngestApi.as_view(), name="ingest"),
    path("customers/", customers.CustomerListApi.as_view(), name="customer-list"),
    # str, not uuid: a malformed id gets the API's JSON 404 rather than the HTML page.
    path("customers/<str:customer_id>/", customers.CustomerDetailApi.as_view(), name="customer-detail"),
]
