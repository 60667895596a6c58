"""Thin Celery entry points of the consent app: each calls one service."""
