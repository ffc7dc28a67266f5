"""The fast path: the source database renders each row's ``LOAD DATA`` text in SQL.

For a PostgreSQL or MySQL/MariaDB/SingleStore source and a MySQL-protocol target, every field
type Django ships has a source SQL expression producing exactly the text the target's Django
backend stores (datetimes naive in the target's zone, or as stored without ``USE_TZ``;
booleans 0/1; UUIDs as the target keeps them; durations in microseconds; binary as hex decoded
by ``UNHEX``; floats in their shortest exact decimal form), with ``LOAD DATA`` escaping and
``\\N`` for NULL. Python then only joins lines, so conversion runs inside the source database,
in another process, in parallel with the load.

The plan is per column: a column without a rendering (a custom field, a MySQL-family source in
another zone than the target for datetimes, a SingleStore source's floats) is read raw and
rendered by ``convert`` in Python, and its text is appended to the SQL-rendered part of the
line; the rest of the row stays in SQL. ``ColumnPlan.reasons`` says why each such column is in
Python, for the command's notes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper

from migration_kit.backfill.convert import PLAIN_TYPES
from migration_kit.backfill.keyset import Table
from migration_kit.field_types import POSTGRESQL_TEXT, TEXT_TYPES, internal_type
from migration_kit.vendors import MYSQL_FAMILY

# Escaping for LOAD DATA's default FIELDS ESCAPED BY '\\': backslash first.
_PG_ESCAPE = (
    "replace(replace(replace(replace({c}, '\\', '\\\\'), E'\\t', '\\t'), E'\\n', '\\n'), "
    "E'\\r', '\\r')"
)
_MY_ESCAPE = (
    "REPLACE(REPLACE(REPLACE(REPLACE(REPLACE({c}, '\\\\', '\\\\\\\\'), '\\t', '\\\\t'), "
    "'\\n', '\\\\n'), '\\r', '\\\\r'), CHAR(0), '\\\\0')"
)
_MY_TEXT = "CAST(CONVERT({c} USING utf8mb4) AS BINARY)"
# Free-form texts: every CharField kind (slug, email, URL, file names, file paths, IP addresses
# on MySQL-family servers, where they are char columns) and TextField.
FREE_TEXT = TEXT_TYPES | {"FilePathField", "FileField", "IPAddressField", "GenericIPAddressField"}
# Run before each PostgreSQL read: float8 prints its shortest exact form when
# extra_float_digits > 0 (the default since PostgreSQL 12 is 1; a user's OPTIONS may lower
# it), and dates, times and timestamps print as ISO text (psycopg reads no other DateStyle).
PG_FLOAT_SETUP = "SET extra_float_digits = 3"
PG_SETUP = [PG_FLOAT_SETUP, "SET DateStyle = ISO"]


@dataclass
class ColumnPlan:
    """How each column of a model is rendered: in source SQL, or in Python (and why)."""

    select: str | None  # SELECT expression joining the SQL-rendered columns' texts, if any
    sql_positions: list[int] = field(default_factory=list)  # indexes into ``Table.fields``
    python_positions: list[int] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)  # column → why it is in Python
    setup: list[str] = field(default_factory=list)  # statements run before each read

    @property
    def order(self) -> list[int]:
        """Field positions in the order each ``LOAD DATA`` line holds them."""
        return [*self.sql_positions, *self.python_positions]

    def notes(self, label: str) -> list[str]:
        """One human note per column rendered in Python (empty when all render in SQL)."""
        return [
            f"{label}.{column}: rendered in Python, not in source SQL ({why})."
            for column, why in self.reasons.items()
        ]


def column_plan(
    table: Table, source: BaseDatabaseWrapper, target: BaseDatabaseWrapper
) -> ColumnPlan | None:
    """The per-column rendering plan for ``table`` copied to ``target``; None if the target
    does not take ``LOAD DATA`` or the source vendor has no renderings at all."""
    if target.vendor not in MYSQL_FAMILY:
        return None
    if source.vendor == "postgresql":
        render, sep, join = _postgresql, "E'\\t'", "concat_ws"
        # concat_ws prints a value with its type's output function (what a text cast calls):
        # only beside COALESCE's '\\N' must a value be text (a no-op cast for a text value).
        nullable = "COALESCE(({expr})::text, '\\N')"
    elif source.vendor in MYSQL_FAMILY:
        # MySQL string literals take backslash escapes: the SQL '\\N' is the text \N.
        render, sep, join = _mysql, "'\\t'", "CONCAT_WS"
        nullable = "COALESCE({expr}, '\\\\N')"
    else:
        return None
    plan = ColumnPlan(select=None)
    parts = []
    for i, (fld, col) in enumerate(zip(table.fields, table.columns, strict=True)):
        expr, why = render(fld, col, source, target)
        if expr is None:
            plan.python_positions.append(i)
            plan.reasons[fld.column] = why
            continue
        plan.sql_positions.append(i)
        parts.append(nullable.format(expr=expr) if fld.null else expr)
        if source.vendor == "postgresql":
            plan.setup = PG_SETUP
    if parts:
        plan.select = f"{join}({sep}, {', '.join(parts)})"
        if source.vendor == "mysql":
            # MySQL/MariaDB hand the line over as its UTF-8 bytes (what LOAD DATA takes), so
            # the driver does not decode each row into a str for Python to encode it back.
            # Free texts are UTF-8 bytes already (_MY_TEXT); the other parts are ASCII.
            plan.select = f"CAST({plan.select} AS BINARY)"
    return plan


Rendering = tuple[str | None, str]  # (SQL expression or None, why not)


def _postgresql(
    field: models.Field, c: str, source: BaseDatabaseWrapper, target: BaseDatabaseWrapper
) -> Rendering:
    kind = internal_type(field)
    if kind == "GenericIPAddressField" or kind == "IPAddressField":
        # inet: abbrev() prints what the column's output function (and so Django) reads; an
        # address holds no character LOAD DATA escapes.
        return f"abbrev({c})", ""
    if kind == "JSONField":
        # jsonb's text escapes control characters itself (JSON strings cannot hold them raw):
        # only its backslashes need doubling.
        return f"replace({c}::text, '\\', '\\\\')", ""
    if kind in FREE_TEXT:
        return _PG_ESCAPE.format(c=f"{c}::text"), ""
    if kind in PLAIN_TYPES or kind in ("DecimalField", "FloatField", "DateField", "TimeField"):
        # The value itself, printed by its output function: numeric its scale's digits; float8
        # its shortest exact form (PG_FLOAT_SETUP); date and time (DateStyle ISO, PG_SETUP)
        # YYYY-MM-DD and HH:MM:SS[.ffffff], which MySQL-family servers parse back to the same
        # values. Several times cheaper than to_char().
        return c, ""
    if kind == "BooleanField" and not field.null:
        return f"CASE WHEN {c} THEN '1' ELSE '0' END", ""  # one test fewer than NULL needs
    if kind in POSTGRESQL_TEXT:
        return POSTGRESQL_TEXT[kind].format(c=c), ""
    if kind == "UUIDField":
        if target.features.has_native_uuid_field:
            return c, ""
        return f"encode(uuid_send({c}), 'hex')", ""
    if kind == "DateTimeField":
        # Django's timestamptz → naive in the zone the target stores (its connection's zone
        # with USE_TZ, TIME_ZONE without — the zone Django reads the source in, too), printed
        # as YYYY-MM-DD HH:MM:SS[.ffffff] (DateStyle ISO).
        return f"{c} AT TIME ZONE '{target.timezone_name}'", ""
    return None, f"no PostgreSQL rendering for {type(field).__name__} ({kind})"


def _mysql(
    field: models.Field, c: str, source: BaseDatabaseWrapper, target: BaseDatabaseWrapper
) -> Rendering:
    kind = internal_type(field)
    if kind in FREE_TEXT or kind == "JSONField":
        if source.vendor == "mysql":
            # Escaped as UTF-8 bytes: REPLACE on a binary string compares bytes, where on a
            # utf8mb4 one it steps character by character (about a third of MariaDB's cost
            # of a wide line). Safe: no byte of a multi-byte UTF-8 character is ASCII.
            # CONVERT first: a latin1 column would otherwise give latin1 bytes.
            return _MY_ESCAPE.format(c=_MY_TEXT.format(c=c)), ""
        return _MY_ESCAPE.format(c=c), ""
    if kind in PLAIN_TYPES or kind in ("DecimalField", "DurationField"):
        return f"CAST({c} AS CHAR)", ""
    if kind == "FloatField":
        if source.vendor != "mysql":
            return None, "SingleStore's float text form is not proven to round-trip"
        # MySQL 8 and MariaDB print a DOUBLE's shortest exact form (tests/kit prove it on
        # edge values and random bit patterns).
        return f"CAST({c} AS CHAR)", ""
    if kind == "BooleanField":
        return f"CASE WHEN {c} THEN '1' WHEN NOT {c} THEN '0' END", ""
    if kind == "UUIDField":
        text = f"CAST({c} AS CHAR)"
        if target.features.has_native_uuid_field:
            return text, ""
        return f"REPLACE({text}, '-', '')", ""
    if kind == "DateTimeField":
        if source.timezone_name != target.timezone_name:
            return None, (
                f"source stores datetimes in {source.timezone_name}, "
                f"the target in {target.timezone_name}"
            )
        return f"DATE_FORMAT({c}, '%%Y-%%m-%%d %%H:%%i:%%s.%%f')", ""
    if kind == "DateField":
        return f"DATE_FORMAT({c}, '%%Y-%%m-%%d')", ""
    if kind == "TimeField":
        return f"TIME_FORMAT({c}, '%%H:%%i:%%s.%%f')", ""
    if kind == "BinaryField":
        return f"HEX({c})", ""
    return None, f"no MySQL-family rendering for {type(field).__name__} ({kind})"


def text_as_bytes(cursor: Any) -> None:
    """Make a PostgreSQL cursor return text columns as their raw UTF-8 bytes (call before
    ``execute``; other drivers' cursors are left as they are).

    A joined batch is tens of megabytes of ``LOAD DATA`` text: decoding it into a ``str`` and
    encoding it back costs more Python time than the load itself, and bytes are what the
    target takes.
    """
    raw = cursor
    while isinstance(raw, CursorWrapper):  # Django's (and the debug) cursor wrapper
        raw = raw.cursor
    if not any(c.__module__.split(".")[0] == "psycopg" for c in type(raw).__mro__):
        return  # psycopg2, or another driver: its rows stay as they are
    from psycopg.adapt import Loader

    class RawText(Loader):
        def load(self, data: Any) -> bytes:
            return bytes(data)

    raw.adapters.register_loader("text", RawText)
