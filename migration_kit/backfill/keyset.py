"""Keyset SQL over a model's primary key: ``WHERE key > last ORDER BY key LIMIT n``, never OFFSET.

Composite keys are compared column by column (``a > x OR (a = x AND b > y)``) with a leading
``a >= x`` so every database can use the primary-key index; row-value syntax is not portable.
Keys are Python tuples (one item per key column) in the source database's own ordering.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper

from migration_kit import keys
from migration_kit.backfill import convert

Key = tuple[Any, ...]


class Table:
    """A model's table on one connection: quoted names, key columns, keyset predicates.

    ``writable`` leaves out generated columns (``GeneratedField``): a copy writes the others
    and the target computes those; verify compares them all.
    """

    def __init__(
        self, model: type[models.Model], connection: BaseDatabaseWrapper, writable: bool = False
    ):
        self.model = model
        self.connection = connection
        qn = connection.ops.quote_name
        self.fields: list[models.Field] = [
            f for f in model._meta.concrete_fields if not (writable and f.generated)
        ]
        self.pk_fields: list[models.Field] = keys.pk_fields(model)
        self.name = qn(model._meta.db_table)
        self.columns = [qn(f.column) for f in self.fields]
        self.pk_columns = [qn(f.column) for f in self.pk_fields]
        self.pk_positions = [self.fields.index(f) for f in self.pk_fields]
        self.order_by = ", ".join(self.pk_columns)

    def key_params(self, key: Key) -> list[Any]:
        """``key`` adapted for this connection, one parameter per key column."""
        return [
            f.get_db_prep_value(v, self.connection, prepared=False)
            for f, v in zip(self.pk_fields, key, strict=True)
        ]

    def key_of(self, row: Sequence[Any]) -> Key:
        """The key of a row holding every concrete field in ``self.fields`` order."""
        return tuple(row[i] for i in self.pk_positions)

    @functools.cached_property
    def key_converters(self) -> list[tuple[int, convert.Converter]]:
        """The key columns' database converters, built once per table."""
        return convert.row_converters(self.pk_fields, self.connection)

    def raw_key(self, raw: Sequence[Any]) -> Key:
        """Key columns as a cursor returned them, as Python values (UUID hex on MySQL → UUID)."""
        values = list(raw)
        for i, conv in self.key_converters:
            values[i] = conv(values[i])
        return tuple(values)

    def to_key(self, pk: Any) -> Key:
        """A pk value (scalar, or tuple for composite keys) as a key tuple."""
        return tuple(pk) if self.model._meta.is_composite_pk else (pk,)

    def from_key(self, key: Key) -> Any:
        """Inverse of :meth:`to_key`."""
        return tuple(key) if self.model._meta.is_composite_pk else key[0]

    def encode(self, key: Key | None) -> Any:
        """A key as JSON (see :mod:`migration_kit.keys`)."""
        return None if key is None else keys.encode_pk(self.model, self.from_key(key))

    def decode(self, data: Any) -> Key | None:
        """Inverse of :meth:`encode`."""
        return None if data is None else self.to_key(keys.decode_pk(self.model, data))

    def _compare(self, op_last: str, key: Key) -> tuple[str, list[Any]]:
        # (c1, ..., cn) <op> (v1, ..., vn) in lexicographic order; op_last is applied to cn.
        strict = op_last[0]  # ">" or "<"
        params = self.key_params(key)
        cols = self.pk_columns
        sql = f"{cols[-1]} {op_last} %s"
        args = [params[-1]]
        for col, param in zip(reversed(cols[:-1]), reversed(params[:-1]), strict=True):
            sql = f"{col} {strict} %s OR ({col} = %s AND ({sql}))"
            args = [param, param, *args]
        if len(cols) > 1:
            sql = f"{cols[0]} {strict}= %s AND ({sql})"
            args = [params[0], *args]
        return f"({sql})", args

    def after(self, key: Key, inclusive: bool = False) -> tuple[str, list[Any]]:
        """Predicate for keys ``> key`` (``>=`` when inclusive)."""
        return self._compare(">=" if inclusive else ">", key)

    def upto(self, key: Key) -> tuple[str, list[Any]]:
        """Predicate for keys ``<= key``."""
        return self._compare("<=", key)

    def between(
        self, low: Key | None, high: Key | None, low_inclusive: bool = False
    ) -> tuple[str, list[Any]]:
        """Predicate for ``low < key <= high``; a None bound is open."""
        parts, params = [], []
        if low is not None:
            sql, args = self.after(low, low_inclusive)
            parts.append(sql)
            params += args
        if high is not None:
            sql, args = self.upto(high)
            parts.append(sql)
            params += args
        return (" AND ".join(parts) or "1 = 1"), params
