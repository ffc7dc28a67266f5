"""Apply keys from a source database to a target: re-read the rows, upsert them, delete the gone.

This is the one way the kit repairs a mirror, shared by the relay, ``s2_sync`` and
``s2_verify --repair``. It never trusts a captured value: it reads the row as it is *now* on the
source and makes the target say the same, so applying a key twice, late, or out of order with
other keys converges on the source's state.

Concurrent appliers of the same key are ordered by locking the source rows (``SELECT … FOR NO
KEY UPDATE`` on PostgreSQL, ``FOR UPDATE`` elsewhere) until the target has committed: a writer
cannot change a row between our read and our target commit, so an older read can never land on
the target after a newer one.

Onto a MySQL-family target (SingleStore, MySQL, MariaDB) from a PostgreSQL or MySQL-family
source, the source's SELECT renders each row as the target's SQL literal, ``(1, 'text', …)``,
so no value passes through Python: the upsert is those texts joined. A column without such a
rendering (floats, whose server text form is not guaranteed to round-trip; IP addresses; a
datetime between MySQL-family servers in different time zones; any other kind) is read as a
Python value and bound as a parameter, as every column is for other targets. The literals
assume the target's default backslash escaping, as the drivers' own escaping does.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connections, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.constants import OnConflict
from django.db.models.expressions import RawSQL
from django.db.models.fields import AutoFieldMixin

from migration_kit.field_types import INTEGER_TYPES, POSTGRESQL_TEXT, TEXT_TYPES, internal_type
from migration_kit.vendors import MYSQL_FAMILY

#: Rows per statement; also bounds the number of locks held at once on the source.
DEFAULT_CHUNK_SIZE = 500
#: PostgreSQL accepts at most 65535 bind parameters per statement; stay well below everywhere.
MAX_PARAMS = 30000


@dataclass
class ApplyResult:
    """What one ``apply_keys`` call changed on the target (rows counted per table)."""

    keys: int = 0
    upserted: int = 0
    deleted: int = 0

    def __add__(self, other: ApplyResult) -> ApplyResult:
        return ApplyResult(
            self.keys + other.keys, self.upserted + other.upserted, self.deleted + other.deleted
        )


def apply_keys(
    model: type[models.Model],
    keys: Iterable[Any],
    source_alias: str,
    target_alias: str,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> ApplyResult:
    """Make ``target_alias`` hold exactly the source's current rows for ``keys`` of ``model``.

    ``keys`` are primary-key values as Python sees them (``obj.pk``; tuples for composite keys).
    Rows present on the source are upserted, absent ones deleted. Multi-table inheritance is
    applied table by table (the model's own table and each concrete parent's). Raises the
    database error if either side fails; nothing is half-applied within one chunk.
    """
    if source_alias == target_alias:
        raise ValueError(f"apply_keys: source and target are both {source_alias!r}.")
    model = model._meta.concrete_model
    unique = list(dict.fromkeys(_normalize_key(model, key) for key in keys))
    result = ApplyResult(keys=len(unique))
    tables = [model, *model._meta.get_parent_list()]
    width = max(len(t._meta.local_concrete_fields) for t in tables)
    size = max(1, min(chunk_size, MAX_PARAMS // max(width, 1)))
    for chunk in chunked(unique, size):
        result += _apply_chunk(tables, list(chunk), source_alias, target_alias)
    return result


def _normalize_key(model: type[models.Model], key: Any) -> Any:
    """Keys must be hashable and, for composite primary keys, tuples in field order."""
    if model._meta.is_composite_pk:
        return tuple(key)
    return key


def _apply_chunk(
    tables: Sequence[type[models.Model]], keys: list[Any], source_alias: str, target_alias: str
) -> ApplyResult:
    source = connections[source_alias]
    target = connections[target_alias]
    # Connect to the target before locking anything on the source, so a mirror that is down
    # fails here without holding row locks that the application's writers would wait on.
    target.ensure_connection()
    result = ApplyResult()
    # No savepoint when a caller's transaction is open (the outbox settles keys that way): a
    # failure then aborts the caller's transaction too, which is what it wants.
    with transaction.atomic(using=source_alias, savepoint=False):
        rows_by_table = []
        writes: list[_Write] = []
        for table in tables:
            rendering = rendering_for(table, source, target)
            if rendering is None:
                rows = _read_locked(table, keys, source)
                present = {_row_key(table, row) for row in rows}
                if rows:
                    writes.append(_upsert(table, rows, target))
            else:
                rendered = _read_rendered(table, keys, source, rendering)
                present = {key for key, _, _ in rendered}
                if rendered:
                    writes.append(_upsert_rendered(table, rendered, rendering, target))
                rows = []  # a MySQL-family target moves AUTO_INCREMENT by itself
            rows_by_table.append((table, rows))
            gone = [key for key in keys if key not in present]
            if gone:
                writes.append(_delete(table, gone, target))
        with _writing(target, writes), _not_captured(target):
            disabled = target.disable_constraint_checking()
            try:
                with target.cursor() as cursor:
                    for write in writes:
                        cursor.execute(write.sql, write.params)
                        if write.upserted:
                            result.upserted += write.upserted
                        else:
                            result.deleted += max(cursor.rowcount, 0)
            finally:
                if disabled:
                    target.enable_constraint_checking()
    for table, rows in rows_by_table:
        _advance_sequence(table, rows, target)
    return result


@dataclass(frozen=True)
class _Write:
    """One statement for the target: an upsert of ``upserted`` rows, or a delete (0)."""

    sql: str
    #: None for a statement without placeholders: drivers then leave its ``%`` signs alone.
    params: list[Any] | None
    upserted: int = 0


def _writing(target: BaseDatabaseWrapper, writes: list[_Write]) -> Any:
    """A transaction on the target for several statements, or for PostgreSQL (whose "do not
    capture" flag is transaction-local); a single statement elsewhere is atomic by itself and
    saves the three round trips of ``SET autocommit=0``, ``COMMIT`` and ``SET autocommit=1``."""
    if len(writes) > 1 or target.vendor == "postgresql":
        return transaction.atomic(using=target.alias)
    return nullcontext()


@contextmanager
def _not_captured(target: BaseDatabaseWrapper) -> Iterator[None]:
    """Keep capture triggers on the target (a source that is the mirror during ``cutover``)
    from recording what we apply: echoed back, an older row could overwrite a newer one."""
    if target.vendor == "postgresql":
        with target.cursor() as cursor:
            cursor.execute("SELECT set_config('migration_kit.applying', 'on', true)")
        yield  # transaction-local: a failure rolls it back with the rest
        if len(target.atomic_blocks) > 1:
            # Inside someone else's transaction it would outlive this apply.
            with target.cursor() as cursor:
                cursor.execute("SELECT set_config('migration_kit.applying', '', true)")
    elif target.vendor == "mysql":
        with target.cursor() as cursor:
            cursor.execute("SET @migration_kit_applying = 1")
        try:
            yield
        finally:
            try:
                with target.cursor() as cursor:
                    cursor.execute("SET @migration_kit_applying = NULL")
            except Exception:
                # A session that may still carry the variable must never be reused.
                target.close()
    else:
        yield


def _read_locked(
    table: type[models.Model], keys: list[Any], connection: BaseDatabaseWrapper
) -> list[tuple[Any, ...]]:
    """The table's own columns for ``keys`` as Python values, locked until the transaction ends."""
    attnames = [f.attname for f in table._meta.local_concrete_fields]
    pk_names = [f.attname for f in table._meta.pk_fields]
    qs = (
        table._base_manager.using(connection.alias)
        .filter(pk__in=keys)
        .order_by(*pk_names)
        .values_list(*attnames)
    )
    features = connection.features
    if features.has_select_for_update:
        qs = qs.select_for_update(no_key=features.has_select_for_no_key_update)
    return list(qs)


def _row_key(table: type[models.Model], row: tuple[Any, ...]) -> Any:
    fields = table._meta.local_concrete_fields
    positions = [fields.index(f) for f in table._meta.pk_fields]
    if len(positions) == 1:
        return row[positions[0]]
    return tuple(row[i] for i in positions)


def _upsert(
    table: type[models.Model], rows: list[tuple[Any, ...]], connection: BaseDatabaseWrapper
) -> _Write:
    """The statement inserting ``rows`` into ``table`` on ``connection``, overwriting rows with
    the same key."""
    fields = table._meta.local_concrete_fields
    row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
    preps = [field.get_db_prep_save for field in fields]
    params = [
        prep(value, connection) for row in rows for prep, value in zip(preps, row, strict=True)
    ]
    return _Write(_upsert_sql(table, connection, [row_sql] * len(rows)), params, len(rows))


def _upsert_sql(
    table: type[models.Model], connection: BaseDatabaseWrapper, values: list[str]
) -> str:
    """``INSERT … VALUES <values> <on conflict, update every other column>`` for ``table``."""
    ops = connection.ops
    fields = table._meta.local_concrete_fields
    pk_fields = table._meta.pk_fields
    update = [f for f in fields if f not in pk_fields]
    on_conflict = OnConflict.UPDATE if update else OnConflict.IGNORE
    columns = ", ".join(ops.quote_name(f.column) for f in fields)
    suffix = ops.on_conflict_suffix_sql(
        fields, on_conflict, [f.column for f in update], [f.column for f in pk_fields]
    )
    return (
        f"{ops.insert_statement(on_conflict=on_conflict)} {ops.quote_name(table._meta.db_table)} "
        f"({columns}) VALUES {', '.join(values)} {suffix}"
    )


# -- rows rendered as the target's literals by the source -----------------------------------

#: The annotation holding a row's rendered ``(…)`` text.
_ROW = "mk_row_literal"
#: What a column without a rendering contributes to the row text: a placeholder, written for
#: the source driver's ``%`` formatting (``%%s`` reaches the server as ``%s``).
_PLACEHOLDER = "'%%s'"
#: A PostgreSQL text as a MySQL string literal: backslashes and quotes escaped, quoted.
_PG_QUOTED = r"'''' || replace(replace({t}, E'\\', E'\\\\'), '''', '''''') || ''''"
#: Kinds a MySQL-family server's ``QUOTE()`` renders as a literal the target reads back equal.
_MYSQL_QUOTED = INTEGER_TYPES | TEXT_TYPES | {
    "BooleanField", "DecimalField", "DurationField", "JSONField", "DateField", "TimeField",
}  # fmt: skip


@dataclass(frozen=True)
class Rendering:
    """How the source reads one table's rows as literals of a MySQL-family target."""

    #: SQL giving one row's ``(v1, v2, …)`` text, with ``%s`` where ``bound`` columns go.
    expression: str
    params: list[Any]
    #: Columns read as Python values and bound as parameters, in table order.
    bound: list[models.Field]


def rendering_for(
    table: type[models.Model], source: BaseDatabaseWrapper, target: BaseDatabaseWrapper
) -> Rendering | None:
    """The source-side rendering of ``table``'s rows for ``target``; None where every column
    goes through Python (a target outside the MySQL family, a source we cannot render on)."""
    if target.vendor not in MYSQL_FAMILY or source.vendor not in ("postgresql", "mysql"):
        return None
    fields = table._meta.local_concrete_fields
    literal = _postgresql_literal if source.vendor == "postgresql" else _mysql_literal
    rendered = [literal(f, _column(table, f, source), source, target) for f in fields]
    bound = [f for f, part in zip(fields, rendered, strict=True) if part is None]
    parts: list[str] = []
    params: list[Any] = []
    for part in rendered:
        if part is None:
            parts.append(_PLACEHOLDER)
            continue
        sql, part_params = part
        if bound:  # the target statement gets parameters: its literal % signs are doubled
            sql = f"replace({sql}, '%%', '%%%%')"
        parts.append(sql)
        params += part_params
    if source.vendor == "postgresql":
        return Rendering("'(' || " + " || ', ' || ".join(parts) + " || ')'", params, bound)
    return Rendering(f"CONCAT('(', CONCAT_WS(', ', {', '.join(parts)}), ')')", params, bound)


def _column(table: type[models.Model], field: models.Field, connection: BaseDatabaseWrapper) -> str:
    qn = connection.ops.quote_name
    return f"{qn(table._meta.db_table)}.{qn(field.column)}"


def _postgresql_literal(
    field: models.Field, c: str, source: BaseDatabaseWrapper, target: BaseDatabaseWrapper
) -> tuple[str, list[Any]] | None:
    """The SQL (and its parameters) rendering PostgreSQL column ``c`` as the target's literal,
    the value Django would have written there; None for kinds without one."""
    kind = internal_type(field)
    params: list[Any] = []
    if kind in INTEGER_TYPES or kind == "DecimalField":
        sql = f"{c}::text"
    elif kind in ("BooleanField", "DurationField"):
        sql = POSTGRESQL_TEXT[kind].format(c=c)
    elif kind in TEXT_TYPES or kind == "JSONField":
        sql = _PG_QUOTED.format(t=f"{c}::text")
    elif kind == "UUIDField":
        text = f"{c}::text"
        if not target.features.has_native_uuid_field:
            text = f"replace({text}, '-', '')"  # char(32), as Django stores it there
        sql = f"'''' || {text} || ''''"
    elif kind in ("DateField", "TimeField"):
        sql = f"'''' || {POSTGRESQL_TEXT[kind].format(c=c)} || ''''"
    elif kind == "DateTimeField":
        # The wall time Django writes: in the target's zone with USE_TZ, else the naive value
        # as Django reads it, in the source connection's zone.
        zone = target.timezone_name if settings.USE_TZ else source.timezone_name
        sql = f"'''' || to_char({c} AT TIME ZONE %s, 'YYYY-MM-DD HH24:MI:SS.US') || ''''"
        params = [zone]
    elif kind == "BinaryField":
        sql = f"'X''' || encode({c}, 'hex') || ''''"
    else:
        return None
    return (f"COALESCE({sql}, 'NULL')" if field.null else sql), params


def _mysql_literal(
    field: models.Field, c: str, source: BaseDatabaseWrapper, target: BaseDatabaseWrapper
) -> tuple[str, list[Any]] | None:
    """The SQL rendering MySQL/MariaDB column ``c`` as the target's literal (``QUOTE`` gives
    NULL as ``NULL``); None for kinds without one."""
    kind = internal_type(field)
    if kind in _MYSQL_QUOTED:
        return f"QUOTE({c})", []
    if kind == "DateTimeField":
        if settings.USE_TZ and source.timezone_name != target.timezone_name:
            return None  # wall times of two different zones
        return f"QUOTE({c})", []
    if kind == "UUIDField":
        if source.features.has_native_uuid_field != target.features.has_native_uuid_field:
            return None  # a native uuid prints dashes a char(32) column must not get
        return f"QUOTE({c})", []
    if kind == "BinaryField":
        return f"IF({c} IS NULL, 'NULL', CONCAT('X''', HEX({c}), ''''))", []
    return None


def _read_rendered(
    table: type[models.Model], keys: list[Any], source: BaseDatabaseWrapper, rendering: Rendering
) -> list[tuple[Any, list[Any], str]]:
    """``(key, bound values, row text)`` for the rows of ``keys``, locked until the transaction
    ends."""
    pk_names = [f.attname for f in table._meta.pk_fields]
    qs = (
        table._base_manager.using(source.alias)
        .filter(pk__in=keys)
        .order_by(*pk_names)
        .annotate(**{_ROW: RawSQL(rendering.expression, rendering.params)})
        .values_list(*pk_names, *(f.attname for f in rendering.bound), _ROW)
    )
    features = source.features
    if features.has_select_for_update:
        qs = qs.select_for_update(no_key=features.has_select_for_no_key_update)
    width = len(pk_names)
    found = []
    for row in qs:
        key = row[0] if width == 1 else tuple(row[:width])
        found.append((key, list(row[width:-1]), row[-1]))
    return found


def _upsert_rendered(
    table: type[models.Model],
    rows: list[tuple[Any, list[Any], str]],
    rendering: Rendering,
    connection: BaseDatabaseWrapper,
) -> _Write:
    """The upsert of rows the source rendered; only ``rendering.bound`` values are parameters."""
    sql = _upsert_sql(table, connection, [text for _, _, text in rows])
    if not rendering.bound:
        return _Write(sql, None, len(rows))
    preps = [field.get_db_prep_save for field in rendering.bound]
    params = [
        prep(value, connection)
        for _, values, _ in rows
        for prep, value in zip(preps, values, strict=True)
    ]
    return _Write(sql, params, len(rows))


def _delete(table: type[models.Model], keys: list[Any], connection: BaseDatabaseWrapper) -> _Write:
    """The plain DELETE (no signals) of ``keys`` from ``table`` on ``connection``."""
    ops = connection.ops
    pk_fields = table._meta.pk_fields
    if len(pk_fields) == 1:
        (field,) = pk_fields
        where = f"{ops.quote_name(field.column)} IN ({', '.join(['%s'] * len(keys))})"
        params = [field.get_db_prep_value(key, connection=connection) for key in keys]
    else:
        one = "(" + " AND ".join(f"{ops.quote_name(f.column)} = %s" for f in pk_fields) + ")"
        where = " OR ".join([one] * len(keys))
        params = [
            field.get_db_prep_value(part, connection=connection)
            for key in keys
            for field, part in zip(pk_fields, key, strict=True)
        ]
    return _Write(f"DELETE FROM {ops.quote_name(table._meta.db_table)} WHERE {where}", params)


def _advance_sequence(
    table: type[models.Model], rows: list[tuple[Any, ...]], connection: BaseDatabaseWrapper
) -> None:
    """On PostgreSQL, move an auto-increment sequence past keys we inserted explicitly.

    Only matters when PostgreSQL is the mirror (``cutover``): after a rollback it becomes the
    primary again and must not hand out keys SingleStore already used. MySQL-family servers
    move AUTO_INCREMENT by themselves.
    """
    pk = table._meta.pk
    if connection.vendor != "postgresql" or not rows or not isinstance(pk, AutoFieldMixin):
        return
    highest = max(_row_key(table, row) for row in rows)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(s, GREATEST(COALESCE(pg_sequence_last_value(s), 0), %s)) "
            "FROM (SELECT pg_get_serial_sequence(%s, %s)::regclass AS s) AS q "
            "WHERE q.s IS NOT NULL",
            [highest, connection.ops.quote_name(table._meta.db_table), pk.column],
        )


def chunked(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """Consecutive slices of ``items`` of at most ``size`` elements."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
