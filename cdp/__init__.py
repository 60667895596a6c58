"""Clientele core: project configuration and the customer profile domain."""

from .celery import app as celery_app

__all__ = ("celery_app",)
