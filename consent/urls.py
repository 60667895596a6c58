"""The consent app's pages: the customer's preference page (public, reached by a signed link) and the staff's link."""

from django.urls import path

from consent import views

app_name = "consent"
urlpatterns = [
    path("preferences/<str:token>/", views.preferences, name="preferences"),
    path("preferences/<str:token>/request/", views.preferences_request, name="preferences_request"),
    path("customers/<uuid:customer_id>/preference-link/", views.preference_link, name="preference_link"),
]
