"""Consent and GDPR app: other apps register their personal data with it; it imports none of them."""

from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "consent"
    verbose_name = "Consent and GDPR"
