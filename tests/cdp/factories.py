"""Factories for the core profile domain: source → record → customer, and customer → receipt → lines."""

from __future__ import annotations

import datetime as dt

import factory

from cdp.models import (
    Category,
    Customer,
    Identifier,
    Interaction,
    Product,
    Receipt,
    ReceiptLine,
    Source,
    SourceRecord,
    Store,
)


class SourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Source
        django_get_or_create = ("key",)

    key = factory.Sequence(lambda n: f"source{n}")
    name = factory.LazyAttribute(lambda o: o.key.upper())
    kind = Source.Kind.CRM


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda o: f"{o.first_name}.{o.last_name}@example.org".lower())
    birth_date = factory.Faker("date_of_birth", minimum_age=18, maximum_age=90)
    postcode = "75011"
    city = "Paris"
    country = "FR"


class SourceRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SourceRecord

    source = factory.SubFactory(SourceFactory, key="crm")
    external_id = factory.Sequence(lambda n: f"C{n:07d}")
    customer = factory.SubFactory(CustomerFactory)
    first_name = factory.LazyAttribute(lambda o: o.customer.first_name if o.customer else "")
    last_name = factory.LazyAttribute(lambda o: o.customer.last_name if o.customer else "")
    email = factory.LazyAttribute(lambda o: o.customer.email if o.customer else "")


class IdentifierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Identifier

    source_record = factory.SubFactory(SourceRecordFactory)
    customer = factory.LazyAttribute(lambda o: o.source_record.customer)
    kind = Identifier.Kind.EMAIL
    value = factory.LazyAttribute(lambda o: o.source_record.email)


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"STORE-{n:02d}")
    name = factory.LazyAttribute(lambda o: f"Store {o.code}")


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("key",)

    key = factory.Sequence(lambda n: f"category{n}")
    name = factory.LazyAttribute(lambda o: o.key.title())


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        django_get_or_create = ("sku",)

    sku = factory.Sequence(lambda n: f"SKU{n:05d}")
    name = factory.LazyAttribute(lambda o: f"Product {o.sku}")
    category = factory.SubFactory(CategoryFactory)


class ReceiptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Receipt

    source = factory.SubFactory(SourceFactory, key="loyalty")
    receipt_id = factory.Sequence(lambda n: f"R{n:08d}")
    customer = factory.SubFactory(CustomerFactory)
    store = factory.SubFactory(StoreFactory)
    channel = "store"
    purchased_at = factory.Sequence(lambda n: dt.datetime(2025, 1, 1, 10, tzinfo=dt.UTC) + dt.timedelta(days=n))
    currency = "EUR"


class ReceiptLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReceiptLine

    receipt = factory.SubFactory(ReceiptFactory)
    line_no = factory.Sequence(lambda n: n + 1)
    product = factory.SubFactory(ProductFactory)
    quantity = 1
    unit_price_minor = 1250
    discount_minor = 0
    amount_minor = factory.LazyAttribute(lambda o: o.quantity * o.unit_price_minor - o.discount_minor)


class InteractionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Interaction

    source = factory.SubFactory(SourceFactory, key="eshop")
    event_key = factory.Sequence(lambda n: f"{n:064x}")
    customer = factory.SubFactory(CustomerFactory)
    occurred_at = factory.Sequence(lambda n: dt.datetime(2025, 2, 1, 9, tzinfo=dt.UTC) + dt.timedelta(hours=n))
    type = "page_view"
    channel = Interaction.Channel.WEB
