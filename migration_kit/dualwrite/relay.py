"""The relay: right after a dual write commits, apply its keys to the mirror.

``transaction.on_commit`` hands each committed batch of keys the capture wrappers recorded to
``relay.submit``; writes whose entries capture triggers wrote hand over only their alias
(``relay.poke``), and the relay then drains that outbox as ``s2_sync`` does. By default one
background thread per process does the work (``MIGRATION_KIT['RELAY']``: ``"thread"``,
``"inline"`` or ``"off"``). On success the entries are deleted, on failure they stay in the
outbox for ``s2_sync``; the writer never sees a mirror error.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections import defaultdict
from typing import Any

from django.db import connections

from migration_kit import conf
from migration_kit.dualwrite.apply import ApplyResult
from migration_kit.dualwrite.drain import apply_in_rounds, drain, drain_all, settle
from migration_kit.vendors import forget_broken, is_unreachable

logger = logging.getLogger("migration_kit.dualwrite.relay")

#: How long the relay thread gathers a burst of commits at most before applying it...
COALESCE_SECONDS = 0.1
#: ...and how long a quiet gap ends the burst early, so a lone write is applied at once.
QUIET_SECONDS = 0.005
#: How long the relay thread waits for work before it closes its connections.
IDLE_SECONDS = 1.0

#: A batch the wrappers wrote: (label, primary, mirror, batch id, keys).
_Batch = tuple[str, str, str, str, list[Any]]


class Relay:
    """Applies committed outbox work to the mirror as soon as it commits, from one thread.

    A commit only appends its batch (or its alias, once) to the pending work under a lock and
    wakes the thread if it is idle: while the thread gathers a burst it sleeps and counts
    arrivals instead of waking for every commit, so writers in a burst pay no thread switch
    and no GIL hand-over for the relay.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)  # the idle thread waits here
        self._settled = threading.Condition(self._lock)  # flush() waits here
        self._batches: list[_Batch] = []
        self._aliases: set[str] = set()  # outboxes to drain (triggers wrote the entries)
        self._arrivals = 0  # commits handed over, so the thread sees when a burst ends
        self._unfinished = 0  # pending batches and aliases not tried yet
        self._generation = 0  # bumped by stop(): a thread of an older one quits
        self._thread: threading.Thread | None = None
        self._down_until: dict[str, float] = {}  # by mirror alias
        self._drain_paused_until: dict[str, float] = {}  # by outbox alias
        self._stops_at_exit = False

    def submit(self, label: str, primary: str, mirror: str, batch: str, keys: list[Any]) -> None:
        """Called by ``transaction.on_commit``; never raises into the writer."""
        mode = conf.get("RELAY")
        if mode == "off" or time.monotonic() < self._down_until.get(mirror, 0.0):
            return
        if mode == "inline":
            self._apply({(label, primary, mirror): (keys, [batch])})
            return
        with self._lock:
            self._batches.append((label, primary, mirror, batch, keys))
            self._handed_over()

    def poke(self, alias: str) -> None:
        """Called by ``transaction.on_commit`` after a write whose entries triggers recorded on
        ``alias``: drain that outbox now. Never raises into the writer."""
        mode = conf.get("RELAY")
        if mode == "off" or time.monotonic() < self._drain_paused_until.get(alias, 0.0):
            return
        if mode == "inline":
            self._drain(alias, once=True)  # the writer waits: one batch, the rest to s2_sync
            return
        with self._lock:
            if alias in self._aliases:
                # A drain of this outbox is pending and starts after this commit: it will
                # claim this write's entries too.
                self._arrivals += 1
                return
            self._aliases.add(alias)
            self._handed_over()

    def _handed_over(self) -> None:
        """With the lock held: count one more pending item, wake or start the thread."""
        self._arrivals += 1
        self._unfinished += 1
        if not self._stops_at_exit:
            # A short-lived writer (a management command, a script) must not exit while the
            # daemon thread holds entries it claimed: they would wait out LEASE_SECONDS.
            atexit.register(self.stop)
            self._stops_at_exit = True
        thread = self._thread
        if thread is None or not thread.is_alive():
            self._thread = threading.Thread(
                target=self._loop, args=(self._generation,), name="migration_kit-relay",
                daemon=True,
            )  # fmt: skip
            self._thread.start()
        else:
            self._work.notify()  # a no-op unless the thread waits for work

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every submitted batch was tried; False on timeout."""
        with self._settled:
            return self._settled.wait_for(lambda: self._unfinished == 0, timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Finish pending work, close the thread's connections and end the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._generation += 1
            self._work.notify_all()
        if thread is not None:
            thread.join(timeout)
        # Whatever was not tried stays in the outbox for s2_sync.
        with self._settled:
            self._batches, self._aliases, self._unfinished = [], set(), 0
            self._settled.notify_all()
        self._down_until.clear()
        self._drain_paused_until.clear()

    def _loop(self, generation: int) -> None:
        try:
            while True:
                with self._lock:
                    if not (self._batches or self._aliases) and generation == self._generation:
                        self._work.wait(IDLE_SECONDS)
                    stopping = generation != self._generation
                    idle = not (self._batches or self._aliases)
                if idle:
                    if stopping:
                        return
                    # Give the connections back so test databases can be dropped and servers
                    # do not keep idle sessions for us.
                    connections.close_all()
                    continue
                if not stopping:
                    self._gather()
                with self._lock:
                    batches, self._batches = self._batches, []
                    aliases, self._aliases = self._aliases, set()
                try:
                    self._work_off(batches, aliases)
                finally:
                    self._done(generation, len(batches) + len(aliases))
        finally:
            connections.close_all()

    def _gather(self) -> None:
        """Let a burst of commits gather into one apply: per apply the work costs a dozen round
        trips and some Python, which would otherwise compete with the writers (for the GIL
        too) once per committed write. Ends at a quiet gap, so a lone write goes at once."""
        deadline = time.monotonic() + COALESCE_SECONDS
        seen = self._arrivals
        while len(self._batches) < 1000:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(QUIET_SECONDS, left))
            if self._arrivals == seen:
                return
            seen = self._arrivals

    def _work_off(self, batches: list[_Batch], aliases: set[str]) -> None:
        groups: dict[tuple[str, str, str], tuple[list[Any], list[str]]] = defaultdict(
            lambda: ([], [])
        )
        for label, primary, mirror, batch, keys in batches:
            group = groups[label, primary, mirror]
            group[0].extend(keys)
            group[1].append(batch)
        self._apply(groups)
        for alias in sorted(aliases):
            self._drain(alias)

    def _done(self, generation: int, count: int) -> None:
        with self._settled:
            if generation == self._generation:
                self._unfinished -= count
            self._settled.notify_all()

    def _drain(self, alias: str, once: bool = False) -> None:
        """Drain ``alias``'s outbox until nothing is due (``once``: one batch). Failed entries
        keep their backoff for s2_sync; when the outbox or a mirror could not be reached,
        draining ``alias`` from the relay pauses for ``MIRROR_DOWN_SECONDS``, so a mirror that is
        down is not retried on every write."""
        try:
            unreachable = (drain(alias) if once else drain_all([alias])).unreachable
        except Exception as exc:
            forget_broken(alias)
            logger.warning("relay: cannot drain the outbox on %r: %s", alias, exc)
            unreachable = True
        if unreachable:
            pause = conf.get("MIRROR_DOWN_SECONDS")
            self._drain_paused_until[alias] = time.monotonic() + pause

    def _apply(self, groups: dict[tuple[str, str, str], tuple[list[Any], list[str]]]) -> None:
        now = time.monotonic()
        todo = [g for g in groups if now >= self._down_until.get(g[2], 0.0)]

        def apply_group(group_key: tuple[str, str, str]) -> ApplyResult:
            label, primary, mirror = group_key
            keys, batches = groups[group_key]
            return settle(primary, label, keys, primary, mirror, "batch", batches)

        _, failed = apply_in_rounds(todo, apply_group)
        for (label, _primary, mirror), exc in failed.items():
            if is_unreachable(exc):
                # The mirror is unreachable: stop trying on every write for a while. A deadlock
                # or lock timeout (also OperationalError) only leaves these keys to s2_sync.
                self._down_until[mirror] = time.monotonic() + conf.get("MIRROR_DOWN_SECONDS")
            logger.warning(
                "relay: %d key(s) of %s not applied to %r, left in the outbox: %s",
                len(groups[label, _primary, mirror][0]),
                label,
                mirror,
                exc,
            )


relay = Relay()
