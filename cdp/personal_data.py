"""What the core app holds about a customer, registered with consent's personal-data registry at start-up."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from consent.registry import Erasure, SubjectKeys, register_personal_data, register_scrubber, register_subject_keys

REDACTED = "[erased]"

# French commercial law (Code de commerce, art. L123-22) keeps accounting records for ten years: a receipt stays,
# but no longer says whose it was.
ACCOUNTING = "accounting records are kept 10 years (Code de commerce L123-22), anonymised and unlinked"


def subject_keys(customer_ids: Iterable[Any]) -> SubjectKeys:
    """The identifiers of customers as imports normalise them: source external ids, e-mails, phones (E.164)."""
    from cdp.models import Customer, Identifier, Interaction, SourceRecord

    ids = list(customer_ids)
    external_ids, emails, phones = set(), set(), set()
    records = SourceRecord.objects.filter(customer_id__in=ids).values_list(
        "source__key", "external_id", "email", "phone"
    )
    for source_key, external_id, email, phone in records:
        external_ids.add((source_key, external_id))
        emails.add(email)
        phones.add(phone)
    for email, phone in Customer.objects.filter(pk__in=ids).values_list("email", "phone"):
        emails.add(email)
        phones.add(phone)
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
    """History rows of other customers that hold the subject's e-mail or phone (a golden record's versions while the
    subject was merged into it, before an unmerge) lose those values; identifier history rows with them go.

    Only a merge puts a subject's values in another customer's history: without one (nearly every erasure, and the
    nightly retention runs) nothing is scanned.
    """
    from django.db.models import Q

    from cdp.models import Customer, Identifier, MergeEvent, SourceRecord

    if not MergeEvent.objects.filter(Q(other_id__in=customer_ids) | Q(survivor_id__in=customer_ids)).exists():
        return 0
    changed = 0
    for model in (Customer, SourceRecord):
        history = model.history.model.objects
        if keys.emails:
            changed += history.filter(email__in=sorted(keys.emails)).update(email="")
        if keys.phones:
            changed += history.filter(phone__in=sorted(keys.phones)).update(phone="")
    values = sorted(keys.emails | keys.phones | {f"{s}:{e}" for s, e in keys.external_ids})
    if values:
        deleted, _ = Identifier.history.model.objects.filter(value__in=values).delete()
        changed += deleted
    return changed


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
        export=_export_fields(("id", "source", "external_id", "customer"), RECORD_EXPORT_TAIL),
    )
    register_personal_data(m.Identifier, subject="customer", erasure=Erasure.DELETE)
    register_personal_data(
        m.Interaction,
        subject="customer",
        erasure=Erasure.DELETE,
        unlinked=(("source__key", "customer_external_id"),),
        anonymous=("anonymous_id",),
    )
    register_personal_data(
        m.Receipt,
        subject="customer",
        erasure=Erasure.ANONYMISE,
        anonymise=("customer", "customer_external_id"),
        reason=ACCOUNTING,
        unlinked=(("source__key", "customer_external_id"),),
    )
    register_personal_data(m.ReceiptLine, subject="receipt__customer", erasure=Erasure.KEEP, reason=ACCOUNTING)
    register_personal_data(m.MergeReview, subject=("left__customer", "right__customer"), erasure=Erasure.DELETE)
    # A merge's audit names the merged customer by id only: the subject may be the one merged into another.
    register_personal_data(m.MergeEvent, subject="survivor", erasure=Erasure.DELETE, subject_ids=("other_id",))


# What the portability archive holds: the person's data, not the platform's working keys (blocking codes, hashes).
def _export_fields(before: tuple[str, ...], after: tuple[str, ...]) -> tuple[str, ...]:
    from cdp.models import PersonFields

    return (*before, *PersonFields.PERSON_FIELDS, *after)


CUSTOMER_EXPORT_TAIL = ("signup_date", "status", "merged_into", "field_sources", "created_at", "updated_at")
RECORD_EXPORT_TAIL = ("signup_date", "attributes", "created_at", "updated_at")
