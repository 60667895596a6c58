"""Consent and GDPR app: other apps register their personal data with it; it imports none of them."""

from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "consent"
    verbose_name = "Consent and GDPR"

    def ready(self) -> None:
        from consent.models import ConsentEvent
        from consent.registry import Erasure, register_personal_data

        # The proof of consent goes with the subject; the erasure receipt records that it existed.
        register_personal_data(ConsentEvent, subject="customer", erasure=Erasure.DELETE)
