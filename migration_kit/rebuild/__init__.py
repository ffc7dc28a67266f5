"""Online table rebuilds: an ALTER SingleStore refuses, performed without losing an ORM write.

One piece per module, in the order a rebuild runs (docs/rebuild.md draws it)::

    step       module      what happens
    plan       plan        CREATE TABLE of <table>__s2new, column mapping (kept in the state row)
    capturing  state,      the state row tells every process (within PHASE_CACHE_SECONDS) to
               capture     record written keys in RebuildKey, in the write's transaction
    copying    copy        chunked keyset INSERT … SELECT old → new, checkpointed
    applying   apply,      captured keys re-copied old → new (also between copy chunks) until
               throttle    the backlog fits the fence's budget; a copy paused, or a clean stop
                           for a resume, when the apply does not keep up
    fenced     fence,      old renamed away (writers wait), final drain, verify old vs new,
               verify      swap by RENAME — or roll back to the untouched old table
    swapped    runner      old table dropped, keys cleared → done

Entry points: :func:`rebuild_model` (the schema editor hands refused ALTERs to it, and
``s2_rebuild`` calls it), :func:`resume`, :func:`enqueue_keys` for raw SQL writers, and the
migration operation ``migration_kit.rebuild.operation.RebuildTable``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import DatabaseError, NotSupportedError, connections, models

from migration_kit.rebuild import capture, plan, runner, state
from migration_kit.rebuild.models import RebuildKey, RebuildState
from migration_kit.rebuild.runner import Options, Outcome, Progress, RebuildFailed
from migration_kit.rebuild.throttle import RebuildStopped

__all__ = [
    "Options",
    "Outcome",
    "RebuildFailed",
    "RebuildStopped",
    "abandon",
    "enqueue_keys",
    "rebuild_model",
    "resume",
    "status",
]


def _require_tables(alias: str) -> None:
    """The kit's tables must exist where the rebuild writes them, or writers would fail."""
    missing = []
    if RebuildKey._meta.db_table not in connections[alias].introspection.table_names():
        missing.append(f"{RebuildKey._meta.db_table} on {alias!r}")
    db = state.database()
    if RebuildState._meta.db_table not in connections[db].introspection.table_names():
        missing.append(f"{RebuildState._meta.db_table} on {db!r}")
    if missing:
        raise NotSupportedError(
            f"the online rebuild needs {' and '.join(missing)}: run manage.py migrate "
            f"migration_kit --database <alias> there first"
        )


def rebuild_model(
    editor: Any,
    model: type[models.Model],
    renamed: dict[str, str] | None = None,
    defaults: dict[str, Any] | None = None,
    options: Options | None = None,
    progress: Progress | None = None,
) -> Outcome:
    """Rebuild ``model``'s table online into ``model``'s state (``editor``: SingleStore's).

    An unfinished rebuild of the same table with the same plan is resumed (a migration run
    again after a crash); one with another plan is an error naming ``s2_rebuild``.
    """
    table = model._meta.db_table
    if model._meta.app_label in capture.INTERNAL_APPS:
        # The kit's and the router's own tables: their writes are the capture itself (never
        # captured), their writers are the kit's commands, and their migrations run before
        # the rebuild's own tables exist. Copied offline, as before.
        editor.rebuild_table(model, renamed=renamed or {}, defaults=defaults or {})
        return Outcome(table, editor.connection.alias, "offline")
    if editor.collect_sql:
        # sqlmigrate: show what would run, run nothing.
        shown = plan.build(editor, model, renamed, defaults)
        editor.collected_sql += [
            f"-- online rebuild (migration_kit.rebuild): {step}" for step in shown.describe()
        ]
        return Outcome(table, editor.connection.alias, "dry-run")
    row = state.load(editor.connection.alias, table)
    if row is not None and table not in editor.connection.introspection.table_names():
        # Killed inside its fence (the table is renamed away): finish what was planned.
        return runner.run(row, options, progress)
    new_plan = plan.build(editor, model, renamed, defaults)
    _require_tables(new_plan.alias)
    row = state.load(new_plan.alias, new_plan.table)
    if row is not None and row.plan != new_plan.as_json():
        raise RebuildFailed(
            f"{new_plan.table} on {new_plan.alias!r} has an unfinished rebuild into another "
            f"state (step {row.step}); finish it with manage.py s2_rebuild --resume --database "
            f"{new_plan.alias} first"
        )
    if row is None:
        row = state.start(new_plan)
    return runner.run(row, options, progress)


def resume(
    alias: str,
    table: str | None = None,
    options: Options | None = None,
    progress: Progress | None = None,
) -> list[Outcome]:
    """Carry every unfinished rebuild on ``alias`` (or only ``table``'s) to its end."""
    outcomes = []
    for row in state.unfinished(alias):
        if table is None or row.table == table:
            outcomes.append(runner.run(row, options, progress))
    return outcomes


def abandon(alias: str, table: str | None = None) -> list[str]:
    """Stop unfinished rebuilds on ``alias`` (or ``table``'s): the old table back under its
    name, the new one dropped, capture off. Returns the tables abandoned."""
    stopped = []
    for row in state.unfinished(alias):
        if table is None or row.table == table:
            runner.abandon(plan.Plan.from_json(row.plan), row, "abandoned by request")
            stopped.append(row.table)
    return stopped


def enqueue_keys(model: type[models.Model], keys: Iterable[Any], using: str) -> int:
    """Record ``keys`` of ``model`` written by raw SQL on ``using`` while its table is rebuilt.

    Call it inside the raw write's transaction. Returns the keys recorded (0 when the table is
    not being rebuilt). Without it, the verify under the fence finds such writes and the
    rebuild stops before the swap.
    """
    tables = capture.watched(model, using)
    return capture.record(using, model, keys, tables) if tables else 0


def status() -> list[dict[str, Any]]:
    """Every unfinished rebuild, for ``s2_status``: step, progress, the backlog now, and the
    throttle's last verdict (``state`` ``stopped`` with its ``message``: waiting for a resume)."""
    try:
        rows = state.unfinished()
    except DatabaseError as exc:
        return [{"error": f"rebuild state unreadable: {exc}"}]
    found = []
    for row in rows:
        try:
            waiting: int | None = (
                RebuildKey.objects.using(row.alias).filter(table=row.table).count()
            )
        except DatabaseError:
            waiting = None
        found.append(
            {
                "table": row.table,
                "database": row.alias,
                "step": row.step,
                "rows_copied": row.rows_copied,
                "keys_applied": row.keys_applied,
                "backlog": waiting,
                "fences": row.fences,
                "throttle": row.throttle,
                "updated_at": row.updated_at,
            }
        )
    return found
