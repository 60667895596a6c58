"""Segments and predictive models app."""

from django.apps import AppConfig


class SegmentsConfig(AppConfig):
    name = "segments"
    verbose_name = "Segments and scores"

    def ready(self) -> None:
        from segments.setup import register

        register()
