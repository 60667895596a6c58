"""Segmentation pages, under /segments/."""

from django.urls import path

from segments import views

app_name = "segments"

urlpatterns = [
    path("", views.runs_page, name="runs"),
    path("runs/new/", views.run_new, name="run-new"),
    path("runs/<int:run_id>/", views.run_page, name="run"),
    path("runs/<int:run_id>/freeze/", views.run_freeze, name="run-freeze"),
    path("<int:segment_id>/", views.segment_page, name="segment"),
    path("<int:segment_id>/rename/", views.segment_rename_view, name="segment-rename"),
    path("<int:segment_id>/merge/", views.segment_merge_view, name="segment-merge"),
    path("<int:segment_id>/split/", views.segment_split_view, name="segment-split"),
]
