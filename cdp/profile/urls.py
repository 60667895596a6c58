"""The profile's pages, under /customers/."""

from django.urls import path

from cdp.profile import views

app_name = "customers"

urlpatterns = [
    path("", views.customer_search_page, name="search"),
    path("<uuid:customer_id>/", views.customer_profile_page, name="profile"),
]
