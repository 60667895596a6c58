"""Identity: golden records built from source records by survivorship rules.

Survivorship, for each profile field, among the records' non-empty values:

1. the value most sources agree on, compared after normalisation (case, accents, spacing, street abbreviations), so
   that one source's typo ("Bnnet") loses to two sources that say "Bonnet";
2. between values as many sources agree on, the one of the source with the best (lowest) priority;
3. then the most recently updated record's.

The value kept is written as the best-ranked record of the winning group wrote it (priority, then recency), preferring
a record that writes it in mixed case to one in capitals; a value only capitals carry is written in the case people
write (cdp.casing: "PARIS" -> "Paris"). The golden record remembers which source each value came from
(``Customer.field_sources``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.utils import timezone

from cdp.casing import readable_case, shouting
from cdp.db import Row, chunks, history_insert, rows_update
from cdp.identity.features import address_key, fold
from cdp.models import Customer, PersonFields, Source, SourceRecord
from cdp.profile.search import customer_search_key, customer_search_key_reversed

GOLDEN_FIELDS = (*PersonFields.PERSON_FIELDS, "signup_date")
CHUNK = 5000
# The parts of a postal address are chosen together, from one record: a street of one source with the postcode of
# another would be nobody's address. Every other field is chosen on its own.
_ADDRESS = ("address", "postcode", "city", "country")
_UNITS = (*((name,) for name in PersonFields.PERSON_FIELDS if name not in _ADDRESS), _ADDRESS)
_SINGLE_FIELDS = tuple(name for name in PersonFields.PERSON_FIELDS if name not in _ADDRESS)
_EMPTY = {name: None if name == "birth_date" else "" for name in PersonFields.PERSON_FIELDS}


def _comparable(name: str, value) -> object:
    """The form two values of a field are compared in: "BONNET" and "Bonnet", "19 AV. X" and "19 avenue X" agree."""
    if name == "address":
        return address_key(value) or fold(value)
    if isinstance(value, str):
        return fold(value) or value.strip().casefold()
    return value  # a date, or None


def golden_values(records: Iterable[SourceRecord]) -> tuple[dict, dict[str, str]]:
    """The golden values and, for each field, the key of the source it came from."""
    records = list(records)
    if len(records) == 1:
        return _golden_values_single(records[0])
    ranked = sorted(records, key=lambda r: (r.source.priority, -r.updated_at.timestamp() if r.updated_at else 0))
    values: dict = dict(_EMPTY)
    origins: dict[str, str] = {}
    for name in _SINGLE_FIELDS:
        groups: dict[object, list[SourceRecord]] = {}  # in rank order: a group's first record is its best
        for record in ranked:
            value = getattr(record, name)
            if value is not None and value != "":
                groups.setdefault(_comparable(name, value), []).append(record)
        if not groups:
            continue
        winning = _winning(groups)
        # the case people write: the best record that writes the value in mixed case (cdp.casing)
        best = next((r for r in winning if not shouting(getattr(r, name))), winning[0])
        values[name] = readable_case(name, getattr(best, name))
        origins[name] = best.source.key
    _address_values(ranked, values, origins)
    signups = [r.signup_date for r in ranked if r.signup_date]
    values["signup_date"] = min(signups) if signups else None
    return values, origins


def _winning(groups: dict[object, list[SourceRecord]]) -> list[SourceRecord]:
    """Most sources first; on a tie, the group whose best record ranks first (dicts keep insertion order)."""
    if len(groups) == 1:
        return next(iter(groups.values()))
    return max(groups.values(), key=lambda group: len({r.source.key for r in group}))


def _address_values(ranked: list[SourceRecord], values: dict, origins: dict[str, str]) -> None:
    """The parts of the postal address, chosen together from one record (``_ADDRESS``)."""
    groups: dict[object, list[SourceRecord]] = {}
    for record in ranked:
        found = tuple(getattr(record, name) for name in _ADDRESS)
        if any(value not in (None, "") for value in found):
            # a record's country does not split the vote on the place itself
            key = tuple(_comparable(n, v) for n, v in zip(_ADDRESS, found, strict=True) if n != "country")
            groups.setdefault(key, []).append(record)
    if not groups:
        return
    winning = _winning(groups)
    best = next((r for r in winning if not any(shouting(getattr(r, n)) for n in _ADDRESS)), winning[0])
    for name in _ADDRESS:
        value = getattr(best, name)
        if value not in (None, ""):
            values[name] = readable_case(name, value)
            origins[name] = best.source.key


def _golden_values_single(record: SourceRecord) -> tuple[dict, dict[str, str]]:
    """What the rules give for one record alone (every import's new customer): its own non-empty values."""
    values: dict = {}
    origins: dict[str, str] = {}
    key = record.source.key
    for names in _UNITS:
        for name in names:
            value = getattr(record, name)
            if value in (None, ""):
                values[name] = None if name == "birth_date" else ""
            else:
                values[name] = readable_case(name, value)
                origins[name] = key
    values = {name: values[name] for name in PersonFields.PERSON_FIELDS}
    values["signup_date"] = record.signup_date or None
    return values, origins


_SEARCH_KEYS = ("search_name", "search_name_reversed")
_RECORD_COLUMNS = ("customer_id", *PersonFields.PERSON_FIELDS, "signup_date", "updated_at", "source_id")


def customers_refresh_golden(customer_ids: Iterable) -> int:
    """Recompute the golden record of these customers from their source records; returns how many changed."""
    customer_ids = list(set(customer_ids))
    changed = []
    now = timezone.now()
    sources = {source.pk: source for source in Source.objects.all()}
    customer_columns = tuple(field.attname for field in Customer._meta.concrete_fields)
    for chunk in chunks(customer_ids):
        records_by_customer: dict = defaultdict(list)
        for values in SourceRecord.objects.filter(customer_id__any=chunk).values_list(*_RECORD_COLUMNS):
            record = Row(**dict(zip(_RECORD_COLUMNS, values, strict=True)))
            record.source = sources[record.source_id]
            records_by_customer[record.customer_id].append(record)
        for values in Customer.objects.filter(id__any=chunk).values_list(*customer_columns):
            customer = Row(**dict(zip(customer_columns, values, strict=True)))
            golden, origins = golden_values(records_by_customer.get(customer.id, []))
            if all(getattr(customer, k) == v for k, v in golden.items()) and customer.field_sources == origins:
                continue
            for name, value in golden.items():
                setattr(customer, name, value)
            customer.field_sources = origins
            customer.updated_at = now
            # a renamed customer is found under its new name at once (cdp.profile.search)
            customer.search_name = customer_search_key(customer.first_name, customer.last_name)
            customer.search_name_reversed = customer_search_key_reversed(customer.first_name, customer.last_name)
            changed.append(customer)
    if changed:
        rows_update(Customer, changed, [*GOLDEN_FIELDS, "field_sources", "updated_at", *_SEARCH_KEYS])
        history_insert(Customer, changed, update=True, change_reason="")
    return len(changed)
