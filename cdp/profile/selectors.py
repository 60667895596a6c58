"""Reads of the 360° profile: customer search, the profile with its key figures, the timeline and spend by month.

Every selector runs a fixed number of queries, whatever the customer's history: figures are aggregated in the
database, the timeline reads one page.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, overload

from django.conf import settings
from django.db.models import Case, Count, Exists, F, IntegerField, Max, Min, OuterRef, Q, Sum, Value, When
from django.db.models.functions import Coalesce, NullIf, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext_lazy

from cdp.models import Customer, Identifier, Interaction, Receipt, ReceiptLine, Source, SourceRecord
from cdp.money import format_minor
from cdp.normalise import NormalisationError, normalise_code, normalise_email, normalise_phone
from cdp.profile.search import FALLBACK_SCAN_LIMIT, KeyRanker, customer_search_key, name_candidates, query_words

# Messages shown to the user; tests reuse them.
# Who reads profiles: CRM staff, marketing analysts and DPOs; sales reps lack cdp.view_sourcerecord.
PROFILE_PERMISSIONS = ("cdp.view_customer", "cdp.view_sourcerecord")
QUERY_TOO_SHORT = gettext_lazy("Enter at least 2 characters.")
QUERY_TOO_LONG = gettext_lazy("Enter at most 100 characters.")
MIN_QUERY_LENGTH = 2
MAX_QUERY_LENGTH = 100
MAX_MERGE_HOPS = 10
FAVOURITES = 3
TIMELINE_LINES_SHOWN = 3

MATCHED_NAME = "name"
MATCHED_EMAIL = "email"
MATCHED_PHONE = "phone"
MATCHED_EXTERNAL_ID = "external_id"

_PHONE_LIKE = re.compile(r"\+?[\d\s().\-/]+")
_MIN_PHONE_DIGITS = 6
_HIT_FIELDS = ("id", "first_name", "last_name", "email", "phone", "postcode", "city")
_CUSTOMER_ROW = (*_HIT_FIELDS, "status", "merged_into_id")


class SearchQueryError(ValueError):
    """A search query that cannot be run; str(exc) says why."""


class CustomerNotFound(LookupError):
    """No customer has this id."""


class CustomerMerged(Exception):
    """The customer was merged: its profile is the survivor's."""

    def __init__(self, survivor_id: uuid.UUID) -> None:
        super().__init__(f"merged into {survivor_id}")
        self.survivor_id = survivor_id


# ---------------------------------------------------------------------------------------------------------------------
# Search


@dataclass(frozen=True)
class CustomerHit:
    id: uuid.UUID
    first_name: str
    last_name: str
    email: str
    phone: str
    postcode: str
    city: str
    matched_on: str | None  # None in a plain list (no search)
    score: float | None

    @property
    def name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)


def _hit(row: dict[str, Any], matched_on: str | None, score: float | None) -> CustomerHit:
    return CustomerHit(**{name: row[name] for name in _HIT_FIELDS}, matched_on=matched_on, score=score)


def _clean_query(query: str | None) -> str:
    text = " ".join((query or "").split())
    if len(text) < MIN_QUERY_LENGTH:
        raise SearchQueryError(QUERY_TOO_SHORT)
    if len(text) > MAX_QUERY_LENGTH:
        raise SearchQueryError(QUERY_TOO_LONG)
    return text


def _phone(text: str) -> str:
    """The E.164 form of a query that looks like a phone number, else ""."""
    if not _PHONE_LIKE.fullmatch(text) or sum(char.isdigit() for char in text) < _MIN_PHONE_DIGITS:
        return ""
    try:
        return normalise_phone(text, settings.CLIENTELE_PHONE_REGION)
    except NormalisationError:
        return ""


def _identifier_lookups(text: str) -> list[tuple[str, str, str]]:
    """(identifier kind, value, matched_on) a query may name: an e-mail, a phone number, an external id or card."""
    if "@" in text:
        try:
            return [(Identifier.Kind.EMAIL, normalise_email(text), MATCHED_EMAIL)]
        except NormalisationError as exc:
            raise SearchQueryError(str(exc)) from exc
    lookups = []
    if phone := _phone(text):
        lookups.append((Identifier.Kind.PHONE, phone, MATCHED_PHONE))
    code = normalise_code(text)
    lookups += [
        (Identifier.Kind.LOYALTY_CARD, code, MATCHED_EXTERNAL_ID),
        (Identifier.Kind.CUSTOMER_NUMBER, code, MATCHED_EXTERNAL_ID),
    ]
    # External ids are stored as "source:external_id"; a user types the id alone, or with its source.
    sources = [code] if ":" in code else [f"{key}:{code}" for key in Source.objects.values_list("key", flat=True)]
    lookups += [(Identifier.Kind.EXTERNAL_ID, value, MATCHED_EXTERNAL_ID) for value in sources]
    return lookups


def _survivors(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of merged customers are replaced by their survivor's (one query per level of merge, usually none)."""
    for _ in range(MAX_MERGE_HOPS):
        merged = {row["merged_into_id"] for row in rows if row["status"] == Customer.Status.MERGED}
        if not merged:
            break
        survivors = {row["id"]: row for row in Customer.objects.filter(pk__in=merged).values(*_CUSTOMER_ROW)}
        rows = [
            {**survivors[row["merged_into_id"]], "matched_on": row["matched_on"]}
            if row["status"] == Customer.Status.MERGED and row["merged_into_id"] in survivors
            else row
            for row in rows
        ]
    return [row for row in rows if row["status"] == Customer.Status.ACTIVE]


def _identifier_hits(text: str) -> list[CustomerHit]:
    condition = Q()
    matched_on: dict[tuple[str, str], str] = {}
    for kind, value, matched in _identifier_lookups(text):
        condition |= Q(kind=kind, value=value)
        matched_on[(kind, value)] = matched
    identifiers = Identifier.objects.filter(condition, customer__isnull=False).order_by("pk")
    found = {
        customer_id: matched_on[(kind, value)]
        for customer_id, kind, value in identifiers.values_list("customer_id", "kind", "value")
    }
    if not found:
        return []
    rows = [
        {**row, "matched_on": found[row["id"]]} for row in Customer.objects.filter(pk__in=found).values(*_CUSTOMER_ROW)
    ]
    return [_hit(row, row["matched_on"], 0.0) for row in _survivors(rows)]


def _name_hits(words: list[str], limit: int) -> list[CustomerHit]:
    """Customers whose stored key matches, best first, then those whose key is not computed yet."""
    ranker = KeyRanker(words)
    # Merged customers' keys may be candidates: they are left out where customers are read.
    ranked = ranker.rank(name_candidates(Customer, words))[:limit]
    return _customers_of_keys(ranked, limit) + _unindexed_name_hits(ranker)


def _customers_of_keys(ranked: list[tuple[float, str]], limit: int) -> list[CustomerHit]:
    """The active customers with these keys, best key first (one query)."""
    if not ranked:
        return []
    score_of = {key: score for score, key in ranked}
    order = Case(
        *(When(search_name=key, then=Value(i)) for i, (_, key) in enumerate(ranked)), output_field=IntegerField()
    )
    rows = (
        Customer.objects.active()
        .filter(search_name__in=score_of)
        .order_by(order, "last_name", "first_name", "pk")
        .values(*_HIT_FIELDS, "search_name")[:limit]
    )
    return [_hit(row, MATCHED_NAME, score_of[row["search_name"]]) for row in rows]


def _unindexed_name_hits(ranker: KeyRanker) -> list[CustomerHit]:
    """Customers whose keys are not computed yet (NULL): a bounded scan, their keys computed here."""
    rows = Customer.objects.active().filter(search_name__isnull=True).values(*_HIT_FIELDS)[:FALLBACK_SCAN_LIMIT]
    hits = []
    for row in rows:
        score = ranker.score(customer_search_key(row["first_name"], row["last_name"]))
        if score is not None:
            hits.append(_hit(row, MATCHED_NAME, score))
    return hits


def _narrowed(queryset, *, source_key: str | None, updated_since: dt.datetime | None):
    if source_key:
        queryset = queryset.filter(Exists(SourceRecord.objects.filter(customer=OuterRef("pk"), source__key=source_key)))
    if updated_since is not None:
        queryset = queryset.filter(updated_at__gte=updated_since)
    return queryset


def customer_search(
    *, query: str, limit: int = 50, source_key: str | None = None, updated_since: dt.datetime | None = None
) -> list[CustomerHit]:
    """Active customers by e-mail, phone, external id or loyalty card (exact), or by name (typo-tolerant), best first;
    narrowed to those with a record from the source `source_key`, or updated since `updated_since`, when given.

    Raises SearchQueryError for a query too short or too long, or an e-mail address that is not one.
    """
    text = _clean_query(query)
    hits = _identifier_hits(text)
    # An e-mail address or a phone number is not a name.
    words = [] if "@" in text or _phone(text) else query_words(text)
    if words:
        hits += _name_hits(words, limit)
    unique: dict[uuid.UUID, CustomerHit] = {}
    for hit in sorted(hits, key=_hit_order):
        unique.setdefault(hit.id, hit)
    found = list(unique.values())
    if found and (source_key or updated_since is not None):
        ids = Customer.objects.filter(pk__in=list(unique)).values_list("pk", flat=True)
        kept = set(_narrowed(ids, source_key=source_key, updated_since=updated_since))
        found = [hit for hit in found if hit.id in kept]
    return found[:limit]


class CustomerPage(Sequence):
    """Active customers by name as a sequence a paginator slices: a COUNT, then one query per page read."""

    def __init__(self, queryset) -> None:
        self._queryset = queryset

    def __len__(self) -> int:
        return self._queryset.count()

    @overload
    def __getitem__(self, index: int) -> CustomerHit: ...

    @overload
    def __getitem__(self, index: slice) -> list[CustomerHit]: ...

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [_hit(row, None, None) for row in self._queryset[index]]
        return _hit(self._queryset[index], None, None)


def customer_list(*, source_key: str | None = None, updated_since: dt.datetime | None = None) -> CustomerPage:
    """Every active customer, by name (then id: a stable order for paging), narrowed like customer_search."""
    customers = _narrowed(Customer.objects.active(), source_key=source_key, updated_since=updated_since)
    return CustomerPage(customers.order_by("last_name", "first_name", "pk").values(*_HIT_FIELDS))


def _hit_order(hit: CustomerHit) -> tuple:
    """Best score first; at equal score an identifier before a name, then by name."""
    return (hit.score, hit.matched_on == MATCHED_NAME, hit.last_name.casefold(), hit.first_name.casefold(), str(hit.id))


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
