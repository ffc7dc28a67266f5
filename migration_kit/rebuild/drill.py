"""A rebuild drill: ORM writers (create, update, delete, bulk) run in threads while a table is
rebuilt, and every write they tried is accounted for afterwards (committed, then present).

Used by the tests and by ``make drills``; usable on a staging copy to rehearse a migration. Each
writer owns its rows, so the last committed write of each row is known exactly: a write counts
as lost when it committed and the table does not say what it wrote.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from django.db import connections, models

#: How long one writer pauses between writes (seconds): traffic, not a benchmark.
PAUSE = 0.002


@dataclass
class Counts:
    """What the writers did, and what the table holds afterwards."""

    tried: int = 0
    committed: int = 0
    failed: int = 0
    lost: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    #: Latencies (seconds) of committed writes, with the monotonic time each one started.
    latencies: list[tuple[float, float]] = field(default_factory=list)

    def p99(self, start: float = 0.0, end: float = float("inf")) -> float:
        """The 99th percentile latency of writes started in ``[start, end]`` (0.0 if none)."""
        chosen = sorted(lat for at, lat in self.latencies if start <= at <= end)
        if not chosen:
            return 0.0
        return chosen[min(len(chosen) - 1, int(len(chosen) * 0.99))]

    def p99_overlapping(self, start: float, end: float) -> tuple[float, int]:
        """The 99th percentile latency of writes in flight at some moment of ``[start, end]``
        (a fence's window), and how many there were."""
        chosen = sorted(lat for at, lat in self.latencies if at <= end and at + lat >= start)
        if not chosen:
            return 0.0, 0
        return chosen[min(len(chosen) - 1, int(len(chosen) * 0.99))], len(chosen)

    def as_dict(self) -> dict[str, Any]:
        return {
            "tried": self.tried,
            "committed": self.committed,
            "failed": self.failed,
            "lost": self.lost,
            "by_kind": dict(self.by_kind),
            "errors": self.errors[:5],
            "p99_ms": round(self.p99() * 1000, 1),
        }


class Traffic:
    """Four writer threads on ``model`` (fields ``code`` and ``name``, both strings) on ``alias``.

    ``owned`` rows (existing primary keys) are split between the updater and the deleter.
    Values stay valid for the table before and after a widening type change and a NULL → NOT
    NULL change (no writer writes NULL).
    """

    KINDS = ("create", "update", "delete", "bulk")

    def __init__(
        self, model: type[models.Model], alias: str, owned: list[Any], pause: float = PAUSE
    ) -> None:
        self.model, self.alias = model, alias
        #: Seconds each writer sleeps between writes; may be changed while they run.
        self.pause = pause
        half = len(owned) // 2
        self._update_keys, self._delete_keys = owned[:half], owned[half:]
        self.counts = Counts()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        #: code → name of every committed create/bulk row; pk → (code, name) of updated rows;
        #: deleted pks.
        self.created: dict[str, str] = {}
        self.updated: dict[Any, tuple[str, str]] = {}
        self.deleted: set[Any] = set()

    def start(self) -> None:
        for kind in self.KINDS:
            thread = threading.Thread(target=self._run, args=(kind,), name=f"writer-{kind}")
            thread.start()
            self._threads.append(thread)

    def stop(self) -> Counts:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        return self.counts

    def _record(self, kind: str, began: float, error: BaseException | None) -> None:
        with self._lock:
            self.counts.tried += 1
            if error is None:
                self.counts.committed += 1
                self.counts.by_kind[kind] = self.counts.by_kind.get(kind, 0) + 1
                self.counts.latencies.append((began, time.monotonic() - began))
            else:
                self.counts.failed += 1
                if len(self.counts.errors) < 5:
                    self.counts.errors.append(f"{kind}: {type(error).__name__}: {error}")

    def _run(self, kind: str) -> None:
        manager = self.model._base_manager.db_manager(self.alias)
        keys = iter(self._update_keys if kind == "update" else self._delete_keys)
        try:
            for i in itertools.count():
                if self._stop.is_set():
                    return
                began = time.monotonic()
                try:
                    if not self._write(kind, manager, i, keys):
                        return
                except Exception as exc:
                    self._record(kind, began, exc)
                else:
                    self._record(kind, began, None)
                time.sleep(self.pause)
        finally:
            connections.close_all()

    def _write(self, kind: str, manager: models.Manager, i: int, keys: Any) -> bool:
        """One write of ``kind``; False when the writer has no rows left to write."""
        if kind == "create":
            code, name = f"c{i}", f"created {i}"
            manager.create(code=code, name=name)
            self.created[code] = name
        elif kind == "bulk":
            rows = {f"b{i}.{j}": f"bulk {i}.{j}" for j in range(5)}
            manager.bulk_create([self.model(code=c, name=n) for c, n in rows.items()])
            self.created.update(rows)
        elif kind == "update":
            key = next(keys, None)
            if key is None:
                return False
            values = (f"u{i}", f"updated {i}")
            manager.filter(pk=key).update(code=values[0], name=values[1])
            self.updated[key] = values
        else:
            key = next(keys, None)
            if key is None:
                return False
            manager.filter(pk=key).delete()
            self.deleted.add(key)
        return True

    def count_lost(self) -> int:
        """Committed writes the table does not reflect now (call after :meth:`stop`)."""
        manager = self.model._base_manager.db_manager(self.alias)
        lost = 0
        codes = list(self.created)
        for start in range(0, len(codes), 1000):
            chunk = codes[start : start + 1000]
            found = dict(manager.filter(code__in=chunk).values_list("code", "name"))
            lost += sum(1 for code in chunk if found.get(code) != self.created[code])
        keys = list(self.updated)
        for start in range(0, len(keys), 1000):
            chunk = keys[start : start + 1000]
            found = {
                pk: (code, name)
                for pk, code, name in manager.filter(pk__in=chunk).values_list("pk", "code", "name")
            }
            lost += sum(1 for key in chunk if found.get(key) != self.updated[key])
        deleted = list(self.deleted)
        for start in range(0, len(deleted), 1000):
            lost += manager.filter(pk__in=deleted[start : start + 1000]).count()
        self.counts.lost = lost
        return lost
