"""Factories for the consent ledger; purposes and channels are the seeded ones, looked up by key."""

from __future__ import annotations

import datetime as dt

import factory

from consent.models import Channel, ConsentEvent, ConsentStatus, Purpose
from tests.cdp.factories import CustomerFactory


class ConsentEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConsentEvent

    class Params:
        purpose_key = "email_marketing"
        channel_key = "email"

    source_key = "crm"
    event_key = factory.Sequence(lambda n: f"{n:064x}")
    customer = factory.SubFactory(CustomerFactory)
    subject_external_id = factory.Sequence(lambda n: f"C{n:07d}")
    purpose = factory.LazyAttribute(lambda o: Purpose.objects.get(key=o.purpose_key))
    channel = factory.LazyAttribute(lambda o: Channel.objects.get(key=o.channel_key) if o.channel_key else None)
    status = ConsentStatus.GRANTED
    occurred_at = factory.Sequence(lambda n: dt.datetime(2025, 1, 1, 9, tzinfo=dt.UTC) + dt.timedelta(hours=n))
    captured_via = "web"
    policy_version = "2024-01"
