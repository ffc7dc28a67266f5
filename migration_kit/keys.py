"""Primary keys as JSON: how checkpoints and outbox entries store a row's key.

A single-column key becomes its JSON-able scalar (int, str; UUIDs, dates and decimals as text);
a composite key (``CompositePrimaryKey``) becomes a list in the order of its fields.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from typing import Any

from django.db import models


def pk_fields(model: type[models.Model]) -> list[models.Field]:
    """The concrete fields that make up ``model``'s primary key, in key order."""
    return list(model._meta.pk_fields)


def _encode_scalar(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime.date | datetime.time | datetime.datetime):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    raise TypeError(f"Cannot encode primary key value {value!r} ({type(value).__name__}) as JSON.")


def encode_pk(model: type[models.Model], value: Any) -> Any:
    """Return ``value`` (a pk, or a tuple for a composite pk) as a JSON-able value."""
    if model._meta.is_composite_pk:
        return [_encode_scalar(v) for v in value]
    return _encode_scalar(value)


def decode_pk(model: type[models.Model], data: Any) -> Any:
    """Inverse of :func:`encode_pk`: the Python pk value (a tuple for a composite pk)."""
    fields = pk_fields(model)
    if model._meta.is_composite_pk:
        if not isinstance(data, list | tuple) or len(data) != len(fields):
            raise ValueError(f"{model._meta.label} needs a {len(fields)}-item key, got {data!r}.")
        return tuple(_decode_scalar(f, v) for f, v in zip(fields, data, strict=True))
    return _decode_scalar(fields[0], data)


def _decode_scalar(field: models.Field, data: Any) -> Any:
    if data is not None and isinstance(field, models.BinaryField):
        return bytes.fromhex(data)
    return field.to_python(data)
