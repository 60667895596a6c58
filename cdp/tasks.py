"""Celery entry points of the core app: thin wrappers around services and selectors."""

from __future__ import annotations

import os
import socket

from celery import shared_task


@shared_task(acks_late=True)
def worker_healthcheck() -> dict:
    """Answer from a worker with the database's customer count: proves broker, worker and database all work."""
    from cdp.models import Customer

    return {
        "customers": Customer.objects.count(),
        "hostname": socket.gethostname(),
        "pid": os.getpid(),
    }
