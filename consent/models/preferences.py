"""The opaque key a customer's preference link carries, instead of anything that identifies the customer."""

from __future__ import annotations

from django.db import models


class PreferenceKey(models.Model):
    """A random key standing for one customer in signed preference links (the link signs the key, with its time).

    Links carry no personal data: neither the customer's id nor an identifier, only this key. Deleting the key (an
    erasure does) makes every link already sent useless. A merge moves keys to the surviving customer, which is why a
    customer may hold more than one.
    """

    key = models.CharField(max_length=32, unique=True, editable=False)
    customer = models.ForeignKey("cdp.Customer", on_delete=models.CASCADE, related_name="preference_keys")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["customer", "created_at"], name="preferencekey_customer_idx")]

    def __str__(self) -> str:
        return f"Preference key {self.pk}"
