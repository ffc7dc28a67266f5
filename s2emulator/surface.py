"""The SQL surface SingleStore has and MariaDB lacks, which the emulator must speak.

JSON functions and operators, the cast operators, SingleStore's ``@@`` variables and the protocol
version string: facts the dialect translation and the server need, and nothing the Django backend
reads (it sends SingleStore SQL and lets the server answer), so they live with the emulator.
"""

from __future__ import annotations

from dataclasses import dataclass

from django_singlestore.rules import DOCS


@dataclass(frozen=True)
class JsonFunction:
    """A SingleStore JSON function; ``returns`` is the SQL type it yields (``None``: JSON)."""

    name: str
    returns: str | None
    source: str = f"{DOCS}/cloud/reference/sql-reference/json-functions/"


#: Key paths are comma-separated keys / 0-based indexes (``JSON_EXTRACT_STRING(j, 'a', 0)``),
#: not ``$.a``; a missing path gives NULL.
JSON_FUNCTIONS: dict[str, JsonFunction] = {
    f.name: f
    for f in (
        JsonFunction("JSON_EXTRACT_STRING", "text"),
        JsonFunction("JSON_EXTRACT_DOUBLE", "double"),
        JsonFunction("JSON_EXTRACT_BIGINT", "bigint"),
        JsonFunction("JSON_EXTRACT_JSON", None),
        JsonFunction("JSON_SET_STRING", None),
        JsonFunction("JSON_SET_DOUBLE", None),
        JsonFunction("JSON_SET_JSON", None),
        JsonFunction("JSON_DELETE_KEY", None),
        JsonFunction("JSON_ARRAY_PUSH_STRING", None),
        JsonFunction("JSON_ARRAY_PUSH_DOUBLE", None),
        JsonFunction("JSON_ARRAY_PUSH_JSON", None),
        JsonFunction("JSON_LENGTH", "bigint"),
        JsonFunction("JSON_GET_TYPE", "text"),
        JsonFunction("JSON_MATCH_ANY_EXISTS", "tinyint"),
        JsonFunction("JSON_MATCH_ANY", "tinyint"),
        JsonFunction("JSON_AGG", None),
        JsonFunction("JSON_BUILD_OBJECT", None),
        JsonFunction("JSON_BUILD_ARRAY", None),
    )
}

#: Infix JSON access operators → the function each is shorthand for: ``j::$a`` is
#: ``JSON_EXTRACT_STRING(j, 'a')`` (source: json-functions/json-extract-type).
JSON_OPERATORS: dict[str, str] = {
    "::$": "JSON_EXTRACT_STRING",
    "::%": "JSON_EXTRACT_DOUBLE",
    "::": "JSON_EXTRACT_JSON",
}

#: Cast operators: ``expr :> type`` is ``CAST(expr AS type)``; ``!:>`` is the strict form that
#: raises on a lossy conversion (source: /cloud/reference/sql-reference/.../cast-operators).
CAST_OPERATORS: tuple[str, ...] = ("!:>", ":>")

#: ``@@`` variables SingleStore has and MariaDB lacks, with the value a default cluster shows.
#: ``memsql_version`` is the real server version; the handshake and VERSION() say 5.7.32.
SINGLESTORE_VARIABLES: dict[str, str] = {
    "memsql_version": "8.9.3",
    "memsql_version_hash": "0000000000000000000000000000000000000000",
    "default_table_type": "columnstore",
    "data_conversion_compatibility_level": "8.0",
    "json_extract_string_collation": "auto",
    # ON by default (docs: /db/v9.1/reference/sql-reference/database-object-case-sensitivity);
    # SELECT answers 1/0. The upstream backend reads it when it connects.
    "table_name_case_sensitivity": "1",
}

#: The MySQL protocol version string SingleStore advertises.
PROTOCOL_SERVER_VERSION = "5.7.32"
