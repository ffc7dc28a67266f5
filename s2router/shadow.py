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

Counters are per process: ``stats()`` → ``{label: {"compared", "matched", "mismatched",
"errors"}}``; ``reset_stats()``. The ``shadow_mismatch`` signal carries each mismatch for
exporters.
"""

from __future__ import annotations

import logging
import random
import threading
from collections import Counter
from typing import Any

from django.db import connections, models
from django.dispatch import Signal

from s2router import conf
from s2router.conf import Kind, Phase
from s2router.phases import phase_of

logger = logging.getLogger("s2router.shadow")
shadow_mismatch = Signal()

_lock = threading.Lock()
_stats: dict[str, Counter[str]] = {}


def stats() -> dict[str, dict[str, int]]:
    """Counters per model label since start (or ``reset_stats()``)."""
    with _lock:
        return {
            label: {k: c[k] for k in ("compared", "matched", "mismatched", "errors")}
            for label, c in _stats.items()
        }


def reset_stats() -> None:
    """Zero every counter."""
    with _lock:
        _stats.clear()


def _count(label: str, key: str) -> None:
    with _lock:
        _stats.setdefault(label, Counter())[key] += 1


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
            _count(label, "errors")
            logger.warning("shadow %s on %s failed", kind, target, exc_info=True)
            return
        _count(label, "compared")
        if source == candidate if kind == "count" else _same(self.ordered, source, candidate):
            _count(label, "matched")
            return
        _count(label, "mismatched")
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
