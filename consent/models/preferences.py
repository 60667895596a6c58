"""The opaque key a customer's preference link carries, instead of anything that identifies the customer."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class LinkDelivery(models.TextChoices):
    """How a link reached the customer: possession proves identity only through a channel the customer controls."""

    EMAIL = "email", "E-mailed to the customer's address"
    POST = "post", "Posted in a letter to the customer's address"
    UNKNOWN = "", "Unknown (made before deliveries were recorded)"


class PreferenceKey(models.Model):
    """A random key standing for one customer in signed preference links (the link signs the key, with its time).

    Links carry no personal data: neither the customer's id nor an identifier, only this key. Deleting the key (an
    erasure does) makes every link already sent useless. A merge moves keys to the surviving customer, which is why a
    customer may hold more than one. Each key records how its link was delivered, and who had it sent or printed:
    links are never shown to staff, and a letter's link is its own key, naming who printed it.
    """

    key = models.CharField(max_length=32, unique=True, editable=False)
    customer = models.ForeignKey("cdp.Customer", on_delete=models.CASCADE, related_name="preference_keys")
    delivered_via = models.CharField(
        max_length=10, choices=LinkDelivery.choices, blank=True, default=LinkDelivery.UNKNOWN
    )
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who had the link sent or printed; empty for the footers of the product's own e-mails.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["customer", "created_at"], name="preferencekey_customer_idx")]

    def __str__(self) -> str:
        return f"Preference key {self.pk}"
