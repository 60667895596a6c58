"""Reading what the features are computed from out of the database, as CSV files DuckDB then reads with every core.

The customers asked for are numbered once into a temporary table (their question, consent included, is asked once),
and every row is read by joining it: the files carry that small number instead of the customer's identifier, and
the customers' file maps it back. PostgreSQL writes its rows itself (``COPY ... TO STDOUT``, streamed to disk: memory
stays flat whatever the table); SQLite's rows are read by the cursor a chunk at a time. Nothing at or after the as-of
date is read: a feature can only ever see the past of its date.
"""

from __future__ import annotations

import csv
import datetime as dt
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.db import connection, transaction
from django.db.models import F

from cdp.models import Category, Customer, Interaction, Product, Receipt, ReceiptLine

CHUNK = 50_000
KEYS = "clientele_feature_keys"  # temporary: per connection, dropped when the extract is written


@dataclass(frozen=True)
class Extract:
    folder: Path
    customers: Path  # key, customer
    receipts: Path  # id, key, purchased_at, store, channel, total_minor, discount_minor, items
    lines: Path  # receipt, product, quantity, amount_minor, discount_minor
    products: Path  # product, category key, category name (top level)
    interactions: Path  # key, occurred_at, type, channel
    customer_count: int = 0


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


def _keys_create(customers) -> int:
    """Number the customers of the queryset into the temporary table KEYS (key, customer); returns how many."""
    ids_sql, ids_params = customers.values(feature_customer=F("pk")).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {KEYS}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {KEYS} AS "
            f"SELECT ROW_NUMBER() OVER () AS k, ids.feature_customer AS customer FROM ({ids_sql}) ids",
            list(ids_params),
        )
        cursor.execute(f"CREATE UNIQUE INDEX {KEYS}_customer ON {KEYS} (customer)")
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {KEYS}")
        cursor.execute(f"SELECT count(*) FROM {KEYS}")
        return cursor.fetchone()[0]


def _keys_drop() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {KEYS}")


def extract(*, as_of: dt.datetime, customers, since_events: dt.datetime, folder: Path | None = None) -> Extract:
    """Write the rows features need, before `as_of`, of the customers of the queryset `customers` (and of no one
    else: the database filters them, so a retailer whose customers mostly may not be profiled writes little)."""
    folder = Path(folder or tempfile.mkdtemp(prefix="clientele-features-"))
    # one transaction: the temporary table stays on one server session, whatever pools the connections
    with transaction.atomic():
        count = _keys_create(customers)
        paths = Extract(
            folder=folder,
            customers=folder / "customers.csv",
            receipts=folder / "receipts.csv",
            lines=folder / "lines.csv",
            products=folder / "products.csv",
            interactions=folder / "interactions.csv",
            customer_count=count,
        )
        receipt, line, interaction = _table(Receipt), _table(ReceiptLine), _table(Interaction)
        # as the database stores a moment (SQLite: UTC text, compared as text)
        as_of, since_events = (connection.ops.adapt_datetimefield_value(moment) for moment in (as_of, since_events))
        try:
            _write_query(paths.customers, f"SELECT k, customer FROM {KEYS}", [])
            _write_query(
                paths.receipts,
                f"SELECT r.id, c.k, r.purchased_at, r.store_id, r.channel, r.total_minor, r.discount_minor, "
                f"r.item_count FROM {receipt} r JOIN {KEYS} c ON c.customer = r.customer_id WHERE r.purchased_at < %s",
                [as_of],
            )
            _write_query(
                paths.lines,
                f"SELECT l.receipt_id, l.product_id, l.quantity, l.amount_minor, l.discount_minor FROM {line} l "
                f"JOIN {receipt} r ON r.id = l.receipt_id JOIN {KEYS} c ON c.customer = r.customer_id "
                f"WHERE r.purchased_at < %s",
                [as_of],
            )
            _write_query(
                paths.interactions,
                f"SELECT c.k, i.occurred_at, i.type, i.channel FROM {interaction} i "
                f"JOIN {KEYS} c ON c.customer = i.customer_id WHERE i.occurred_at < %s AND i.occurred_at >= %s",
                [as_of, since_events],
            )
        finally:
            _keys_drop()
    top = _top_level_categories()
    _write_rows(
        paths.products,
        ((pk, *top.get(category, ("", ""))) for pk, category in Product.objects.values_list("pk", "category_id")),
    )
    return paths


def processable_customers():
    """Active customers who may be profiled: those who objected to profiling, or are restricted, never appear."""
    from consent.selectors import customers_processable

    return customers_processable(purpose="profiling", customers=Customer.objects.active())
