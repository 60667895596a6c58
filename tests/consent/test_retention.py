"""Retention: interactions end with the analytics period, inactive customers are anonymised, each run is recorded."""

from __future__ import annotations

import datetime as dt

import pytest

from django.conf import settings as django_settings

from cdp.models import Customer, Interaction, Receipt
from consent.models import (
    ErasureReceipt,
    ProcessingRestriction,
    ProcessingRun,
    Purpose,
    RunStatus,
    SuppressedIdentifier,
)
from consent.services.register import ACTIVITY_DATA_RETENTION
from consent.services.requests import dsr_create
from consent.services.retention import RETENTION_REASON, retention_apply
from consent.tasks import retention_apply_task
from tests.cdp.factories import CustomerFactory, InteractionFactory, ReceiptFactory
from tests.consent.factories import ConsentEventFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 1, 3, 30, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
ANALYTICS_DAYS = 395
MARKETING_DAYS = 3 * 365


def customer_last_seen(days_ago: int, **fields) -> Customer:
    """A customer whose signup was `days_ago` days before NOW, with nothing since."""
    customer = CustomerFactory(signup_date=(NOW - days_ago * DAY).date(), **fields)
    Customer.objects.filter(pk=customer.pk).update(created_at=NOW - (days_ago + 1) * DAY)
    return customer


def test_interactions_older_than_the_analytics_period_are_deleted_in_batches(settings):
    # given interactions on both sides of the 395-day limit, with and without a customer
    settings.RETENTION_BATCH_SIZE = 2  # several statements
    customer = customer_last_seen(10)
    old = [InteractionFactory(customer=customer, occurred_at=NOW - (ANALYTICS_DAYS + n) * DAY) for n in (1, 2, 30)]
    old.append(InteractionFactory(customer=None, anonymous_id="cookie-1", occurred_at=NOW - 500 * DAY))
    kept = [InteractionFactory(customer=customer, occurred_at=NOW - n * DAY) for n in (1, ANALYTICS_DAYS - 1)]
    # when retention runs
    run = retention_apply(now=NOW)
    # then the old ones are gone, the recent ones stay, and the run says how many went
    assert set(Interaction.objects.values_list("pk", flat=True)) == {i.pk for i in kept}
    assert run.counts["cdp.interaction_deleted"] == len(old)
    assert run.parameters["cdp.interaction"]["purpose"] == "analytics"
    assert run.parameters["cdp.interaction"]["days"] == ANALYTICS_DAYS


def test_customers_without_contact_for_the_marketing_period_are_anonymised_without_suppression():
    # given a customer last seen 4 years ago (signup, one purchase), with an e-mail
    gone = customer_last_seen(4 * 365, email="old.customer@example.org")
    ReceiptFactory(customer=gone, purchased_at=NOW - (4 * 365 - 10) * DAY)
    # and customers in contact within 3 years: a purchase, an interaction, a signup, a consent given
    bought = customer_last_seen(5 * 365)
    ReceiptFactory(customer=bought, purchased_at=NOW - 100 * DAY)
    visited = customer_last_seen(5 * 365)
    InteractionFactory(customer=visited, occurred_at=NOW - 30 * DAY)
    joined = customer_last_seen(2 * 365)
    consented = customer_last_seen(5 * 365)
    ConsentEventFactory(customer=consented, occurred_at=NOW - 200 * DAY)
    # when retention runs
    run = retention_apply(now=NOW)
    # then only the inactive customer is erased, with the retention reason, and is not suppressed (may come back)
    assert not Customer.objects.filter(pk=gone.pk).exists()
    assert set(Customer.objects.values_list("pk", flat=True)) == {c.pk for c in (bought, visited, joined, consented)}
    receipt = ErasureReceipt.objects.get()
    assert receipt.reason == RETENTION_REASON
    assert receipt.suppressed is False
    assert not SuppressedIdentifier.objects.exists()
    # and the receipt of the purchase is kept for accounting, no longer linked
    assert Receipt.objects.filter(customer__isnull=True).count() == 1
    assert run.counts["cdp.customer_anonymised"] == 1
    assert run.parameters["cdp.customer"]["days"] == MARKETING_DAYS


def test_a_customer_under_restriction_or_with_an_open_request_is_kept():
    restricted = customer_last_seen(4 * 365)
    ProcessingRestriction.objects.create(customer=restricted, reason="contested accuracy")
    requested = customer_last_seen(4 * 365)
    dsr_create(kind="access", received_via="email", customer=requested)
    run = retention_apply(now=NOW)
    assert Customer.objects.filter(pk__in=[restricted.pk, requested.pk]).count() == 2
    assert run.counts["cdp.customer_held"] == 2
    assert run.counts["cdp.customer_anonymised"] == 0


def test_a_purpose_without_a_period_ends_nothing():
    Purpose.objects.filter(key="analytics").update(retention_days=None)
    InteractionFactory(customer=None, anonymous_id="cookie-1", occurred_at=NOW - 2000 * DAY)
    run = retention_apply(now=NOW)
    assert Interaction.objects.count() == 1
    assert run.parameters["cdp.interaction"]["days"] is None


def test_the_longest_marketing_period_governs_customers():
    Purpose.objects.filter(key="postal_marketing").update(retention_days=5 * 365)
    customer = customer_last_seen(4 * 365)
    run = retention_apply(now=NOW)
    assert Customer.objects.filter(pk=customer.pk).exists()
    assert run.parameters["cdp.customer"] == {
        "purpose": "postal_marketing",
        "days": 5 * 365,
        "no_contact_since": (NOW - 5 * 365 * DAY).isoformat(),
    }


def test_a_run_anonymises_at_most_its_limit_and_the_next_run_continues():
    customers = [customer_last_seen(4 * 365) for _ in range(3)]
    first = retention_apply(now=NOW, limit=2)
    assert first.counts["cdp.customer_anonymised"] == 2
    second = retention_apply(now=NOW, limit=2)
    assert second.counts["cdp.customer_anonymised"] == 1
    assert not Customer.objects.filter(pk__in=[c.pk for c in customers]).exists()


def test_a_second_run_changes_nothing():
    # given data on both sides of both limits
    customer_last_seen(4 * 365)
    active = customer_last_seen(10)
    InteractionFactory(customer=active, occurred_at=NOW - 500 * DAY)
    InteractionFactory(customer=active, occurred_at=NOW - 5 * DAY)
    retention_apply(now=NOW)
    state = (
        sorted(Customer.objects.values_list("pk", flat=True)),
        sorted(Interaction.objects.values_list("pk", flat=True)),
        ErasureReceipt.objects.count(),
    )
    # when it runs again at the same moment
    second = retention_apply(now=NOW)
    # then nothing changed, and the run says so
    assert (
        sorted(Customer.objects.values_list("pk", flat=True)),
        sorted(Interaction.objects.values_list("pk", flat=True)),
        ErasureReceipt.objects.count(),
    ) == state
    assert second.counts == {
        "cdp.interaction_deleted": 0,
        "cdp.customer_anonymised": 0,
        "cdp.customer_held": 0,
        "cdp.customer_failed": 0,
    }


def test_each_run_is_recorded_in_the_register_without_personal_data():
    customer_last_seen(4 * 365, first_name="Gwendoline", email="gwendoline@example.org")
    run = retention_apply(now=NOW)
    run.refresh_from_db()
    assert run.activity.key == ACTIVITY_DATA_RETENTION
    assert run.status == RunStatus.SUCCEEDED
    assert run.finished_at is not None
    assert "gwendoline" not in str((run.counts, run.parameters, run.message)).lower()


def test_the_beat_runs_the_task_every_night():
    entry = django_settings.CELERY_BEAT_SCHEDULE["retention-apply"]
    assert entry["task"] == retention_apply_task.name
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({3}, {30})


@pytest.mark.usefixtures("eager_tasks")
def test_the_task_applies_retention():
    InteractionFactory(customer=None, anonymous_id="cookie-1", occurred_at=dt.datetime(2001, 1, 1, tzinfo=dt.UTC))
    run_id = retention_apply_task.delay().get()
    assert ProcessingRun.objects.get(pk=run_id).counts["cdp.interaction_deleted"] == 1
    assert not Interaction.objects.exists()
