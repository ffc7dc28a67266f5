"""The chunked keyset copy of the old table into ``<table>__s2new``, checkpointed per chunk.

Each chunk is one ``INSERT … SELECT`` over a key range (``key > last AND key <= upper``, the
upper key found first by ``ORDER BY key LIMIT 1 OFFSET n-1``, never an OFFSET scan of the
copy itself). The checkpoint (``last_key``) is saved after the chunk commits; a resumed copy
first deletes anything past the checkpoint, so a chunk committed just before a crash is not
copied twice. The runner interleaves chunks with apply rounds (``migration_kit.rebuild.throttle``
pauses the chunks while the apply falls behind).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connections

from migration_kit.rebuild import hooks, state
from migration_kit.rebuild.models import RebuildState
from migration_kit.rebuild.plan import Plan

DEFAULT_CHUNK_SIZE = 5000


def create_new_table(plan: Plan) -> None:
    """``<table>__s2new`` from the plan's CREATE TABLE (a leftover one is dropped first)."""
    connection = connections[plan.alias]
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {qn(plan.new)}")
        cursor.execute(plan.create_sql, plan.create_params or None)


def insert_select(plan: Plan, where: str, params: list[Any], source: str | None = None) -> int:
    """``INSERT INTO new (targets) SELECT sources FROM old WHERE …``; the rows inserted."""
    connection = connections[plan.alias]
    qn = connection.ops.quote_name
    sql = (
        f"INSERT INTO {qn(plan.new)} ({', '.join(plan.targets)}) "
        f"SELECT {', '.join(plan.sources)} FROM {qn(source or plan.table)} WHERE {where}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*plan.source_params, *params])
        return cursor.rowcount


def discard_past_checkpoint(plan: Plan, row: RebuildState) -> None:
    """Before a (resumed) copy: delete what was written past the last checkpoint (a chunk, or
    keys applied after the last chunk), everything when there is none yet."""
    connection = connections[plan.alias]
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        if row.last_key is None:
            cursor.execute(f"DELETE FROM {qn(plan.new)}")
        else:
            cursor.execute(
                f"DELETE FROM {qn(plan.new)} WHERE {qn(plan.key_new)} > %s", [row.last_key]
            )


def copy_chunk(
    plan: Plan,
    row: RebuildState,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: Callable[[str], None] | None = None,
) -> bool:
    """Copy the next chunk after the checkpoint and save the checkpoint; False when it was the
    last one."""
    connection = connections[plan.alias]
    qn = connection.ops.quote_name
    key_old = qn(plan.key_old)
    last = row.last_key
    after, params = (f"{key_old} > %s", [last]) if last is not None else ("1 = 1", [])
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {key_old} FROM {qn(plan.table)} WHERE {after} "
            f"ORDER BY {key_old} LIMIT 1 OFFSET {chunk_size - 1}",
            params,
        )
        found = cursor.fetchone()
    upper = found[0] if found else None
    if upper is None:
        rows = insert_select(plan, after, params)
    else:
        rows = insert_select(plan, f"{after} AND {key_old} <= %s", [*params, upper])
    last = upper if upper is not None else last
    state.advance(row, last_key=last, rows_copied=row.rows_copied + rows)
    if progress:
        progress(f"copied {row.rows_copied:,} rows of {plan.table}")
    hooks.reached("copying")
    return upper is not None
