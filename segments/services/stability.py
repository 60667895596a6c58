"""Alerts of segmentation stability and drift: shown on the segmentation pages and e-mailed to marketing."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail

from cdp.roles import ROLE_MARKETING

logger = logging.getLogger(__name__)


def alert_marketing(run) -> int:
    """E-mail the run's alerts to the marketing analysts (Django's mail); returns the number of recipients."""
    recipients = sorted(
        get_user_model()
        .objects.filter(groups__name=ROLE_MARKETING, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
        .distinct()
    )
    if not recipients or not run.alerts:
        return 0
    body = "\n".join(f"- {alert}" for alert in run.alerts)
    send_mail(
        subject=f"Clientele: segmentation {run.pk} needs a look",
        message=f"Segmentation run {run.pk} ({run.get_algorithm_display()}):\n{body}\n",
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=recipients,
        fail_silently=True,
    )
    logger.info("segmentation run %s: alerts sent to %s analysts", run.pk, len(recipients))  # counts only
    return len(recipients)
