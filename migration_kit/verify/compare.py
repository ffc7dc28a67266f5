"""Comparing one model on two databases: bucketed chunk checksums, bisection, row digests.

reladiff's method, with one refinement. The key space is cut into chunks of about
``chunk_rows`` rows (boundaries from the side holding more rows; the first and last chunks are
open, so rows present on one side only are found). For each chunk both databases first return,
at the same time, its row count and checksum in one aggregate; only for a chunk where those
differ (up to ``streams`` chunks are in flight per side, each on a connection of its own) do
they return the row count and checksum of every *bucket* — rows grouped
by their key (integer key modulo ``buckets``, else bits of the key's MD5), so a row lands in
the same bucket on both sides. Differing buckets holding at most ``leaf_rows`` rows are compared
row by row (per-row digests of just those buckets); larger ones are bisected: the chunk is split
into ``fanout`` key ranges and each is checked again. Per-row results are merged across leaves
before comparing, so two databases that order keys differently (collations) still agree on which
keys differ.
"""

from __future__ import annotations

import itertools
import queue
from collections import defaultdict, deque
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.db import connections, models

from migration_kit.backfill import convert
from migration_kit.backfill.keyset import Key, Table
from migration_kit.backfill.load import target_connection
from migration_kit.field_types import INTEGER_TYPES, internal_type
from migration_kit.verify import digest

Range = tuple[Key | None, Key | None]  # (exclusive low, inclusive high); None is open
Buckets = dict[int, tuple[int, int]]  # bucket -> (rows, hash sum)


SQL, CHECKSUM, PYTHON = "sql", "checksum", "python"  # where a column is digested


class Side:
    """One database's view of a model: bucket checksums, boundaries and row digests.

    ``modes`` says per column where it is digested: ``sql`` (its canonical text, in checksums
    and row digests), ``checksum`` (an exact text in SQL checksums, the canonical text in
    Python for row digests) or ``python`` (in Python always).
    """

    def __init__(self, model: type[models.Model], alias: str, modes: list[str], buckets: int):
        self.alias = alias
        self.connection = target_connection(alias, local_infile=False)
        # Used from one worker thread at a time (see Comparer), never concurrently.
        self.connection.inc_thread_sharing()
        if self.connection.vendor == "postgresql":
            # The planner cannot estimate how many buckets there are, so it sorts the chunk
            # (on disk) to group it; hashing is several times faster. Private connection only.
            with self.connection.cursor() as cursor:
                cursor.execute("SET enable_sort TO off")
                # Chunks already run ``streams`` at a time per side: parallel workers per query
                # only add CPU (measured: up to a fifth more for the same checksums) and take
                # cores from the other side's queries.
                cursor.execute("SET max_parallel_workers_per_gather TO 0")
                # A float's canonical text is its shortest exact decimal, and dates and times
                # print as YYYY-MM-DD HH:MM:SS.ffffff, whatever the server's defaults are.
                cursor.execute("SET extra_float_digits TO 1")
                cursor.execute("SET DateStyle TO ISO")
        self.table = table = Table(model, self.connection)
        conn, vendor = self.connection, self.connection.vendor
        self.buckets = buckets
        self.prefixed = [digest.prefixed(f) for f in table.fields]
        columns = list(zip(table.fields, table.columns, modes, self.prefixed, strict=True))
        # Fixed-form texts first, free-form ones last (sorted() is stable), so the row text can
        # end with a free-form text that needs no length (digest.sql_parts).
        in_sql = sorted(
            ((f, digest.sql_text(f, c, conn), pre) for f, c, mode, pre in columns if mode == SQL),
            key=lambda part: part[2],
        )
        loose_columns = [(f, c) for f, c, mode, _ in columns if mode == CHECKSUM]
        # The last loose text ends the row text, so it needs no length prefix to be
        # unambiguous (every part before it is prefixed or fixed-form, and no JSON text is
        # "N"): without one, each side builds a JSON column's text once, not twice.
        loose = [
            digest.sql_wrap(
                digest.checksum_text(f, c, conn), i < len(loose_columns) - 1, vendor, f.null
            )
            for i, (f, c) in enumerate(loose_columns)
        ]
        # Checksums hash exact and loose texts; row digests only the exact ones (the loose
        # columns are digested in Python there, by their canonical texts).
        exact = digest.sql_parts(in_sql, vendor, bare_last=not loose)
        self.md5 = digest.sql_md5(exact + loose, vendor) if exact or loose else None
        row = digest.sql_parts(in_sql, vendor, bare_last=True)
        self.row_md5 = digest.sql_md5(row, vendor) if row else None
        self.python_positions = [i for i, mode in enumerate(modes) if mode == PYTHON]
        self.row_python_positions = [i for i, mode in enumerate(modes) if mode != SQL]
        self.python_texts = [digest.python_text(f) for f in table.fields]
        self.integer_key = (
            len(table.pk_fields) == 1 and internal_type(table.pk_fields[0]) in INTEGER_TYPES
        )
        key_texts = [
            digest.sql_text(f, c, conn)
            for f, c in zip(table.pk_fields, table.pk_columns, strict=True)
        ]
        if None in key_texts:
            # A key type without a canonical SQL text: one bucket, so both sides agree.
            self.buckets, self.integer_key, self.bucket = 1, False, "0"
        else:
            key_parts = [
                digest.sql_wrap(text, self.prefixed[i], vendor)
                for text, i in zip(key_texts, table.pk_positions, strict=True)
            ]
            self.bucket = digest.sql_bucket(
                key_parts, table.pk_columns[0] if self.integer_key else None, buckets, vendor
            )
        self.keys = ", ".join(table.pk_columns)

    def close(self) -> None:
        self.connection.close()

    def _query(self, sql: str, params: list[Any]) -> list[tuple]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def count(self) -> int:
        return self._query(f"SELECT COUNT(*) FROM {self.table.name}", [])[0][0]

    def span(self) -> tuple[int, int] | None:
        """The smallest and largest key of an integer-keyed table; None when it is empty."""
        low, high = self._query(
            f"SELECT MIN({self.keys}), MAX({self.keys}) FROM {self.table.name}", []
        )[0]
        return None if low is None else (int(low), int(high))

    def total(self, rng: Range) -> tuple[int, int] | None:
        """(rows, SQL hash sum) of ``rng`` in one aggregate; None when columns are in Python."""
        if self.python_positions or not self.md5:
            return None
        where, params = self.table.between(*rng)
        hashed = digest.sql_hash_sum(self.md5, self.connection.vendor)
        sql = f"SELECT COUNT(*), {hashed} FROM {self.table.name} WHERE {where}"
        rows = self._query(sql, params)
        return int(rows[0][0]), int(rows[0][1])

    def checksum(self, rng: Range) -> tuple[Buckets, Buckets]:
        """Per bucket of ``rng``: (rows, SQL hash sum) and (rows, Python hash sum)."""
        where, params = self.table.between(*rng)
        total = f", {digest.sql_hash_sum(self.md5, self.connection.vendor)}" if self.md5 else ""
        rows = self._query(
            f"SELECT {self.bucket}, COUNT(*){total} FROM {self.table.name} WHERE {where} "
            "GROUP BY 1",
            params,
        )
        in_sql = {int(r[0]): (int(r[1]), int(r[2]) if self.md5 else 0) for r in rows}
        in_python: Buckets = {}
        if self.python_positions and rows:
            sums: dict[int, list[int]] = defaultdict(lambda: [0, 0])
            for bucket, _key, hashed in self._python_hashes(where, params, self.python_positions):
                sums[bucket][0] += 1
                sums[bucket][1] += hashed
            in_python = {b: (n, h) for b, (n, h) in sums.items()}
        return in_sql, in_python

    def _python_hashes(
        self, where: str, params: list[Any], columns: list[int]
    ) -> Iterable[tuple[int, Key, int]]:
        """(bucket, key, hash of key and the ``columns`` positions) for rows matching ``where``."""
        table = self.table
        positions = [*table.pk_positions, *columns]
        columns = ", ".join(table.columns[i] for i in positions)
        fields = [table.fields[i] for i in positions]
        conv = convert.row_converters(fields, self.connection)
        texts = [self.python_texts[i] for i in positions]
        prefixed = [self.prefixed[i] for i in positions]
        nkeys = len(table.pk_positions)
        raw = self._query(f"SELECT {columns} FROM {table.name} WHERE {where}", params)
        for row in convert.convert_rows(raw, conv):
            wrapped = [
                digest.wrap(None if v is None else t(v), p)
                for t, v, p in zip(texts, row, prefixed, strict=True)
            ]
            key = tuple(row[:nkeys])
            bucket = digest.python_bucket(
                wrapped[:nkeys], key[0] if self.integer_key else None, self.buckets
            )
            yield bucket, key, digest.row_hash(wrapped)

    def boundaries(self, rng: Range, step: int, limit: int) -> list[Key]:
        """Keys at every ``step``-th row inside ``rng``, at most ``limit`` of them."""
        found: list[Key] = []
        low = rng[0]
        while len(found) < limit:
            where, params = self.table.between(low, rng[1])
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
        return self.table.raw_key(raw)

    def row_digests(self, where: str, params: list[Any]) -> dict[Key, tuple[str | None, int]]:
        """Per-row digests (SQL MD5, Python hash) of the rows matching ``where``."""
        nkeys = len(self.table.pk_fields)
        md5 = f", {self.row_md5}" if self.row_md5 else ""
        raw = self._query(f"SELECT {self.keys}{md5} FROM {self.table.name} WHERE {where}", params)
        python: dict[Key, int] = {}
        if self.row_python_positions:
            hashes = self._python_hashes(where, params, self.row_python_positions)
            python = {key: h for _, key, h in hashes}
        out: dict[Key, tuple[str | None, int]] = {}
        for row in raw:
            key = self.key(row[:nkeys])
            out[key] = (row[nkeys] if self.row_md5 else None, python.get(key, 0))
        return out

    def digests_in(self, rng: Range, buckets: list[int]) -> dict[Key, tuple[str | None, int]]:
        """Per-row digests of the rows of ``buckets`` within ``rng``."""
        where, params = self.table.between(*rng)
        where += f" AND {self.bucket} IN ({', '.join(str(int(b)) for b in buckets)})"
        return self.row_digests(where, params)

    def digests_of(self, keys: list[Key]) -> dict[Key, tuple[str | None, int]]:
        """Per-row digests of the given keys (absent keys are left out)."""
        out: dict[Key, tuple[str | None, int]] = {}
        match = " AND ".join(f"{c} = %s" for c in self.table.pk_columns)
        for start in range(0, len(keys), 200):
            part = keys[start : start + 200]
            params: list[Any] = []
            for key in part:
                params += self.table.key_params(key)
            out.update(self.row_digests(" OR ".join([f"({match})"] * len(part)), params))
        return out


@dataclass
class Comparison:
    """What comparing one model found."""

    source_rows: int = 0
    target_rows: int = 0
    differing: list[Key] = field(default_factory=list)
    chunks: int = 0
    pushdown: list[str] = field(default_factory=list)
    checksum_columns: list[str] = field(default_factory=list)
    python_columns: list[str] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)  # Python-digested column → why


def column_mode(field: models.Field, source: Any, target: Any) -> str:
    """Where ``field`` is digested when comparing ``source`` with ``target`` (SQL, ...)."""
    if all(digest.sql_text(field, "c", conn) is not None for conn in (source, target)):
        return SQL
    if all(digest.checksum_text(field, "c", conn) is not None for conn in (source, target)):
        return CHECKSUM
    return PYTHON


class Streams:
    """``count`` connections (``Side`` objects) to one alias and as many threads: up to
    ``count`` queries of that side in flight, each on a connection no other thread uses
    meanwhile."""

    def __init__(self, make: Any, count: int):
        self.sides: list[Side] = []
        try:
            for _ in range(count):
                self.sides.append(make())
        except BaseException:
            for side in self.sides:
                side.close()
            raise
        self._free: queue.SimpleQueue[Side] = queue.SimpleQueue()
        for side in self.sides:
            self._free.put(side)
        self._pool = ThreadPoolExecutor(count)

    def _run(self, fn: Any, args: tuple) -> Any:
        side = self._free.get()
        try:
            return fn(side, *args)
        finally:
            self._free.put(side)

    def submit(self, fn: Any, *args: Any) -> Future:
        """``fn(side, *args)`` on a free connection of this side."""
        return self._pool.submit(self._run, fn, args)

    def close(self) -> None:
        # Each connection is closed on a pool thread, where its queries ran.
        for future in [self._pool.submit(side.close) for side in self.sides]:
            future.result()
        self._pool.shutdown()


class Comparer:
    """Compares a model between a source and a target alias, both queried concurrently, with
    up to ``streams`` chunk queries in flight on each (one connection each)."""

    def __init__(
        self,
        model: type[models.Model],
        source: str,
        target: str,
        chunk_rows: int = 50_000,
        fanout: int = 16,
        leaf_rows: int = 20_000,
        buckets: int = 256,
        streams: int = 1,
    ):
        if streams < 1:
            raise ValueError("streams must be at least 1")
        src, tgt = connections[source], connections[target]
        fields = list(model._meta.concrete_fields)
        modes = [column_mode(f, src, tgt) for f in fields]
        self.model = model
        self.streams = streams
        self._streams = [Streams(lambda: Side(model, source, modes, buckets), streams)]
        try:
            self._streams.append(Streams(lambda: Side(model, target, modes, buckets), streams))
        except BaseException:
            self._streams[0].close()
            raise
        self.source, self.target = self._streams[0].sides[0], self._streams[1].sides[0]
        self.chunk_rows, self.fanout, self.leaf_rows = chunk_rows, fanout, leaf_rows
        by_mode: dict[str, list[models.Field]] = defaultdict(list)
        for f, mode in zip(fields, modes, strict=True):
            by_mode[mode].append(f)
        self.result = Comparison(
            pushdown=[f.column for f in by_mode[SQL]],
            checksum_columns=[f.column for f in by_mode[CHECKSUM]],
            python_columns=[f.column for f in by_mode[PYTHON]],
            reasons={
                f.column: f"no SQL digest for {type(f).__name__} on {src.vendor} and {tgt.vendor}"
                for f in by_mode[PYTHON]
            },
        )
        self._source_rows: dict[Key, tuple[str | None, int]] = {}
        self._target_rows: dict[Key, tuple[str | None, int]] = {}

    def close(self) -> None:
        for streams in self._streams:
            streams.close()

    def _both_async(self, method: str, *args: Any) -> list[Future]:
        return [
            streams.submit(lambda side: getattr(side, method)(*args)) for streams in self._streams
        ]

    def _both(self, method: str, *args: Any) -> tuple[Any, Any]:
        futures = self._both_async(method, *args)
        return futures[0].result(), futures[1].result()

    def _on_async(self, side: Side, method: str, *args: Any) -> Future:
        """``side.method(*args)`` on one of that side's connections (``side`` names the side:
        ``self.source`` or ``self.target``)."""
        streams = self._streams[0] if side is self.source else self._streams[1]
        return streams.submit(lambda s: getattr(s, method)(*args))

    def _on(self, side: Side, method: str, *args: Any) -> Any:
        return self._on_async(side, method, *args).result()

    def run_on_both(self, fn: Any, *args: Any) -> tuple[Any, Any]:
        """``fn(side, *args)`` on each side at once."""
        futures = [streams.submit(fn, *args) for streams in self._streams]
        return futures[0].result(), futures[1].result()

    def compare(self) -> Comparison:
        """Find the keys whose rows differ (or exist on one side only)."""
        if self.source.integer_key and self.target.integer_key:
            self._compare_integer_keys()
        else:
            self._compare_by_boundaries()
        keys = set(self._source_rows) | set(self._target_rows)
        self.result.differing = sorted(
            (k for k in keys if self._source_rows.get(k) != self._target_rows.get(k)),
            key=repr,
        )
        return self.result

    def _chunk(self, rng: Range, totals: list[Future]) -> tuple[int, int]:
        """Settle one chunk from its two totals (one aggregate per side, no GROUP BY; buckets
        only when they differ); the chunk's row count on each side."""
        mine, theirs = totals[0].result(), totals[1].result()
        self.result.chunks += 1
        if mine is None or mine != theirs:
            return self._check(rng)
        return mine[0], theirs[0]

    def _compare_integer_keys(self) -> None:
        """Chunks of an integer key cut by arithmetic: each chunk is as wide as the previous
        one, scaled to hold about ``chunk_rows`` rows (at most twice as wide), so no boundary
        is looked up (an ``OFFSET`` walk of the key index); the chunks' row counts add up to
        each side's, so no ``COUNT(*)`` pass either."""
        spans = [span for span in self._both("span") if span is not None]
        first = min(low for low, _ in spans) - 1 if spans else 0
        top = max(high for _, high in spans) if spans else 0
        low: Key | None = None
        width, last = self.chunk_rows, False
        # Up to ``streams`` chunks in flight; the next chunk's width follows the latest settled.
        pending: deque[tuple[Range, int, list[Future]]] = deque()
        while True:
            while not last and len(pending) < self.streams:
                start = first if low is None else low[0]
                high = None if start + width >= top else (start + width,)
                pending.append(((low, high), width, self._both_async("total", (low, high))))
                last, low = high is None, high
            if not pending:
                return
            rng, used, totals = pending.popleft()
            rows = self._chunk(rng, totals)
            self.result.source_rows += rows[0]
            self.result.target_rows += rows[1]
            most = max(rows)
            width = min(2 * used, max(1, used * self.chunk_rows // most)) if most else 2 * used

    def _compare_by_boundaries(self) -> None:
        """Chunks cut at every ``chunk_rows``-th key of the side holding more rows."""
        self.result.source_rows, self.result.target_rows = self._both("count")
        bigger = self.source if self.result.source_rows >= self.result.target_rows else self.target
        low: Key | None = None
        found = self._on(bigger, "boundaries", (low, None), self.chunk_rows, 1)
        pending: deque[tuple[Range, list[Future]]] = deque()
        while True:
            high = found[0] if found else None
            pending.append(((low, high), self._both_async("total", (low, high))))
            # The next boundary is looked up while the chunks in flight are checksummed.
            upcoming = None
            if high is not None:
                upcoming = self._on_async(bigger, "boundaries", (high, None), self.chunk_rows, 1)
            while pending and (upcoming is None or len(pending) >= self.streams):
                self._chunk(*pending.popleft())
            if upcoming is None:
                break
            low, found = high, upcoming.result()

    def _check(self, rng: Range, checksums: tuple[Any, Any] | None = None) -> tuple[int, int]:
        """Find the differing rows of ``rng``; its row count on each side."""
        (ours_sql, ours_py), (theirs_sql, theirs_py) = checksums or self._both("checksum", rng)
        total_ours = sum(n for n, _ in ours_sql.values())
        total_theirs = sum(n for n, _ in theirs_sql.values())
        bad = sorted(
            b
            for b in set(ours_sql) | set(theirs_sql) | set(ours_py) | set(theirs_py)
            if ours_sql.get(b) != theirs_sql.get(b) or ours_py.get(b) != theirs_py.get(b)
        )
        if not bad:
            return total_ours, total_theirs
        rows = sum(max(ours_sql.get(b, (0, 0))[0], theirs_sql.get(b, (0, 0))[0]) for b in bad)
        if rows > self.leaf_rows and max(total_ours, total_theirs) > self.fanout:
            bigger = self.source if total_ours >= total_theirs else self.target
            step = max(1, -(-max(total_ours, total_theirs) // self.fanout))
            bounds = self._on(bigger, "boundaries", rng, step, self.fanout - 1)
            if bounds:
                for low, high in itertools.pairwise([rng[0], *bounds, rng[1]]):
                    self._check((low, high))
                return total_ours, total_theirs
        mine, other = self._both("digests_in", rng, bad)
        self._source_rows.update(mine)
        self._target_rows.update(other)
        return total_ours, total_theirs

    def recheck(self, keys: list[Key]) -> list[Key]:
        """The subset of ``keys`` whose rows still differ now."""
        if not keys:
            return []
        mine, other = self._both("digests_of", keys)
        return [k for k in keys if mine.get(k) != other.get(k)]
