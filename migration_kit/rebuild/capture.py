"""Writers' side of an online rebuild: record written keys, and wait out the fence.

While a table is rebuilt (its state row in a captured step), each ORM write to it also inserts
one ``RebuildKey`` per affected primary key, in the write's own transaction, so the rebuild can
re-copy those rows from the old table to the new one. The same entry points as the dual-write
capture are wrapped (``save_base``, ``QuerySet.update``/``bulk_update``/``bulk_create``,
``Collector.delete``), reusing its key-finding helpers. Raw SQL is not seen: the verify before
the swap finds such writes, and the swap then does not happen.

During the fence the old table is renamed away. A writer that knows it (its cached step is
``fenced``) waits before writing; one whose cache is older gets "table doesn't exist" (1146)
from the database, and the compiler wrapper then waits until the fence ends and runs the
statement again, so ORM writes and reads wait instead of failing. Both waits are bounded by
:data:`WRITER_WAIT_SECONDS`.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.db import DatabaseError, connections, models, router, transaction
from django.db.models.deletion import Collector
from django.db.models.sql import compiler as sql_compiler

from migration_kit.dualwrite import capture as dualwrite
from migration_kit.rebuild import state
from migration_kit.rebuild.models import FENCED, RebuildKey
from migration_kit.vendors import errno

#: Apps whose tables are never captured: the kit's and the router's own state.
INTERNAL_APPS = dualwrite._INTERNAL_APPS
#: The longest a writer waits for a fence to end before the write fails (a fence that lasts
#: longer is a crashed rebuild: ``s2_rebuild --resume`` rolls it back).
WRITER_WAIT_SECONDS = 30.0
NO_SUCH_TABLE = 1146
_POLL_SECONDS = 0.01


def _tables(model: type[models.Model]) -> list[str]:
    concrete = model._meta.concrete_model
    return [concrete._meta.db_table, *(p._meta.db_table for p in concrete._meta.get_parent_list())]


def watched(model: type[models.Model], alias: str) -> list[str]:
    """The tables of ``model`` on ``alias`` whose writes are captured now (cached state)."""
    if not state.any_active() or model._meta.app_label in INTERNAL_APPS:
        return []
    return [t for t in _tables(model) if state.captured(alias, t)]


def wait_for_fence(alias: str, tables: Iterable[str], cached: bool = True) -> bool:
    """Wait while any of ``tables`` is fenced; True when one was (bounded wait)."""
    tables = list(tables)
    if cached and not any(state.step_of(alias, t) == FENCED for t in tables):
        return False
    waited = False
    deadline = time.monotonic() + WRITER_WAIT_SECONDS
    while any(state.fresh_step(alias, t) == FENCED for t in tables):
        if time.monotonic() > deadline:
            raise DatabaseError(
                f"{', '.join(tables)} on {alias!r} stayed fenced for over "
                f"{WRITER_WAIT_SECONDS:.0f}s: a rebuild crashed in its fence; "
                f"run manage.py s2_rebuild --resume --database {alias}"
            )
        waited = True
        time.sleep(_POLL_SECONDS)
    return waited


def record(alias: str, model: type[models.Model], keys: Iterable[Any], tables: list[str]) -> int:
    """Insert one key entry per distinct key and table, on ``alias`` (the caller's transaction)."""
    connection = connections[alias]
    pk = model._meta.concrete_model._meta.pk
    distinct = list(dict.fromkeys(k for k in keys if k is not None))
    if not distinct:
        return 0
    prepared = [pk.get_db_prep_value(k, connection) for k in distinct]
    opts = RebuildKey._meta
    qn = connection.ops.quote_name
    key_field = opts.get_field("object_pk")
    table_field = opts.get_field("table")
    columns = f"{qn(table_field.column)}, {qn(key_field.column)}"
    with connection.cursor() as cursor:
        for table in tables:
            for start in range(0, len(prepared), 500):
                chunk = prepared[start : start + 500]
                params = [
                    p for key in chunk for p in (table, key_field.get_db_prep_save(key, connection))
                ]
                cursor.execute(
                    f"INSERT INTO {qn(opts.db_table)} ({columns}) VALUES "
                    + ", ".join(["(%s, %s)"] * len(chunk)),
                    params,
                )
    return len(distinct)


# -- wrappers -------------------------------------------------------------------------------


def _wrap_save_base(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def save_base(self: models.Model, *args: Any, **kwargs: Any) -> Any:
        if not state.any_active():
            return original(self, *args, **kwargs)
        cls = type(self)
        using = kwargs.get("using") or router.db_for_write(cls, instance=self)
        tables = watched(cls, using)
        if not tables:
            return original(self, *args, **kwargs)
        wait_for_fence(using, tables)
        with transaction.atomic(using=using, savepoint=False):
            result = original(self, *args, **kwargs)
            record(using, cls, [self.pk], tables)
        return result

    return save_base


def _wrap_update(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def update(self: models.QuerySet, **kwargs: Any) -> int:
        if not state.any_active() or self.query.is_sliced:
            return original(self, **kwargs)
        alias = dualwrite._write_alias(self)
        tables = watched(self.model, alias)
        if not tables:
            return original(self, **kwargs)
        wait_for_fence(alias, tables)
        with transaction.atomic(using=alias, savepoint=False):
            # Locked as the dual-write capture does (the backend locks a join or subselect
            # with single-table statements, as SingleStore requires).
            keys = dualwrite._locked_keys(self.using(alias))
            rows = original(self, **kwargs)
            record(alias, self.model, keys, tables)
        return rows

    return update


def _bulk_captured(
    qs: models.QuerySet, objs: Iterable[models.Model]
) -> tuple[str, list[str], list[models.Model]] | None:
    """For a bulk write whose table is captured now: its alias, tables and objects as a list,
    after waiting out a fence; None when nothing is captured (the write runs as it is)."""
    if not state.any_active():
        return None
    alias = dualwrite._write_alias(qs)
    tables = watched(qs.model, alias)
    if not tables:
        return None
    wait_for_fence(alias, tables)
    return alias, tables, list(objs)


def _wrap_bulk_update(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def bulk_update(self: models.QuerySet, objs: Iterable[models.Model], *args: Any, **kw: Any):
        captured = _bulk_captured(self, objs)
        if captured is None:
            return original(self, objs, *args, **kw)
        alias, tables, objs = captured
        with transaction.atomic(using=alias, savepoint=False):
            rows = original(self, objs, *args, **kw)
            record(alias, self.model, [obj.pk for obj in objs], tables)
        return rows

    return bulk_update


def _wrap_bulk_create(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def bulk_create(self: models.QuerySet, objs: Iterable[models.Model], *args: Any, **kw: Any):
        captured = _bulk_captured(self, objs)
        if captured is None:
            return original(self, objs, *args, **kw)
        alias, tables, objs = captured
        conflicts = kw.get("ignore_conflicts") or kw.get("update_conflicts")
        with transaction.atomic(using=alias, savepoint=False):
            # Row by row to learn each new key, unless the dual-write wrapper inside does that
            # (and records the rows in its outbox) itself.
            if (
                not conflicts
                and dualwrite.route(self.model, alias) is None
                and dualwrite._needs_row_by_row(self.model, alias, objs)
            ):
                dualwrite._insert_row_by_row(self.using(alias), objs)
                created = objs
            else:
                created = original(self, objs, *args, **kw)
            keys = [obj.pk for obj in created if obj._is_pk_set()]
            unkeyed = [obj for obj in created if not obj._is_pk_set()]
            if unkeyed:
                keys += dualwrite._keys_by_identity(
                    self.using(alias), unkeyed, kw.get("unique_fields")
                )
            record(alias, self.model, keys, tables)
        return created

    return bulk_create


def _wrap_collector_delete(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def delete(self: Collector) -> Any:
        if not state.any_active():
            return original(self)
        touched: dict[type[models.Model], list[str]] = {}
        instances: dict[type[models.Model], list[Any]] = {}
        for model, objs in self.data.items():
            instances.setdefault(model._meta.concrete_model, []).extend(o.pk for o in objs)
        models_ = {m._meta.concrete_model for m in instances}
        models_ |= {qs.model._meta.concrete_model for qs in self.fast_deletes}
        for updates in self.field_updates.values():
            for objs in updates:
                if isinstance(objs, models.QuerySet):
                    models_.add(objs.model._meta.concrete_model)
                elif objs:
                    model = type(next(iter(objs)))._meta.concrete_model
                    models_.add(model)
                    instances.setdefault(model, []).extend(o.pk for o in objs)
        for model in models_:
            tables = watched(model, self.using)
            if tables:
                touched[model] = tables
        if not touched:
            return original(self)
        wait_for_fence(self.using, [t for tables in touched.values() for t in tables])
        with transaction.atomic(using=self.using, savepoint=False):
            for model, tables in touched.items():
                keys = instances.get(model, []) + dualwrite._pending_keys(model, self)
                record(self.using, model, keys, tables)
            return original(self)

    return delete


def _wrap_execute_sql(original: Callable[..., Any]) -> Callable[..., Any]:
    """Run a statement again after the fence when it failed because the table was fenced."""

    @functools.wraps(original)
    def execute_sql(self: sql_compiler.SQLCompiler, *args: Any, **kwargs: Any) -> Any:
        try:
            return original(self, *args, **kwargs)
        except DatabaseError as exc:
            if errno(exc) != NO_SUCH_TABLE or not state.any_active():
                raise
            query = self.query
            meta = query.get_meta()
            tables = {meta.db_table} if meta is not None else set()
            tables |= {getattr(j, "table_name", "") for j in query.alias_map.values()}
            if not wait_for_fence(self.using, sorted(t for t in tables if t), cached=False):
                raise
            return original(self, *args, **kwargs)

    return execute_sql


_installed: dict[tuple[type, str], Callable[..., Any]] = {}


def install() -> None:
    """Wrap the write entry points and the compilers (idempotent); from the app's ``ready()``.

    Installed after the dual-write capture, so these wrappers run outside its wrappers: a write
    to a mirrored model that is also being rebuilt records both its outbox entry and its key.
    """
    targets: list[tuple[type, str, Callable[[Callable[..., Any]], Callable[..., Any]]]] = [
        (models.Model, "save_base", _wrap_save_base),
        (models.QuerySet, "update", _wrap_update),
        (models.QuerySet, "bulk_update", _wrap_bulk_update),
        (models.QuerySet, "bulk_create", _wrap_bulk_create),
        (Collector, "delete", _wrap_collector_delete),
        (sql_compiler.SQLCompiler, "execute_sql", _wrap_execute_sql),
        (sql_compiler.SQLInsertCompiler, "execute_sql", _wrap_execute_sql),
    ]
    for owner, name, wrap in targets:
        if (owner, name) in _installed:
            continue
        original = owner.__dict__[name]
        _installed[owner, name] = original
        wrapped = wrap(original)
        if getattr(original, "alters_data", False):
            wrapped.alters_data = True  # type: ignore[attr-defined]
        setattr(owner, name, wrapped)
