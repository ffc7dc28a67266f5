"""The write fence and the swap: the only moments the table name is not the old table.

1. the step becomes ``fenced`` (writers that see it wait before writing);
2. ``<table>`` is renamed to ``<table>__s2old``: from here no statement can write the old
   table (the rename waits for open transactions that used it); an ORM statement that still
   names ``<table>`` fails with 1146 and the capture's compiler wrapper waits and re-runs it;
3. the captured keys left are applied from ``__s2old``, the AUTO_INCREMENT counter of the new
   table is moved past the copied ids, and the new table is verified against ``__s2old``;
4. ``<table>__s2new`` is renamed to ``<table>``: waiting writers go on, into the new table.

If the fence would last longer than its limit, or anything in steps 2 and 3 fails, ``__s2old`` is
renamed back to ``<table>``: the old table is untouched, writers go on there, and the rebuild
may fence again. A verify difference stops the rebuild (:class:`VerifyFailed`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from django.db import DatabaseError, connections

from migration_kit.rebuild import apply, hooks, state, verify
from migration_kit.rebuild.models import APPLYING, FENCED, SWAPPED, RebuildState
from migration_kit.rebuild.plan import Plan
from migration_kit.vendors import errno

DEFAULT_FENCE_SECONDS = 5.0
LOCK_WAIT_TIMEOUT = 1205


class FenceTooLong(Exception):
    """The fence reached its limit before the swap; it was rolled back."""


class VerifyFailed(Exception):
    """The new table differs from the old one under the fence; nothing was swapped."""

    def __init__(self, plan: Plan, count: int, sample: list) -> None:
        self.count, self.sample = count, sample
        super().__init__(
            f"{plan.table}: {count} row(s) differ between the old and the new table under the "
            f"write fence (keys {sample}); writes the ORM capture did not see, such as raw SQL, "
            "changed them. Nothing was swapped: the old table is in place. Record raw writes "
            "with migration_kit.rebuild.enqueue_keys, or stop them, and run the rebuild again."
        )


def rename(plan: Plan, old: str, new: str) -> None:
    connection = connections[plan.alias]
    with connection.cursor() as cursor:
        cursor.execute(connection.schema_editor()._rename_table_sql(old, new))


def rename_away(plan: Plan, limit: float) -> None:
    """Rename the table to ``__s2old``, waiting at most ``limit`` for transactions that used it
    (the rename waits for them: afterwards none can still be writing the old table)."""
    connection = connections[plan.alias]
    with connection.cursor() as cursor:
        cursor.execute("SELECT @@SESSION.lock_wait_timeout")
        (previous,) = cursor.fetchone()
        cursor.execute(f"SET SESSION lock_wait_timeout = {max(1, math.ceil(limit))}")
        try:
            cursor.execute(connection.schema_editor()._rename_table_sql(plan.table, plan.old))
        except DatabaseError as exc:
            if errno(exc) != LOCK_WAIT_TIMEOUT:
                raise
            raise FenceTooLong(
                f"open transactions kept {plan.table} for over {limit:g}s before the rename"
            ) from exc
        finally:
            cursor.execute(f"SET SESSION lock_wait_timeout = {int(previous)}")


def roll_back(plan: Plan, row: RebuildState) -> None:
    """Put the untouched old table back under its name; capture goes on."""
    rename(plan, plan.old, plan.table)
    state.advance(row, APPLYING)


def sync_auto_increment(plan: Plan) -> None:
    if not plan.sync_auto_increment:
        return
    connection = connections[plan.alias]
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"AGGREGATOR SYNC AUTO_INCREMENT ON "
            f"{qn(connection.settings_dict['NAME'])}.{qn(plan.new)}"
        )


def fence_and_swap(
    plan: Plan,
    row: RebuildState,
    limit: float = DEFAULT_FENCE_SECONDS,
    progress: Callable[[str], None] | None = None,
) -> float:
    """Fence, drain, verify and swap; returns the fence's length in seconds.

    Raises :class:`FenceTooLong` or :class:`VerifyFailed` after rolling the fence back.
    """
    state.advance(row, FENCED, fences=row.fences + 1)
    began = time.monotonic()
    try:
        rename_away(plan, limit)
    except BaseException:
        state.advance(row, APPLYING)  # nothing was renamed
        raise
    try:
        hooks.reached("fenced")
        apply.drain(plan, source=plan.old)
        sync_auto_increment(plan)
        if time.monotonic() - began > limit:
            raise FenceTooLong(f"the final drain took over {limit:g}s")
        count, sample, compared = verify.differences(plan, plan.old)
        if count:
            raise VerifyFailed(plan, count, sample)
        if time.monotonic() - began > limit:
            raise FenceTooLong(
                f"the drain and the verify of {compared:,} rows took over {limit:g}s"
            )
    except BaseException:
        roll_back(plan, row)
        raise
    rename(plan, plan.new, plan.table)
    seconds = time.monotonic() - began
    state.advance(row, SWAPPED, fence_seconds=seconds)
    if progress:
        progress(
            f"swapped {plan.table} after a {seconds * 1000:.0f} ms fence "
            f"({compared:,} rows verified)"
        )
    return seconds
