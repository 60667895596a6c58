"""What the core app holds about a customer, registered with consent's personal-data registry at start-up."""

from __future__ import annotations

from consent.registry import Erasure, register_personal_data

# French commercial law (Code de commerce, art. L123-22) keeps accounting records for ten years: a receipt stays,
# but no longer says whose it was.
ACCOUNTING = "accounting records are kept 10 years (Code de commerce L123-22), anonymised and unlinked"


def register() -> None:
    from cdp import models as m

    register_personal_data(m.Customer, subject="pk", erasure=Erasure.DELETE)
    register_personal_data(m.SourceRecord, subject="customer", erasure=Erasure.DELETE)
    register_personal_data(m.Identifier, subject="customer", erasure=Erasure.DELETE)
    register_personal_data(m.Interaction, subject="customer", erasure=Erasure.DELETE)
    register_personal_data(
        m.Receipt,
        subject="customer",
        erasure=Erasure.ANONYMISE,
        anonymise=("customer", "customer_external_id"),
        reason=ACCOUNTING,
    )
    register_personal_data(m.ReceiptLine, subject="receipt__customer", erasure=Erasure.KEEP, reason=ACCOUNTING)
    register_personal_data(m.MergeReview, subject=("left__customer", "right__customer"), erasure=Erasure.DELETE)
    register_personal_data(m.MergeEvent, subject="survivor", erasure=Erasure.DELETE)
