"""The consent oracle of the campaign tests: one customer at a time, through consent's own single-customer answers."""

from __future__ import annotations

from cdp.models import Customer
from consent.selectors import consent_allows, customer_is_restricted
from consent.services.suppression import suppressed_among


def may_contact(customer_id, purpose: str, channel: str) -> bool:
    customer = Customer.objects.filter(pk=customer_id, status=Customer.Status.ACTIVE).first()
    if customer is None:  # erased (or merged away)
        return False
    if customer_is_restricted(customer_id=customer_id):
        return False
    if not consent_allows(customer_id=customer_id, purpose=purpose, channel=channel).allowed:
        return False
    return not suppressed_among([("email", customer.email)])
