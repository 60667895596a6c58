"""Reads of the 360° profile: the profile with its key figures, the timeline and spend by month (finding customers is
cdp.profile.finding's, whose selectors are imported here too).

Every selector runs a fixed number of queries, whatever the customer's history: figures are aggregated in the
database, the timeline reads one page.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from django.conf import settings
from django.db.models import Count, F, Max, Min, Q, Sum, Value
from django.db.models.functions import Coalesce, NullIf, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext_lazy

from cdp.models import Customer, Identifier, Interaction, Receipt, ReceiptLine, SourceRecord
from cdp.money import format_minor

# Finding customers lives in cdp.profile.finding; its names are the profile's selectors too.
from cdp.profile.finding import MAX_MERGE_HOPS as MAX_MERGE_HOPS
from cdp.profile.finding import MAX_QUERY_LENGTH as MAX_QUERY_LENGTH
from cdp.profile.finding import MIN_QUERY_LENGTH as MIN_QUERY_LENGTH
from cdp.profile.finding import QUERY_TOO_LONG as QUERY_TOO_LONG
from cdp.profile.finding import QUERY_TOO_SHORT as QUERY_TOO_SHORT
from cdp.profile.finding import CustomerHit as CustomerHit
from cdp.profile.finding import CustomerPage as CustomerPage
from cdp.profile.finding import SearchQueryError as SearchQueryError
from cdp.profile.finding import customer_list as customer_list
from cdp.profile.finding import customer_search as customer_search

# Messages shown to the user; tests reuse them.
# Who reads profiles: CRM staff, marketing analysts and DPOs; sales reps lack cdp.view_sourcerecord.
PROFILE_PERMISSIONS = ("cdp.view_customer", "cdp.view_sourcerecord")
FAVOURITES = 3
TIMELINE_LINES_SHOWN = 3


class CustomerNotFound(LookupError):
    """No customer has this id."""


class CustomerMerged(Exception):
    """The customer was merged: its profile is the survivor's."""

    def __init__(self, survivor_id: uuid.UUID) -> None:
        super().__init__(f"merged into {survivor_id}")
        self.survivor_id = survivor_id


# ---------------------------------------------------------------------------------------------------------------------
# Profile


@dataclass(frozen=True)
class Amount:
    minor: int
    currency: str

    @property
    def display(self) -> str:
        return format_minor(self.minor, self.currency)


@dataclass(frozen=True)
class IdentityField:
    """One field of the golden record and the source its value was taken from."""

    name: str
    label: str
    value: str  # ISO 8601 for a date (the API's); pages show `date` in the reader's format
    source_key: str
    source_name: str
    date: dt.date | None = None


@dataclass(frozen=True)
class SourceRecordSummary:
    source_key: str
    source_name: str
    external_id: str
    name: str
    email: str
    phone: str
    postcode: str
    city: str
    signup_date: dt.date | None
    updated_at: dt.datetime


@dataclass(frozen=True)
class IdentifierSummary:
    kind: str
    kind_label: str
    value: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Favourite:
    label: str
    count: int


@dataclass(frozen=True)
class KeyFigures:
    """Purchases are receipts with a non-negative item count, returns the others; amounts per currency, main first."""

    receipts: int
    returns: int
    first_purchase: dt.datetime | None
    last_purchase: dt.datetime | None
    revenue: tuple[Amount, ...]  # net of returns
    average_basket: tuple[Amount, ...]
    returned: tuple[Amount, ...]
    categories: tuple[Favourite, ...]
    stores: tuple[Favourite, ...]
    channels: tuple[Favourite, ...]


@dataclass(frozen=True)
class Profile:
    customer: Customer = field(repr=False, compare=False)
    id: uuid.UUID
    display_name: str
    status: str
    created_at: dt.datetime
    updated_at: dt.datetime
    identity: tuple[IdentityField, ...]
    source_records: tuple[SourceRecordSummary, ...]
    identifiers: tuple[IdentifierSummary, ...]
    figures: KeyFigures
    known_since: dt.date | None = None  # the earliest signup among its source records, else its creation date


def _as_uuid(value: Any) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError as exc:
        raise CustomerNotFound(str(value)) from exc


def customer_get_active(*, customer_id: Any) -> Customer:
    """The customer; CustomerNotFound for an unknown id, CustomerMerged (with the survivor's id) for a merged one."""
    customer = Customer.objects.select_related("merged_into").filter(pk=_as_uuid(customer_id)).first()
    if customer is None:
        raise CustomerNotFound(str(customer_id))
    if customer.status == Customer.Status.ACTIVE:
        return customer
    survivor = customer.merged_into
    for _ in range(MAX_MERGE_HOPS):
        if survivor is None or survivor.status == Customer.Status.ACTIVE:
            break
        survivor = Customer.objects.filter(pk=survivor.merged_into_id).first()
    if survivor is None:
        raise CustomerNotFound(str(customer_id))
    raise CustomerMerged(survivor.pk)


IDENTITY_LABELS = {
    "first_name": gettext_lazy("First name"),
    "last_name": gettext_lazy("Last name"),
    "email": gettext_lazy("E-mail"),
    "phone": gettext_lazy("Phone"),
    "birth_date": gettext_lazy("Birth date"),
    "gender": gettext_lazy("Gender"),
    "address": gettext_lazy("Address"),
    "postcode": gettext_lazy("Postcode"),
    "city": gettext_lazy("City"),
    "country": gettext_lazy("Country"),
    "signup_date": gettext_lazy("Signed up"),
}


def _identity(customer: Customer, source_names: dict[str, str]) -> tuple[IdentityField, ...]:
    fields = []
    for name, label in IDENTITY_LABELS.items():
        value = customer.get_gender_display() if name == "gender" else getattr(customer, name)
        source_key = customer.field_sources.get(name, "") if isinstance(customer.field_sources, dict) else ""
        date = value if isinstance(value, dt.date) else None
        shown = value.isoformat() if date else str(value or "")
        fields.append(IdentityField(name, label, shown, source_key, source_names.get(source_key, source_key), date))
    return tuple(fields)


def _source_records(customer_id: uuid.UUID) -> tuple[SourceRecordSummary, ...]:
    records = (
        SourceRecord.objects.filter(customer_id=customer_id)
        .select_related("source")
        .order_by("source__priority", "source__key", "external_id")
    )
    return tuple(
        SourceRecordSummary(
            source_key=record.source.key,
            source_name=str(record.source),
            external_id=record.external_id,
            name=record.full_name,
            email=record.email,
            phone=record.phone,
            postcode=record.postcode,
            city=record.city,
            signup_date=record.signup_date,
            updated_at=record.updated_at,
        )
        for record in records
    )


def _identifiers(customer_id: uuid.UUID) -> tuple[IdentifierSummary, ...]:
    """Each (kind, value) once, with the sources that carry it."""
    rows = Identifier.objects.filter(customer_id=customer_id).order_by("kind", "value", "source_record__source__key")
    sources: dict[tuple[str, str], list[str]] = {}
    for kind, value, source_key in rows.values_list("kind", "value", "source_record__source__key"):
        sources.setdefault((kind, value), [])
        if source_key not in sources[(kind, value)]:
            sources[(kind, value)].append(source_key)
    labels = dict(Identifier.Kind.choices)
    return tuple(
        IdentifierSummary(kind, str(labels.get(kind, kind)), value, tuple(keys))
        for (kind, value), keys in sources.items()
    )


def _top(queryset, group_by: tuple[str, ...]) -> tuple[Favourite, ...]:
    """The most frequent groups (GROUP BY ... ORDER BY count DESC LIMIT 3), labelled by their first non-empty value."""
    rows = queryset.values(*group_by).annotate(count=Count("pk")).order_by("-count", *group_by)[:FAVOURITES]
    return tuple(Favourite(next((str(row[name]) for name in group_by if row[name]), ""), row["count"]) for row in rows)


def _favourites(customer_id: uuid.UUID) -> tuple[tuple[Favourite, ...], ...]:
    purchases = Receipt.objects.filter(customer_id=customer_id, item_count__gte=0)
    lines = ReceiptLine.objects.filter(
        receipt__customer_id=customer_id, quantity__gt=0, product__category__isnull=False
    )
    channel_labels = dict(Interaction.Channel.choices)  # "store" -> "Store", in the reader's language
    channels = _top(purchases.exclude(channel=""), ("channel",))
    return (
        _top(lines, ("product__category__name", "product__category__key")),
        _top(purchases.filter(store__isnull=False), ("store__name", "store__code")),
        tuple(Favourite(str(channel_labels.get(item.label, item.label)), item.count) for item in channels),
    )


def _figures(customer_id: uuid.UUID) -> KeyFigures:
    purchase = Q(item_count__gte=0)
    rows = list(
        Receipt.objects.filter(customer_id=customer_id)
        .values("currency")
        .annotate(
            receipts=Count("pk", filter=purchase),
            returns=Count("pk", filter=~purchase),
            spent=Sum("total_minor", filter=purchase),
            returned=Sum("total_minor", filter=~purchase),
            net=Sum("total_minor"),
            first=Min("purchased_at", filter=purchase),
            last=Max("purchased_at", filter=purchase),
        )
        .order_by("-receipts", "currency")
    )
    firsts = [row["first"] for row in rows if row["first"]]
    lasts = [row["last"] for row in rows if row["last"]]
    categories, stores, channels = _favourites(customer_id)
    return KeyFigures(
        receipts=sum(row["receipts"] for row in rows),
        returns=sum(row["returns"] for row in rows),
        first_purchase=min(firsts, default=None),
        last_purchase=max(lasts, default=None),
        revenue=tuple(Amount(row["net"] or 0, row["currency"]) for row in rows),
        average_basket=tuple(
            Amount(round((row["spent"] or 0) / row["receipts"]), row["currency"]) for row in rows if row["receipts"]
        ),
        returned=tuple(Amount(-(row["returned"] or 0), row["currency"]) for row in rows if row["returns"]),
        categories=categories,
        stores=stores,
        channels=channels,
    )


def customer_profile(*, customer_id: Any) -> Profile:
    """The 360° profile of an active customer in seven queries, whatever its history.

    Raises CustomerNotFound, or CustomerMerged with the survivor's id.
    """
    customer = customer_get_active(customer_id=customer_id)
    records = _source_records(customer.pk)
    source_names = {record.source_key: record.source_name for record in records}
    return Profile(
        customer=customer,
        id=customer.pk,
        display_name=str(customer),
        status=customer.status,
        created_at=customer.created_at,
        updated_at=customer.updated_at,
        identity=_identity(customer, source_names),
        source_records=records,
        identifiers=_identifiers(customer.pk),
        figures=_figures(customer.pk),
        known_since=min(
            (record.signup_date for record in records if record.signup_date),
            default=timezone.localdate(customer.created_at) if customer.created_at else None,
        ),
    )


# ---------------------------------------------------------------------------------------------------------------------
# Timeline


RECEIPT = "receipt"
INTERACTION = "interaction"
MAX_PER_PAGE = 100
MAX_TIMELINE_DEPTH = 10_000  # entries reachable by paging: each page reads up to this many rows of each table


@dataclass(frozen=True)
class TimelineEntry:
    kind: str  # RECEIPT or INTERACTION
    at: dt.datetime
    label: str  # the receipt's id, or the interaction's type
    place: str  # a store or a channel
    amount: Amount | None
    is_return: bool
    details: tuple[str, ...]
    source_key: str
    receipt_pk: int | None = field(default=None, repr=False)


@dataclass(frozen=True)
class TimelinePage:
    entries: tuple[TimelineEntry, ...]
    page: int
    per_page: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def next_page(self) -> int:
        return self.page + 1

    @property
    def previous_page(self) -> int:
        return self.page - 1


def _receipt_entries(customer_id: uuid.UUID, count: int) -> list[TimelineEntry]:
    rows = (
        Receipt.objects.filter(customer_id=customer_id)
        .order_by("-purchased_at", "-pk")  # receipt_customer_date_idx, read backwards
        .values("pk", "receipt_id", "purchased_at", "channel", "total_minor", "currency", "item_count")
        .annotate(store_name=Coalesce(NullIf("store__name", Value("")), "store__code"), source_key=F("source__key"))[
            :count
        ]
    )
    return [
        TimelineEntry(
            kind=RECEIPT,
            at=row["purchased_at"],
            label=row["receipt_id"],
            place=row["store_name"] or row["channel"],
            amount=Amount(row["total_minor"], row["currency"]),
            is_return=row["item_count"] < 0,
            details=(),  # the products, once the page is known
            source_key=row["source_key"],
            receipt_pk=row["pk"],
        )
        for row in rows
    ]


def _properties(properties: Any) -> tuple[str, ...]:
    if not isinstance(properties, dict):
        return ()
    return tuple(f"{key}: {value}" for key, value in list(properties.items())[:TIMELINE_LINES_SHOWN])


def _interaction_entries(customer_id: uuid.UUID, count: int) -> list[TimelineEntry]:
    rows = (
        Interaction.objects.filter(customer_id=customer_id)
        .order_by("-occurred_at", "-pk")  # interaction_customer_date_idx, read backwards
        .values("occurred_at", "type", "channel", "properties", source_key=F("source__key"))[:count]
    )
    channels = dict(Interaction.Channel.choices)
    return [
        TimelineEntry(
            kind=INTERACTION,
            at=row["occurred_at"],
            label=row["type"].replace("_", " ").capitalize(),
            place=str(channels.get(row["channel"], row["channel"])),
            amount=None,
            is_return=False,
            details=_properties(row["properties"]),
            source_key=row["source_key"],
        )
        for row in rows
    ]


def _with_products(entries: list[TimelineEntry]) -> list[TimelineEntry]:
    """Receipts get the names of their first products (one query for the page)."""
    receipt_ids = [entry.receipt_pk for entry in entries if entry.receipt_pk is not None]
    if not receipt_ids:
        return entries
    products: dict[int, list[str]] = {}
    lines = ReceiptLine.objects.filter(receipt_id__in=receipt_ids).order_by("receipt_id", "line_no")
    for receipt_id, name, sku, quantity in lines.values_list("receipt_id", "product__name", "product__sku", "quantity"):
        products.setdefault(receipt_id, []).append(f"{quantity} × {name or sku}")
    return [
        replace(entry, details=_first_products(products.get(entry.receipt_pk, [])))
        if entry.receipt_pk is not None
        else entry
        for entry in entries
    ]


def _first_products(names: list[str]) -> tuple[str, ...]:
    hidden = len(names) - TIMELINE_LINES_SHOWN
    return tuple(names[:TIMELINE_LINES_SHOWN]) + ((f"+{hidden}",) if hidden > 0 else ())


def customer_timeline(*, customer_id: Any, page: int = 1, per_page: int = 20) -> TimelinePage:
    """Receipts and interactions, newest first, one page (three queries).

    Each table gives its newest page * per_page + 1 rows through its (customer, date) index; merged, they hold the
    page and tell whether another follows.
    """
    customer_id = _as_uuid(customer_id)
    per_page = min(max(1, per_page), MAX_PER_PAGE)
    page = min(max(1, page), MAX_TIMELINE_DEPTH // per_page)
    end = page * per_page
    merged = sorted(
        _receipt_entries(customer_id, end + 1) + _interaction_entries(customer_id, end + 1),
        key=lambda entry: entry.at,
        reverse=True,
    )
    entries = _with_products(merged[end - per_page : end])
    return TimelinePage(entries=tuple(entries), page=page, per_page=per_page, has_next=len(merged) > end)


# ---------------------------------------------------------------------------------------------------------------------
# Spend by month


@dataclass(frozen=True)
class MonthSpend:
    month: dt.date  # its first day
    amount: Amount


@dataclass(frozen=True)
class SpendByMonth:
    """Net spend per calendar month (local time) in the customer's main currency; other currencies are named."""

    currency: str
    months: tuple[MonthSpend, ...]
    other_currencies: tuple[str, ...]


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def customer_spend_by_month(*, customer_id: Any, months: int = 12, until: dt.date | None = None) -> SpendByMonth:
    """The `months` calendar months up to `until`'s (today by default), oldest first, in one query."""
    until = until or timezone.localdate()
    first = _add_months(until, -(months - 1))
    zone = timezone.get_current_timezone()
    start = dt.datetime.combine(first, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(_add_months(until, 1), dt.time.min, tzinfo=zone)
    rows = (
        Receipt.objects.filter(customer_id=_as_uuid(customer_id), purchased_at__gte=start, purchased_at__lt=end)
        .annotate(month=TruncMonth("purchased_at"))
        .values("month", "currency")
        .annotate(total=Sum("total_minor"))
        .order_by("month", "currency")
    )
    totals: dict[str, dict[dt.date, int]] = {}
    for row in rows:
        month = timezone.localtime(row["month"]).date() if isinstance(row["month"], dt.datetime) else row["month"]
        totals.setdefault(row["currency"], {})[month] = row["total"] or 0
    currency = max(
        totals, key=lambda code: (sum(map(abs, totals[code].values())), code), default=settings.CLIENTELE_CURRENCY
    )
    by_month = totals.get(currency, {})
    series = tuple(
        MonthSpend(month, Amount(by_month.get(month, 0), currency))
        for month in (_add_months(first, offset) for offset in range(months))
    )
    return SpendByMonth(currency, series, tuple(sorted(code for code in totals if code != currency)))
