"""Which consent purpose's retention period governs which data of the core app, registered with consent at start-up.

- Interactions (web, app, e-mail and store events) serve audience analytics: they end with the analytics period
  (13 months, the supervisory authority's limit for audience measurement).
- A customer's profile serves marketing: it ends when the customer has had no contact (purchase, interaction, signup,
  or a consent event) for the longest period of the marketing purposes (3 years after the last contact).
- Receipts are not here: accounting law keeps them 10 years; an erasure anonymises them (cdp.personal_data).
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, OuterRef, Q

from consent.services.retention import register_inactivity_rule, register_retention_rule

MARKETING_PURPOSES = (
    "email_marketing",
    "sms_marketing",
    "phone_marketing",
    "postal_marketing",
    "sales_contact",
    "profiling",
    "personalisation",
)


def register() -> None:
    from cdp.models import Customer, Interaction, Receipt

    def purchased(cutoff: dt.datetime) -> Q:
        return Q(Exists(Receipt.objects.filter(customer=OuterRef("pk"), purchased_at__gte=cutoff)))

    def interacted(cutoff: dt.datetime) -> Q:
        return Q(Exists(Interaction.objects.filter(customer=OuterRef("pk"), occurred_at__gte=cutoff)))

    def signed_up(cutoff: dt.datetime) -> Q:
        # The signup date the sources give; a customer without one counts from their arrival in the platform.
        return Q(signup_date__gte=cutoff.date()) | Q(signup_date__isnull=True, created_at__gte=cutoff)

    register_retention_rule(Interaction, purpose="analytics", date_field="occurred_at")
    register_inactivity_rule(
        purposes=MARKETING_PURPOSES,
        subjects=Customer.objects.active,
        contacts=(purchased, interacted, signed_up),
    )
