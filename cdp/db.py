"""Database helpers for bulk work: COPY on PostgreSQL, a prepared executemany on SQLite, history rows, updates.

Django's bulk_create builds one parameterised statement per few hundred rows; for millions of receipt lines the
database's own bulk paths are an order of magnitude faster. Values are adapted as Django would adapt them.
"""

from __future__ import annotations

import datetime as dt
import json
import operator
from collections.abc import Iterable, Sequence
from functools import cache

from django.conf import settings
from django.db import connection, models
from django.db.models.fields.related_lookups import RelatedIn
from django.utils import timezone


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

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            return _copy_rows(cursor, table, columns, fields, rows)
        placeholders = ", ".join(["%s"] * len(fields))
        batch = [adapted(row) for row in rows]
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", batch)
    return len(batch)


def _copy_rows(cursor, table: str, columns: str, fields: Sequence[models.Field], rows: Iterable[Sequence]) -> int:
    """COPY rows (values in the order of `fields`, adapted as Django would adapt them) into `table` (PostgreSQL)."""
    adapters = [(i, a) for i, a in enumerate(_adapter(f) for f in fields) if a is not None]
    count = 0
    with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            if adapters:
                row = list(row)
                for index, adapt in adapters:
                    if row[index] is not None:
                        row[index] = adapt(row[index])
            copy.write_row(row)
            count += 1
    return count


def _auto_pk(model: type[models.Model]) -> models.Field | None:
    pk = model._meta.pk
    return pk if isinstance(pk, models.AutoField | models.BigAutoField | models.SmallAutoField) else None


def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """The next `count` ids of an auto-incremented table, taken before its rows are written (inside a transaction).

    PostgreSQL hands them out of the table's sequence. SQLite has one writer at a time: the transaction takes the
    write lock first, then the ids follow the highest the table has used (its AUTOINCREMENT sequence, or its rows).
    """
    if count <= 0:
        return []
    table, column = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)", [table, column, count]
            )
            return [row[0] for row in cursor.fetchall()]
        quote = connection.ops.quote_name
        # a write that changes nothing: the transaction holds the database's write lock from here to its end
        cursor.execute(f"UPDATE {quote(table)} SET {quote(column)} = {quote(column)} WHERE 0")
        cursor.execute(f"SELECT COALESCE(MAX({quote(column)}), 0) FROM {quote(table)}")
        highest = cursor.fetchone()[0]
        cursor.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_sequence'")
        if cursor.fetchone():
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
            row = cursor.fetchone()
            highest = max(highest, row[0] if row else 0)
    return list(range(highest + 1, highest + 1 + count))


def objects_insert(model: type[models.Model], objs: Sequence[models.Model]) -> None:
    """Insert unsaved instances through the bulk path, as ``bulk_create`` would: auto_now fields set, ids set on them.

    Instances whose ids were reserved (``reserve_ids``) keep them. Otherwise, on PostgreSQL the ids are taken from the
    table's sequence first; on SQLite they are read back after the insert: the connection holds the database's only
    write lock for the whole transaction, so the rows of one executemany get consecutive ids ending at
    ``last_insert_rowid()``.
    """
    if not objs:
        return
    auto_pk = _auto_pk(model)
    fields = [field for field in model._meta.concrete_fields if field is not auto_pk]
    stamped = [f for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)]
    for obj in objs:
        for field in stamped:  # one timestamp per row and field, as bulk_create's pre_save gives them
            field.pre_save(obj, add=True)
    preset = auto_pk is not None and all(getattr(obj, auto_pk.attname) is not None for obj in objs)
    if auto_pk is not None and not preset and connection.vendor == "postgresql":
        for obj, pk in zip(objs, reserve_ids(model, len(objs)), strict=True):
            setattr(obj, auto_pk.attname, pk)
    if auto_pk is not None and (preset or connection.vendor == "postgresql"):
        fields.insert(0, auto_pk)
    names = [field.attname for field in fields]
    values = operator.attrgetter(*names) if len(names) > 1 else (lambda obj: (getattr(obj, names[0]),))
    bulk_insert(model, names, (values(obj) for obj in objs))
    if auto_pk is not None and not preset and connection.vendor != "postgresql":
        _read_back_ids(auto_pk, objs)
    for obj in objs:
        if isinstance(obj, models.Model):
            obj._state.adding = False
            obj._state.db = connection.alias


def _read_back_ids(auto_pk: models.Field, objs: Sequence) -> None:
    """SQLite: the rows of one executemany got consecutive ids ending at ``last_insert_rowid()``."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT last_insert_rowid()")
        last = cursor.fetchone()[0]
    for offset, obj in enumerate(objs, start=last - len(objs) + 1):
        setattr(obj, auto_pk.attname, offset)


class Row:
    """A row as plain attributes (its columns' attnames): what objects_insert, history_insert and rows_update read
    of a model instance, at a fraction of the cost of building one; ``pk`` is its ``id``."""

    def __init__(self, **values) -> None:
        self.__dict__.update(values)

    @property
    def pk(self):
        return self.__dict__["id"]

    @pk.setter
    def pk(self, value) -> None:
        self.__dict__["id"] = value

    @classmethod
    def of(cls, model: type[models.Model], **values) -> Row:
        """A row of `model` with every concrete column: the given values, the others at their defaults."""
        constants, callables = _defaults(model)
        row = dict(constants)
        for name, default in callables:
            if name not in values:
                row[name] = default()
        row.update(values)
        return cls(**row)


@cache
def _defaults(model: type[models.Model]) -> tuple[dict, tuple]:
    """A model's column defaults: the constant ones (copied per row) and the callable ones (called per row)."""
    constants, callables = {}, []
    for field in model._meta.concrete_fields:
        if field.has_default() and callable(field.default):
            callables.append((field.attname, field.default))
        else:
            constants[field.attname] = field.get_default()
    return constants, tuple(callables)


def history_insert(
    model: type[models.Model], objs: Sequence[models.Model], *, update: bool = False, change_reason: str | None
) -> int:
    """The django-simple-history rows that ``bulk_history_create`` writes for saved instances, through the bulk path.

    Same columns and values: history_type "+" (or "~" with ``update``), the time of writing, the default history user
    (the request's user under the history middleware, else none) unless an instance names its own, and the change
    reason (``bulk_create_with_history`` gives None, ``bulk_history_create`` called directly "").
    """
    if not objs or not settings.SIMPLE_HISTORY_ENABLED:
        return 0
    history = model.history.model
    tracked = [field.attname for field in history.tracked_fields]
    values = operator.attrgetter(*tracked)
    default_user = history.get_default_history_user(objs[0])
    history_type = "~" if update else "+"

    def rows() -> Iterable[tuple]:
        for obj in objs:
            user = getattr(obj, "_history_user", default_user)
            reason = getattr(obj, "_change_reason", None) or change_reason
            date = getattr(obj, "_history_date", None) or timezone.now()
            yield (*values(obj), date, reason, history_type, user.pk if user is not None else None)

    names = [*tracked, "history_date", "history_change_reason", "history_type", "history_user_id"]
    return bulk_insert(history, names, rows())


CHUNK = 5000


def rows_update(model: type[models.Model], objs: list[models.Model], field_names: list[str]) -> None:
    """UPDATE each row's fields with one prepared statement run for all rows (executemany).

    Django's bulk_update builds one CASE WHEN per field and row, which costs more than the update itself past a few
    thousand rows; history rows are the caller's (``history_insert``).
    """
    if not objs:
        return
    fields = [model._meta.get_field(name) for name in field_names]
    quote = connection.ops.quote_name
    pk = model._meta.pk
    if connection.vendor == "postgresql" and len(objs) >= COPY_UPDATE_ROWS:
        _pg_rows_update(model, objs, fields)
        return
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    sql = f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE {quote(pk.column)} = %s"
    params = [
        [field.get_db_prep_save(getattr(obj, field.attname), connection) for field in fields]
        + [pk.get_db_prep_save(obj.pk, connection)]
        for obj in objs
    ]
    with connection.cursor() as cursor:
        for start in range(0, len(params), CHUNK):
            cursor.executemany(sql, params[start : start + CHUNK])


# From this many rows, one UPDATE ... FROM the rows copied into a temporary table beats a statement per row.
COPY_UPDATE_ROWS = 1000


def _pg_rows_update(model: type[models.Model], objs: list[models.Model], fields: list[models.Field]) -> None:
    """rows_update on PostgreSQL: the new values copied into a temporary table, then one UPDATE ... FROM it (a hash
    join), instead of one statement (and one index probe) per row. Each row's pk appears once among `objs`."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    pk = model._meta.pk
    columns = [quote(field.column) for field in (pk, *fields)]
    values = operator.attrgetter(*(field.attname for field in (pk, *fields)))
    assignments = ", ".join(f"{column} = v.{column}" for column in columns[1:])
    with connection.cursor() as cursor:
        # the temporary table takes the target's column types, so COPY adapts each value as the target would
        cursor.execute(
            f"CREATE TEMPORARY TABLE rows_update_values AS SELECT {', '.join(columns)} FROM {table} WITH NO DATA"
        )
        try:
            _copy_rows(cursor, "rows_update_values", ", ".join(columns), [pk, *fields], (values(obj) for obj in objs))
            key = columns[0]
            cursor.execute(
                f"UPDATE {table} AS t SET {assignments} FROM rows_update_values AS v WHERE t.{key} = v.{key}"
            )
        finally:
            cursor.execute("DROP TABLE IF EXISTS rows_update_values")


def chunks(items: Sequence, size: int = CHUNK) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


UNIT_SEPARATOR = "\x1f"  # refused in every imported value (control characters), so it can join values safely


def pg_array(values: Sequence, db_type: str) -> tuple[str, object]:
    """(SQL, parameter) of a PostgreSQL array of `values` of type `db_type`.

    psycopg adapts an array element by element in Python, which costs more than the query for tens of thousands of
    values; joined into one text that the server splits (``string_to_array``) it is one value to send. Values holding
    the separator (or none at all) fall back to an adapted array.
    """
    texts = [str(value) for value in values]
    if texts and all(UNIT_SEPARATOR not in text for text in texts):
        return f"string_to_array(%s, chr(31))::{db_type}[]", UNIT_SEPARATOR.join(texts)
    return f"%s::{db_type}[]", list(values)


class _AnyArray:
    """``= ANY(%s::type[])`` with one array parameter on PostgreSQL; the parent lookup's ``IN (...)`` elsewhere.

    A list of thousands of values costs more to turn into SQL text than to run (psycopg splits and adapts every
    placeholder); one array is one parameter, and the same plan whatever the length.
    """

    lookup_name = "any"

    def as_sql(self, compiler, connection):
        if connection.vendor != "postgresql":
            return super().as_sql(compiler, connection)
        lhs, lhs_params = self.process_lhs(compiler, connection)
        field = self.lhs.output_field
        values = [field.get_db_prep_value(value, connection) for value in self.rhs if value is not None]
        array, param = pg_array(values, field.db_type(connection))
        return f"{lhs} = ANY({array})", [*lhs_params, param]


class AnyOf(_AnyArray, models.lookups.In):
    """``field__any=[...]``."""


class RelatedAnyOf(_AnyArray, RelatedIn):
    """``customer_id__any=[...]`` on a foreign key: the target's values, as ``__in`` takes them."""


models.Field.register_lookup(AnyOf)
models.ForeignObject.register_lookup(RelatedAnyOf)


def repoint(field: models.ForeignKey, mapping: dict) -> dict:
    """Re-point the rows of `field`'s model from each key of `mapping` to its value; returns old value -> moved pks.

    On PostgreSQL one UPDATE ... FROM the mapping (two arrays) per chunk, which hands back what it moved; elsewhere
    the rows are read, then moved by one UPDATE per old value.
    """
    model = field.model
    quote = connection.ops.quote_name
    table, column, pk = quote(model._meta.db_table), quote(field.column), quote(model._meta.pk.column)
    moved: dict = {}
    items = list(mapping.items())
    if connection.vendor == "postgresql":
        cast = field.target_field.db_type(connection)
        with connection.cursor() as cursor:
            for part in chunks(items, 50_000):
                olds, old_param = pg_array([old for old, _ in part], cast)
                news, new_param = pg_array([new for _, new in part], cast)
                cursor.execute(
                    f"UPDATE {table} AS t SET {column} = m.new FROM unnest({olds}, {news}) AS m(old, new) "
                    f"WHERE t.{column} = m.old RETURNING t.{pk}, m.old",
                    [old_param, new_param],
                )
                for pk_value, old in cursor.fetchall():
                    moved.setdefault(old, []).append(pk_value)
        return moved
    prep = field.target_field.get_db_prep_value
    for part in chunks(items, 4000):  # two parameters a row: SQLite allows 32,766
        olds = [old for old, _ in part]
        for pk_value, old in model._base_manager.filter(**{f"{field.attname}__in": olds}).values_list(
            "pk", field.attname
        ):
            moved.setdefault(old, []).append(pk_value)
        pairs = [(prep(old, connection), prep(new, connection)) for old, new in part if old in moved]
        if not pairs:
            continue
        values = ", ".join(["(%s, %s)"] * len(pairs))
        sql = f"UPDATE {table} SET {column} = m.column2 FROM (VALUES {values}) AS m WHERE {table}.{column} = m.column1"
        with connection.cursor() as cursor:
            cursor.execute(sql, [value for pair in pairs for value in pair])
    return moved


def rows_by_keys(
    model: type[models.Model],
    columns: Sequence[str],
    keys: Iterable[tuple],
    fields: Sequence[str] = ("pk",),
    *,
    first_word: Sequence[str] = (),
) -> list[tuple]:
    """`fields` of the rows whose `columns` equal one of `keys` (tuples in the order of `columns`), through an index.

    A column named in `first_word` is compared by its text before the first space (a house number in an address
    key), so that rows which share the rest of a key but not that word are left in the database.

    On PostgreSQL a few keys are joined as arrays (``unnest``, one parameter per column: ``pg_array``), the planner
    probing the index once per key; many keys are copied into a temporary table and joined by hash, one pass over the
    table instead of one probe per key. Elsewhere they are row values (``(a, b) IN (VALUES ...)``), chunked under
    SQLite's parameter limit.
    """
    keys = list(dict.fromkeys(keys))
    if not keys:
        return []
    opts = model._meta
    quote = connection.ops.quote_name
    table = quote(opts.db_table)
    key_fields = [opts.pk if name == "pk" else opts.get_field(name) for name in columns]
    targets = [_key_target(field, field.name in first_word) for field in key_fields]
    wanted = [opts.pk if name == "pk" else _field_by_attname(opts, name) for name in fields]
    select = ", ".join(f"t.{quote(field.column)}" for field in wanted)
    out: list[tuple] = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            return _pg_rows_by_keys(cursor, table, select, key_fields, targets, keys)
        row = "(" + ", ".join(["%s"] * len(key_fields)) + ")"
        target = "(" + ", ".join(targets) + ")"
        for part in chunks(keys, 30_000 // len(key_fields)):
            sql = f"SELECT {select} FROM {table} AS t WHERE {target} IN (VALUES {', '.join([row] * len(part))})"
            params = [field.get_db_prep_value(key[i], connection) for key in part for i, field in enumerate(key_fields)]
            cursor.execute(sql, params)
            out.extend(cursor.fetchall())
    return _converted(out, wanted)


# From this many keys a hash join over a temporary table beats probing an index once per key.
HASH_JOIN_KEYS = 5000


def rows_by_any_keys(model: type[models.Model], lookups: Sequence[tuple]) -> list:
    """Primary keys of the rows that one of the lookups finds, each once: a lookup is (columns, keys) as
    ``rows_by_keys`` takes them, or (columns, keys, first_word).

    On PostgreSQL with many keys, one pass over the table answers every lookup: each lookup's keys are copied into a
    temporary table, and a row is kept when its columns are among any of them (one hashed subplan per lookup),
    instead of one pass per lookup. Elsewhere, and for a few keys, the lookups run one by one.
    """
    lookups = [
        (tuple(columns), list(dict.fromkeys(keys)), tuple(rest[0]) if rest else ()) for columns, keys, *rest in lookups
    ]
    lookups = [lookup for lookup in lookups if lookup[1]]
    if connection.vendor != "postgresql" or sum(len(keys) for _, keys, _ in lookups) < HASH_JOIN_KEYS:
        found: dict = {}
        for columns, keys, first_word in lookups:
            for (pk,) in rows_by_keys(model, columns, keys, first_word=first_word):
                found[pk] = None
        return list(found)
    opts = model._meta
    quote = connection.ops.quote_name
    tables, conditions = [], []
    with connection.cursor() as cursor:
        try:
            for index, (columns, keys, first_word) in enumerate(lookups):
                key_fields = [opts.pk if name == "pk" else opts.get_field(name) for name in columns]
                names = [f"k{i}" for i in range(len(key_fields))]
                table = f"lookup_keys_{index}"
                typed = ", ".join(f"{n} {f.db_type(connection)}" for n, f in zip(names, key_fields, strict=True))
                cursor.execute(f"CREATE TEMPORARY TABLE {table} ({typed})")
                tables.append(table)
                preps = [_key_prep(field) for field in key_fields]
                with cursor.cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
                    for key in keys:
                        copy.write_row([v if p is None else p(v, connection) for p, v in zip(preps, key, strict=True)])
                cursor.execute(f"ANALYZE {table}")  # the planner hashes a subplan it knows to be small
                targets = ", ".join(_key_target(field, field.name in first_word) for field in key_fields)
                conditions.append(f"({targets}) IN (SELECT {', '.join(names)} FROM {table})")
            pk = quote(opts.pk.column)
            cursor.execute(f"SELECT t.{pk} FROM {quote(opts.db_table)} AS t WHERE {' OR '.join(conditions)}")
            return [pk for (pk,) in cursor.fetchall()]
        finally:
            for table in tables:
                cursor.execute(f"DROP TABLE IF EXISTS {table}")


# Key types psycopg adapts as Django would (Django's preparation returns their values as they are on PostgreSQL).
_PLAIN_KEY_FIELDS = (models.CharField, models.TextField, models.IntegerField, models.BigIntegerField, models.AutoField)


def _key_prep(field: models.Field):
    """How a key value of `field` is prepared for PostgreSQL: None when it is passed as it is (a text, an integer, a
    date), which spares a call per value on lookups of hundreds of thousands of keys."""
    field = field.target_field if field.is_relation else field
    if isinstance(field, _PLAIN_KEY_FIELDS) or type(field) is models.DateField:
        return None
    return field.get_db_prep_value


def _key_target(field: models.Field, first_word: bool) -> str:
    """The SQL a key is compared with: the column, or its text before the first space."""
    column = f"t.{connection.ops.quote_name(field.column)}"
    if not first_word:
        return column
    if connection.vendor == "postgresql":
        return f"split_part({column}, ' ', 1)"
    return f"(CASE WHEN instr({column}, ' ') > 0 THEN substr({column}, 1, instr({column}, ' ') - 1) ELSE {column} END)"


def _pg_rows_by_keys(cursor, table, select, key_fields, targets, keys) -> list[tuple]:
    names = [f"k{index}" for index in range(len(key_fields))]
    on = " AND ".join(f"{target} = k.{name}" for target, name in zip(targets, names, strict=True))
    columns = []
    for index, prep in enumerate(_key_prep(field) for field in key_fields):
        columns.append([key[index] for key in keys] if prep is None else [prep(key[index], connection) for key in keys])
    if len(keys) < HASH_JOIN_KEYS:
        arrays = [
            pg_array(values, field.db_type(connection)) for values, field in zip(columns, key_fields, strict=True)
        ]
        cursor.execute(
            f"SELECT {select} FROM {table} AS t JOIN unnest({', '.join(sql for sql, _ in arrays)}) "
            f"AS k({', '.join(names)}) ON {on}",
            [param for _, param in arrays],
        )
        return cursor.fetchall()
    typed = ", ".join(f"{name} {field.db_type(connection)}" for name, field in zip(names, key_fields, strict=True))
    cursor.execute(f"CREATE TEMPORARY TABLE lookup_keys ({typed})")
    try:
        with cursor.cursor.copy(f"COPY lookup_keys ({', '.join(names)}) FROM STDIN") as copy:
            for row in zip(*columns, strict=True):
                copy.write_row(row)
        # One pass over the table, hashed against the keys: the planner's row estimates for a key that is not the
        # whole of an index (postcode and family name, say) can be far off, and a nested loop then probes an index
        # for thousands of rows per key.
        cursor.execute("SET enable_nestloop = off")
        cursor.execute(f"SELECT {select} FROM {table} AS t JOIN lookup_keys AS k ON {on}")
        return cursor.fetchall()
    finally:
        cursor.execute("RESET enable_nestloop")
        cursor.execute("DROP TABLE IF EXISTS lookup_keys")


def _converted(rows: list[tuple], fields: Sequence[models.Field]) -> list[tuple]:
    """Dates, times and uuids as Python values: SQLite hands them over as text (PostgreSQL's driver converts them)."""
    typed = [
        (index, field)
        for index, field in enumerate(fields)
        if isinstance(field.target_field if field.is_relation else field, models.DateField | models.UUIDField)
    ]
    if not typed:
        return rows
    converted = []
    for row in rows:
        row = list(row)
        for index, field in typed:
            if row[index] is not None:
                row[index] = field.to_python(row[index])
        converted.append(tuple(row))
    return converted


def rows_by_ids(model: type[models.Model], ids: Sequence, fields: Sequence[str]) -> list[tuple]:
    """`fields` (attnames; "id" for the key) of the rows with these primary keys, as tuples read by the cursor: the
    values Django's ``values_list`` would give, without its per-row work (dates and uuids as the driver reads them)."""
    return rows_by_keys(model, ("pk",), ((pk,) for pk in ids), ["pk" if name == "id" else name for name in fields])


def _field_by_attname(opts, name: str) -> models.Field:
    for field in opts.concrete_fields:
        if field.attname == name:
            return field
    return opts.get_field(name)


ANALYZE_AFTER = 5000  # rows written in bulk from which a table's planner statistics are refreshed (PostgreSQL)


def statistics_refresh(model: type[models.Model], written: int) -> None:
    """Refresh the planner's statistics of `model`'s table after `written` rows went in at once (PostgreSQL; SQLite
    plans without them). Until autovacuum comes by, the planner would take a run's tens of thousands of new rows for
    a handful, and plan a nested loop over them."""
    if connection.vendor == "postgresql" and written >= ANALYZE_AFTER:
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
