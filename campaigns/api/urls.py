"""/api/v1/campaigns/ and /api/v1/briefs/ routes (str ids: a malformed id gets the API's JSON 404)."""

from django.urls import path

from campaigns.api import views

app_name = "campaigns-api"

urlpatterns = [
    path("campaigns/", views.CampaignListApi.as_view(), name="campaign-list"),
    path("campaigns/<str:campaign_id>/", views.CampaignDetailApi.as_view(), name="campaign-detail"),
    path("campaigns/<str:campaign_id>/rules/", views.CampaignRulesApi.as_view(), name="campaign-rules"),
    path("campaigns/<str:campaign_id>/preview/", views.CampaignPreviewApi.as_view(), name="campaign-preview"),
    path("campaigns/<str:campaign_id>/launch/", views.CampaignLaunchApi.as_view(), name="campaign-launch"),
    path("campaigns/<str:campaign_id>/results/", views.CampaignResultsApi.as_view(), name="campaign-results"),
    path("campaigns/<str:campaign_id>/briefs/", views.CampaignBriefsApi.as_view(), name="campaign-briefs"),
    path("briefs/", views.BriefListApi.as_view(), name="brief-list"),
    path("briefs/<str:brief_id>/", views.BriefDetailApi.as_view(), name="brief-detail"),
    path("briefs/<str:brief_id>/leads/", views.BriefLeadsApi.as_view(), name="brief-leads"),
    path("briefs/<str:brief_id>/download/", views.BriefDownloadApi.as_view(), name="brief-download"),
]
