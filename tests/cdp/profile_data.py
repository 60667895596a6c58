"""Test data for the 360° profile: a customer known to two sources, with receipts, returns and interactions."""

from __future__ import annotations

import datetime as dt

from cdp.models import Customer, Identifier, Source
from tests.cdp.factories import (
    CategoryFactory,
    CustomerFactory,
    IdentifierFactory,
    InteractionFactory,
    ProductFactory,
    ReceiptFactory,
    ReceiptLineFactory,
    SourceFactory,
    SourceRecordFactory,
    StoreFactory,
)

PHONE = "+33612345678"
EMAIL = "jennifer.martin@example.org"
CRM_ID = "C0000001"
CARD = "2901000000022"
START = dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC)


def known_customer(first_name: str = "Jennifer", last_name: str = "Martin", **fields) -> Customer:
    """A golden record from the CRM (names, e-mail) and the loyalty programme (phone), with their identifiers."""
    customer = CustomerFactory(
        first_name=first_name,
        last_name=last_name,
        email=fields.pop("email", EMAIL),
        phone=fields.pop("phone", PHONE),
        field_sources={"first_name": "crm", "last_name": "crm", "email": "crm", "phone": "loyalty"},
        **fields,
    )
    crm = SourceFactory(key="crm", name="CRM", priority=10)
    loyalty = SourceFactory(key="loyalty", name="Loyalty", kind=Source.Kind.LOYALTY, priority=20)
    crm_record = SourceRecordFactory(source=crm, customer=customer, external_id=CRM_ID, email=customer.email)
    card_record = SourceRecordFactory(source=loyalty, customer=customer, external_id=CARD, phone=customer.phone)
    for record, kind, value in (
        (crm_record, Identifier.Kind.EXTERNAL_ID, f"crm:{CRM_ID}"),
        (crm_record, Identifier.Kind.EMAIL, customer.email),
        (card_record, Identifier.Kind.EXTERNAL_ID, f"loyalty:{CARD}"),
        (card_record, Identifier.Kind.LOYALTY_CARD, CARD),
        (card_record, Identifier.Kind.PHONE, customer.phone),
    ):
        IdentifierFactory(source_record=record, customer=customer, kind=kind, value=value)
    return customer


def add_receipts(customer: Customer, count: int, *, start: dt.datetime = START, days: int = 7) -> list:
    """`count` purchases, a week apart, in two stores and on the web, each with two lines in two categories."""
    stores = [StoreFactory(code="PARIS-11", name="Paris 11"), StoreFactory(code="LYON-2", name="Lyon 2")]
    garden, food = CategoryFactory(key="garden", name="Garden"), CategoryFactory(key="food", name="Premium food")
    rake, coffee = (
        ProductFactory(sku="RAKE", name="Rake", category=garden),
        ProductFactory(sku="COF", name="Coffee", category=food),
    )
    receipts = []
    for index in range(count):
        web = index % 3 == 2
        receipt = ReceiptFactory(
            customer=customer,
            store=None if web else stores[index % 2],
            channel="web" if web else "store",
            purchased_at=start + dt.timedelta(days=days * index),
            total_minor=2500,
            item_count=2,
        )
        ReceiptLineFactory(receipt=receipt, line_no=1, product=rake, unit_price_minor=1500)
        ReceiptLineFactory(receipt=receipt, line_no=2, product=coffee, unit_price_minor=1000)
        receipts.append(receipt)
    return receipts


def add_return(customer: Customer, at: dt.datetime, amount_minor: int = 1500):
    rake = ProductFactory(sku="RAKE", name="Rake", category=CategoryFactory(key="garden", name="Garden"))
    receipt = ReceiptFactory(
        customer=customer,
        store=StoreFactory(code="PARIS-11", name="Paris 11"),
        purchased_at=at,
        total_minor=-amount_minor,
        item_count=-1,
    )
    ReceiptLineFactory(receipt=receipt, line_no=1, product=rake, quantity=-1, unit_price_minor=amount_minor)
    return receipt


def add_interactions(customer: Customer, count: int, *, start: dt.datetime = START) -> list:
    return [
        InteractionFactory(
            customer=customer,
            occurred_at=start + dt.timedelta(days=index, hours=5),
            type="email_open",
            channel="email",
            properties={"campaign": f"newsletter-{index}"},
        )
        for index in range(count)
    ]
