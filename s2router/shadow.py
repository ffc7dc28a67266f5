"""Scientist-style shadow reads for models in the ``shadow`` phase.

Give a migrating model ``objects = ShadowReadManager()`` (or build your own manager from
``ShadowQuerySet``). While the model is in ``shadow``, a sampled fraction of the reads the router
sends to the source (``SHADOW_SAMPLE_RATE``, per model ``shadow_sample_rate``) runs a second
time on SingleStore, after the caller's result is in hand. The two results are compared
(row order only matters when the query is ordered); mismatches are logged on
``s2router.shadow`` and counted, and candidate errors are counted too. The caller always gets
the source result, and no exception from the candidate ever reaches it.

Shadowed: evaluating a queryset (iteration, ``list()``, slicing a fetched queryset, ``get()``,
``first()``...) and ``count()``. Not shadowed: ``.using()`` queries (the router did not pick the
database), ``iterator()``, ``aggregate()``, ``exists()``, raw SQL, and any read while the
SingleStore connection is inside ``atomic()`` (a failing candidate must not break it; SingleStore
has no savepoints to contain it). The candidate runs synchronously on the same thread, so a
sampled read costs one extra SingleStore query.

Counters are shared by every process through ``s2router.ShadowStat`` on ``PHASE_DATABASE``:
each process counts in memory and adds its counts to the table with one atomic
``UPDATE ... SET compared = compared + n`` per model (insert when absent), at the first shadow
read after ``FLUSH_SECONDS`` or after ``FLUSH_EVERY`` reads (no background thread: counts of a
process that stops shadowing wait for its next read or ``flush()``). A flush never runs inside a
transaction on ``PHASE_DATABASE``: it waits for that transaction's commit (``on_commit``), and a
rolled-back transaction leaves the counts pending for the next flush. A failed flush is logged on
``s2router.shadow`` and its counts stay pending; nothing reaches the caller. ``stats()`` →
``{label: {"compared", "matched", "mismatched", "errors"}}`` (table totals plus this process's
pending counts), ``report()`` adds ``last_mismatch_at``; ``flush()``; ``reset_stats()``. The
``shadow_mismatch`` signal carries each mismatch for exporters.
"""

from __future__ import annotations

import datetime
import logging
import os
import random
import threading
import time
from collections import Counter
from typing import Any

from django.db import DatabaseError, IntegrityError, connections, models, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Greatest
from django.dispatch import Signal
from django.utils import timezone

from s2router import conf
from s2router.conf import Kind
from s2router.phases import Phase, phase_of

logger = logging.getLogger("s2router.shadow")
shadow_mismatch = Signal()

COUNTERS = ("compared", "matched", "mismatched", "errors")
#: A process flushes at its first shadow read this many seconds after its last flush attempt...
FLUSH_SECONDS = 10.0
#: ... or at the shadow read (compared or failed) that makes this many since that attempt.
FLUSH_EVERY = 1000

_lock = threading.Lock()  # guards the pending counts and the flush schedule
_flush_lock = threading.Lock()  # one flush at a time per process; stats() reads under it
_pending: dict[str, Counter[str]] = {}
_pending_mismatch_at: dict[str, datetime.datetime] = {}
_attempted_at = 0.0  # time.monotonic() of the last flush attempt; 0: the first read flushes
_since_attempt = 0


def _forget_in_child() -> None:
    """A forked child starts with no pending counts (the parent flushes its own) and new locks."""
    global _lock, _flush_lock, _attempted_at, _since_attempt
    _lock, _flush_lock = threading.Lock(), threading.Lock()
    _pending.clear()
    _pending_mismatch_at.clear()
    _attempted_at, _since_attempt = 0.0, 0


os.register_at_fork(after_in_child=_forget_in_child)


def _stat_model() -> type[models.Model]:
    from s2router.models import ShadowStat

    return ShadowStat


def _durable(labels: list[str] | None) -> dict[str, dict[str, Any]]:
    """The table's rows (``labels`` only, when given); empty when the table cannot be read."""
    db = conf.get_config().phase_database
    qs = _stat_model().objects.using(db)
    if labels is not None:
        qs = qs.filter(model_label__in=labels)
    try:
        # A savepoint inside a caller's transaction keeps a missing table from aborting it.
        with transaction.atomic(using=db):
            rows = list(qs.values("model_label", *COUNTERS, "last_mismatch_at"))
    except DatabaseError as exc:
        logger.warning("shadow counters unreadable on %s (%s); showing this process's", db, exc)
        return {}
    return {row.pop("model_label"): row for row in rows}


def report(*labels: str) -> dict[str, dict[str, Any]]:
    """Per model label (of ``labels``, default all): the counters of every process that flushed
    plus this process's pending counts, and ``last_mismatch_at`` (None if never)."""
    wanted = [conf.normalize(label) for label in labels] or None
    with _flush_lock:  # no flush of this process is half-way between memory and table
        found = _durable(wanted)
        with _lock:
            pending = {k: (Counter(c), _pending_mismatch_at.get(k)) for k, c in _pending.items()}
    for label, (counts, mismatch_at) in pending.items():
        if wanted is not None and label not in wanted:
            continue
        row = found.setdefault(label, {**dict.fromkeys(COUNTERS, 0), "last_mismatch_at": None})
        for key in COUNTERS:
            row[key] += counts[key]
        if mismatch_at is not None:
            row["last_mismatch_at"] = max(filter(None, (row["last_mismatch_at"], mismatch_at)))
    return found


def stats() -> dict[str, dict[str, int]]:
    """``{label: {"compared", "matched", "mismatched", "errors"}}`` summed over processes."""
    return {label: {k: row[k] for k in COUNTERS} for label, row in report().items()}


def reset_stats(*labels: str) -> None:
    """Zero the counters of ``labels`` (every model when none): the table's rows and this
    process's pending counts. Counts other processes have not flushed yet still arrive."""
    wanted = [conf.normalize(label) for label in labels]
    with _flush_lock:
        with _lock:
            for label in wanted or list(_pending):
                _pending.pop(label, None)
                _pending_mismatch_at.pop(label, None)
        qs = _stat_model().objects.using(conf.get_config().phase_database)
        (qs.filter(model_label__in=wanted) if wanted else qs).delete()


def flush(wait: bool = True) -> bool:
    """Add this process's pending counts to the table now; False when some stay pending
    (``PHASE_DATABASE`` is inside a transaction, the write failed, which is logged, or another
    thread is flushing and ``wait`` is false)."""
    db = conf.get_config().phase_database
    if not _flush_lock.acquire(blocking=wait):
        return False
    try:
        with _lock:
            batch = list(_pending.items())
            mismatch_at = dict(_pending_mismatch_at)
            _pending.clear()
            _pending_mismatch_at.clear()
        if not batch:
            return True
        written = 0
        try:
            connection = connections[db]
            if connection.in_atomic_block or not connection.get_autocommit():
                return False  # never inside the caller's transaction
            for label, counts in batch:
                _add(db, label, counts, mismatch_at.get(label))
                written += 1
        except Exception:
            logger.warning("could not flush shadow counters to %s; kept pending", db, exc_info=True)
            return False
        finally:
            _restore(batch[written:], mismatch_at)
    finally:
        _flush_lock.release()
    return True


def _restore(
    unwritten: list[tuple[str, Counter[str]]], mismatch_at: dict[str, datetime.datetime]
) -> None:
    with _lock:
        for label, counts in unwritten:
            _pending.setdefault(label, Counter()).update(counts)
            at = mismatch_at.get(label)
            if at is not None:
                newer = _pending_mismatch_at.get(label)
                _pending_mismatch_at[label] = at if newer is None else max(at, newer)


def _add(db: str, label: str, counts: Counter[str], mismatch_at: datetime.datetime | None) -> None:
    """Add ``counts`` to ``label``'s row atomically, creating the row when it is absent."""
    stat = _stat_model()
    now = timezone.now()
    changes: dict[str, Any] = {k: F(k) + counts[k] for k in COUNTERS if counts[k]}
    changes["updated_at"] = now
    if mismatch_at is not None:
        at = Value(mismatch_at)
        changes["last_mismatch_at"] = Greatest(Coalesce(F("last_mismatch_at"), at), at)
    row = stat.objects.using(db).filter(model_label=label)
    if row.update(**changes):
        return
    try:
        with transaction.atomic(using=db):
            stat.objects.using(db).create(
                model_label=label, last_mismatch_at=mismatch_at, **{k: counts[k] for k in COUNTERS}
            )
        return
    except IntegrityError:
        pass  # another process created the row first: add to it
    row.update(**changes)


def _record(label: str, outcome: str) -> None:
    """Count one shadow read (``matched``, ``mismatched`` or ``errors``); flush when due."""
    global _attempted_at, _since_attempt
    now = time.monotonic()
    with _lock:
        counts = _pending.setdefault(label, Counter())
        counts[outcome] += 1
        if outcome != "errors":
            counts["compared"] += 1
        if outcome == "mismatched":
            _pending_mismatch_at[label] = timezone.now()
        _since_attempt += 1
        due = _since_attempt >= FLUSH_EVERY or now - _attempted_at >= FLUSH_SECONDS
        if due:
            _attempted_at, _since_attempt = now, 0
    if due:
        _flush_when_safe()


def _flush_when_safe() -> None:
    """Flush now, or after the commit of the transaction open on ``PHASE_DATABASE``."""
    try:
        db = conf.get_config().phase_database
        if connections[db].in_atomic_block:
            transaction.on_commit(lambda: flush(wait=False), using=db, robust=True)
        else:
            flush(wait=False)  # a request thread never queues behind another flush
    except Exception:
        logger.warning("could not schedule a shadow counter flush", exc_info=True)


def _normalize(row: Any) -> Any:
    """A comparable form of one result row (model instances compare by loaded field values)."""
    if isinstance(row, models.Model):
        return tuple(sorted((k, v) for k, v in row.__dict__.items() if not k.startswith("_")))
    if isinstance(row, dict):
        return tuple(sorted(row.items()))
    return row


def _same(ordered: bool, source: list[Any], candidate: list[Any]) -> bool:
    left, right = [_normalize(r) for r in source], [_normalize(r) for r in candidate]
    if ordered:
        return left == right
    return sorted(left, key=repr) == sorted(right, key=repr)


class ShadowQuerySet(models.QuerySet):
    """A QuerySet that shadows sampled router-routed reads onto SingleStore in ``shadow``."""

    def _shadow_target(self) -> str | None:
        """The SingleStore alias when this read should be shadowed, else None."""
        if self._db is not None:
            return None
        cfg = conf.get_config()
        placement = cfg.placement(self.model)
        if placement is None or placement.kind is not Kind.MIGRATING:
            return None
        if phase_of(placement) is not Phase.SHADOW or self.db != placement.source:
            return None
        assert placement.migrating is not None
        if random.random() >= placement.migrating.shadow_sample_rate:
            return None
        if connections[cfg.singlestore].in_atomic_block:
            return None
        return cfg.singlestore

    def _compare(self, target: str, kind: str, source: Any, run: Any) -> None:
        label = self.model._meta.label_lower
        try:
            candidate = run()
        except Exception:
            _record(label, "errors")
            logger.warning("shadow %s on %s failed", kind, target, exc_info=True)
            return
        if source == candidate if kind == "count" else _same(self.ordered, source, candidate):
            _record(label, "matched")
            return
        _record(label, "mismatched")
        logger.warning(
            "shadow mismatch on %s (%s): source %s, %s %s; query: %s",
            label,
            kind,
            source if kind == "count" else f"{len(source)} rows",
            target,
            candidate if kind == "count" else f"{len(candidate)} rows",
            self.query,
        )
        shadow_mismatch.send(
            sender=self.model, label=label, kind=kind, source=source, candidate=candidate
        )

    def _fetch_all(self) -> None:
        fresh = self._result_cache is None
        super()._fetch_all()
        if fresh:
            target = self._shadow_target()
            if target is not None:
                candidate = self._chain()
                candidate._db = target
                self._compare(
                    target, "rows", self._result_cache, lambda: list(candidate.iterator())
                )

    def count(self) -> int:
        if self._result_cache is not None:
            return len(self._result_cache)
        result = super().count()
        target = self._shadow_target()
        if target is not None:
            self._compare(target, "count", result, lambda: self.using(target).count())
        return result


class ShadowReadManager(models.Manager.from_queryset(ShadowQuerySet)):  # type: ignore[misc]
    """``objects = ShadowReadManager()`` on a migrating model enables shadow reads."""
