"""One online rebuild from its state row to the end, resumable from any step.

``run`` drives the steps (docs/rebuild.md draws them); each step is recorded in the state row
before its work starts, so a process killed anywhere leaves a row that ``run`` picks up again.
On resume the tables that exist decide what was really done: a crash inside the fence leaves
``<table>__s2old`` without ``<table>`` (the fence is rolled back and tried again); a crash just
after the swap leaves ``<table>`` and ``__s2old`` without ``__s2new`` (only the clean-up is
left). The old table is never written by the rebuild, so rolling back is always a rename.

Copy chunks alternate with apply rounds, and the fence waits for a backlog that fits its
budget (``migration_kit.rebuild.throttle``); a rebuild whose apply cannot keep up stops with
:class:`RebuildStopped` at the step it reached, for a resume.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import connections

from migration_kit import conf
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
from migration_kit.rebuild.throttle import (
    PAUSED,
    ROUND_SECONDS,
    RUNNING,
    RebuildStopped,
    Throttle,
)

Progress = Callable[[str], None]


class RebuildFailed(Exception):
    """The rebuild stopped; the old table is in place and the new one was dropped."""


@dataclass
class Options:
    """How one rebuild runs (``s2_rebuild``'s flags; the migration path uses the defaults)."""

    chunk_size: int = copy.DEFAULT_CHUNK_SIZE
    #: Fence once at most this many captured keys wait (fewer if the apply is slow).
    backlog: int = 200
    fence_seconds: float = fence.DEFAULT_FENCE_SECONDS
    #: Fences tried before giving up (each one that runs too long is rolled back).
    fences: int = 3
    #: The throttle (docs/rebuild.md): pause the copy, then stop, after this long without the
    #: backlog shrinking; at most ``apply_rate`` keys applied per second (None: no cap).
    pause_after: float = field(default_factory=lambda: conf.get("REBUILD_PAUSE_AFTER_SECONDS"))
    stop_after: float = field(default_factory=lambda: conf.get("REBUILD_STOP_AFTER_SECONDS"))
    apply_rate: float | None = field(default_factory=lambda: conf.get("REBUILD_APPLY_RATE"))


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
    throttle: dict[str, Any] | None = None

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
            "throttle": self.throttle,
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
        throttle = Throttle(
            backlog_cap=options.backlog,
            fence_seconds=options.fence_seconds,
            pause_after=options.pause_after,
            stop_after=options.stop_after,
            apply_rate_cap=options.apply_rate,
        )
        if row.step in (COPYING, APPLYING):
            state.advance(row, throttle=throttle.as_dict())  # a stopped run's verdict is old
        if row.step == COPYING:
            copy.discard_past_checkpoint(plan, row)
            more = True
            while more:
                if not throttle.paused:
                    more = copy.copy_chunk(plan, row, options.chunk_size, say)
                # After the last chunk (everything past the checkpoint) every key is copied.
                upto = row.last_key if more else apply.ALL
                _apply_round(plan, row, options, throttle, outcome, say, upto=upto)
            state.advance(row, APPLYING)
        while row.step == APPLYING:
            _apply_round(plan, row, options, throttle, outcome, say, upto=apply.ALL)
            if not throttle.fits():
                continue
            say(f"applied {row.keys_applied:,} captured keys; {throttle.waiting:,} waiting")
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
        outcome.throttle = throttle.as_dict()
        if row.step == SWAPPED:
            hooks.reached("swapped")
            with connections[plan.alias].cursor() as cursor:
                cursor.execute(
                    f"DROP TABLE IF EXISTS {connections[plan.alias].ops.quote_name(plan.old)}"
                )
            apply.clear(plan)
            state.advance(row, DONE)
    except RebuildStopped as exc:
        # Not abandoned: the new table, the checkpoint and the captured keys stay for a resume.
        _finish(outcome, row, began)
        exc.outcome = outcome
        raise
    except Exception as exc:
        if row.step == SWAPPED:
            # The new table is in place; only the clean-up is left, for a resume.
            raise RebuildFailed(f"{plan.table} was swapped but not cleaned up: {exc}") from exc
        # The error as it happened (a failed copy raises the database's own error).
        abandon(plan, row, f"{type(exc).__name__}: {exc}")
        raise
    return _finish(outcome, row, began)


def _finish(outcome: Outcome, row: RebuildState, began: float) -> Outcome:
    """The outcome as the state row says it ended."""
    outcome.seconds = time.monotonic() - began
    outcome.step = row.step
    outcome.rows_copied, outcome.keys_applied, outcome.fences = (
        row.rows_copied,
        row.keys_applied,
        row.fences,
    )
    outcome.fence_seconds = row.fence_seconds
    return outcome


def _apply_round(
    plan: Plan,
    row: RebuildState,
    options: Options,
    throttle: Throttle,
    outcome: Outcome,
    say: Progress,
    upto: Any,
) -> None:
    """One apply round and the throttle's verdict; raises :class:`RebuildStopped` when the
    backlog has not shrunk for ``stop_after`` seconds (nothing fenced, old table in place)."""
    began = time.monotonic()
    settled, waiting = apply.apply_for(
        plan, ROUND_SECONDS, throttle.budget(), upto=upto, rate=options.apply_rate
    )
    before = throttle.state
    verdict = throttle.observe(waiting, settled, time.monotonic() - began)
    changed = verdict != before
    if settled or changed or verdict == PAUSED:
        state.advance(row, keys_applied=row.keys_applied + settled, throttle=throttle.as_dict())
    outcome.throttle = throttle.as_dict()
    if not changed:
        return
    rate = "-" if throttle.rate is None else f"{throttle.rate:,.0f}"
    copying = row.step == COPYING
    if verdict == PAUSED:
        say(
            f"throttle: {waiting:,} captured keys wait (fence budget {throttle.budget():,}) and "
            f"the backlog has not shrunk for {options.pause_after:g}s: "
            + ("the copy pauses while the apply" if copying else "only the apply runs")
            + f" ({rate} keys/s) catches up"
        )
    elif verdict == RUNNING:
        say(
            f"throttle: the apply caught up ({waiting:,} waiting); "
            + ("the copy goes on" if copying else "the fence may start")
        )
    else:
        message = (
            f"{plan.table}: writers outpace the apply: {waiting:,} captured keys wait (the fence "
            f"starts at {throttle.budget():,}, applied at {rate} keys/s) and the backlog has not "
            f"shrunk for {options.stop_after:g}s. Stopped at step {row.step} before any fence: "
            f"the old table is in place and capture stays on. Run manage.py s2_rebuild --resume "
            f"--database {plan.alias} (or migrate again) when writes slow down, or --abandon."
        )
        outcome.throttle = {**throttle.as_dict(), "message": message}
        state.advance(row, throttle=outcome.throttle)
        raise RebuildStopped(message, outcome)


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
