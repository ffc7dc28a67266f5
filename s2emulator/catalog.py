"""What MariaDB cannot remember for us: each table's SingleStore layout.

One row per table in ``<schema>.tables`` on the backend server (default schema
``s2emu_catalog``), so the layout survives emulator restarts: storage type, shard key, sort key,
and the whole :class:`~django_singlestore.rules.TableSpec` as JSON (columns, keys with their
UNENFORCED/HASH flags that the MariaDB table no longer shows). The emulator keeps an in-memory
copy, loaded at start and updated after every DDL statement it forwards successfully.
"""

from __future__ import annotations

import json

from django_singlestore import rules

from .sqltext import quote_name, quote_string
from .upstream import BackendClient


class Catalog:
    """Table layouts by (database, table); names compare as MariaDB compares them (exactly)."""

    def __init__(self, client: BackendClient, schema: str = "s2emu_catalog"):
        self.client = client
        self.schema = schema
        self._tables: dict[tuple[str, str], rules.TableSpec] = {}
        #: Bumped on every change, so answers derived from layouts can be cached by it.
        self.generation = 0

    @property
    def table(self) -> str:
        return f"{quote_name(self.schema)}.`tables`"

    async def start(self) -> None:
        """Create the side schema if needed and load every known layout."""
        async with self.client.lock:
            await self.client.query(f"CREATE DATABASE IF NOT EXISTS {quote_name(self.schema)}")
            # Only ``spec`` is loaded (and storage_type/distributed are joined into
            # information_schema); shard_key and sort_key are there for people reading the table.
            # They stay: emulators of every version share this table and write whole rows.
            await self.client.query(
                f"CREATE TABLE IF NOT EXISTS {self.table} ("
                " db VARCHAR(64) CHARACTER SET utf8mb3 COLLATE utf8mb3_bin NOT NULL,"
                " name VARCHAR(64) CHARACTER SET utf8mb3 COLLATE utf8mb3_bin NOT NULL,"
                " storage_type VARCHAR(32) NOT NULL, distributed TINYINT NOT NULL,"
                " shard_key TEXT NULL, sort_key TEXT NULL, spec LONGTEXT NOT NULL,"
                " PRIMARY KEY (db, name)"
                ") ENGINE=MyISAM DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
            )
            # MyISAM: a catalog write must not cost a log flush per DDL statement.
            engine = await self.client.query(
                "SELECT ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = "
                f"{quote_string(self.schema)} AND TABLE_NAME = 'tables'"
            )
            if engine and engine[0][0] != b"MyISAM":
                await self.client.query(f"ALTER TABLE {self.table} ENGINE=MyISAM")
            rows = await self.client.query(f"SELECT db, name, spec FROM {self.table}")
        self.generation += 1
        self._tables = {
            (db.decode(), name.decode()): rules.TableSpec.from_dict(json.loads(spec))
            for db, name, spec in rows
            if db is not None and name is not None and spec is not None
        }

    def get(self, db: str | None, name: str) -> rules.TableSpec | None:
        if db is None:
            return None
        return self._tables.get((db, name))

    async def put(self, db: str, spec: rules.TableSpec) -> None:
        self.generation += 1
        self._tables[(db, spec.name)] = spec
        shard = spec.effective_shard_key() if spec.is_sharded else None
        values = ", ".join(
            (
                quote_string(db),
                quote_string(spec.name),
                quote_string(spec.storage.information_schema_type),
                "1" if spec.is_sharded else "0",
                "NULL" if shard is None else quote_string(json.dumps(list(shard))),
                quote_string(json.dumps([list(item) for item in spec.sort_key])),
                quote_string(json.dumps(spec.to_dict(), separators=(",", ":"))),
            )
        )
        async with self.client.lock:
            await self.client.query(f"REPLACE INTO {self.table} VALUES ({values})")

    async def drop(self, db: str, name: str) -> None:
        self.generation += 1
        self._tables.pop((db, name), None)
        async with self.client.lock:
            await self.client.query(
                f"DELETE FROM {self.table} WHERE db = {quote_string(db)} "
                f"AND name = {quote_string(name)}"
            )

    async def rename(self, db: str, name: str, new_db: str, new_name: str) -> None:
        spec = self._tables.pop((db, name), None)
        if spec is None:
            return
        await self.drop(db, name)
        await self.put(new_db, spec.with_changes(name=new_name))

    async def drop_database(self, db: str) -> None:
        self.generation += 1
        for key in [k for k in self._tables if k[0] == db]:
            del self._tables[key]
        async with self.client.lock:
            await self.client.query(f"DELETE FROM {self.table} WHERE db = {quote_string(db)}")

    def tables_join(self) -> str:
        """A derived table: ``information_schema.TABLES`` plus SingleStore's two columns.

        Tables the catalog does not know are reported as what SingleStore would create from
        plain DDL: a sharded columnstore table (views get NULLs).
        """
        return (
            "(SELECT t.*, CASE WHEN t.TABLE_TYPE <> 'BASE TABLE' THEN NULL "
            "ELSE COALESCE(c.storage_type, 'COLUMNSTORE') END AS STORAGE_TYPE, "
            "CASE WHEN t.TABLE_TYPE <> 'BASE TABLE' THEN NULL "
            "ELSE COALESCE(c.distributed, 1) END AS DISTRIBUTED "
            f"FROM information_schema.TABLES t LEFT JOIN {self.table} c "
            "ON c.db = t.TABLE_SCHEMA COLLATE utf8mb3_bin "
            "AND c.name = t.TABLE_NAME COLLATE utf8mb3_bin)"
        )
