"""Campaign and brief pages, under /campaigns/."""

from django.urls import path

from campaigns import views

app_name = "campaigns"

urlpatterns = [
    path("", views.campaigns_page, name="list"),
    path("new/", views.campaign_new, name="new"),
    path("<int:campaign_id>/", views.campaign_page, name="campaign"),
    path("<int:campaign_id>/edit/", views.campaign_edit, name="edit"),
    path("<int:campaign_id>/rules/new/", views.rule_new, name="rule-new"),
    path("<int:campaign_id>/rules/<int:rule_id>/delete/", views.rule_remove, name="rule-delete"),
    path("<int:campaign_id>/preview/", views.campaign_preview, name="preview"),
    path("<int:campaign_id>/launch/", views.campaign_launch_view, name="launch"),
    path("<int:campaign_id>/results/", views.campaign_results, name="results"),
    path("<int:campaign_id>/results/measure/", views.campaign_measure, name="measure"),
    path("<int:campaign_id>/briefs/new/", views.brief_new, name="brief-new"),
    path("briefs/<int:brief_id>/", views.brief_page, name="brief"),
    path("briefs/<int:brief_id>/download.<str:format>", views.brief_download, name="brief-download"),
]
