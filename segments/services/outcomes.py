"""What customers did in a window after a date: the labels models learn from and are checked against.

The window is [start, end): a model fitted at a cut learns features from before the cut (``cdp.features``, which
reads nothing at or after its date) and labels from this window; it is then checked on the window after its own
as-of date. Purchase days are counted in the retailer's time zone (as the features count them), returns are not
purchases, and each purchase's categories are the top-level ones.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.utils import timezone

from cdp.features.extract import _top_level_categories
from cdp.models import Product, Receipt, ReceiptLine

CHUNK = 20_000


@dataclass
class Outcomes:
    start: dt.datetime
    end: dt.datetime
    days: dict = field(default_factory=dict)  # customer -> set of local purchase dates
    spend: dict = field(default_factory=dict)  # customer -> net spend (minor units) of purchases
    discounted: dict = field(default_factory=dict)  # customer -> purchase days with a discount
    categories: dict = field(default_factory=dict)  # customer -> set of top-level category keys bought
    first_day: dict = field(default_factory=dict)  # customer -> first local purchase date in the window

    def purchase_days(self, customer) -> int:
        return len(self.days.get(customer, ()))


def outcomes_between(*, start: dt.datetime, end: dt.datetime, with_categories: bool = False) -> Outcomes:
    """Purchases of known customers in [start, end)."""
    found = Outcomes(start=start, end=end)
    days: dict = defaultdict(set)
    discounted: dict = defaultdict(set)
    spend: dict = defaultdict(int)
    tz = timezone.get_default_timezone()
    receipts = (
        Receipt.objects.filter(
            customer__isnull=False, purchased_at__gte=start, purchased_at__lt=end, total_minor__gte=0
        )
        .order_by()
        .values_list("customer_id", "purchased_at", "total_minor", "discount_minor")
    )
    for customer, moment, total, discount in receipts.iterator(chunk_size=CHUNK):
        day = moment.astimezone(tz).date()
        days[customer].add(day)
        spend[customer] += total
        if discount > 0:
            discounted[customer].add(day)
    found.days, found.spend, found.discounted = dict(days), dict(spend), dict(discounted)
    found.first_day = {customer: min(values) for customer, values in days.items()}
    if with_categories:
        top = _top_level_categories()
        product_category = dict(Product.objects.values_list("pk", "category_id"))
        categories: dict = defaultdict(set)
        lines = (
            ReceiptLine.objects.filter(
                receipt__customer__isnull=False,
                receipt__purchased_at__gte=start,
                receipt__purchased_at__lt=end,
                quantity__gt=0,
            )
            .order_by()
            .values_list("receipt__customer_id", "product_id")
        )
        for customer, product in lines.iterator(chunk_size=CHUNK):
            category = product_category.get(product)
            if category is not None and category in top:
                categories[customer].add(top[category][0])
        found.categories = dict(categories)
    return found


def data_end() -> dt.datetime | None:
    """The moment of the latest known purchase (what 'now' is for a retailer whose data stops earlier)."""
    return (
        Receipt.objects.filter(customer__isnull=False)
        .order_by("-purchased_at")
        .values_list("purchased_at", flat=True)
        .first()
    )
