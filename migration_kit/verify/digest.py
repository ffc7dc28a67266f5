"""The canonical row digest, defined per Django field type, in Python and in SQL.

Each column becomes a canonical text — integers in decimal, booleans ``1``/``0``, decimals at
their field's scale, datetimes in UTC (the connection's zone without ``USE_TZ``) as
``YYYY-MM-DD HH:MM:SS.ffffff``, dates, times with microseconds, durations in microseconds,
UUIDs as 32 lowercase hex digits, binary as lowercase hex, floats (below), JSON with sorted
keys and no spaces. NULL is ``N``, which no fixed-form text equals. The row text joins the
columns with ``|``, fixed-form texts first; a free-form text (strings, IP addresses, files)
enters it as two fields, its UTF-8 byte length (``N`` when NULL) and itself, so a ``|`` inside
it, or an ``N``, is never read as a boundary: the encoding is unambiguous. The row text's last
part needs no length: a free-form text there enters alone, left out when NULL
(:func:`sql_parts`), and a JSON text there (chunk checksums) is never ``N``. A row's digest is
the MD5 of its text; checksums sum the first 60 bits of row digests.

PostgreSQL and MySQL/MariaDB/SingleStore compute the same texts in SQL for every type but JSON
(``sql_text``); PostgreSQL's dates, times and timestamps are their ISO output (verify's
connections set ``DateStyle`` to ISO), padded to six fractional digits. A float with
1e-4 <= |x| < 1e15 is written as its shortest round-tripping decimal (Python's ``repr``
without a trailing ``.0``), which PostgreSQL (``extra_float_digits`` 1, set by verify's
connections), MariaDB and Python print alike in fixed notation in that range
(the tests prove it on random values of every magnitude and each end's neighbours); any other
float by its IEEE 754 bits — ``[-]<biased exponent>:<fraction>`` in decimal, ``0:0`` for ±0 —
which PostgreSQL reads with ``float8send`` and MySQL-family servers compute exactly with powers
of two (``LOG2`` only guesses the exponent; comparisons correct it). The two forms never meet
(only the bits contain ``:``). JSON has no portable canonical serializer, but each side prints
an exact text of its own (jsonb's normalized form; the text a MySQL-family server stores), and
equal texts mean equal values: ``checksum_text`` gives those. Chunk checksums use them in SQL;
only rows in buckets whose checksums differ are digested in Python, where the canonical text
decides (so keys in another order cost a re-read, never a false difference). Columns with
neither (custom fields; every column on other backends) are digested in Python.
"""

from __future__ import annotations

import datetime
import decimal
import hashlib
import json
import math
import struct
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper

from migration_kit.field_types import INTEGER_TYPES, POSTGRESQL_TEXT, TEXT_TYPES, internal_type
from migration_kit.vendors import MYSQL_FAMILY

# Free-form texts: every CharField kind and TextField, file names and paths, IP addresses.
FREE_TEXT = TEXT_TYPES | {"FilePathField", "FileField", "IPAddressField", "GenericIPAddressField"}
FRACTION_BITS = 2**52 - 1

# Types whose canonical text is made of digits, lowercase hex and "-.: " only.
FIXED_FORM = INTEGER_TYPES | {
    "BooleanField",
    "UUIDField",
    "DecimalField",
    "DateTimeField",
    "DateField",
    "TimeField",
    "DurationField",
    "BinaryField",
    "FloatField",
}
ZERO_DATETIME = "0000-00-00 00:00:00.000000"  # PostgreSQL's ISO timestamp text goes over it
HASH_BITS_HEX = 15  # 60 bits: sums of a chunk's rows stay exact in numeric/DECIMAL
# Floats with FLOAT_SHORT_LOW <= |x| < FLOAT_SHORT_HIGH are written as their shortest
# round-tripping decimal, which PostgreSQL (extra_float_digits > 0), MariaDB and Python all
# print alike, in fixed notation, in this range; the rest by their bits.
FLOAT_SHORT_LOW, FLOAT_SHORT_HIGH = 1e-4, 1e15  # in SQL as 1e-04, 1e+15: DOUBLE literals


# -- Python ---------------------------------------------------------------------------------


def python_text(field: models.Field) -> Callable[[Any], str]:
    """Python value (as the ORM returns it) → canonical text, for a non-NULL value."""
    kind = internal_type(field)
    if kind in INTEGER_TYPES:
        return lambda v: str(int(v))
    if kind in FREE_TEXT:
        return str
    if kind == "BooleanField":
        return lambda v: "1" if v else "0"
    if kind == "UUIDField":
        return lambda v: v.hex
    if kind == "DecimalField":
        places = field.decimal_places if isinstance(field, models.DecimalField) else 0
        return lambda v: _decimal_text(v, places)
    if kind == "FloatField":
        return _float_text
    if kind == "DateTimeField":
        return _datetime_text
    if kind == "DateField":
        return lambda v: f"{v.year:04d}-{v.month:02d}-{v.day:02d}"
    if kind == "TimeField":
        return lambda v: f"{v.hour:02d}:{v.minute:02d}:{v.second:02d}.{v.microsecond:06d}"
    if kind == "DurationField":
        return lambda v: str(v // datetime.timedelta(microseconds=1))
    if kind == "BinaryField":
        return lambda v: bytes(v).hex()
    if kind == "JSONField":
        return lambda v: json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return str


def _decimal_text(value: decimal.Decimal, places: int) -> str:
    value = decimal.Decimal(value).quantize(decimal.Decimal(1).scaleb(-places))
    if value.is_zero():
        value = abs(value)
    return format(value, "f")


def _float_text(value: float) -> str:
    value = float(value) + 0.0  # + 0.0: -0 → 0
    if FLOAT_SHORT_LOW <= abs(value) < FLOAT_SHORT_HIGH:
        text = repr(value)  # the shortest round-tripping digits, in fixed notation here
        return text[:-2] if text.endswith(".0") else text
    (bits,) = struct.unpack(">Q", struct.pack(">d", value))
    return f"{'-' if bits >> 63 else ''}{(bits >> 52) & 2047}:{bits & FRACTION_BITS}"


def _datetime_text(value: datetime.datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC)
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d} "
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}.{value.microsecond:06d}"
    )


def prefixed(field: models.Field) -> bool:
    """Whether the field's canonical text is free-form (may contain ``|`` or be ``N``)."""
    return internal_type(field) not in FIXED_FORM


def wrap(text: str | None, is_prefixed: bool) -> str:
    """A column's canonical text as it enters the row text (a free-form one after its length)."""
    if text is None:
        return "N"
    return f"{len(text.encode())}|{text}" if is_prefixed else text


def row_hash(texts: list[str]) -> int:
    """The 60-bit row hash of the wrapped column texts."""
    digest = hashlib.md5("|".join(texts).encode("utf-8"), usedforsecurity=False).hexdigest()
    return int(digest[:HASH_BITS_HEX], 16)


def python_bucket(key_texts: list[str], integer_key: int | None, buckets: int) -> int:
    """The bucket of a row's key, as :func:`sql_bucket` computes it."""
    if integer_key is not None:
        return int(math.fmod(integer_key, buckets))
    digest = hashlib.md5("|".join(key_texts).encode("utf-8"), usedforsecurity=False).hexdigest()
    return int(digest[:4], 16) % buckets


# -- SQL --------------------------------------------------------------------------------------


def sql_text(field: models.Field, column: str, connection: BaseDatabaseWrapper) -> str | None:
    """SQL computing the canonical text of non-NULL ``column``, or None (digest in Python)."""
    kind = internal_type(field)
    vendor = connection.vendor
    if vendor == "postgresql":
        return _postgresql_text(kind, column, connection)
    if vendor in MYSQL_FAMILY:
        if kind == "UUIDField" and field.db_type(connection) == "char(32)":
            # Django writes uuid.hex there; LOWER keeps upper-case hex equal, as Django reads it.
            return f"LOWER({column})"
        return _mysql_text(kind, column)
    return None


def _postgresql_text(kind: str, c: str, connection: BaseDatabaseWrapper) -> str | None:
    if kind in INTEGER_TYPES or kind == "DecimalField":
        return f"{c}::text"  # numeric(m, d) prints exactly d decimals, and has no -0
    if kind in ("GenericIPAddressField", "IPAddressField"):
        return f"abbrev({c})"  # inet as its output function (and so Django) prints it
    if kind in FREE_TEXT:
        return f"{c}::text"
    # Dates, times and timestamps by their ISO output (DateStyle ISO: verify's connections set
    # it), cheaper than to_char: a date prints as YYYY-MM-DD; a time or timestamp drops its
    # fraction's trailing zeros (and its point when they are all zeros), which overlaying the
    # text on a template of zeros puts back.
    if kind == "DateField":
        return f"{c}::text"
    if kind == "TimeField":
        return f"overlay('00:00:00.000000' placing {c}::text from 1)"
    if kind == "DateTimeField":
        zone = "UTC" if settings.USE_TZ else connection.timezone_name
        return f"overlay('{ZERO_DATETIME}' placing ({c} AT TIME ZONE '{zone}')::text from 1)"
    if kind in POSTGRESQL_TEXT:
        return POSTGRESQL_TEXT[kind].format(c=c)
    if kind == "UUIDField":
        return f"encode(uuid_send({c}), 'hex')"  # its 16 bytes in hex: no text to edit
    if kind == "FloatField":
        bits = f"('x' || encode(float8send({c} + 0), 'hex'))::bit(64)::bigint"
        return (
            f"CASE WHEN abs({c}) >= {FLOAT_SHORT_LOW:.0e} AND abs({c}) < {FLOAT_SHORT_HIGH:.0e} "
            f"THEN {c}::text ELSE (CASE WHEN {c} < 0 THEN '-' ELSE '' END) "
            f"|| (({bits} >> 52) & 2047)::text || ':' || ({bits} & {FRACTION_BITS})::text END"
        )
    return None


def _mysql_text(kind: str, c: str) -> str | None:
    # Django stores datetimes naive in UTC (USE_TZ) or in the connection's zone, DATETIME(6) and
    # TIME(6) print all six fractional digits, DECIMAL(m, d) prints d decimals, durations are
    # microseconds: the column's own text conversion is the canonical text (and cheapest).
    if kind in INTEGER_TYPES or kind in FREE_TEXT:
        return c
    if kind in ("DecimalField", "DurationField", "DateTimeField", "DateField", "TimeField"):
        return c
    if kind == "BooleanField":
        return f"({c} <> 0)"
    if kind == "UUIDField":
        return f"REPLACE(CAST({c} AS CHAR), '-', '')"  # MariaDB's uuid prints lower case
    if kind == "BinaryField":
        return f"LOWER(HEX({c}))"
    if kind == "FloatField":
        return _mysql_float_bits(c)
    return None


def _mysql_float_bits(c: str) -> str:
    """SQL for a DOUBLE's canonical bits text, by exact power-of-two arithmetic.

    ``LOG2`` only guesses a normal value's exponent ``g`` (it may be one off near a power of
    two); ``m = |c| / 2^(g - 52)`` is exact, and lies in [2^52, 2^53) exactly when the guess is
    right, so ``m`` both corrects the exponent and gives the fraction (doubled or halved, still
    exact). Subnormals are multiples of 2^-1074. Six ``LOG2`` calls per value, not twelve.
    """
    a = f"ABS({c})"
    g = f"LEAST(GREATEST(FLOOR(LOG2({a})), -1022), 1023)"
    m = f"({a} / POW(2, {g} - 52))"
    low, high = FRACTION_BITS + 1, 2 * (FRACTION_BITS + 1)
    exponent = f"{g} + 1023 + ({m} >= {high}) - ({m} < {low})"
    fraction = (
        f"CAST({m} * CASE WHEN {m} < {low} THEN 2 WHEN {m} >= {high} THEN 0.5 ELSE 1 END "
        f"- {low} AS UNSIGNED)"
    )
    subnormal = f"CONCAT('0:', CAST({a} / POW(2, -1074) AS UNSIGNED))"
    return (
        f"CASE WHEN {a} >= {FLOAT_SHORT_LOW:.0e} AND {a} < {FLOAT_SHORT_HIGH:.0e} "
        f"THEN CAST({c} AS CHAR) WHEN {c} = 0 THEN '0:0' ELSE CONCAT(IF({c} < 0, '-', ''), "
        f"IF({a} < POW(2, -1022), {subnormal}, CONCAT({exponent}, ':', {fraction}))) END"
    )


def checksum_text(field: models.Field, column: str, connection: BaseDatabaseWrapper) -> str | None:
    """SQL for an exact (not canonical) text of a JSON column, or None.

    Equal texts on both sides mean equal values; unequal ones are settled in Python.
    """
    if internal_type(field) != "JSONField":
        return None
    if connection.vendor == "postgresql":
        return f"{column}::text"
    if connection.vendor in MYSQL_FAMILY:
        return f"CAST({column} AS CHAR)"
    return None


def sql_wrap(text: str, is_prefixed: bool, vendor: str, nullable: bool = True) -> str:
    """SQL for :func:`wrap`: ``text`` is NULL exactly when the column is.

    A free-form text becomes two arguments of the row's ``concat_ws``, its byte length (``N``
    when NULL) and itself (skipped when NULL), so it is not copied into a ``length:text``
    string first.
    """
    if not is_prefixed:
        return f"COALESCE({text}, 'N')" if nullable else text
    length = f"octet_length({text})" if vendor == "postgresql" else f"LENGTH({text})"
    if nullable:
        length = (
            f"COALESCE({length}::text, 'N')"
            if vendor == "postgresql"
            else (f"COALESCE({length}, 'N')")
        )
    return f"{length}, {text}"


def sql_parts(
    columns: list[tuple[models.Field, str, bool]], vendor: str, *, bare_last: bool
) -> list[str]:
    """The row text's parts for ``columns`` ((field, canonical SQL text, prefixed), free-form
    ones last); with ``bare_last`` a free-form text that ends the row text enters alone.

    Alone means without its length, and left out when NULL (``concat_ws`` skips NULLs). Still
    unambiguous: every part before it is present (a fixed-form text, which has no ``|``, or
    ``N``; a length, or ``N``, then that many bytes), so those parts are read from the left,
    and what follows them is nothing (NULL) or ``|`` and the text, whatever it holds. It needs
    at least one part before it (else NULL and ``""`` would both be the empty text).
    """
    parts = [sql_wrap(text, pre, vendor, f.null) for f, text, pre in columns]
    if bare_last and len(columns) > 1 and columns[-1][2]:
        parts[-1] = columns[-1][1]
    return parts


def sql_md5(parts: list[str], vendor: str) -> str:
    """SQL for the MD5 hex of the row text (wrapped texts joined with ``|``)."""
    if vendor == "postgresql":
        return f"md5(concat_ws('|', {', '.join(parts)}))"
    return f"MD5(CONCAT_WS('|', {', '.join(parts)}))"


def sql_hash_sum(md5: str, vendor: str) -> str:
    """SQL for the sum of the rows' 60-bit hashes (0 for no rows)."""
    if vendor == "postgresql":
        return f"COALESCE(SUM(('x' || substr({md5}, 1, {HASH_BITS_HEX}))::bit(60)::bigint), 0)"
    return f"COALESCE(SUM(CAST(CONV(SUBSTRING({md5}, 1, {HASH_BITS_HEX}), 16, 10) AS UNSIGNED)), 0)"


def sql_bucket(key_parts: list[str], integer_key: str | None, buckets: int, vendor: str) -> str:
    """SQL for a row's bucket: its integer key modulo ``buckets``, else bits of its key's MD5."""
    if integer_key is not None:
        return f"MOD({integer_key}, {buckets})"
    md5 = sql_md5(key_parts, vendor)
    if vendor == "postgresql":
        return f"MOD(('x' || substr({md5}, 1, 4))::bit(16)::int, {buckets})"
    return f"MOD(CONV(SUBSTRING({md5}, 1, 4), 16, 10), {buckets})"
