"""The rebuild state table as writers and the rebuild see it.

Writers call :func:`step_of` on every write: a dict lookup in a snapshot of the active rows,
reloaded at most every ``S2ROUTER['PHASE_CACHE_SECONDS']`` from the phase database, like the
phase table. The rebuild therefore waits :func:`capture_wait` after turning capture on before
it copies anything, so every process captures by then; the fence does not rely on the cache
(it renames the old table away). :func:`fresh_step` reads the row itself, uncached.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.db import transaction

from migration_kit.rebuild.models import CAPTURED, FINISHED, PLANNED, RebuildState
from migration_kit.rebuild.plan import Plan

logger = logging.getLogger("migration_kit.rebuild")

#: Added to the cache interval before the copy starts: transactions that read the state just
#: before capture turned on have committed by then.
CAPTURE_GRACE_SECONDS = 0.5

# (expires_at, {(alias, table): step}) of the rows not finished.
_cache: tuple[float, dict[tuple[str, str], str]] = (0.0, {})


def database() -> str:
    """Where the state rows live: the phase database every process already reads."""
    from s2router import conf

    return conf.get_config().phase_database


def cache_seconds() -> float:
    from s2router import conf

    return conf.get_config().phase_cache_seconds


def capture_wait() -> float:
    """How long after capture turns on until every process records its writes."""
    return cache_seconds() + CAPTURE_GRACE_SECONDS


def invalidate() -> None:
    """Forget this process's snapshot (the rebuild calls it after every change it makes)."""
    global _cache
    _cache = (0.0, {})


def _active() -> dict[tuple[str, str], str]:
    global _cache
    expires, values = _cache
    now = time.monotonic()
    if now < expires:
        return values
    db = database()
    try:
        # A savepoint keeps a missing table (kit not migrated there) from aborting a caller's
        # transaction on databases that have savepoints.
        with transaction.atomic(using=db):
            rows = list(
                RebuildState.objects.using(db)
                .exclude(step__in=FINISHED)
                .values_list("alias", "table", "step")
            )
    except Exception as exc:  # any failure to read: write as if no rebuild ran
        # Safe for a running rebuild too: writes it then misses differ under the fence, and
        # the verify stops the swap. (Also a test that may not query the phase database.)
        logger.debug("rebuild state unreadable (%s); no table is being rebuilt", exc)
        rows = []
    values = {(alias, table): step for alias, table, step in rows}
    _cache = (now + cache_seconds(), values)
    return values


def any_active() -> bool:
    """Whether any table is being rebuilt (the writers' first, cheapest test)."""
    return bool(_active())


def step_of(alias: str, table: str) -> str | None:
    """The cached step of ``table`` on ``alias`` while it is rebuilt, else None."""
    return _active().get((alias, table))


def captured(alias: str, table: str) -> bool:
    """Whether writes to ``table`` on ``alias`` must record their keys (cached)."""
    return step_of(alias, table) in CAPTURED


def fresh_step(alias: str, table: str) -> str | None:
    """The step in the row right now (no cache), None when there is no unfinished rebuild."""
    db = database()
    with transaction.atomic(using=db):
        step = (
            RebuildState.objects.using(db)
            .filter(alias=alias, table=table)
            .values_list("step", flat=True)
            .first()
        )
    return None if step in FINISHED else step


def load(alias: str, table: str) -> RebuildState | None:
    """The unfinished rebuild of ``table`` on ``alias``, if any."""
    return (
        RebuildState.objects.using(database())
        .filter(alias=alias, table=table)
        .exclude(step__in=FINISHED)
        .first()
    )


def unfinished(alias: str | None = None) -> list[RebuildState]:
    qs = RebuildState.objects.using(database()).exclude(step__in=FINISHED)
    if alias is not None:
        qs = qs.filter(alias=alias)
    return list(qs.order_by("alias", "table"))


def start(plan: Plan) -> RebuildState:
    """A fresh state row for ``plan`` (replacing a finished one of the same table)."""
    db = database()
    with transaction.atomic(using=db):
        RebuildState.objects.using(db).filter(
            alias=plan.alias, table=plan.table, step__in=FINISHED
        ).delete()
        state = RebuildState.objects.using(db).create(
            alias=plan.alias, table=plan.table, step=PLANNED, plan=plan.as_json()
        )
    invalidate()
    return state


def advance(state: RebuildState, step: str | None = None, **values: Any) -> None:
    """Record ``step`` (and checkpoint ``values``) in the row, visible to every process."""
    if step is not None:
        state.step = step
    for name, value in values.items():
        setattr(state, name, value)
    fields = ["updated_at", *values]
    if step is not None:
        fields.append("step")
    state.save(using=database(), update_fields=fields)
    invalidate()
