"""The feature store: features as of a date, computed by aggregation, equal to the same features worked out by hand,
blind to anything at or after the date, and never holding a customer who may not be profiled."""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import pytest

from cdp.features.compute import FeaturesOutOfMemory
from cdp.features.selectors import customer_features, feature_matrix
from cdp.features.services import feature_snapshot_create, features_compute
from cdp.models import Category, CustomerFeatures, FeatureSnapshot, Product, Receipt, ReceiptLine, Store
from consent.models import ConsentStatus
from consent.services.restriction import objection_record, restriction_apply
from tests.cdp.factories import CustomerFactory, InteractionFactory, SourceFactory
from tests.consent.factories import ConsentEventFactory

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
AS_OF = dt.datetime(2025, 7, 1, tzinfo=PARIS)


@pytest.fixture
def catalogue():
    food = Category.objects.create(key="food", name="Food")
    cheese = Category.objects.create(key="cheese", name="Cheese", parent=food)
    toys = Category.objects.create(key="toys", name="Toys")
    return {
        "brie": Product.objects.create(sku="BRIE", name="Brie", category=cheese),
        "bread": Product.objects.create(sku="BREAD", name="Bread", category=food),
        "robot": Product.objects.create(sku="ROBOT", name="Robot", category=toys),
    }


def profiled(customer):
    ConsentEventFactory(customer=customer, purpose_key="profiling", status=ConsentStatus.GRANTED)
    return customer


def buy(customer, when: dt.datetime, lines: list[tuple], *, store=None, channel="store", receipt_id=None):
    """A receipt of (product, quantity, unit price in cents, discount in cents) lines."""
    source = SourceFactory(key="till")
    total = sum(q * price - discount for _, q, price, discount in lines)
    receipt = Receipt.objects.create(
        source=source,
        receipt_id=receipt_id or uuid.uuid4().hex,
        customer=customer,
        store=store,
        channel=channel,
        purchased_at=when,
        currency="EUR",
        total_minor=total,
        discount_minor=sum(discount for *_, discount in lines),
        item_count=sum(q for _, q, _, _ in lines),
    )
    for index, (product, q, price, discount) in enumerate(lines, start=1):
        ReceiptLine.objects.create(
            receipt=receipt,
            line_no=index,
            product=product,
            quantity=q,
            unit_price_minor=price,
            discount_minor=discount,
            amount_minor=q * price - discount,
        )
    return receipt


def test_features_equal_the_same_features_worked_out_by_hand(catalogue):
    # given a customer with three purchases and a return, in two stores, and some interactions
    anne = profiled(CustomerFactory())
    paris, web = Store.objects.create(code="PAR"), Store.objects.create(code="WEB", kind="web")
    brie, bread, robot = catalogue["brie"], catalogue["bread"], catalogue["robot"]
    buy(anne, dt.datetime(2025, 1, 10, 9, 30, tzinfo=PARIS), [(brie, 2, 500, 100), (bread, 1, 200, 0)], store=paris)
    buy(anne, dt.datetime(2025, 4, 12, 18, 15, tzinfo=PARIS), [(robot, 1, 3000, 0)], store=web, channel="web")
    buy(anne, dt.datetime(2025, 6, 21, 11, 0, tzinfo=PARIS), [(bread, 3, 200, 0)], store=paris)
    buy(anne, dt.datetime(2025, 6, 22, 12, 0, tzinfo=PARIS), [(robot, -1, 3000, 0)], store=web, channel="web")
    for day in (3, 5, 5):
        InteractionFactory(customer=anne, occurred_at=dt.datetime(2025, 6, day, 10, tzinfo=PARIS), type="email_open")
    # when its features are computed as of 1 July 2025
    matrix = features_compute(as_of=AS_OF)
    row = dict(zip(matrix.names, matrix.values[matrix.customer_ids.index(anne.pk)], strict=True))
    # then each is what a person works out from the receipts
    assert row["recency_days"] == 10  # 21 June -> 1 July
    assert row["frequency"] == 3
    assert row["receipts"] == 3  # purchases; the return is not a basket
    assert row["monetary"] == pytest.approx(11.0 + 30.0 + 6.0 - 30.0)  # net of the return
    assert row["avg_basket"] == pytest.approx((11.0 + 30.0 + 6.0) / 3)
    assert row["tenure_days"] == 172  # 10 January -> 1 July
    assert row["interval_days"] == pytest.approx((92 + 70) / 2)  # 10 Jan -> 12 Apr -> 21 Jun
    assert row["discount_share"] == pytest.approx(1.0 / 48.0)  # 1 € off 48 € of goods
    assert row["return_share"] == pytest.approx(30.0 / 47.0)
    assert row["categories"] == 2  # food (cheese is under food) and toys
    assert row["share_category_food"] == pytest.approx(17.0 / 47.0)
    assert row["share_category_toys"] == pytest.approx(30.0 / 47.0)
    assert row["weekend_share"] == pytest.approx(2 / 3)  # 12 April and 21 June 2025 are Saturdays
    assert row["morning_share"] == pytest.approx(2 / 3)  # 9:30 and 11:00 local time
    assert row["evening_share"] == pytest.approx(1 / 3)  # 18:15
    assert row["stores"] == 2
    assert row["main_store_share"] == pytest.approx(2 / 3)
    assert row["trend"] == pytest.approx((36.0 - 11.0) / (36.0 + 11.0))  # 2 April to 1 July against the 90 days before
    assert row["events_365d"] == 3
    assert row["event_days_365d"] == 2
    assert row["events_email_open_365d"] == 3
    assert row["event_recency_days"] == 25  # 5 June 10:00 -> 1 July 00:00


def test_nothing_at_or_after_the_date_moves_a_feature(catalogue):
    anne = profiled(CustomerFactory())
    buy(anne, dt.datetime(2025, 3, 1, 10, tzinfo=PARIS), [(catalogue["bread"], 1, 200, 0)])
    before = features_compute(as_of=AS_OF)
    # a purchase and an interaction planted at and after the cutoff
    buy(anne, AS_OF, [(catalogue["robot"], 5, 3000, 0)])
    buy(anne, AS_OF + dt.timedelta(days=3), [(catalogue["brie"], 1, 500, 0)])
    InteractionFactory(customer=anne, occurred_at=AS_OF, type="email_click")
    after = features_compute(as_of=AS_OF)
    assert after.names == before.names
    assert (after.values == before.values).all()


def test_rows_that_do_not_fit_the_memory_setting_give_an_error_naming_it(catalogue, settings):
    anne = profiled(CustomerFactory())
    buy(anne, dt.datetime(2025, 3, 1, 10, tzinfo=PARIS), [(catalogue["bread"], 1, 200, 0)])
    settings.FEATURES_MEMORY = "1KB"
    with pytest.raises(FeaturesOutOfMemory, match=r"FEATURES_MEMORY \(1KB\) allows: raise that setting"):
        features_compute(as_of=AS_OF)


def test_customers_who_objected_or_are_restricted_are_never_in_a_snapshot(catalogue):
    # given four buyers: one consented, one never asked, one who withdrew, one restricted after consenting
    yes, never, withdrew, restricted = (CustomerFactory() for _ in range(4))
    profiled(yes)
    profiled(withdrew)
    ConsentEventFactory(customer=withdrew, purpose_key="profiling", status=ConsentStatus.WITHDRAWN)
    profiled(restricted)
    restriction_apply(customer=restricted, reason="accuracy contested")
    for customer in (yes, never, withdrew, restricted):
        buy(customer, dt.datetime(2025, 3, 1, 10, tzinfo=PARIS), [(catalogue["bread"], 1, 200, 0)])
    # when a snapshot is made
    snapshot = feature_snapshot_create(as_of=dt.date(2025, 7, 1))
    # then only the consenting customer is in it, and the snapshot says how many could be profiled
    assert snapshot.status == FeatureSnapshot.Status.SUCCEEDED
    assert set(CustomerFeatures.objects.filter(snapshot=snapshot).values_list("customer_id", flat=True)) == {yes.pk}
    assert (snapshot.customers, snapshot.processable) == (1, 1)
    assert customer_features(snapshot, withdrew.pk) is None
    matrix = feature_matrix(snapshot)
    assert matrix.customer_ids == [yes.pk]
    assert customer_features(snapshot, yes.pk)["frequency"] == 1
    assert snapshot.as_of == AS_OF


def test_an_objection_to_profiling_takes_a_customer_out_of_the_next_snapshot(catalogue):
    anne = profiled(CustomerFactory())
    buy(anne, dt.datetime(2025, 3, 1, 10, tzinfo=PARIS), [(catalogue["bread"], 1, 200, 0)])
    assert feature_snapshot_create(as_of=AS_OF).customers == 1
    objection_record(customer=anne, scope="profiling")
    assert feature_snapshot_create(as_of=AS_OF).customers == 0
