"""Fast inserts for the big tables: COPY on PostgreSQL, a prepared executemany on SQLite.

Django's bulk_create builds one parameterised statement per few hundred rows; for millions of receipt lines the
database's own bulk paths are an order of magnitude faster. Values are adapted as Django would adapt them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence

from django.db import connection, models


def _adapter(field: models.Field):
    if field.is_relation:
        field = field.target_field
    if isinstance(field, models.DateTimeField):
        return connection.ops.adapt_datetimefield_value
    if isinstance(field, models.JSONField):
        return lambda value: json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(field, models.DateField):
        return lambda value: value.isoformat() if isinstance(value, dt.date) else value
    if isinstance(field, models.UUIDField):
        return (lambda value: value.hex if value is not None else None) if connection.vendor == "sqlite" else None
    return None


def bulk_insert(model: type[models.Model], field_names: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Insert rows (tuples in the order of field_names, attnames such as ``product_id``) and return their count."""
    opts = model._meta
    by_attname = {field.attname: field for field in opts.concrete_fields}
    fields = [by_attname[name] for name in field_names]
    adapters = [(i, a) for i, a in enumerate(_adapter(f) for f in fields) if a is not None]
    quote = connection.ops.quote_name
    table = quote(opts.db_table)
    columns = ", ".join(quote(field.column) for field in fields)

    def adapted(row: Sequence) -> Sequence:
        if not adapters:
            return row
        row = list(row)
        for index, adapt in adapters:
            if row[index] is not None:
                row[index] = adapt(row[index])
        return row

    count = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(adapted(row))
                    count += 1
        else:
            placeholders = ", ".join(["%s"] * len(fields))
            batch = [adapted(row) for row in rows]
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", batch)
            count = len(batch)
    return count
