"""What the core app holds about a customer, registered with consent's personal-data registry at start-up."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from consent.registry import Erasure, SubjectKeys, register_personal_data, register_scrubber, register_subject_keys

REDACTED = "[erased]"

# French commercial law (Code de commerce, art. L123-22) keeps accounting records for ten years: a receipt stays,
# but no longer says whose it was.
ACCOUNTING = "accounting records are kept 10 years (Code de commerce L123-22), anonymised and unlinked"


def person_key(first_name: str | None, last_name: str | None, birth_date: dt.date | None) -> str:
    """A person as erasure remembers one beside a shared e-mail or phone: folded names and the birth date."""
    from cdp.profile.search import fold_name

    return f"{fold_name(first_name)}|{fold_name(last_name)}|{birth_date.isoformat() if birth_date else ''}"


def _persons(rows: Iterable[tuple]) -> set[str]:
    """The person keys of (first name, last name, birth date) rows: with the birth date, and without it (a record
    of the same person that lacks the date is still the person)."""
    persons = set()
    for first_name, last_name, birth_date in rows:
        if first_name or last_name:
            persons |= {person_key(first_name, last_name, birth_date), person_key(first_name, last_name, None)}
    return persons


def is_landline(phone: str) -> bool:
    """A fixed line is a household's: the people who live there share it."""
    import phonenumbers

    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.FIXED_LINE


def _shared_values(ids: list[Any], emails: set[str], phones: set[str]) -> set[str]:
    """The subject's e-mails and phones that other customers carry too, and its landlines."""
    from cdp.models import Identifier

    values = sorted((emails | phones) - {""})
    if not values:
        return set()
    others = (
        Identifier.objects.filter(kind__in=[Identifier.Kind.EMAIL, Identifier.Kind.PHONE], value__in=values)
        .exclude(customer_id__in=ids)
        .exclude(customer__isnull=True)
        .values_list("value", flat=True)
    )
    return set(others) | {phone for phone in phones if phone and is_landline(phone)}


def subject_keys(customer_ids: Iterable[Any]) -> SubjectKeys:
    """The identifiers of customers as imports normalise them: source external ids, e-mails, phones (E.164); the
    persons they are (names and birth dates) and the e-mails and phones they share with others."""
    from cdp.models import Customer, Identifier, Interaction, SourceRecord

    ids = list(customer_ids)
    external_ids, emails, phones, names = set(), set(), set(), []
    records = SourceRecord.objects.filter(customer_id__in=ids).values_list(
        "source__key", "external_id", "email", "phone", "first_name", "last_name", "birth_date"
    )
    for source_key, external_id, email, phone, *person in records:
        external_ids.add((source_key, external_id))
        emails.add(email)
        phones.add(phone)
        names.append(person)
    customers = Customer.objects.filter(pk__in=ids).values_list(
        "email", "phone", "first_name", "last_name", "birth_date"
    )
    for email, phone, *person in customers:
        emails.add(email)
        phones.add(phone)
        names.append(person)
    identifiers = Identifier.objects.filter(customer_id__in=ids).values_list("kind", "value")
    for kind, value in identifiers:
        if kind == Identifier.Kind.EMAIL:
            emails.add(value)
        elif kind == Identifier.Kind.PHONE:
            phones.add(value)
        elif kind == Identifier.Kind.EXTERNAL_ID and ":" in value:
            external_ids.add(tuple(value.split(":", 1)))
    # Cookie or device ids seen with the customer: their anonymous events are theirs too (GDPR Recital 30).
    devices = Interaction.objects.filter(customer_id__in=ids).exclude(anonymous_id="").values_list("anonymous_id")
    return SubjectKeys(
        external_ids=frozenset(external_ids),
        emails=frozenset(emails - {""}),
        phones=frozenset(phones - {""}),
        anonymous_ids=frozenset(value for (value,) in devices.distinct()),
        persons=frozenset(_persons(names)),
        shared=frozenset(_shared_values(ids, emails, phones)),
    )


def scrub_import_errors(customer_ids: list[Any], keys: SubjectKeys) -> int:
    """Import records may quote a subject's values: reasons of rejected API rows (``invalid e-mail 'x'``), and the
    file name or idempotency key a client chose. The subject's values are redacted in all three."""
    from django.db.models import Q, TextField
    from django.db.models.functions import Cast

    from cdp.models import ImportBatch

    values = sorted(value for value in keys.values() if len(value) >= 3)
    if not values:
        return 0
    condition = Q()
    for value in values:
        condition |= Q(errors_text__contains=value) | Q(origin__contains=value) | Q(idempotency_key__contains=value)
    batches = list(ImportBatch.objects.annotate(errors_text=Cast("row_errors", TextField())).filter(condition))
    for batch in batches:
        batch.row_errors = [
            {**error, "reasons": [_redact(reason, values) for reason in error.get("reasons", [])]}
            for error in batch.row_errors
        ]
        batch.origin = _redact(batch.origin, values)
        if any(value in batch.idempotency_key for value in values):
            batch.idempotency_key = f"{REDACTED}{batch.pk}"  # still unique, no longer the subject's
    ImportBatch.objects.bulk_update(batches, ["row_errors", "origin", "idempotency_key"])
    return len(batches)


def scrub_history_identifiers(customer_ids: list[Any], keys: SubjectKeys) -> int:
    """A merge copies the subject's values into another customer's history: while the subject was merged into it
    (or it into the subject), that golden record's versions carried the subject's values, and an unmerge leaves
    those versions behind. Erasure removes them there too (it runs before the subject's rows go, so their values
    can still be read):

    - in the history of each merge partner (below), the subject's e-mails and phones are blanked and identifier
      history rows with them go, unless the partner's own current records carry the value too (a household's
      e-mail or landline is the partner's as well); nobody else's history is touched (a namesake sharing the
      household's e-mail keeps it);
    - in the history of each merge partner (a customer named with the subject on a ``MergeEvent``, or down a chain
      of merges, see ``_merge_partners``), written since the subject's values could reach it (a merge records its
      event before it recomputes the golden record), every person field whose value is one of the subject's values
      for that field (read from the subject's source records, customer rows and their history) is blanked, unless
      the partner's own current records carry that value too (a family name or a city two people share is the
      partner's as well, and stays).

    Source record history needs no such pass: a merge re-points records without writing their history, and a
    record's history is the subject's own, erased with it. Only a merge puts a subject's values in another
    customer's history: without one (nearly every erasure, and the nightly retention runs) nothing is scanned.
    Returns the number of values blanked and rows deleted; the values themselves are never logged.
    """
    from cdp.models import Customer, Identifier

    partners = _merge_partners(customer_ids)
    if not partners:
        return 0
    changed = 0
    subject_values = _person_values(customer_ids)
    identifier_values = keys.emails | keys.phones | {f"{s}:{e}" for s, e in keys.external_ids}
    history = Customer.history.model
    for partner, since in partners.items():
        # a value the partner's own records carry (a household's e-mail or landline) is the partner's too, and stays
        own_identifiers = _current_identifier_values([partner])
        for name, found in (("email", keys.emails), ("phone", keys.phones)):
            for chunk in _chunks(sorted(found - own_identifiers)):  # identifiers: in the whole of its history
                changed += history.objects.filter(id=partner, **{f"{name}__in": chunk}).update(**{name: ""})
        for chunk in _chunks(sorted(identifier_values - own_identifiers)):
            rows = Identifier.history.model.objects.filter(customer_id=partner, value__in=chunk)
            changed += rows.delete()[0]
        own = _current_person_values([partner])
        for name, found in subject_values.items():
            # a partner's own value stays; sorted, so that the statements are the same from one run to the next
            foreign = sorted(found - own[name])
            cleared = None if history._meta.get_field(name).null else ""
            for chunk in _chunks(foreign):
                rows = history.objects.filter(id=partner, history_date__gte=since, **{f"{name}__in": chunk})
                changed += rows.update(**{name: cleared})
    return changed


def _current_identifier_values(customer_ids: list[Any]) -> set[str]:
    """The e-mails, phones and external ids the customers' current identifiers, records and rows carry."""
    from cdp.models import Customer, Identifier, SourceRecord

    values: set[str] = set()
    for chunk in _chunks(list(customer_ids)):
        values |= set(Identifier.objects.filter(customer_id__in=chunk).values_list("value", flat=True))
        for email, phone in SourceRecord.objects.filter(customer_id__in=chunk).values_list("email", "phone"):
            values |= {email, phone}
        for email, phone in Customer.objects.filter(pk__in=chunk).values_list("email", "phone"):
            values |= {email, phone}
    return values - {""}


IN_CHUNK = 500  # bounded IN lists


def _chunks(values: list, size: int = IN_CHUNK) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


MERGE_CHAIN_LIMIT = 10_000  # merge events followed from one subject (a chain is a handful in practice)


def _merge_partners(customer_ids: list[Any]) -> dict[Any, Any]:
    """The customers the subject's values may have reached through merges, the subject left out, each with the time
    from which its history can hold them: those named with the subject on a merge or unmerge and, down the chain,
    those named on a later event with a customer already reached (S merged into T, then T into U)."""
    from django.db.models import Q

    from cdp.models import MergeEvent

    subject = set(customer_ids)
    events: dict[int, tuple] = {}
    seen, frontier = set(subject), set(subject)
    while frontier and len(events) < MERGE_CHAIN_LIMIT:  # the events of the customers connected to the subject
        found = set()
        for chunk in _chunks(sorted(frontier, key=str)):
            rows = MergeEvent.objects.filter(Q(other_id__in=chunk) | Q(survivor_id__in=chunk))
            for pk, survivor_id, other_id, at in rows.values_list("pk", "survivor_id", "other_id", "at"):
                events[pk] = (at, pk, survivor_id, other_id)
                found |= {survivor_id, other_id} - {None}
        frontier = found - seen
        seen |= found
    reached: dict[Any, Any] = {}  # values travel forward in time only: one pass in the events' order
    for at, _, survivor_id, other_id in sorted(events.values()):
        ends = {survivor_id, other_id} - {None}
        if ends & subject or ends & reached.keys():
            for pk in ends - subject:
                reached.setdefault(pk, at)
    return dict(sorted(reached.items(), key=lambda item: str(item[0])))


def _merged_person_fields() -> tuple[str, ...]:
    """Person fields a merge copies into another golden record, besides e-mails and phones (identifiers, scrubbed
    from every history row)."""
    from cdp.models import PersonFields

    return tuple(name for name in PersonFields.PERSON_FIELDS if name not in ("email", "phone"))


def _empty_values() -> dict[str, set]:
    return {name: set() for name in _merged_person_fields()}


def _collect(values: dict[str, set], rows: Iterable[tuple]) -> None:
    for row in rows:
        for name, value in zip(_merged_person_fields(), row, strict=True):
            if value not in (None, ""):
                values[name].add(value)


def _current_person_values(customer_ids: list[Any]) -> dict[str, set]:
    """The person values customers' current source records and customer rows carry, by field."""
    from cdp.models import Customer, SourceRecord

    fields, values = _merged_person_fields(), _empty_values()
    for chunk in _chunks(list(customer_ids)):
        _collect(values, SourceRecord.objects.filter(customer_id__in=chunk).values_list(*fields))
        _collect(values, Customer.objects.filter(pk__in=chunk).values_list(*fields))
    return values


def _person_values(customer_ids: list[Any]) -> dict[str, set]:
    """The subject's person values, by field: its source records and customer rows, now and in their history."""
    from cdp.models import Customer, SourceRecord

    fields, values = _merged_person_fields(), _current_person_values(customer_ids)
    for chunk in _chunks(list(customer_ids)):
        record_ids = list(SourceRecord.objects.filter(customer_id__in=chunk).values_list("pk", flat=True))
        for records in _chunks(record_ids):
            rows = SourceRecord.history.model.objects.filter(id__in=records)
            _collect(values, rows.values_list(*fields).distinct())
        rows = Customer.history.model.objects.filter(id__in=chunk)
        _collect(values, rows.values_list(*fields).distinct())
    return values


def _redact(text: str, values: list[str]) -> str:
    for value in values:
        text = text.replace(value, REDACTED)
    return text


def register() -> None:
    from cdp import models as m

    register_subject_keys(subject_keys)
    register_scrubber("cdp.ImportBatch (row errors)", scrub_import_errors)
    register_scrubber("cdp history (identifiers under another customer)", scrub_history_identifiers)
    # Customers merged into the subject are the same person: erasure and export follow `merged_into` (consent).
    register_personal_data(
        m.Customer, subject="pk", erasure=Erasure.DELETE, export=_export_fields(("id",), CUSTOMER_EXPORT_TAIL)
    )
    register_personal_data(
        m.SourceRecord,
        subject="customer",
        erasure=Erasure.DELETE,
        export=_export_fields(("id", "source", "source__name", "external_id", "customer"), RECORD_EXPORT_TAIL),
    )
    register_personal_data(
        m.Identifier,
        subject="customer",
        erasure=Erasure.DELETE,
        export=(
            "id",
            "kind",
            "value",
            "customer",
            "source_record",
            "source_record__source__name",
            "source_record__external_id",
            "created_at",
        ),
        present=identifiers_present,
    )
    register_personal_data(
        m.Interaction,
        subject="customer",
        erasure=Erasure.DELETE,
        unlinked=(("source__key", "customer_external_id"),),
        anonymous=("anonymous_id",),
        export=(
            "id",
            "source",
            "source__name",
            "customer",
            "customer_external_id",
            "anonymous_id",
            "occurred_at",
            "type",
            "channel",
            "properties",
            "created_at",
        ),
    )
    register_personal_data(
        m.Receipt,
        subject="customer",
        erasure=Erasure.ANONYMISE,
        anonymise=("customer", "customer_external_id"),
        reason=ACCOUNTING,
        unlinked=(("source__key", "customer_external_id"),),
        export=RECEIPT_EXPORT,
        present=receipts_present,
    )
    register_personal_data(
        m.ReceiptLine,
        subject="receipt__customer",
        erasure=Erasure.KEEP,
        reason=ACCOUNTING,
        export=LINE_EXPORT,
        present=lines_present,
        nest=("receipt", "lines"),
    )
    register_personal_data(m.MergeReview, subject=("left__customer", "right__customer"), erasure=Erasure.DELETE)
    # Behavioural features computed from the customer's history: derived personal data, deleted with the subject.
    # (the archive names the snapshots the customer is in; the values themselves are a vector of the platform's)
    register_personal_data(m.CustomerFeatures, subject="customer", erasure=Erasure.DELETE, export=("snapshot",))
    # A merge's audit names the merged customer by id only: the subject may be the one merged into another.
    register_personal_data(m.MergeEvent, subject="survivor", erasure=Erasure.DELETE, subject_ids=("other_id",))


# Receipts and their lines as a person (and the next controller, Art. 20) reads them: what each id stands for beside
# it (source, store, receipt number, product reference, name and category), amounts in decimals with the currency.
RECEIPT_EXPORT = (
    "id",
    "source",
    "source__name",
    "receipt_id",
    "customer",
    "customer_external_id",
    "store",
    "store__code",
    "store__name",
    "channel",
    "purchased_at",
    "currency",
    "total_minor",
    "discount_minor",
    "item_count",
    "created_at",
)
LINE_EXPORT = (
    "id",
    "receipt",
    "receipt__receipt_id",
    "line_no",
    "product",
    "product__sku",
    "product__name",
    "product__category__name",
    "quantity",
    "receipt__currency",
    "unit_price_minor",
    "discount_minor",
    "amount_minor",
)


def _decimal(minor, currency) -> str | None:
    from cdp.money import from_minor

    return None if minor is None or not currency else str(from_minor(minor, currency))


def _money(row: dict, names: dict[str, str], currency_key: str) -> dict:
    """The row with each `<name>_minor` written as `<name>`, a decimal in the row's currency, in the same place."""
    currency = row.get(currency_key)
    presented = {}
    for key, value in row.items():
        if key in names:
            presented[names[key]] = _decimal(value, currency)
        elif key == currency_key:
            presented["currency"] = value
        else:
            presented[key] = value
    return presented


def receipts_present(rows: list[dict]) -> list[dict]:
    return [_money(row, {"total_minor": "total", "discount_minor": "discount"}, "currency") for row in rows]


LINE_COLUMN_NAMES = {"product_category_name": "category", "receipt_receipt_id": "receipt_number"}
IDENTIFIER_COLUMN_NAMES = {"source_record_source_name": "source_name", "source_record_external_id": "external_id"}


def _renamed(rows: list[dict], names: dict[str, str]) -> list[dict]:
    return [{names.get(key, key): value for key, value in row.items()} for row in rows]


def lines_present(rows: list[dict]) -> list[dict]:
    names = {"unit_price_minor": "unit_price", "discount_minor": "discount", "amount_minor": "amount"}
    return _renamed([_money(row, names, "receipt_currency") for row in rows], LINE_COLUMN_NAMES)


def identifiers_present(rows: list[dict]) -> list[dict]:
    return _renamed(rows, IDENTIFIER_COLUMN_NAMES)


# What the portability archive holds: the person's data, not the platform's working keys (blocking codes, hashes).
def _export_fields(before: tuple[str, ...], after: tuple[str, ...]) -> tuple[str, ...]:
    from cdp.models import PersonFields

    return (*before, *PersonFields.PERSON_FIELDS, *after)


CUSTOMER_EXPORT_TAIL = ("signup_date", "status", "merged_into", "field_sources", "created_at", "updated_at")
RECORD_EXPORT_TAIL = ("signup_date", "attributes", "created_at", "updated_at")
