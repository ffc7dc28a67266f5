"""How one relation is checked: chunks of the child table, each checked in one statement.

Two strategies share the chunking:

- ``AntiJoin`` (parent on the same database as the child): per chunk one
  ``LEFT JOIN … ON parent.key = child.fk`` counting child rows and rows whose parent is missing.
  The SQL is the same on PostgreSQL, MySQL/MariaDB and SingleStore.
- ``Lookup`` (parent on another database): per chunk the distinct child keys with their row
  counts, then the parent's database is asked which of them exist, in batches.

Chunks follow the child's primary key: ranges ``pk >= lo AND pk < hi`` for integer keys, keyset
boundaries (``pk > lo AND pk <= hi``, ``hi`` found with ``ORDER BY pk LIMIT 1 OFFSET n-1``) for
string, UUID and other keys. Only counts and a bounded sample reach Python, so memory stays flat
however large the table is.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connections, models
from django.db.models import Model

from migration_kit.field_types import INTEGER_TYPES, internal_type

# At most this many keys go into one ``IN (...)`` list and one parent lookup.
IN_BATCH = 5_000
# Child rows read per step when looking for more sample keys after the first broken one.
SAMPLE_BATCH = 5_000


@dataclass(frozen=True)
class Chunk:
    """A slice of the child table by primary key; ``sql`` uses the alias ``c``."""

    sql: str
    params: tuple[Any, ...]


@dataclass
class ChildTable:
    """The table whose rows hold the references, on the database ``alias``."""

    model: type[Model]
    alias: str

    @property
    def connection(self) -> Any:
        return connections[self.alias]

    def qn(self, name: str) -> str:
        return self.connection.ops.quote_name(name)

    @property
    def table(self) -> str:
        return self.qn(self.model._meta.db_table)

    @property
    def pk_columns(self) -> list[str]:
        return [f.column for f in self.model._meta.pk_fields]

    @property
    def single_pk(self) -> bool:
        return len(self.pk_columns) == 1

    @property
    def integer_pk(self) -> bool:
        return self.single_pk and internal_type(self.model._meta.pk) in INTEGER_TYPES

    @property
    def pk_select(self) -> str:
        return ", ".join(f"c.{self.qn(col)}" for col in self.pk_columns)

    def python_pk(self, value: Any) -> Any:
        """A primary key as read from a raw cursor, converted the way the ORM would."""
        fields = self.model._meta.pk_fields
        if self.single_pk:
            return fields[0].to_python(value)
        return tuple(f.to_python(v) for f, v in zip(fields, value, strict=True))

    def chunks(self, width: int) -> Iterator[Chunk]:
        """Cover the table in slices of about ``width`` rows (one slice for composite keys)."""
        if not self.single_pk:
            yield Chunk("1 = 1", ())
        elif self.integer_pk:
            yield from self._ranges(width)
        else:
            yield from self._keyset(width)

    def _ranges(self, width: int) -> Iterator[Chunk]:
        pk = self.qn(self.pk_columns[0])
        with self.connection.cursor() as cursor:
            cursor.execute(f"SELECT MIN({pk}), MAX({pk}) FROM {self.table}")
            lo, top = cursor.fetchone()
        if lo is not None and top - lo < width:
            # One chunk holds it all: no key condition, so the optimizer may pick any plan.
            yield Chunk("1 = 1", ())
            return
        while lo is not None and lo <= top:
            hi = lo + width
            yield Chunk(f"c.{pk} >= %s AND c.{pk} < %s", (lo, hi))
            # Jump over gaps: the next chunk starts at the next key that exists.
            with self.connection.cursor() as cursor:
                cursor.execute(f"SELECT MIN({pk}) FROM {self.table} WHERE {pk} >= %s", (hi,))
                (lo,) = cursor.fetchone()

    def _keyset(self, width: int) -> Iterator[Chunk]:
        pk = self.qn(self.pk_columns[0])
        lo = None
        while True:
            where, params = ("", ()) if lo is None else (f" WHERE {pk} > %s", (lo,))
            with self.connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT {pk} FROM {self.table}{where} ORDER BY {pk} "
                    f"LIMIT 1 OFFSET {int(width) - 1}",
                    params,
                )
                row = cursor.fetchone()
            hi = None if row is None else row[0]
            parts, chunk_params = [], []
            if lo is not None:
                parts.append(f"c.{pk} > %s")
                chunk_params.append(lo)
            if hi is not None:
                parts.append(f"c.{pk} <= %s")
                chunk_params.append(hi)
            yield Chunk(" AND ".join(parts) or "1 = 1", tuple(chunk_params))
            if hi is None:
                return
            lo = hi

    def after(self, last: Any) -> Chunk:
        """The rows after primary key ``last`` (keyset step inside a chunk, for fixes)."""
        if last is None:
            return Chunk("1 = 1", ())
        return Chunk(f"c.{self.qn(self.pk_columns[0])} > %s", (last,))


def pk_value(row: Sequence[Any]) -> Any:
    """A primary key from a result row: the value itself, or a tuple for composite keys."""
    return row[0] if len(row) == 1 else tuple(row)


@dataclass
class ChunkCount:
    """What one chunk held: child rows looked at and rows whose target is missing."""

    chunk: Chunk
    rows: int
    violations: int
    missing_keys: list[Any] = field(default_factory=list)
    first: Any = None


class Strategy(ABC):
    """Counting and listing orphans of one child column against one target, chunk by chunk.

    ``extra`` is an additional condition on the child rows (``c.<ct> = %s`` for one content
    type of a generic foreign key).
    """

    name = ""

    def __init__(self, child: ChildTable, column: str, extra: Chunk | None = None) -> None:
        self.child = child
        self.column = column
        self.extra = extra

    @property
    def fk(self) -> str:
        return f"c.{self.child.qn(self.column)}"

    def where(self, *chunks: Chunk | None) -> tuple[str, tuple[Any, ...]]:
        parts = [c for c in (*chunks, self.extra) if c is not None]
        return " AND ".join(f"({c.sql})" for c in parts), tuple(p for c in parts for p in c.params)

    @abstractmethod
    def count(self, chunk: Chunk) -> ChunkCount:
        """Rows and broken rows in ``chunk``."""

    @abstractmethod
    def orphans(
        self, counted: ChunkCount, limit: int, after: Any = None, ordered: bool = True
    ) -> list[Any]:
        """Up to ``limit`` primary keys of broken rows in ``counted``'s chunk, after ``after``.

        ``ordered``: the first ``limit`` in key order (for keyset steps); else any ``limit``.
        """

    def _select_pks(
        self,
        join: str,
        condition: str,
        chunk: Chunk,
        limit: int,
        after: Any,
        ordered: bool,
        params: tuple[Any, ...] = (),
    ) -> list[Any]:
        step = None if after is None else self.child.after(after)
        where, where_params = self.where(chunk, step)
        # Unordered (for samples): any ``limit`` broken rows, sorted here. With ORDER BY the
        # database may have to find every broken row of the chunk first (another full join).
        order = f" ORDER BY {self.child.pk_select}" if ordered else ""
        sql = (
            f"SELECT {self.child.pk_select} FROM {self.child.table} c{join} "
            f"WHERE {where} AND {condition}{order} LIMIT {int(limit)}"
        )
        with self.child.connection.cursor() as cursor:
            cursor.execute(sql, where_params + params)
            return sorted(pk_value(row) for row in cursor.fetchall())


class AntiJoin(Strategy):
    """Parent on the child's database: one LEFT JOIN per chunk, in SQL every vendor runs."""

    name = "anti-join"

    def __init__(
        self,
        child: ChildTable,
        column: str,
        parent_table: str,
        parent_column: str,
        extra: Chunk | None = None,
    ) -> None:
        super().__init__(child, column, extra)
        self.parent_table = child.qn(parent_table)
        self.parent_column = child.qn(parent_column)
        self.join = f" LEFT JOIN {self.parent_table} p ON p.{self.parent_column} = {self.fk}"
        self.parent_key = f"p.{self.parent_column}"

    @property
    def broken(self) -> str:
        return f"{self.fk} IS NOT NULL AND {self.parent_key} IS NULL"

    def count(self, chunk: Chunk) -> ChunkCount:
        where, params = self.where(chunk)
        with self.child.connection.cursor() as cursor:
            if self.child.connection.vendor == "postgresql":
                # PostgreSQL plans a true anti-join only when the join filters on the missing
                # parent; counting every child row in the same pass makes it produce the whole
                # join. A separate COUNT(*) of the chunk is cheaper than that.
                first = f", MIN({self.child.pk_select})" if self.child.integer_pk else ""
                cursor.execute(f"SELECT COUNT(*) FROM {self.child.table} c WHERE {where}", params)
                (rows,) = cursor.fetchone()
                cursor.execute(
                    f"SELECT COUNT(*){first} FROM {self.child.table} c{self.join} "
                    f"WHERE ({where}) AND {self.broken}",
                    params,
                )
                violations, *found = cursor.fetchone()
            else:
                first = ""
                if self.child.integer_pk:
                    first = f", MIN(CASE WHEN {self.broken} THEN {self.child.pk_select} END)"
                cursor.execute(
                    f"SELECT COUNT(*), COUNT({self.fk}) - COUNT({self.parent_key}){first} "
                    f"FROM {self.child.table} c{self.join} WHERE {where}",
                    params,
                )
                rows, violations, *found = cursor.fetchone()
        counted = ChunkCount(chunk, int(rows), int(violations or 0))
        if found:
            (counted.first,) = found
        return counted

    def orphans(
        self, counted: ChunkCount, limit: int, after: Any = None, ordered: bool = True
    ) -> list[Any]:
        if not ordered and after is None and counted.first is not None:
            return self._sample(counted, limit)
        return self._select_pks(self.join, self.broken, counted.chunk, limit, after, ordered)

    def _sample(self, counted: ChunkCount, limit: int) -> list[Any]:
        """Some broken keys for a bounded price: the first (the count found it), then those
        among the rows right after it, reading at most 0.1% of the chunk (or 5,000 rows).

        A ``LIMIT n`` anti-join would be simpler, but PostgreSQL plans it like the full join
        when it expects few broken rows, paying for the count a second time. Here child rows are
        read in key order and their keys looked up in the parent (both by index); the lookup is
        compared in Python, so only integer keys are taken, whose equality no collation bends.
        """
        found = {counted.first}
        wanted = min(limit, counted.violations)
        budget = max(SAMPLE_BATCH, counted.rows // 1000)
        after, scanned = counted.first, 0
        while len(found) < wanted and scanned < budget:
            step = Chunk(f"{self.child.pk_select} > %s", (after,))
            where, params = self.where(counted.chunk, step)
            with self.child.connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT {self.child.pk_select}, {self.fk} FROM {self.child.table} c "
                    f"WHERE {where} AND {self.fk} IS NOT NULL "
                    f"ORDER BY {self.child.pk_select} LIMIT {SAMPLE_BATCH}",
                    params,
                )
                rows = cursor.fetchall()
            keys = {key for _, key in rows}
            if not rows or not all(isinstance(key, int) for key in keys):
                break
            marks = ", ".join(["%s"] * len(keys))
            with self.child.connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT {self.parent_column} FROM {self.parent_table} "
                    f"WHERE {self.parent_column} IN ({marks})",
                    tuple(keys),
                )
                present = {key for (key,) in cursor.fetchall()}
            found.update(pk for pk, key in rows if key not in present)
            after, scanned = rows[-1][0], scanned + len(rows)
        return sorted(found)[:limit]


class Unresolvable(Strategy):
    """Every non-NULL key is broken: the rows name a content type that leads nowhere."""

    name = "unresolvable"

    def count(self, chunk: Chunk) -> ChunkCount:
        where, params = self.where(chunk)
        sql = f"SELECT COUNT(*), COUNT({self.fk}) FROM {self.child.table} c WHERE {where}"
        with self.child.connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows, violations = cursor.fetchone()
        return ChunkCount(chunk, int(rows), int(violations or 0))

    def orphans(
        self, counted: ChunkCount, limit: int, after: Any = None, ordered: bool = True
    ) -> list[Any]:
        return self._select_pks("", f"{self.fk} IS NOT NULL", counted.chunk, limit, after, ordered)


class Lookup(Strategy):
    """Parent elsewhere: distinct child keys per chunk, looked up on the parent's database.

    Keys are converted with the target field's ``to_python`` and looked up through the ORM, so
    each database gets values of its own column type; a key that does not convert is broken.
    When the parent's database answers with values that differ from the keys asked for (a
    case-insensitive collation), the unmatched keys are asked one by one, so the parent's own
    comparison decides — the same one Django's queries use.
    """

    name = "lookup"

    def __init__(
        self,
        child: ChildTable,
        column: str,
        target_model: type[Model],
        target_field: models.Field,
        target_alias: str,
        extra: Chunk | None = None,
    ) -> None:
        super().__init__(child, column, extra)
        self.target_model = target_model
        self.target_field = target_field
        self.target_alias = target_alias

    def count(self, chunk: Chunk) -> ChunkCount:
        where, params = self.where(chunk)
        sql = (
            f"SELECT {self.fk}, COUNT(*) FROM {self.child.table} c WHERE {where} GROUP BY {self.fk}"
        )
        with self.child.connection.cursor() as cursor:
            cursor.execute(sql, params)
            groups = cursor.fetchall()
        rows = sum(int(n) for _, n in groups)
        counts = {key: int(n) for key, n in groups if key is not None}
        missing = self.missing(list(counts))
        return ChunkCount(chunk, rows, sum(counts[k] for k in missing), missing)

    def missing(self, keys: list[Any]) -> list[Any]:
        """The raw child keys in ``keys`` that have no row in the target."""
        absent: list[Any] = []
        for start in range(0, len(keys), IN_BATCH):
            absent.extend(self._missing_batch(keys[start : start + IN_BATCH]))
        return absent

    def _missing_batch(self, keys: list[Any]) -> list[Any]:
        converted: dict[Any, list[Any]] = {}
        absent = []
        for raw in keys:
            try:
                value = self.target_field.to_python(raw)
            except (ValidationError, ValueError, TypeError):
                absent.append(raw)
                continue
            converted.setdefault(value, []).append(raw)
        if not converted:
            return absent
        manager = self.target_model._base_manager.using(self.target_alias)
        attname = self.target_field.attname
        found = set(
            manager.filter(**{f"{attname}__in": list(converted)}).values_list(attname, flat=True)
        )
        unmatched = [value for value in converted if value not in found]
        if unmatched and not found <= converted.keys():
            unmatched = [v for v in unmatched if not manager.filter(**{attname: v}).exists()]
        for value in unmatched:
            absent.extend(converted[value])
        return absent

    def orphans(
        self, counted: ChunkCount, limit: int, after: Any = None, ordered: bool = True
    ) -> list[Any]:
        if not counted.missing_keys:
            return []
        found: list[Any] = []
        keys = counted.missing_keys
        for start in range(0, len(keys), IN_BATCH):
            batch = keys[start : start + IN_BATCH]
            marks = ", ".join(["%s"] * len(batch))
            found.extend(
                self._select_pks(
                    "",
                    f"{self.fk} IN ({marks})",
                    counted.chunk,
                    limit,
                    after,
                    ordered,
                    tuple(batch),
                )
            )
        return sorted(found)[:limit]
