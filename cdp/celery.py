"""The Celery application: broker from CELERY_BROKER_URL, eager in-process when it is unset."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cdp.settings")

app = Celery("clientele")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
