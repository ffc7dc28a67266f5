"""SingleStore's ``SHOW CREATE TABLE`` text for a TableSpec (display widths, key clauses,
SHARD/SORT KEY, storage), which MariaDB cannot produce."""

from __future__ import annotations

from django_singlestore import rules
from django_singlestore.rules import Column, Key, TableSpec
from s2emulator.sqltext import quote_name, quote_string

_INT_WIDTHS = {
    "tinyint": (4, 3),
    "smallint": (6, 5),
    "mediumint": (9, 8),
    "int": (11, 10),
    "bigint": (20, 20),
}
_NO_DEFAULT_NULL = ("text", "blob", "json", "geography")


def _display_type(col_type: str) -> str:
    """SingleStore prints integer display widths (``int(11)``) and ``decimal(10,0)``."""
    base = col_type.split("(")[0].split(" ")[0]
    if base in _INT_WIDTHS and "(" not in col_type:
        signed, unsigned = _INT_WIDTHS[base]
        width = unsigned if "unsigned" in col_type else signed
        return f"{base}({width})" + col_type[len(base) :]
    if col_type == "decimal":
        return "decimal(10,0)"
    return col_type


def _render_column(col: Column) -> str:
    parts = [quote_name(col.name), _display_type(col.type)]
    if col.charset:
        parts.append(f"CHARACTER SET {col.charset}")
    if col.collation:
        parts.append(f"COLLATE {col.collation}")
    if not col.nullable:
        parts.append("NOT NULL")
    if col.auto_increment:
        parts.append("AUTO_INCREMENT")
    if col.default is not None:
        parts.append(f"DEFAULT {col.default}")
    elif col.nullable and not col.auto_increment and not col.base_type.endswith(_NO_DEFAULT_NULL):
        parts.append("DEFAULT NULL")
    if col.comment:
        parts.append(f"COMMENT {quote_string(col.comment)}")
    return " ".join(parts)


def column_list(columns: tuple[str, ...]) -> str:
    return ",".join(quote_name(c) for c in columns)


def _render_key(key: Key, columnstore: bool) -> str:
    cols = column_list(key.columns)
    if key.kind == rules.PRIMARY and not columnstore:
        return f"PRIMARY KEY ({cols})"
    word = "UNIQUE KEY" if key.is_unique else "KEY"
    text = f"{word} {quote_name(key.name)} ({cols})"
    if key.unenforced:
        return f"{text} UNENFORCED {'RELY' if key.rely else 'NORELY'}"
    if columnstore or key.using == "HASH":
        return f"{text} USING HASH"
    return text


def render_show_create(spec: TableSpec) -> str:
    """SingleStore's ``SHOW CREATE TABLE`` text for ``spec`` (8.x layout).

    Layout from public 8.x output: columns; ``SHARD KEY `__SHARDKEY` (...)`` (or ``SHARD KEY ()``
    when keyless; none for reference tables); keys in declared order, a columnstore primary key as
    ``UNIQUE KEY `PRIMARY` (...) USING HASH`` and columnstore secondary keys ``USING HASH``;
    columnstore tables end with ``SORT KEY `<first column>` (...)`` or ``SORT KEY `__UNORDERED`
    ()``; then the AUTOSTATS/SQL_MODE options. The rendering of UNENFORCED keys is our guess.
    """
    columnstore = spec.storage.is_columnstore
    lines = [_render_column(c) for c in spec.columns]
    if spec.is_sharded:
        shard = spec.effective_shard_key()
        lines.append(f"SHARD KEY `__SHARDKEY` ({column_list(shard)})" if shard else "SHARD KEY ()")
    lines.extend(_render_key(k, columnstore) for k in spec.keys)
    if columnstore:
        if spec.sort_key:
            parts = ",".join(quote_name(c) + (" DESC" if d else "") for c, d in spec.sort_key)
            lines.append(f"SORT KEY {quote_name(spec.sort_key[0][0])} ({parts})")
        else:
            lines.append("SORT KEY `__UNORDERED` ()")
    words = spec.storage.create_words
    head = f"CREATE {words + ' ' if words else ''}TABLE {quote_name(spec.name)} ("
    if columnstore:
        options = (
            "AUTOSTATS_CARDINALITY_MODE=INCREMENTAL AUTOSTATS_HISTOGRAM_MODE=CREATE "
            "AUTOSTATS_SAMPLING=ON SQL_MODE='STRICT_ALL_TABLES'"
        )
    else:
        options = (
            "AUTOSTATS_CARDINALITY_MODE=PERIODIC AUTOSTATS_HISTOGRAM_MODE=CREATE "
            "SQL_MODE='STRICT_ALL_TABLES'"
        )
    if spec.comment:
        options += f" COMMENT={quote_string(spec.comment)}"
    return head + "\n  " + ",\n  ".join(lines) + "\n) " + options
