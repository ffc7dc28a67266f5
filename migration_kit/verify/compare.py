"""Comparing one model on two databases: chunk checksums, bisection, row digests.

reladiff's method: split the key space into chunks (boundaries taken from the side holding more
rows), compare each chunk's (count, checksum) on both sides at once, split a differing chunk
into ``fanout`` parts and recurse, and below ``leaf_rows`` rows compare per-row digests. Chunks
are key ranges open at both ends of the table, so rows that exist on only one side are found.
Per-row results are merged across leaves before comparing, so two databases that order keys
differently (collations) still agree on which keys differ.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.db import models

from migration_kit.backfill import convert
from migration_kit.backfill.keyset import Key, Table
from migration_kit.backfill.load import target_connection
from migration_kit.verify import digest

Range = tuple[Key | None, Key | None]  # (exclusive low, inclusive high); None is open


@dataclass(frozen=True)
class Checksum:
    """A chunk's row count and digest sums (SQL part, Python part)."""

    rows: int
    sql: int
    python: int


class Side:
    """One database's view of a model: checksum, boundary and row-digest queries."""

    def __init__(self, model: type[models.Model], alias: str, pushdown: list[bool]):
        self.alias = alias
        self.connection = target_connection(alias, local_infile=False)
        # Used from one worker thread at a time (see Comparer), never concurrently.
        self.connection.inc_thread_sharing()
        self.table = Table(model, self.connection)
        conn, table = self.connection, self.table
        vendor = conn.vendor
        self.key_converters = convert.row_converters(table.pk_fields, conn)
        self.converters = convert.row_converters(table.fields, conn)
        parts = []
        for fld, col, push in zip(table.fields, table.columns, pushdown, strict=True):
            if push:
                parts.append(digest.sql_wrap(digest.sql_text(fld, col, conn), col, vendor))
        self.md5 = digest.sql_md5(parts, vendor) if parts else None
        self.python_positions = [i for i, push in enumerate(pushdown) if not push]
        self.python_texts = [digest.python_text(f) for f in table.fields]
        self.keys = ", ".join(table.pk_columns)

    def close(self) -> None:
        self.connection.close()

    def _query(self, sql: str, params: list[Any]) -> list[tuple]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def _where(self, rng: Range) -> tuple[str, list[Any]]:
        return self.table.between(rng[0], rng[1])

    def count(self) -> int:
        return self._query(f"SELECT COUNT(*) FROM {self.table.name}", [])[0][0]

    def checksum(self, rng: Range) -> Checksum:
        """Count and checksums of the rows in ``rng``."""
        where, params = self._where(rng)
        sql_sum = ""
        if self.md5:
            sql_sum = ", " + digest.sql_hash_sum(self.md5, self.connection.vendor)
        row = self._query(f"SELECT COUNT(*){sql_sum} FROM {self.table.name} WHERE {where}", params)
        rows, total = row[0][0], int(row[0][1]) if self.md5 else 0
        python = 0
        if self.python_positions and rows:
            python = sum(h for _, h in self._python_hashes(where, params))
        return Checksum(rows, total, python)

    def _python_hashes(self, where: str, params: list[Any]) -> Iterable[tuple[Key, int]]:
        table = self.table
        positions = [*table.pk_positions, *self.python_positions]
        columns = ", ".join(table.columns[i] for i in positions)
        fields = [table.fields[i] for i in positions]
        conv = convert.row_converters(fields, self.connection)
        texts = [self.python_texts[i] for i in positions]
        nkeys = len(table.pk_positions)
        raw = self._query(f"SELECT {columns} FROM {table.name} WHERE {where}", params)
        for row in convert.convert_rows(raw, conv):
            hashed = digest.row_hash(
                [digest.wrap(None if v is None else t(v)) for t, v in zip(texts, row, strict=True)]
            )
            yield tuple(row[:nkeys]), hashed

    def boundaries(self, rng: Range, step: int, limit: int) -> list[Key]:
        """Keys at every ``step``-th row inside ``rng``, at most ``limit`` of them."""
        found: list[Key] = []
        low = rng[0]
        while len(found) < limit:
            where, params = self._where((low, rng[1]))
            rows = self._query(
                f"SELECT {self.keys} FROM {self.table.name} WHERE {where} "
                f"ORDER BY {self.table.order_by} LIMIT 1 OFFSET %s",
                [*params, step - 1],
            )
            if not rows:
                break
            low = self.key(rows[0])
            if rng[1] is not None and low == rng[1]:
                break
            found.append(low)
        return found

    def key(self, raw: tuple) -> Key:
        return tuple(convert.convert_rows([raw], self.key_converters)[0])

    def row_digests(self, where: str, params: list[Any]) -> dict[Key, tuple[str | None, int]]:
        """Per-row digests (SQL MD5, Python hash) of the rows matching ``where``."""
        out: dict[Key, tuple[str | None, int]] = {}
        nkeys = len(self.table.pk_fields)
        md5 = f", {self.md5}" if self.md5 else ""
        raw = self._query(f"SELECT {self.keys}{md5} FROM {self.table.name} WHERE {where}", params)
        python: dict[Key, int] = {}
        if self.python_positions:
            python = dict(self._python_hashes(where, params))
        for row in raw:
            key = self.key(row[:nkeys])
            out[key] = (row[nkeys] if self.md5 else None, python.get(key, 0))
        return out

    def digests_in(self, rng: Range) -> dict[Key, tuple[str | None, int]]:
        where, params = self._where(rng)
        return self.row_digests(where, params)

    def digests_of(self, keys: list[Key]) -> dict[Key, tuple[str | None, int]]:
        """Per-row digests of the given keys (absent keys are left out)."""
        out: dict[Key, tuple[str | None, int]] = {}
        for start in range(0, len(keys), 200):
            part = keys[start : start + 200]
            terms, params = [], []
            for key in part:
                sql = " AND ".join(f"{c} = %s" for c in self.table.pk_columns)
                terms.append(f"({sql})")
                params += self.table.key_params(key)
            out.update(self.row_digests(" OR ".join(terms), params))
        return out


@dataclass
class Comparison:
    """What comparing one model found."""

    source_rows: int = 0
    target_rows: int = 0
    differing: list[Key] = field(default_factory=list)
    chunks: int = 0
    pushdown: list[str] = field(default_factory=list)
    python_columns: list[str] = field(default_factory=list)


class Comparer:
    """Compares a model between a source and a target alias, both queried concurrently."""

    def __init__(
        self,
        model: type[models.Model],
        source: str,
        target: str,
        chunk_rows: int = 20_000,
        fanout: int = 16,
        leaf_rows: int = 256,
    ):
        from django.db import connections

        src, tgt = connections[source], connections[target]
        fields = list(model._meta.concrete_fields)
        pushdown = [
            digest.sql_text(f, "c", src) is not None and digest.sql_text(f, "c", tgt) is not None
            for f in fields
        ]
        self.model = model
        self.source = Side(model, source, pushdown)
        self.target = Side(model, target, pushdown)
        self.chunk_rows, self.fanout, self.leaf_rows = chunk_rows, fanout, leaf_rows
        self.result = Comparison(
            pushdown=[f.column for f, p in zip(fields, pushdown, strict=True) if p],
            python_columns=[f.column for f, p in zip(fields, pushdown, strict=True) if not p],
        )
        self._pools = (ThreadPoolExecutor(1), ThreadPoolExecutor(1))
        self._source_rows: dict[Key, tuple[str | None, int]] = {}
        self._target_rows: dict[Key, tuple[str | None, int]] = {}

    def close(self) -> None:
        for pool, side in zip(self._pools, (self.source, self.target), strict=True):
            pool.submit(side.close).result()
            pool.shutdown()

    def _both(self, method: str, *args: Any) -> tuple[Any, Any]:
        futures: list[Future] = [
            pool.submit(getattr(side, method), *args)
            for pool, side in zip(self._pools, (self.source, self.target), strict=True)
        ]
        return futures[0].result(), futures[1].result()

    def compare(self) -> Comparison:
        """Find the keys whose rows differ (or exist on one side only)."""
        self.result.source_rows, self.result.target_rows = self._both("count")
        bigger = self.source if self.result.source_rows >= self.result.target_rows else self.target
        pool = self._pools[0] if bigger is self.source else self._pools[1]
        low: Key | None = None
        while True:
            # The next chunk boundary, then both sides' checksums of the chunk at once.
            found = pool.submit(bigger.boundaries, (low, None), self.chunk_rows, 1).result()
            high = found[0] if found else None
            self._check((low, high), self.chunk_rows)
            self.result.chunks += 1
            if high is None:
                break
            low = high
        keys = set(self._source_rows) | set(self._target_rows)
        self.result.differing = sorted(
            (k for k in keys if self._source_rows.get(k) != self._target_rows.get(k)),
            key=repr,
        )
        return self.result

    def _check(self, rng: Range, size: int) -> None:
        ours, theirs = self._both("checksum", rng)
        if ours == theirs:
            return
        rows = max(ours.rows, theirs.rows)
        if rows <= self.leaf_rows or size <= self.leaf_rows:
            mine, other = self._both("digests_in", rng)
            self._source_rows.update(mine)
            self._target_rows.update(other)
            return
        bigger = self.source if ours.rows >= theirs.rows else self.target
        step = max(1, -(-rows // self.fanout))
        pool = self._pools[0] if bigger is self.source else self._pools[1]
        bounds = pool.submit(bigger.boundaries, rng, step, self.fanout - 1).result()
        edges = [rng[0], *bounds, rng[1]]
        for low, high in itertools.pairwise(edges):
            self._check((low, high), step)

    def recheck(self, keys: list[Key]) -> list[Key]:
        """The subset of ``keys`` whose rows still differ now."""
        if not keys:
            return []
        mine, other = self._both("digests_of", keys)
        return [k for k in keys if mine.get(k) != other.get(k)]
