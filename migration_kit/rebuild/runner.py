"""One online rebuild from its state row to the end, resumable from any step.

``run`` drives the steps (docs/rebuild.md draws them); each step is recorded in the state row
before its work starts, so a process killed anywhere leaves a row that ``run`` picks up again.
On resume the tables that exist decide what was really done: a crash inside the fence leaves
``<table>__s2old`` without ``<table>`` (the fence is rolled back and tried again); a crash just
after the swap leaves ``<table>`` and ``__s2old`` without ``__s2new`` (only the clean-up is
left). The old table is never written by the rebuild, so rolling back is always a rename.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connections

from migration_kit.rebuild import apply, copy, fence, hooks, state
from migration_kit.rebuild.models import (
    APPLYING,
    CAPTURING,
    COPYING,
    DONE,
    FAILED,
    FENCED,
    PLANNED,
    SWAPPED,
    RebuildState,
)
from migration_kit.rebuild.plan import Plan

Progress = Callable[[str], None]


class RebuildFailed(Exception):
    """The rebuild stopped; the old table is in place and the new one was dropped."""


@dataclass
class Options:
    """How one rebuild runs (``s2_rebuild``'s flags; the migration path uses the defaults)."""

    chunk_size: int = copy.DEFAULT_CHUNK_SIZE
    #: Fence once at most this many captured keys wait.
    backlog: int = 200
    fence_seconds: float = fence.DEFAULT_FENCE_SECONDS
    #: Fences tried before giving up (each one that runs too long is rolled back).
    fences: int = 3


@dataclass
class Outcome:
    """What a finished rebuild did, for the command's output and the drill."""

    table: str
    alias: str
    step: str
    rows_copied: int = 0
    keys_applied: int = 0
    fences: int = 0
    fence_seconds: float | None = None
    seconds: float = 0.0
    resumed_from: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "database": self.alias,
            "step": self.step,
            "rows_copied": self.rows_copied,
            "keys_applied": self.keys_applied,
            "fences": self.fences,
            "fence_ms": None if self.fence_seconds is None else round(self.fence_seconds * 1000, 1),
            "seconds": round(self.seconds, 3),
            "resumed_from": self.resumed_from,
        }


def _tables(alias: str) -> set[str]:
    with connections[alias].cursor() as cursor:
        return set(connections[alias].introspection.table_names(cursor))


def _settle_after_crash(plan: Plan, row: RebuildState, say: Progress) -> None:
    """Make the row's step agree with the tables a crashed run left."""
    tables = _tables(plan.alias)
    has_table, has_new, has_old = plan.table in tables, plan.new in tables, plan.old in tables
    if row.step in (FENCED, SWAPPED):
        if has_table and has_old and not has_new:
            state.advance(row, SWAPPED)
        elif not has_table and has_old:
            say(f"the fence of {plan.table} was interrupted: renaming the old table back")
            fence.roll_back(plan, row)
        elif has_table and has_new:
            state.advance(row, APPLYING)
        else:
            raise RebuildFailed(
                f"{plan.table}: cannot tell how far the swap went (tables present: "
                f"{sorted(t for t in tables if t.startswith(plan.table))}); inspect them by hand"
            )
    elif row.step in (COPYING, APPLYING) and not has_new:
        state.advance(row, CAPTURING, last_key=None, rows_copied=0)


def run(
    row: RebuildState, options: Options | None = None, progress: Progress | None = None
) -> Outcome:
    """Carry the rebuild in ``row`` to ``done``; on an error the rebuild is abandoned
    (``failed``: old table in place, new one dropped, capture off) and the error raised."""
    options = options or Options()
    say = progress or (lambda message: None)
    plan = Plan.from_json(row.plan)
    began = time.monotonic()
    outcome = Outcome(plan.table, plan.alias, row.step)
    if row.step != PLANNED:
        outcome.resumed_from = row.step
        _settle_after_crash(plan, row, say)
    try:
        if row.step == PLANNED:
            apply.clear(plan)
            state.advance(row, CAPTURING)
            say(
                f"capturing writes to {plan.table}; waiting {state.capture_wait():.1f}s "
                "for every process to see it"
            )
        if row.step == CAPTURING:
            hooks.reached("capturing")
            time.sleep(state.capture_wait())
            copy.create_new_table(plan)
            state.advance(row, COPYING, last_key=None, rows_copied=0)
        if row.step == COPYING:
            copy.copy(plan, row, options.chunk_size, say)
            state.advance(row, APPLYING)
        while row.step == APPLYING:
            settled = apply.drain(plan, until=options.backlog)
            state.advance(row, keys_applied=row.keys_applied + settled)
            say(f"applied {row.keys_applied:,} captured keys; {apply.backlog(plan):,} waiting")
            hooks.reached("applying")
            try:
                outcome.fence_seconds = fence.fence_and_swap(plan, row, options.fence_seconds, say)
            except fence.FenceTooLong as exc:
                say(f"fence {row.fences} rolled back: {exc}")
                if row.fences >= options.fences:
                    raise RebuildFailed(
                        f"{plan.table}: {row.fences} fences each ran over "
                        f"{options.fence_seconds:g}s "
                        "(writes arrive faster than they are applied, or the verify is slow); "
                        "nothing was swapped. Raise --fence-seconds or rebuild at a quieter time."
                    ) from exc
        if row.step == SWAPPED:
            hooks.reached("swapped")
            with connections[plan.alias].cursor() as cursor:
                cursor.execute(
                    f"DROP TABLE IF EXISTS {connections[plan.alias].ops.quote_name(plan.old)}"
                )
            apply.clear(plan)
            state.advance(row, DONE)
    except Exception as exc:
        if row.step == SWAPPED:
            # The new table is in place; only the clean-up is left, for a resume.
            raise RebuildFailed(f"{plan.table} was swapped but not cleaned up: {exc}") from exc
        # The error as it happened (a failed copy raises the database's own error).
        abandon(plan, row, f"{type(exc).__name__}: {exc}")
        raise
    outcome.seconds = time.monotonic() - began
    outcome.step = row.step
    outcome.rows_copied, outcome.keys_applied, outcome.fences = (
        row.rows_copied,
        row.keys_applied,
        row.fences,
    )
    outcome.fence_seconds = row.fence_seconds
    return outcome


def abandon(plan: Plan, row: RebuildState, error: str) -> None:
    """Stop a rebuild cleanly: old table in place, new one dropped, capture off, ``error``
    recorded. After the swap there is nothing to undo: only the clean-up is finished."""
    tables = _tables(plan.alias)
    swapped = plan.table in tables and plan.old in tables and plan.new not in tables
    if row.step == SWAPPED or swapped:
        with connections[plan.alias].cursor() as cursor:
            cursor.execute(
                f"DROP TABLE IF EXISTS {connections[plan.alias].ops.quote_name(plan.old)}"
            )
        apply.clear(plan)
        state.advance(row, DONE)
        return
    if plan.table not in tables and plan.old in tables:
        fence.rename(plan, plan.old, plan.table)
    if plan.new in _tables(plan.alias) and plan.table in _tables(plan.alias):
        with connections[plan.alias].cursor() as cursor:
            cursor.execute(f"DROP TABLE {connections[plan.alias].ops.quote_name(plan.new)}")
    state.advance(row, FAILED, error=error[:4000])
    apply.clear(plan)
