"""Reads of the core profile domain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection, models
from django.utils.translation import gettext_lazy as _

from cdp.models import Customer, Interaction, MergeEvent, Receipt, ReceiptLine, SourceRecord

# Above this many rows an exact COUNT(*) on PostgreSQL scans the whole table; the planner's estimate is enough for
# a dashboard figure, and it is shown as an estimate.
EXACT_COUNT_LIMIT = 200_000


@dataclass(frozen=True)
class TableCount:
    label: Any  # a (lazily translated) string
    value: int
    estimated: bool
    key: str = ""  # names the figure on the page, whatever the language


def estimated_rows(models_: list[type[models.Model]]) -> dict[str, int]:
    """The planner's row estimates (PostgreSQL only, one query), by table name; empty elsewhere."""
    if connection.vendor != "postgresql" or not models_:
        return {}
    tables = [model._meta.db_table for model in models_]
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, reltuples::bigint FROM pg_class WHERE relname = ANY(%s)", [tables])
        return {name: int(rows) for name, rows in cursor.fetchall() if rows is not None and rows >= 0}


def table_counts(entries: list[tuple[str, Any, type[models.Model], models.QuerySet | None]]) -> list[TableCount]:
    """Exact counts for small tables and filtered querysets; the planner's estimate for a big unfiltered table.

    `entries` are (key, label, model, queryset or None for the whole table)."""
    estimates = estimated_rows([model for _, _, model, queryset in entries if queryset is None])
    counts = []
    for key, label, model, queryset in entries:
        estimate = estimates.get(model._meta.db_table) if queryset is None else None
        if estimate is not None and estimate > EXACT_COUNT_LIMIT:
            counts.append(TableCount(label, round_estimate(estimate), estimated=True, key=key))
        else:
            exact = (queryset if queryset is not None else model._default_manager.all()).count()
            counts.append(TableCount(label, exact, estimated=False, key=key))
    return counts


def round_estimate(value: int) -> int:
    """An estimate shown with the precision it has: two significant digits (17,170 -> 17,000)."""
    if value < 100:
        return value
    step = 10 ** (len(str(value)) - 2)
    return round(value / step) * step


def dashboard_counts() -> list[TableCount]:
    return table_counts(
        [
            ("customers", _("Customers"), Customer, Customer.objects.active()),
            ("source-records", _("Source records"), SourceRecord, None),
            ("receipts", _("Receipts"), Receipt, None),
            ("receipt-lines", _("Receipt lines"), ReceiptLine, None),
            ("interactions", _("Interactions"), Interaction, None),
        ]
    )


def customer_merge_in_force(*, customer_id) -> MergeEvent | None:
    """The merge that put this customer into another and is not undone (with who did it): what an unmerge undoes."""
    return (
        MergeEvent.objects.filter(kind=MergeEvent.Kind.MERGE, other_id=customer_id, undone=False)
        .select_related("actor")
        .order_by("-at", "-id")
        .first()
    )
