"""One verify pass over one model: compare, re-check lagging keys, repair, record."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, connections, models
from django.utils import timezone

from migration_kit import conf
from migration_kit import keys as pk_json
from migration_kit.backfill.keyset import Key, Table
from migration_kit.dualwrite.outbox import outbox_aliases
from migration_kit.models import OutboxEntry, VerifyRun
from migration_kit.verify.compare import Comparer, Range, Side

SAMPLE_SIZE = 20


@dataclass
class Outcome:
    """What verifying one model found and did; ``run`` is the saved ``VerifyRun``."""

    run: VerifyRun
    differing: list[Any] = field(default_factory=list)
    lagging: list[Any] = field(default_factory=list)
    repaired: int = 0
    chunks: int = 0
    seconds: float = 0.0
    python_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def remaining(self) -> int:
        """Differences left after repair (0 when equal or fully repaired)."""
        return len(self.differing) - self.repaired

    def as_dict(self) -> dict[str, Any]:
        run = self.run
        return {
            "model": run.model_label,
            "source": run.source_alias,
            "target": run.target_alias,
            "source_rows": run.source_rows,
            "target_rows": run.target_rows,
            "differences": run.differences,
            "repaired": self.repaired,
            "remaining": self.remaining if run.differences is not None else None,
            "lagging": self.lagging,
            "sample": run.sample,
            "chunks": self.chunks,
            "python_columns": self.python_columns,
            "notes": self.notes,
            "seconds": round(self.seconds, 3),
            "error": run.error,
            "verify_run": run.pk,
        }


def outbox_keys(
    model: type[models.Model], source: str, target: str, aliases: list[str]
) -> set[Key]:
    """Keys of ``model`` with outbox entries between ``source`` and ``target`` (either way), on
    ``aliases`` (those of the two that hold an outbox)."""
    to_key = Table(model, connections[source]).to_key
    found: set[Key] = set()
    for alias in aliases:
        entries = OutboxEntry.objects.using(alias).filter(
            model_label=model._meta.label,
            source_alias__in=(source, target),
            target_alias__in=(source, target),
        )
        for data in entries.values_list("object_pk", flat=True):
            found.add(to_key(pk_json.decode_pk(model, data)))
    return found


def _repair_direction(model: type[models.Model], source: str, target: str) -> tuple[str, str]:
    """(from, to) for a repair: the mirror is made equal to the primary, so during ``cutover``
    (SingleStore primary) the source is what gets repaired."""
    from s2router.phases import write_aliases

    return (target, source) if write_aliases(model)[0] == target else (source, target)


def _settle_lag(
    comparer: Comparer, found: list[Key], lag_wait: float
) -> tuple[list[Key], set[Key]]:
    """(keys still differing, keys queued in the outbox) after re-reading ``found``.

    Rows written during the pass are re-read; keys still queued in the outbox get ``lag_wait``
    seconds to drain, re-checked every 0.2 s, and are then reported as lagging, not as
    differences.
    """
    model, source, target = comparer.model, comparer.source.alias, comparer.target.alias
    differing = comparer.recheck(found)
    if not differing:
        return differing, set()
    aliases, errors = outbox_aliases([source, target])
    if errors:
        raise DatabaseError("cannot read the outbox: " + "; ".join(errors))
    pending = outbox_keys(model, source, target, aliases)
    deadline = time.monotonic() + lag_wait
    while set(differing) & pending and time.monotonic() < deadline:
        time.sleep(0.2)
        differing = comparer.recheck(differing)
        pending = outbox_keys(model, source, target, aliases)
    return differing, pending


def _repair(comparer: Comparer, differences: list[Key]) -> int:
    """Apply ``differences`` from the primary to the mirror; how many then compare equal."""
    from migration_kit.dualwrite.apply import apply_keys

    model, table = comparer.model, comparer.source.table
    direction = _repair_direction(model, comparer.source.alias, comparer.target.alias)
    apply_keys(model, [table.from_key(k) for k in differences], *direction)
    return len(differences) - len(comparer.recheck(differences))


def verify(
    model: type[models.Model],
    source: str,
    target: str,
    *,
    repair: bool = False,
    lag_wait: float = 5.0,
    chunk_rows: int = 50_000,
    streams: int | None = None,
) -> Outcome:
    """Compare ``model`` on ``source`` and ``target``; record and return a ``VerifyRun``.

    ``streams``: chunk queries in flight per side (None: ``MIGRATION_KIT['VERIFY_STREAMS']``).
    """
    if streams is None:
        streams = conf.get("VERIFY_STREAMS")  # before any run is recorded: a bad setting raises
    began = time.monotonic()
    run = VerifyRun(
        model_label=model._meta.label,
        source_alias=source,
        target_alias=target,
        started_at=timezone.now(),
    )
    outcome = Outcome(run=run)
    comparer = None
    try:
        comparer = Comparer(model, source, target, chunk_rows=chunk_rows, streams=streams)
        result = comparer.compare()
        outcome.chunks = result.chunks
        outcome.python_columns = result.python_columns
        label = model._meta.label
        outcome.notes = [
            f"{label}.{column}: digested in Python, not in SQL ({why})."
            for column, why in result.reasons.items()
        ]
        run.source_rows, run.target_rows = result.source_rows, result.target_rows
        differing, pending = _settle_lag(comparer, result.differing, lag_wait)
        table = comparer.source.table
        outcome.lagging = [table.encode(k) for k in differing if k in pending]
        differences = [k for k in differing if k not in pending]
        outcome.differing = [table.encode(k) for k in differences]
        run.differences = len(differences)
        run.sample = outcome.differing[:SAMPLE_SIZE]
        if repair and differences:
            outcome.repaired = run.repaired = _repair(comparer, differences)
    except DatabaseError as exc:
        run.differences = None
        run.error = f"{type(exc).__name__}: {exc}"
    finally:
        if comparer is not None:
            comparer.close()
        run.finished_at = timezone.now() if not run.error else None
        outcome.seconds = time.monotonic() - began
        run.save()
    return outcome


def _count_in(side: Side, rng: Range) -> int:
    where, params = side.table.between(*rng)
    return side._query(f"SELECT COUNT(*) FROM {side.table.name} WHERE {where}", params)[0][0]


def verify_range(
    model: type[models.Model],
    source: str,
    target: str,
    low: Any,
    high: Any,
    *,
    repair: bool = False,
    lag_wait: float = 5.0,
    chunk_rows: int = 50_000,
) -> dict[str, Any]:
    """Compare (and with ``repair`` fix) the keys in ``(low, high]`` (JSON keys, None: open):
    one range of a distributed verify. JSON-ready findings: rows per side, differing keys left
    after repair, lagging keys, chunks; a database error propagates."""
    began = time.monotonic()
    comparer = Comparer(model, source, target, chunk_rows=chunk_rows)
    try:
        table = comparer.source.table
        rng: Range = (table.decode(low), table.decode(high))
        source_rows, target_rows = comparer.run_on_both(_count_in, rng)
        bigger = comparer.source if source_rows >= target_rows else comparer.target
        chunks, start = 0, rng[0]
        while True:
            found = comparer._on(bigger, "boundaries", (start, rng[1]), chunk_rows, 1)
            end = found[0] if found else rng[1]
            mine, theirs = comparer._both("total", (start, end))
            if mine is None or mine != theirs:
                comparer._check((start, end))
            chunks += 1
            if not found:
                break
            start = end
        ours, other = comparer._source_rows, comparer._target_rows
        found = [k for k in set(ours) | set(other) if ours.get(k) != other.get(k)]
        differing, pending = _settle_lag(comparer, found, lag_wait)
        differences = sorted((k for k in differing if k not in pending), key=repr)
        repaired = _repair(comparer, differences) if repair and differences else 0
        return {
            "source_rows": source_rows,
            "target_rows": target_rows,
            "differing": [table.encode(k) for k in differences],
            "repaired": repaired,
            "lagging": sorted((table.encode(k) for k in differing if k in pending), key=repr),
            "chunks": chunks,
            "python_columns": comparer.result.python_columns,
            "seconds": round(time.monotonic() - began, 3),
        }
    finally:
        comparer.close()
