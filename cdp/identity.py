"""Identity: golden records built from source records by survivorship rules.

Survivorship, for each profile field: the non-empty value of the source with the best (lowest) priority; between
records of equally ranked sources, the most recently updated one. The golden record remembers which source each value
came from (``Customer.field_sources``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from simple_history.utils import bulk_update_with_history

from django.utils import timezone

from cdp.models import Customer, PersonFields, SourceRecord

GOLDEN_FIELDS = (*PersonFields.PERSON_FIELDS, "signup_date")


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
    if not customer_ids:
        return 0
    records_by_customer: dict = defaultdict(list)
    for record in SourceRecord.objects.filter(customer_id__in=customer_ids).select_related("source"):
        records_by_customer[record.customer_id].append(record)
    changed = []
    now = timezone.now()
    for customer in Customer.objects.filter(id__in=customer_ids):
        values, origins = golden_values(records_by_customer.get(customer.id, []))
        if all(getattr(customer, k) == v for k, v in values.items()) and customer.field_sources == origins:
            continue
        for name, value in values.items():
            setattr(customer, name, value)
        customer.field_sources = origins
        customer.updated_at = now
        changed.append(customer)
    if changed:
        bulk_update_with_history(changed, Customer, [*GOLDEN_FIELDS, "field_sources", "updated_at"])
    return len(changed)
