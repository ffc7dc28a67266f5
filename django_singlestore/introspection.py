"""Introspection: MySQL's, plus the table design (storage type, shard key, sort key).

The design is read from ``SHOW CREATE TABLE``, which SingleStore prints with the storage words,
``SHARD KEY`` and ``SORT KEY`` (or the legacy ``KEY ... USING CLUSTERED COLUMNSTORE``), so
``inspectdb`` can write ``TableStorage``/``ShardKey``/``SortKey`` entries that recreate it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django_singlestore.django_mysql import mysql_introspection
from django_singlestore.rules import Storage

_HEAD = re.compile(r"CREATE\s+(ROWSTORE\s+)?(REFERENCE\s+)?TABLE", re.IGNORECASE)
_SHARD = re.compile(r"^\s*SHARD\s+KEY(?:\s+`[^`]*`)?\s*\(([^)]*)\)", re.IGNORECASE | re.MULTILINE)
_SORT = re.compile(r"^\s*SORT\s+KEY(?:\s+`[^`]*`)?\s*\(([^)]*)\)", re.IGNORECASE | re.MULTILINE)
_CLUSTERED = re.compile(
    r"^\s*KEY(?:\s+`[^`]*`)?\s*\(([^)]*)\)\s*USING\s+CLUSTERED\s+COLUMNSTORE",
    re.IGNORECASE | re.MULTILINE,
)
_PRIMARY = re.compile(
    r"^\s*(?:PRIMARY\s+KEY|UNIQUE\s+KEY\s+`PRIMARY`)\s*\(([^)]*)\)", re.IGNORECASE | re.MULTILINE
)


@dataclass(frozen=True)
class TableDesignInfo:
    """A table's layout as SingleStore reports it.

    ``shard_key`` is ``None`` when rows are sharded by the primary key (or the table is a
    reference table), ``()`` for a keyless table.
    """

    storage: Storage
    shard_key: tuple[str, ...] | None
    sort_key: tuple[tuple[str, bool], ...]


def _columns(text: str) -> list[tuple[str, bool]]:
    out = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        descending = bool(re.search(r"\s+DESC$", part, re.IGNORECASE))
        name = re.sub(r"\s+(ASC|DESC)$", "", part, flags=re.IGNORECASE).strip().strip("`")
        out.append((name, descending))
    return out


def parse_show_create_table(ddl: str) -> TableDesignInfo:
    """Storage, shard key and sort key from SingleStore's ``SHOW CREATE TABLE`` text."""
    head = _HEAD.search(ddl)
    storage = Storage.from_words(bool(head and head.group(1)), bool(head and head.group(2)))
    shard_key: tuple[str, ...] | None = None
    if not storage.is_reference and (found := _SHARD.search(ddl)):
        shard_key = tuple(name for name, _ in _columns(found.group(1)))
        primary = _PRIMARY.search(ddl)
        if primary and shard_key and shard_key == tuple(n for n, _ in _columns(primary.group(1))):
            shard_key = None  # the default: sharded by the primary key
    sort = _SORT.search(ddl) or _CLUSTERED.search(ddl)
    sort_key = tuple(_columns(sort.group(1))) if sort else ()
    return TableDesignInfo(storage=storage, shard_key=shard_key, sort_key=sort_key)


class DatabaseIntrospection(mysql_introspection.DatabaseIntrospection):
    def get_relations(self, cursor: Any, table_name: str) -> dict[str, tuple]:
        """No relations: SingleStore keeps no foreign keys (S2-FOREIGN-KEY). MySQL's query reads
        ``information_schema.referential_constraints`` for 6.1's ``(column, table,
        db_on_delete)`` values; an empty dict is the answer in every release's form."""
        return {}

    def get_table_design(self, cursor: Any, table_name: str) -> TableDesignInfo:
        """Storage type, shard key and sort key of ``table_name``."""
        cursor.execute(f"SHOW CREATE TABLE {self.connection.ops.quote_name(table_name)}")
        row = cursor.fetchone()
        return parse_show_create_table(row[1])

    def get_storage_engine(self, cursor: Any, table_name: str) -> str:
        """``information_schema.TABLES.ENGINE`` is always MemSQL; callers want the storage."""
        return self.get_table_design(cursor, table_name).storage.value
