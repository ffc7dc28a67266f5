"""The fast path: the source database renders each row as one ``LOAD DATA`` line in SQL.

For a PostgreSQL or MySQL/MariaDB/SingleStore source and a MySQL-protocol target, every common
field type has a source SQL expression producing exactly the text the target's Django backend
stores (datetimes naive in the target's zone, booleans 0/1, UUIDs as the target keeps them,
durations in microseconds, binary as hex decoded by ``UNHEX``), with ``LOAD DATA`` escaping and
``\\N`` for NULL. Python then only joins lines, so conversion runs inside the source database, in
another process, in parallel with the load. A model with any other field type (or another
vendor, or a zone mismatch) uses the per-value Python path in ``convert``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper

from migration_kit.backfill.convert import PLAIN_TYPES
from migration_kit.backfill.keyset import Table
from migration_kit.db import MYSQL_FAMILY
from migration_kit.fields import POSTGRESQL_TEXT, TEXT_TYPES, internal_type

# Escaping for LOAD DATA's default FIELDS ESCAPED BY '\\': backslash first.
_PG_ESCAPE = (
    "replace(replace(replace(replace({c}, '\\', '\\\\'), E'\\t', '\\t'), E'\\n', '\\n'), "
    "E'\\r', '\\r')"
)
_MY_ESCAPE = (
    "REPLACE(REPLACE(REPLACE(REPLACE(REPLACE({c}, '\\\\', '\\\\\\\\'), '\\t', '\\\\t'), "
    "'\\n', '\\\\n'), '\\r', '\\\\r'), CHAR(0), '\\\\0')"
)


@dataclass(frozen=True)
class LineQuery:
    """``SELECT`` list rendering one ``LOAD DATA`` line per row, after the key columns."""

    select: str


def line_query(
    table: Table, source: BaseDatabaseWrapper, target: BaseDatabaseWrapper
) -> LineQuery | None:
    """The fast-path SELECT list for ``table`` copied to ``target``, or None if unsupported."""
    if target.vendor not in MYSQL_FAMILY:
        return None
    if source.vendor == "postgresql":
        render, sep = _postgresql, "E'\\t'"
    elif source.vendor in MYSQL_FAMILY:
        if source.timezone_name != target.timezone_name:
            return None
        render, sep = _mysql, "'\\t'"
    else:
        return None
    parts = []
    for fld, col in zip(table.fields, table.columns, strict=True):
        expr = render(fld, col, target)
        if expr is None:
            return None
        parts.append(f"COALESCE({expr}, '\\N')" if fld.null else expr)
    if source.vendor == "postgresql":
        return LineQuery(f"concat_ws({sep}, {', '.join(parts)})")
    return LineQuery(f"CONCAT_WS({sep}, {', '.join(parts)})")


def _postgresql(field: models.Field, c: str, target: BaseDatabaseWrapper) -> str | None:
    kind = internal_type(field)
    if kind in TEXT_TYPES or kind == "JSONField":
        return _PG_ESCAPE.format(c=f"{c}::text")
    if kind in PLAIN_TYPES or kind in ("DecimalField", "FloatField"):
        return f"{c}::text"
    if kind in POSTGRESQL_TEXT:
        return POSTGRESQL_TEXT[kind].format(c=c)
    if kind == "UUIDField":
        return (
            f"{c}::text"
            if target.features.has_native_uuid_field
            else (f"replace({c}::text, '-', '')")
        )
    if kind == "DateTimeField":
        if not settings.USE_TZ:
            return None
        zone = target.timezone_name
        return f"to_char({c} AT TIME ZONE '{zone}', 'YYYY-MM-DD HH24:MI:SS.US')"
    return None


def _mysql(field: models.Field, c: str, target: BaseDatabaseWrapper) -> str | None:
    kind = internal_type(field)
    if kind in TEXT_TYPES or kind == "JSONField":
        return _MY_ESCAPE.format(c=c)
    if kind in PLAIN_TYPES or kind in ("DecimalField", "DurationField"):
        return f"CAST({c} AS CHAR)"
    if kind == "BooleanField":
        return f"CASE WHEN {c} THEN '1' WHEN NOT {c} THEN '0' END"
    if kind == "UUIDField":
        text = f"CAST({c} AS CHAR)"
        return text if target.features.has_native_uuid_field else f"REPLACE({text}, '-', '')"
    if kind == "DateTimeField":
        return f"DATE_FORMAT({c}, '%%Y-%%m-%%d %%H:%%i:%%s.%%f')"
    if kind == "DateField":
        return f"DATE_FORMAT({c}, '%%Y-%%m-%%d')"
    if kind == "TimeField":
        return f"TIME_FORMAT({c}, '%%H:%%i:%%s.%%f')"
    if kind == "BinaryField":
        return f"HEX({c})"
    return None  # floats: the server's text form is not guaranteed to round-trip
