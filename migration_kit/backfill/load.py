"""Writing copied rows into the target: insert-if-absent, in bulk, isolating refused rows.

Two methods, both of which leave an existing target row untouched, so a backfilled (older) row
never overwrites a row the dual-write path already mirrored:

- ``load``: ``LOAD DATA LOCAL INFILE … IGNORE`` from an in-memory buffer (MySQL protocol
  targets: MySQL, MariaDB, SingleStore). ``IGNORE`` skips rows whose key exists; it would also
  downgrade conversion errors to warnings, so each load runs in a transaction and is rolled back
  and retried with ``insert`` unless every warning is a duplicate-key warning (1062).
- ``insert``: multi-row ``INSERT … ON DUPLICATE KEY UPDATE c = c`` (a no-op on an existing key,
  strict about everything else) on MySQL-protocol targets, ``INSERT … ON CONFLICT DO NOTHING``
  elsewhere. A batch the target refuses is bisected down to the single rows it refuses.
"""

from __future__ import annotations

import copy
import inspect
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import (
    DatabaseError,
    DataError,
    IntegrityError,
    OperationalError,
    connections,
    models,
)
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.constants import OnConflict
from django.db.utils import load_backend

from migration_kit.backfill import convert
from migration_kit.backfill.keyset import Table
from migration_kit.vendors import MYSQL_FAMILY, errno, is_transient

DUPLICATE_KEY = 1062
# Errors meaning "LOCAL INFILE is disabled here": fall back to INSERT for the rest of the run.
LOCAL_INFILE_OFF = frozenset({1148, 2068, 3948, 4166})
TRANSIENT_RETRIES = 5
INSERT_ROWS = 500  # rows per INSERT statement, well under max_allowed_packet for typical rows
STREAM_CHUNK = 64 * 1024
WRAPPER_PACKAGES = frozenset({"django", "django_singlestore"})


@dataclass
class Rejected:
    """A row the target refused, with the target's error."""

    row: list[Any]
    error: str


@dataclass
class WriteResult:
    """What one ``write`` call did."""

    written: int = 0
    rejected: list[Rejected] = field(default_factory=list)


def target_connection(alias: str, local_infile: bool) -> BaseDatabaseWrapper:
    """A private connection to ``alias`` (own transactions; LOCAL INFILE enabled on request)."""
    settings_dict = copy.deepcopy(connections[alias].settings_dict)
    if local_infile:
        settings_dict.setdefault("OPTIONS", {})["local_infile"] = True
    backend = load_backend(settings_dict["ENGINE"])
    return backend.DatabaseWrapper(settings_dict, alias)


class Writer:
    """Writes batches of Python rows (``Table.fields`` order) of one model into one target."""

    def __init__(self, model: type[models.Model], alias: str, method: str = "auto"):
        vendor = connections[alias].vendor
        if method == "load" and vendor not in MYSQL_FAMILY:
            raise ValueError(
                f"--method load needs a MySQL-protocol target; {alias!r} is {vendor}. "
                "Use --method insert."
            )
        self.mysql_protocol = vendor in MYSQL_FAMILY
        self.method = "load" if method in ("auto", "load") and self.mysql_protocol else "insert"
        self.connection = target_connection(alias, local_infile=self.method == "load")
        self.connection.ensure_connection()
        self.connection.set_autocommit(False)
        self.table = Table(model, self.connection, writable=True)
        self.prep = convert.prep_functions(self.table.fields, self.connection)
        self._insert_sql_cache: dict[int, str] = {}
        self._load_sql: dict[tuple[int, ...] | None, str] = {}
        self._text: list[Callable[[Any], str]] | None = None
        self._spool: str | None = None
        self.notes: list[str] = []
        self.fallbacks = 0  # loads redone with strict INSERT (warnings or errors)

    def close(self) -> None:
        """Close the private connection and remove the spool file, if any."""
        if self._spool:
            os.unlink(self._spool)
            os.rmdir(os.path.dirname(self._spool))
            self._spool = None
        self.connection.close()

    # -- the public entry point -------------------------------------------------------------

    def write(self, rows: Sequence[list[Any]]) -> WriteResult:
        """Insert the rows that are absent from the target; return counts and refused rows."""
        if not rows:
            return WriteResult()
        if self.method == "load":
            written = self._try_load(rows)
            if written is not None:
                return WriteResult(written=written)
        return self._insert_isolating(list(rows))

    # -- LOAD DATA --------------------------------------------------------------------------

    def _try_load(self, rows: Sequence[list[Any]]) -> int | None:
        """Load ``rows``; None if the load must be redone row-strictly with INSERT."""
        if self._text is None:
            self._text = convert.text_functions(self.table.fields, self.connection)
        text = self._text
        lines = ["\t".join([f(v) for f, v in zip(text, row, strict=True)]) for row in rows]
        return self.load_text(("\n".join(lines) + "\n").encode("utf-8"), len(rows))

    def load_text(
        self, data: bytes | Sequence[bytes], count: int, order: Sequence[int] | None = None
    ) -> int | None:
        """Load ``count`` ready-made ``LOAD DATA`` lines; None if they must go through INSERT.

        ``data``: the lines' bytes, or parts sent one after another (a batch joined by the
        source and its last newline, so the batch is not copied to append one byte).
        ``order``: the lines' columns as positions in ``table.fields`` (default: that order).
        Commits only when every warning is a duplicate-key skip; anything else (a value the
        target would truncate or coerce) rolls the load back.
        """
        try:
            with self.connection.cursor() as cursor:
                written = self._load(cursor, data, None if order is None else tuple(order))
                cursor.execute("SELECT @@warning_count")
                (warnings,) = cursor.fetchone()
                clean = warnings == count - written
                if clean and warnings:
                    cursor.execute("SHOW WARNINGS")
                    clean = all(int(w[1]) == DUPLICATE_KEY for w in cursor.fetchall())
        except DatabaseError as exc:
            self.connection.rollback()
            self.fallbacks += 1
            if errno(exc) in LOCAL_INFILE_OFF or "LOCAL" in str(exc):
                self.method = "insert"
                self.notes.append(f"LOAD DATA LOCAL INFILE refused ({exc}); using INSERT.")
            return None
        if not clean:
            self.connection.rollback()
            self.fallbacks += 1
            return None
        self.connection.commit()
        return written

    def insert(self, rows: Sequence[list[Any]]) -> WriteResult:
        """Insert with multi-row INSERT only, isolating the rows the target refuses."""
        return self._insert_isolating(list(rows))

    def _load(
        self, cursor: Any, data: bytes | Sequence[bytes], order: tuple[int, ...] | None = None
    ) -> int:
        parts = [data] if isinstance(data, bytes) else data
        raw = _driver_cursor(cursor)
        if "infile_stream" in inspect.signature(raw.execute).parameters:
            with self.connection.wrap_database_errors:
                raw.execute(self._load_statement(":stream:", order), infile_stream=_chunks(parts))
            return raw.rowcount
        if self._spool is None:
            # tmpfs when the machine has one: the batch never touches a disk.
            base = "/dev/shm" if os.path.isdir("/dev/shm") else None
            self._spool = os.path.join(tempfile.mkdtemp(prefix="s2_backfill_", dir=base), "rows")
        with open(self._spool, "wb") as spool:
            for part in parts:
                spool.write(part)
        cursor.execute(self._load_statement(self._spool, order))
        return cursor.rowcount

    def _load_statement(self, path: str, order: tuple[int, ...] | None = None) -> str:
        sql = self._load_sql.get(order)
        if sql is None:
            targets, sets = [], []
            for i in range(len(self.table.fields)) if order is None else order:
                fld, col = self.table.fields[i], self.table.columns[i]
                if convert.is_binary(fld):
                    targets.append(f"@b{i}")
                    sets.append(f"{col} = UNHEX(@b{i})")
                else:
                    targets.append(col)
            sql = self._load_sql[order] = (
                "LOAD DATA LOCAL INFILE '{path}' IGNORE INTO TABLE "
                f"{self.table.name} CHARACTER SET utf8mb4 "
                "FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' "
                f"({', '.join(targets)})" + (f" SET {', '.join(sets)}" if sets else "")
            )
        return sql.replace("{path}", path)

    # -- INSERT -----------------------------------------------------------------------------

    def _insert_sql(self, count: int) -> str:
        sql = self._insert_sql_cache.get(count)
        if sql is None:
            ops = self.connection.ops
            row = "(" + ", ".join(["%s"] * len(self.table.columns)) + ")"
            values = ", ".join([row] * count)
            columns = ", ".join(self.table.columns)
            if self.mysql_protocol:
                non_key = [
                    c
                    for f, c in zip(self.table.fields, self.table.columns, strict=True)
                    if f not in self.table.pk_fields
                ]
                # Assigning a non-key column to itself: a no-op that never touches the shard key.
                keep = (non_key or self.table.pk_columns)[0]
                sql = (
                    f"INSERT INTO {self.table.name} ({columns}) VALUES {values} "
                    f"ON DUPLICATE KEY UPDATE {keep} = {keep}"
                )
            else:
                head = ops.insert_statement(on_conflict=OnConflict.IGNORE)
                tail = ops.on_conflict_suffix_sql(self.table.fields, OnConflict.IGNORE, None, None)
                sql = f"{head} {self.table.name} ({columns}) VALUES {values} {tail}"
            self._insert_sql_cache[count] = sql
        return sql

    def _params(self, rows: Sequence[list[Any]]) -> list[Any]:
        prep = self.prep
        params: list[Any] = []
        for row in rows:
            params.extend(
                [v if p is None or v is None else p(v) for p, v in zip(prep, row, strict=True)]
            )
        return params

    def _insert(self, rows: Sequence[list[Any]]) -> int:
        written = 0
        with self.connection.cursor() as cursor:
            for start in range(0, len(rows), INSERT_ROWS):
                part = rows[start : start + INSERT_ROWS]
                cursor.execute(self._insert_sql(len(part)), self._params(part))
                written += len(part)
        return written

    def _insert_isolating(self, rows: list[list[Any]], attempt: int = 0) -> WriteResult:
        """Insert ``rows`` in one transaction; on refusal bisect to isolate refused rows.

        Deadlocks and lock timeouts (a concurrent apply touching the same index range) are
        retried as they are: they say nothing about the rows.
        """
        try:
            self._insert(rows)
            self.connection.commit()
            return WriteResult(written=len(rows))
        except (IntegrityError, DataError, OperationalError) as exc:
            self.connection.rollback()
            if not self.connection.is_usable():
                raise
            if is_transient(exc):
                if attempt >= TRANSIENT_RETRIES:
                    raise
                time.sleep(0.05 * 2**attempt)
                return self._insert_isolating(rows, attempt + 1)
            if len(rows) == 1:
                return WriteResult(rejected=[Rejected(rows[0], str(exc))])
        middle = len(rows) // 2
        first = self._insert_isolating(rows[:middle])
        second = self._insert_isolating(rows[middle:])
        return WriteResult(
            written=first.written + second.written, rejected=first.rejected + second.rejected
        )


def _chunks(parts: Sequence[bytes]) -> Iterator[memoryview]:
    """``parts`` cut into ``STREAM_CHUNK``-byte packets: views, so no packet is a copy."""
    for part in parts:
        view = memoryview(part)
        for start in range(0, len(view), STREAM_CHUNK):
            yield view[start : start + STREAM_CHUNK]


def _driver_cursor(cursor: Any) -> Any:
    """The DB-API cursor under Django's (and the backend's) cursor wrappers."""
    raw = cursor
    while type(raw).__module__.split(".")[0] in WRAPPER_PACKAGES and hasattr(raw, "cursor"):
        raw = raw.cursor
    return raw
