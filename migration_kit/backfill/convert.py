"""Value conversion by Django field type: source rows → Python values → target literals.

Reading applies the source backend's and the field's ``from_db_value`` converters, exactly as a
queryset would, so every target sees the same Python values the ORM sees. Writing goes through
``field.get_db_prep_save(value, target)`` (the target backend decides UUID, JSON, datetime and
decimal representations) and, for ``LOAD DATA``, renders the result as tab-separated text.
"""

from __future__ import annotations

import datetime
import decimal
import math
from collections.abc import Callable, Sequence
from typing import Any

from django.db import DataError, models
from django.db.backends.base.base import BaseDatabaseWrapper

from migration_kit.field_types import INTEGER_TYPES, TEXT_TYPES, internal_type
from migration_kit.vendors import MYSQL_FAMILY

Converter = Callable[[Any], Any]

# Field types whose Python value is already what every backend stores; conversion is skipped.
PLAIN_TYPES = INTEGER_TYPES | TEXT_TYPES

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\0": "\\0"})
NULL = "\\N"


def row_converters(
    fields: Sequence[models.Field], connection: BaseDatabaseWrapper
) -> list[tuple[int, Converter]]:
    """``(position, converter)`` for the columns whose raw database value needs converting."""
    if not fields:
        return []
    table = fields[0].model._meta.db_table
    result = []
    for i, field in enumerate(fields):
        col = field.get_col(table)
        steps = connection.ops.get_db_converters(col) + field.get_db_converters(connection)
        if steps:
            result.append((i, _chain(steps, col, connection)))
    return result


def _chain(steps: list[Callable], col: Any, connection: BaseDatabaseWrapper) -> Converter:
    def convert(value: Any) -> Any:
        for step in steps:
            value = step(value, col, connection)
        return value

    return convert


def convert_rows(rows: Sequence[Sequence[Any]], converters: list[tuple[int, Converter]]) -> list:
    """Raw cursor rows as lists of Python values."""
    if not converters:
        return [list(r) for r in rows]
    out = []
    for raw in rows:
        row = list(raw)
        for i, conv in converters:
            row[i] = conv(row[i])
        out.append(row)
    return out


def prep_functions(
    fields: Sequence[models.Field], connection: BaseDatabaseWrapper
) -> list[Converter | None]:
    """Per column: Python value → DB-API parameter for ``connection`` (None: use as is)."""
    return [None if internal_type(f) in PLAIN_TYPES else _prep(f, connection) for f in fields]


def _prep(field: models.Field, connection: BaseDatabaseWrapper) -> Converter:
    if internal_type(field) == "FloatField" and connection.vendor in MYSQL_FAMILY:
        return _finite_float(field, connection)

    def prep(value: Any) -> Any:
        return field.get_db_prep_save(value, connection)

    return prep


def _finite_float(field: models.Field, connection: BaseDatabaseWrapper) -> Converter:
    """NaN and ±Infinity (a PostgreSQL source may hold them) are refused as the row's error."""

    def prep(value: Any) -> Any:
        value = field.get_db_prep_save(value, connection)
        if value is not None and not math.isfinite(value):
            raise DataError(f"{field.column} = {value!r}: a MySQL-family DOUBLE cannot hold it")
        return value

    return prep


def is_binary(field: models.Field) -> bool:
    """Binary columns travel as hex in ``LOAD DATA`` text and are decoded with ``UNHEX``."""
    return internal_type(field) == "BinaryField"


def text_functions(
    fields: Sequence[models.Field], connection: BaseDatabaseWrapper
) -> list[Callable[[Any], str]]:
    """Per column: Python value → one ``LOAD DATA`` field (tab-separated, backslash-escaped)."""
    funcs: list[Callable[[Any], str]] = []
    for field in fields:
        kind = internal_type(field)
        if kind in TEXT_TYPES:
            funcs.append(_text)
        elif kind in PLAIN_TYPES:
            funcs.append(_plain)
        elif kind == "BooleanField":
            funcs.append(_bool)
        else:
            funcs.append(_literal_after(_prep(field, connection)))
    return funcs


def _text(value: Any) -> str:
    return NULL if value is None else value.translate(_ESCAPES)


def _plain(value: Any) -> str:
    return NULL if value is None else str(value)


def _bool(value: Any) -> str:
    return NULL if value is None else ("1" if value else "0")


def _literal_after(prep: Converter) -> Callable[[Any], str]:
    def text(value: Any) -> str:
        return NULL if value is None else literal(prep(value))

    return text


def literal(value: Any) -> str:
    """A prepared DB-API value as ``LOAD DATA`` text."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat(" ") if isinstance(value, datetime.datetime) else value.isoformat()
    return str(value).translate(_ESCAPES)
