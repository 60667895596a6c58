"""Finding customers: by e-mail, phone, external id or loyalty card (exact) or by name (typo-tolerant), best first, and
the plain list of active customers a page at a time. Each runs a fixed number of queries (cdp.profile.search keeps the
name keys and ranks them)."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, overload

from django.conf import settings
from django.db.models import Case, Exists, IntegerField, OuterRef, Q, Value, When
from django.utils.translation import gettext_lazy

from cdp.models import Customer, Identifier, Source, SourceRecord
from cdp.normalise import NormalisationError, normalise_code, normalise_email, normalise_phone
from cdp.profile.search import FALLBACK_SCAN_LIMIT, KeyRanker, customer_search_key, name_candidates, query_words

# Messages shown to the user; tests reuse them.
QUERY_TOO_SHORT = gettext_lazy("Enter at least 2 characters.")
QUERY_TOO_LONG = gettext_lazy("Enter at most 100 characters.")
MIN_QUERY_LENGTH = 2
MAX_QUERY_LENGTH = 100
MAX_MERGE_HOPS = 10

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
