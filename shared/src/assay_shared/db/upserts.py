"""INSERT … ON CONFLICT … RETURNING for model rows: one round trip where get_or_create takes four.

The ORM's get_or_create is SELECT, SAVEPOINT, INSERT, RELEASE (and a locked re-read to update a counter);
these helpers build the same INSERT from the model's own fields (defaults, auto_now_add, JSON and UUID
adaptation all as the ORM does them) and let Postgres resolve the conflict on the unique constraint.
Everything runs in the caller's transaction, so row-level security and the tenant's scope apply as usual.
"""
from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Field, Model
from django.db.models.fields import AutoFieldMixin


def _qn(name: str) -> str:
    return connection.ops.quote_name(name)


@cache
def _insert_shape(model: type[Model]) -> tuple[tuple[Field, ...], str, str]:
    """The inserted fields, the `INSERT INTO table (columns)` head and the casts of a conditional insert (per model)."""
    fields = tuple(f for f in model._meta.concrete_fields if not isinstance(f, AutoFieldMixin))
    head = f"INSERT INTO {_qn(model._meta.db_table)} ({', '.join(_qn(f.column) for f in fields)})"
    casts = ", ".join(f"%s::{f.cast_db_type(connection)}" for f in fields)
    return fields, head, casts


def insert_sql(objs: Sequence[Model], *, where: str | None = None) -> tuple[str, list]:
    """`INSERT INTO table (columns) VALUES (…), (…)` for unsaved instances of one model, and its parameters.

    With `where` (one instance): `INSERT INTO table (columns) SELECT %s::type, … WHERE <where>`, a row inserted
    only if the condition holds (each value cast to its column's type, as a SELECT does not infer it).
    """
    fields, head, casts = _insert_shape(type(objs[0]))
    conn = connections[DEFAULT_DB_ALIAS]  # resolved once, not per field through the `connection` proxy
    params = [f.get_db_prep_save(f.pre_save(obj, add=True), conn) for obj in objs for f in fields]
    if where is not None:
        assert len(objs) == 1, "a conditional insert takes one row"
        return f"{head} SELECT {casts} WHERE {where}", params
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    return f"{head} VALUES {', '.join([row] * len(objs))}", params


def excluded(*columns: str) -> str:
    """`col = EXCLUDED.col, …`: overwrite these columns with the values of the row that conflicted."""
    return ", ".join(f"{_qn(c)} = EXCLUDED.{_qn(c)}" for c in columns)


@cache
def returning(model: type[Model]) -> str:
    return ", ".join(_qn(f.column) for f in model._meta.concrete_fields)


def from_row(model: type[Model], values: Sequence) -> Model:
    """A model instance from a row of `returning(model)` columns, converted as the ORM converts them."""
    fields = model._meta.concrete_fields
    converted = [f.from_db_value(v, None, connection) if hasattr(f, "from_db_value") else v
                 for f, v in zip(fields, values)]
    return model.from_db(connection.alias, [f.attname for f in fields], converted)


def insert_or_nothing(objs: Sequence[Model], *, conflict: Sequence[str]) -> list[Model]:
    """Insert the rows that do not exist yet (by the `conflict` columns); returns those inserted, as saved instances."""
    if not objs:
        return []
    sql, params = insert_sql(objs)
    model = type(objs[0])
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} ON CONFLICT ({', '.join(_qn(c) for c in conflict)}) DO NOTHING "
                       f"RETURNING {returning(model)}", params)
        return [from_row(model, row) for row in cursor.fetchall()]
