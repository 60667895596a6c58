"""Reading what the features are computed from out of the database, as CSV files DuckDB then reads with every core.

PostgreSQL writes its rows itself (``COPY ... TO STDOUT``, streamed to disk: memory stays flat whatever the table);
SQLite's rows are read by the cursor a chunk at a time. Nothing at or after the as-of date is read: a feature can
only ever see the past of its date.
"""

from __future__ import annotations

import csv
import datetime as dt
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.db import connection

from cdp.models import Category, Customer, Interaction, Product, Receipt, ReceiptLine

CHUNK = 50_000


@dataclass(frozen=True)
class Extract:
    folder: Path
    customers: Path  # customer
    receipts: Path  # id, customer, purchased_at, store, channel, total_minor, discount_minor, items
    lines: Path  # receipt, product, quantity, amount_minor, discount_minor
    products: Path  # product, category key, category name (top level)
    interactions: Path  # customer, occurred_at, type, channel


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _write_query(path: Path, sql: str, params: list) -> None:
    if connection.vendor == "postgresql":
        with (
            connection.cursor() as cursor,
            path.open("wb") as out,
            cursor.cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params) as copy,
        ):
            for data in copy:
                out.write(data)
        return
    with connection.cursor() as cursor, path.open("w", encoding="utf-8", newline="") as out:
        cursor.execute(sql, params)
        writer = csv.writer(out)
        while rows := cursor.fetchmany(CHUNK):
            writer.writerows(rows)


def _write_rows(path: Path, rows: Iterable[Iterable]) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out).writerows(rows)


def _top_level_categories() -> dict[int, tuple[str, str]]:
    """Category id -> (key, name) of its top-level ancestor."""
    parents = dict(Category.objects.values_list("pk", "parent_id"))
    names = {pk: (key, name) for pk, key, name in Category.objects.values_list("pk", "key", "name")}
    top = {}
    for pk in parents:
        seen, current = set(), pk
        while parents.get(current) is not None and current not in seen:
            seen.add(current)
            current = parents[current]
        top[pk] = names[current]
    return top


def extract(*, as_of: dt.datetime, customers, since_events: dt.datetime, folder: Path | None = None) -> Extract:
    """Write the rows features need, before `as_of`, of the customers of the queryset `customers` (and of no one
    else: the database filters them, so a retailer whose customers mostly may not be profiled writes little)."""
    folder = Path(folder or tempfile.mkdtemp(prefix="clientele-features-"))
    paths = Extract(
        folder=folder,
        customers=folder / "customers.csv",
        receipts=folder / "receipts.csv",
        lines=folder / "lines.csv",
        products=folder / "products.csv",
        interactions=folder / "interactions.csv",
    )
    ids_sql, ids_params = customers.values("pk").query.sql_with_params()
    ids_params = list(ids_params)
    _write_query(paths.customers, ids_sql, ids_params)
    receipt, line, interaction = _table(Receipt), _table(ReceiptLine), _table(Interaction)
    # as the database stores a moment (SQLite: UTC text, compared as text)
    as_of, since_events = (connection.ops.adapt_datetimefield_value(moment) for moment in (as_of, since_events))
    _write_query(
        paths.receipts,
        f"SELECT r.id, r.customer_id, r.purchased_at, r.store_id, r.channel, r.total_minor, r.discount_minor, "
        f"r.item_count FROM {receipt} r WHERE r.customer_id IN ({ids_sql}) AND r.purchased_at < %s",
        [*ids_params, as_of],
    )
    _write_query(
        paths.lines,
        f"SELECT l.receipt_id, l.product_id, l.quantity, l.amount_minor, l.discount_minor FROM {line} l "
        f"JOIN {receipt} r ON r.id = l.receipt_id WHERE r.customer_id IN ({ids_sql}) AND r.purchased_at < %s",
        [*ids_params, as_of],
    )
    top = _top_level_categories()
    _write_rows(
        paths.products,
        ((pk, *top.get(category, ("", ""))) for pk, category in Product.objects.values_list("pk", "category_id")),
    )
    _write_query(
        paths.interactions,
        f"SELECT i.customer_id, i.occurred_at, i.type, i.channel FROM {interaction} i "
        f"WHERE i.customer_id IN ({ids_sql}) AND i.occurred_at < %s AND i.occurred_at >= %s",
        [*ids_params, as_of, since_events],
    )
    return paths


def processable_customers():
    """Active customers who may be profiled: those who objected to profiling, or are restricted, never appear."""
    from consent.selectors import customers_processable

    return customers_processable(purpose="profiling", customers=Customer.objects.active())
