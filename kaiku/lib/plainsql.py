"""Reads and inserts of the answer path in plain SQL, done the way the ORM does them.

On the busiest path (every answer) the ORM spends more time compiling a query
than the database spends running it: ~0.25 ms to compile a survey lookup with
its workspace that runs in ~0.02 ms (docs/performance.md, ingestion). The SQL
here is built once per model from the models' metadata, so a new field or a
renamed column cannot drift from the schema; values read pass through the
converters the ORM applies (JSON text on SQLite, datetimes, booleans), values
written through each field's pre_save() and get_db_prep_save() (or as they are, for
plain fields whose preparation would give them back unchanged: _plain_type).

For hot paths only, each with a test against the ORM (tests/test_plainsql.py):
everything else reads and writes through the ORM. Being constant, the statements
are prepared on PostgreSQL (`_cursor`, tests/test_prepared_statements.py).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

from django.db import connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.models import Field, ForeignKey, Model, signals
from django.db.models.fields import AutoFieldMixin

M = TypeVar("M", bound=Model)

Converter = Callable[[Any, Any, BaseDatabaseWrapper], Any]


@dataclass(frozen=True)
class Also:
    """A statement for insert(also=…): `sql` may read the inserted row as `new`."""

    sql: str
    params: list[Any]


@dataclass(frozen=True)
class Before:
    """Statements for get_after(): WITH entries (`name AS (…), …`, PostgreSQL), the
    values they add to the result (`columns`, SQL expressions) and their parameters."""

    ctes: str
    columns: tuple[str, ...]
    params: tuple[Any, ...]


# No statements before: get_after_with() then only reads (on any database).
NOTHING = Before("", (), ())


@dataclass(frozen=True)
class _Plan:
    sql: str
    child_fields: tuple[Field[Any, Any], ...]
    parent_fields: tuple[Field[Any, Any], ...]
    sibling_fields: tuple[Field[Any, Any], ...] = ()
    sibling_pk: int = 0  # the sibling's primary key's position among its fields


def get(model: type[M], using: str = "default", **where: Any) -> M | None:
    """The one `model` row whose fields equal `where` (a unique combination); None if none."""
    return _get(model, None, where, using)


def get_with_parent(model: type[M], parent: str, using: str = "default", **where: Any) -> M | None:
    """Like get(), with the `parent` foreign key's object loaded in the same query
    (like select_related)."""
    return _get(model, parent, where, using)


def get_after(
    before: Before, model: type[M], parent: str, using: str = "default", **where: Any
) -> tuple[M | None, tuple[Any, ...]]:
    """get_with_parent() in one statement with `before` (PostgreSQL): (the row or None,
    the values of before.columns). `before` runs whether or not the row exists."""
    row, counts, _none = get_after_with(before, model, parent, None, using, **where)
    return row, counts


@dataclass(frozen=True)
class Sibling:
    """For get_after_with(): the `model` row with primary key `pk` whose foreign key
    `to_parent` points at the same parent row (the key's workspace → one of its surveys)."""

    model: type[Model]
    to_parent: str
    pk: Any


def get_after_with(
    before: Before,
    model: type[M],
    parent: str,
    sibling: Sibling | None,
    using: str = "default",
    **where: Any,
) -> tuple[M | None, tuple[Any, ...], Model | None]:
    """get_after(), and in the same statement the `sibling` row if it belongs to the
    row's parent: (the row or None, before's values, the sibling or None). The
    sibling comes with its parent object set to the row's. With `before` NOTHING,
    a read on any database: the row, its parent and the sibling in one statement."""
    connection = connections[using]
    if sibling is not None and not _in_range(sibling.model, {"pk": sibling.pk}, connection):
        sibling = None  # no row can have it: found as None below
    joined = (sibling.model, sibling.to_parent) if sibling is not None else None
    plan = _plan(model, parent, tuple(where), before.ctes, before.columns, joined)
    if not _in_range(model, where, connection):
        return None, run(before, using), None  # no row can match
    params = [*before.params, *where.values(), *([sibling.pk] if sibling else [])]
    with _cursor(connection) as cursor:
        cursor.execute(plan.sql, params)
        row = cursor.fetchone()
    extra = len(before.columns)
    counts = tuple(row[:extra])
    end = extra + len(plan.child_fields) + len(plan.parent_fields)
    found = row[extra:end]
    if found[plan.child_fields.index(model._meta.pk)] is None:  # the LEFT JOIN found none
        return None, counts, None
    child = _from_row(model, parent, plan, found, connection, using)
    if sibling is None or row[end + plan.sibling_pk] is None:
        return child, counts, None
    other = _instance(sibling.model, plan.sibling_fields, row[end:], connection, using)
    setattr(other, sibling.to_parent, getattr(child, parent))
    return child, counts, other


def _cursor(connection: BaseDatabaseWrapper) -> Any:
    """A cursor for this module's statements: their text is built once per process, so
    Kaiku's PostgreSQL backend has the server prepare each once per connection
    (kaiku/lib/postgresql/base.py). SQLite's driver keeps compiled statements itself."""
    prepared = getattr(connection, "prepared_cursor", None)
    return prepared() if prepared is not None else connection.cursor()


@cache
def exists_sql(model: type[Model], where: tuple[str, ...]) -> str:
    """SQL that is true if a `model` row has the fields `where` equal to parameters."""
    conditions = " AND ".join(f'"{_field(model, name).column}" = %s' for name in where)
    return f'EXISTS (SELECT 1 FROM "{model._meta.db_table}" WHERE {conditions})'  # noqa: S608


def run(before: Before, using: str = "default") -> tuple[Any, ...]:
    """`before` on its own: the values of its columns."""
    if not before.columns:
        return ()
    with _cursor(connections[using]) as cursor:
        cursor.execute(f"WITH {before.ctes} SELECT {', '.join(before.columns)}", before.params)
        return tuple(cursor.fetchone())


def _get(model: type[M], parent: str | None, where: dict[str, Any], using: str) -> M | None:
    connection = connections[using]
    if not _in_range(model, where, connection):
        return None  # like the ORM: no integer column holds such a number
    plan = _plan(model, parent, tuple(where))
    with _cursor(connection) as cursor:
        cursor.execute(plan.sql, list(where.values()))
        row = cursor.fetchone()
    if row is None:
        return None
    return _from_row(model, parent, plan, row, connection, using)


def _from_row(
    model: type[M],
    parent: str | None,
    plan: _Plan,
    row: tuple[Any, ...],
    connection: BaseDatabaseWrapper,
    using: str,
) -> M:
    split = len(plan.child_fields)
    child = _instance(model, plan.child_fields, row[:split], connection, using)
    if parent is not None:
        related = _related_model(model, parent)
        setattr(
            child, parent, _instance(related, plan.parent_fields, row[split:], connection, using)
        )
    return child


def _in_range(model: type[Model], where: dict[str, Any], connection: BaseDatabaseWrapper) -> bool:
    for name, value in where.items():
        if isinstance(value, int):
            field = _field(model, name)
            target = field.target_field if isinstance(field, ForeignKey) else field
            internal_type = target.get_internal_type()
            if internal_type not in connection.ops.integer_field_ranges:
                continue
            low, high = connection.ops.integer_field_range(internal_type)
            if (low is not None and value < low) or (high is not None and value > high):
                return False
    return True


def _field(model: type[Model], name: str) -> Field[Any, Any]:
    field = model._meta.pk if name == "pk" else model._meta.get_field(name)
    if not isinstance(field, Field):
        raise TypeError(f"{model.__name__}.{name} is not a column")
    return field


def _related_model(model: type[Model], parent: str) -> type[Model]:
    related = _field(model, parent).related_model
    if not (isinstance(related, type) and issubclass(related, Model)):
        raise TypeError(f"{model.__name__}.{parent} is not a foreign key")
    return related


@cache
def _plan(
    model: type[Model],
    parent: str | None,
    where: tuple[str, ...],
    ctes: str = "",
    before_columns: tuple[str, ...] = (),
    sibling: tuple[type[Model], str] | None = None,
) -> _Plan:
    """The SELECT of get(); with `ctes`, get_after()'s: the WITH entries, then their
    columns and the row's (all NULL if no row matches) in one result row; with
    `sibling` (model, foreign key to the parent), get_after_with()'s: that row's
    columns last, joined on the parent and its primary key."""
    # Quoting with double quotes: the same on SQLite and PostgreSQL.
    child_fields = tuple(model._meta.concrete_fields)
    columns = [f'c."{f.column}"' for f in child_fields]
    source = f'"{model._meta.db_table}" c'
    parent_fields: tuple[Field[Any, Any], ...] = ()
    if parent is not None:
        related = _related_model(model, parent)
        parent_fields = tuple(related._meta.concrete_fields)
        columns += [f'p."{f.column}"' for f in parent_fields]
        related_pk = _field(related, related._meta.pk.name)
        source += (
            f' JOIN "{related._meta.db_table}" p'
            f' ON p."{related_pk.column}" = c."{_field(model, parent).column}"'
        )
    conditions = " AND ".join(f'c."{_field(model, name).column}" = %s' for name in where)
    # Names from the models' metadata and the callers' constant SQL; values are parameters.
    sibling_fields: tuple[Field[Any, Any], ...] = ()
    sibling_join = ""
    if sibling is not None:
        if parent is None:
            raise TypeError("a sibling row is joined on the parent: name the parent")
        other, to_parent = sibling
        sibling_fields = tuple(other._meta.concrete_fields)
        columns += [f's."{f.column}"' for f in sibling_fields]
        sibling_join = (
            f' LEFT JOIN "{other._meta.db_table}" s ON s."{_field(other, to_parent).column}"'
            f' = c."{_field(model, parent).column}" AND s."{other._meta.pk.column}" = %s'
        )
    if ctes or sibling is not None:
        # One result row whether or not a row matches (its columns then NULL), so
        # that before's values always come back; the sibling's parameter follows where's.
        select = ", ".join([*before_columns, *columns])
        sql = (
            f"{f'WITH {ctes} ' if ctes else ''}SELECT {select} "  # noqa: S608
            f"FROM (SELECT 1) AS one LEFT JOIN ({source}) ON {conditions}{sibling_join}"
        )
    else:
        sql = f"SELECT {', '.join(columns)} FROM {source} WHERE {conditions}"  # noqa: S608
    pk_position = sibling_fields.index(sibling[0]._meta.pk) if sibling is not None else 0
    return _Plan(sql, child_fields, parent_fields, sibling_fields, pk_position)


# Converters are bound to a connection's operations, and connections belong to
# threads: one table per connection object, dropped with it.
_Conversions = list[tuple[int, Any, list[Converter]]]  # (position, column, converters)
_converters: weakref.WeakKeyDictionary[BaseDatabaseWrapper, dict[type[Model], _Conversions]] = (
    weakref.WeakKeyDictionary()
)


def _conversions(
    model: type[Model], fields: tuple[Field[Any, Any], ...], connection: BaseDatabaseWrapper
) -> _Conversions:
    per_model = _converters.setdefault(connection, {})
    if model not in per_model:
        found = []
        for position, field in enumerate(fields):
            column = field.get_col(model._meta.db_table)
            converters = [
                *connection.ops.get_db_converters(column),
                *column.get_db_converters(connection),
            ]
            if converters:
                found.append((position, column, converters))
        per_model[model] = found
    return per_model[model]


def _instance(
    model: type[M],
    fields: tuple[Field[Any, Any], ...],
    values: tuple[Any, ...],
    connection: BaseDatabaseWrapper,
    using: str,
) -> M:
    converted = list(values)
    for position, column, converters in _conversions(model, fields, connection):
        for converter in converters:
            converted[position] = converter(converted[position], column, connection)
    return model.from_db(using, [f.attname for f in fields], converted)


def insert(obj: Model, using: str = "default", also: Also | None = None) -> None:
    """`obj.save(force_insert=True)` with the INSERT built once per model instead of
    compiled on every call.

    Like save(): pre_save and post_save are sent (handlers may fill fields in),
    each field's pre_save() runs (auto_now_add), values are prepared by the
    fields for this database, and an auto-incremented primary key is read back
    (RETURNING, SQLite ≥ 3.35 and PostgreSQL). A model's own save() is not called.

    `also` (PostgreSQL only): another INSERT that reads the new row as `new` (its
    primary key column), run in the same statement, a data-modifying WITH. One
    statement is atomic on its own, so both rows or neither need no transaction.
    """
    model = type(obj)
    connection = connections[using]
    signals.pre_save.send(sender=model, instance=obj, raw=False, using=using, update_fields=None)
    returning = obj.pk is None
    fields, sql = _insert_plan(model, returning)
    values = _values(obj, fields, _plain_types(model, returning, connection), connection)
    if also is not None:
        if not returning or connection.vendor != "postgresql":
            raise ValueError("plainsql.insert: `also` needs PostgreSQL and a generated key")
        pk = _field(model, "pk").column
        # Built from the models' metadata and the caller's constant SQL.
        sql = f'WITH new AS ({sql}), also AS ({also.sql}) SELECT "{pk}" FROM new'  # noqa: S608
        values += also.params
    with _cursor(connection) as cursor:
        cursor.execute(sql, values)
        if returning:
            obj.pk = cursor.fetchone()[0]
    obj._state.adding = False
    obj._state.db = using
    signals.post_save.send(
        sender=model, instance=obj, created=True, update_fields=None, raw=False, using=using
    )


def _values(
    obj: Model,
    fields: tuple[Field[Any, Any], ...],
    plain: tuple[type | None, ...],
    connection: BaseDatabaseWrapper,
) -> list[Any]:
    """Each field's value as save() would send it: a plain field's value of its plain
    type (or None) is that already, the others go through pre_save() and
    get_db_prep_save() (a third of insert()'s time when every field did)."""
    values = []
    for field, kind in zip(fields, plain, strict=True):
        if kind is not None:
            value = getattr(obj, field.attname)
            if value is None or type(value) is kind:
                values.append(value)
                continue
        values.append(field.get_db_prep_save(field.pre_save(obj, True), connection))
    return values


# Field classes whose pre_save() only reads the attribute and whose get_db_prep_save()
# turns a value of this type into itself (int(), str(), bool()), with no say of the
# database unless noted in _plain_type. Exact classes: a subclass may convert.
_INTEGERS = (
    models.IntegerField,
    models.BigIntegerField,
    models.SmallIntegerField,
    models.PositiveIntegerField,
    models.PositiveBigIntegerField,
    models.PositiveSmallIntegerField,
)
_AUTO = (models.AutoField, models.BigAutoField, models.SmallAutoField)
_PLAIN: dict[type[Field[Any, Any]], type] = {
    **dict.fromkeys(_INTEGERS + _AUTO, int),
    models.CharField: str,
    models.TextField: str,
    models.BooleanField: bool,
}


_plain: weakref.WeakKeyDictionary[
    BaseDatabaseWrapper, dict[tuple[type[Model], bool], tuple[type | None, ...]]
] = weakref.WeakKeyDictionary()


def _plain_types(
    model: type[Model], returning: bool, connection: BaseDatabaseWrapper
) -> tuple[type | None, ...]:
    """_plain_type() of each field _insert_plan() writes, per connection like _conversions."""
    per_model = _plain.setdefault(connection, {})
    if (model, returning) not in per_model:
        fields, _sql = _insert_plan(model, returning)
        operations = type(connection.ops)
        per_model[model, returning] = tuple(_plain_type(f, operations) for f in fields)
    return per_model[model, returning]


def _plain_type(field: Field[Any, Any], operations: type[BaseDatabaseOperations]) -> type | None:
    """The type whose values `field` stores as they are on this database, or None."""
    base = BaseDatabaseOperations
    if isinstance(field, ForeignKey) and type(field) in (models.ForeignKey, models.OneToOneField):
        field = field.target_field  # ForeignKey.get_db_prep_save is its target's
        if isinstance(field, AutoFieldMixin) and (
            operations.validate_autopk_value is not base.validate_autopk_value
        ):
            return None  # MySQL refuses 0 there
    kind = _PLAIN.get(type(field))
    # PostgreSQL wraps integers in psycopg's sized types (Int2, Int8, …).
    if kind is int and operations.adapt_integerfield_value is not base.adapt_integerfield_value:
        return None
    return kind


@cache
def _insert_plan(model: type[Model], returning: bool) -> tuple[tuple[Field[Any, Any], ...], str]:
    pk = model._meta.pk
    if returning and not isinstance(pk, AutoFieldMixin):
        raise ValueError(f"plainsql.insert needs the primary key of {model.__name__} set")
    fields = tuple(
        f
        for f in model._meta.local_concrete_fields
        if not f.generated and not (returning and f is pk)
    )
    columns = ", ".join(f'"{f.column}"' for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    table = model._meta.db_table
    sql = f'INSERT INTO "{table}" ({columns}) VALUES ({placeholders})'  # noqa: S608
    if returning:
        sql += f' RETURNING "{_field(model, "pk").column}"'
    return fields, sql
