"""Identity: golden records built from source records by survivorship rules.

Survivorship, for each profile field: the non-empty value of the source with the best (lowest) priority; between
records of equally ranked sources, the most recently updated one. The golden record remembers which source each value
came from (``Customer.field_sources``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db import connection, models
from django.utils import timezone

from cdp.models import Customer, PersonFields, SourceRecord

GOLDEN_FIELDS = (*PersonFields.PERSON_FIELDS, "signup_date")
CHUNK = 5000


def golden_values(records: Iterable[SourceRecord]) -> tuple[dict, dict[str, str]]:
    """The golden values and, for each field, the key of the source it came from."""
    ranked = sorted(records, key=lambda r: (r.source.priority, -r.updated_at.timestamp() if r.updated_at else 0))
    values: dict = {}
    origins: dict[str, str] = {}
    for name in PersonFields.PERSON_FIELDS:
        for record in ranked:
            value = getattr(record, name)
            if value not in (None, ""):
                values[name] = value
                origins[name] = record.source.key
                break
        else:
            values[name] = None if name == "birth_date" else ""
    signups = [r.signup_date for r in ranked if r.signup_date]
    values["signup_date"] = min(signups) if signups else None
    return values, origins


def customers_refresh_golden(customer_ids: Iterable) -> int:
    """Recompute the golden record of these customers from their source records; returns how many changed."""
    customer_ids = list(set(customer_ids))
    changed = []
    now = timezone.now()
    for start in range(0, len(customer_ids), CHUNK):  # bounded IN lists (SQLite allows 32,766 parameters)
        chunk = customer_ids[start : start + CHUNK]
        records_by_customer: dict = defaultdict(list)
        for record in SourceRecord.objects.filter(customer_id__in=chunk).select_related("source"):
            records_by_customer[record.customer_id].append(record)
        for customer in Customer.objects.filter(id__in=chunk):
            values, origins = golden_values(records_by_customer.get(customer.id, []))
            if all(getattr(customer, k) == v for k, v in values.items()) and customer.field_sources == origins:
                continue
            for name, value in values.items():
                setattr(customer, name, value)
            customer.field_sources = origins
            customer.updated_at = now
            changed.append(customer)
    if changed:
        rows_update(Customer, changed, [*GOLDEN_FIELDS, "field_sources", "updated_at"])
        Customer.history.bulk_history_create(changed, update=True, batch_size=CHUNK)
    return len(changed)


def rows_update(model: type[models.Model], objs: list[models.Model], field_names: list[str]) -> None:
    """UPDATE each row's fields with one prepared statement run for all rows (executemany).

    Django's bulk_update builds one CASE WHEN per field and row, which costs more than the update itself past a few
    thousand rows; history rows are the caller's (``bulk_history_create``).
    """
    if not objs:
        return
    fields = [model._meta.get_field(name) for name in field_names]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    pk = model._meta.pk
    sql = f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE {quote(pk.column)} = %s"
    params = [
        [field.get_db_prep_save(getattr(obj, field.attname), connection) for field in fields]
        + [pk.get_db_prep_save(obj.pk, connection)]
        for obj in objs
    ]
    with connection.cursor() as cursor:
        for start in range(0, len(params), CHUNK):
            cursor.executemany(sql, params[start : start + CHUNK])
