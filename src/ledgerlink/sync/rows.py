"""Rows written and read by hand-built statements, on the engine's hot paths, instead of compiled ORM queries.

Django compiles a query anew every time it runs one, and on the engine's per-request paths that compiling
cost more than running the statement: `bulk_update` built a CASE per field and record (more CPU than
everything else the engine did per invoice), and the rate limiter's locked read and save of its tenant's row,
twice per request, cost about four times what running them did on SQLite (a fifth of the Python time of a
backfill to a ledger that meters each item of a batch, which sends the most requests). These send the
statements the ORM would, with the same conversions both ways (each field's and the backend's own), so the
models stay the one description of their rows. Only the models' own table and column names, quoted, are
formatted into SQL; every value is a parameter.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeAlias, TypeVar

from django.db import connection, models

M = TypeVar("M", bound=models.Model)

#: A field's value as the database driver takes it.
_DbValue: TypeAlias = Any
# Values of these types in columns of these kinds go to the driver unchanged, on SQLite and PostgreSQL alike
# (None too); a foreign key's kind is its target's.
_AS_IS: dict[str, tuple[type, ...]] = {
    "CharField": (str,),
    "TextField": (str,),
    "BooleanField": (bool,),
    "IntegerField": (int,),
    "BigIntegerField": (int,),
    "PositiveIntegerField": (int,),
    "AutoField": (int,),
    "BigAutoField": (int,),
    "FloatField": (float, int),
}


def write_each(model: type[M], instances: Iterable[M], names: Sequence[str]) -> None:
    """Write the fields `names` of each instance as it holds them, by one UPDATE run per instance."""
    statement, fields = _update(model, tuple(names), connection.vendor)
    prepared = [_preparer(field) for field in fields]
    rows = [
        [
            *(
                prepare(getattr(instance, field.attname))
                for field, prepare in zip(fields, prepared, strict=True)
            ),
            instance.pk,
        ]
        for instance in instances
    ]
    with connection.cursor() as cursor:
        cursor.executemany(statement, rows)


@functools.lru_cache(maxsize=64)
def _update(
    model: type[models.Model], names: tuple[str, ...], vendor: str
) -> tuple[str, list[models.Field[Any, Any]]]:
    """The UPDATE of `names` by primary key, and their fields (by vendor: the suite's second pass points the
    same connection at PostgreSQL)."""
    fields = [_own_field(model, name) for name in names]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(_column(field))} = %s" for field in fields)
    pk = model._meta.pk
    assert pk is not None
    table = quote(model._meta.db_table)
    return f"UPDATE {table} SET {assignments} WHERE {quote(_column(pk))} = %s", fields  # noqa: S608


def _own_field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field)  # a column of the model's own, not a relation's reverse side
    return field


def _column(field: models.Field[Any, Any]) -> str:
    assert field.column is not None  # None only for a field without a column of its own
    return field.column


def _preparer(field: models.Field[Any, Any]) -> Callable[[Any], _DbValue]:
    """How `write_each` hands a value of `field` to the driver. Text, a number, a flag or an id the field
    holds as the driver takes it goes as it is; a time is prepared once per value (a request's records share
    their `now`): `get_db_prep_value` on every value of every record cost more than the statement. JSON is
    prepared each time: lists and maps cannot be remembered by value."""
    target = field.target_field if isinstance(field, models.ForeignKey) else field

    def prepare(value: Any) -> _DbValue:
        return field.get_db_prep_value(value, connection)

    plain = _AS_IS.get(target.get_internal_type())
    if plain is not None:
        as_is = (*plain, type(None))
        return lambda value: value if type(value) in as_is else prepare(value)
    if isinstance(field, models.JSONField):
        return prepare
    return functools.lru_cache(maxsize=None)(prepare)


@dataclass(frozen=True)
class _Read:
    select: str
    select_locked: str
    # Per selected column: the column expression and what turns its database value into the field's.
    converters: list[tuple[Any, list[Callable[[Any, Any, Any], Any]]]]


class Rows(Generic[M]):
    """Whole rows of `model`, found by the fields of one of its unique keys (`key`)."""

    def __init__(self, model: type[M], key: Sequence[str]) -> None:
        self.model, self.key = model, tuple(key)
        self.fields = list(model._meta.concrete_fields)
        self.written = [field.name for field in self.fields if not field.primary_key]
        self._reads: dict[str, _Read] = {}

    def get(self, *key: str | int, lock: bool = False) -> M | None:
        """The row whose key fields equal `key`, or None; `lock` holds it for the rest of the transaction
        where the database locks rows (SQLite's IMMEDIATE transaction already holds the whole database)."""
        read = self._read()
        with connection.cursor() as cursor:
            cursor.execute(read.select_locked if lock else read.select, list(key))
            row = cursor.fetchone()
        if row is None:
            return None
        values = []
        for value, (column, converters) in zip(row, read.converters, strict=True):
            for convert in converters:
                value = convert(value, column, connection)
            values.append(value)
        return self.model.from_db(connection.alias, [field.attname for field in self.fields], values)

    def save(self, instance: M) -> None:
        """Write every field of `instance` back to its row."""
        write_each(self.model, [instance], self.written)

    def _read(self) -> _Read:
        # By vendor: the test suite's second pass points the same alias at PostgreSQL.
        read = self._reads.get(connection.vendor)
        if read is None:
            read = self._reads[connection.vendor] = self._prepare_read()
        return read

    def _prepare_read(self) -> _Read:
        quote, meta = connection.ops.quote_name, self.model._meta
        columns = ", ".join(quote(_column(field)) for field in self.fields)
        where = " AND ".join(f"{quote(_column(_own_field(self.model, name)))} = %s" for name in self.key)
        select = f"SELECT {columns} FROM {quote(meta.db_table)} WHERE {where}"  # noqa: S608
        converters = []
        for field in self.fields:
            column = field.get_col(meta.db_table)
            converters.append(
                (column, connection.ops.get_db_converters(column) + column.get_db_converters(connection))
            )
        locked = f"{select} FOR UPDATE" if connection.features.has_select_for_update else select
        return _Read(select=select, select_locked=locked, converters=converters)
