"""The rebuild's throttle: the apply of captured keys must keep up, or the rebuild waits.

Writers faster than the apply would keep a rebuild from ever reaching its fence, so each apply
round measures the backlog (captured keys not applied yet) and the apply rate, and:

- the fence starts only once the backlog fits the fence's budget: at most ``Options.backlog``
  keys, and no more than the measured rate drains in :data:`DRAIN_SHARE` of ``fence_seconds``
  (the rest of the fence is the verify's);
- a backlog that fits the budget, or is smaller than ever before, is progress; with none for
  ``pause_after`` seconds the copy pauses (every round goes to the apply) until the backlog
  fits the budget again;
- with none for ``stop_after`` seconds the rebuild stops before any fence
  (:class:`RebuildStopped`): the old table is in place, capture stays on, and
  ``s2_rebuild --resume`` (or ``migrate`` again) carries on from the step it reached.

As gh-ost does, the rebuild throttles only itself: writers are never slowed down.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

#: Share of the fence the final drain may take, at the measured apply rate.
DRAIN_SHARE = 0.5
#: Longest apply round between two copy chunks (or two fence attempts), seconds.
ROUND_SECONDS = 1.0
#: Weight of the newest round in the measured apply rate.
RATE_WEIGHT = 0.5

RUNNING, PAUSED, STOPPED = "running", "paused", "stopped"


class RebuildStopped(Exception):
    """The apply did not keep up within the stop window; nothing was fenced or swapped, the
    old table is in place, capture stays on, and ``--resume`` continues. ``outcome`` says how
    far it got."""

    def __init__(self, message: str, outcome: Any = None) -> None:
        super().__init__(message)
        self.outcome = outcome


@dataclass
class Throttle:
    """One run's view of the backlog: the budget, the measured rate, pause and stop."""

    backlog_cap: int
    fence_seconds: float
    pause_after: float
    stop_after: float
    apply_rate_cap: float | None = None
    state: str = RUNNING
    waiting: int = 0
    #: Keys per second the apply settled, measured (None until a round settled some).
    rate: float | None = None
    pauses: int = 0
    paused_seconds: float = 0.0
    _best: int | None = None
    _progress_at: float = field(default_factory=time.monotonic)
    _paused_at: float | None = None

    def budget(self) -> int:
        """Captured keys the fence may start with."""
        if self.rate is None:
            return self.backlog_cap
        return min(self.backlog_cap, int(self.rate * self.fence_seconds * DRAIN_SHARE))

    def fits(self) -> bool:
        return self.waiting <= self.budget()

    @property
    def paused(self) -> bool:
        return self.state == PAUSED

    def stalled_seconds(self, now: float | None = None) -> float:
        """Seconds since the backlog last fitted the budget or shrank below its minimum."""
        return (time.monotonic() if now is None else now) - self._progress_at

    def observe(self, waiting: int, settled: int, seconds: float) -> str:
        """Take one apply round's result; returns the state: running, paused or stopped."""
        now = time.monotonic()
        if settled and seconds > 0:
            measured = settled / seconds
            self.rate = (
                measured
                if self.rate is None
                else RATE_WEIGHT * measured + (1 - RATE_WEIGHT) * self.rate
            )
        self.waiting = waiting
        if self.fits() or self._best is None or waiting < self._best:
            self._best, self._progress_at = waiting, now
        stalled = self.stalled_seconds(now)
        if stalled >= self.stop_after:
            self._end_pause(now)
            self.state = STOPPED
        elif self.state == PAUSED and self.fits():
            self._end_pause(now)
            self.state = RUNNING
        elif self.state == RUNNING and stalled >= self.pause_after:
            self.state, self._paused_at = PAUSED, now
            self.pauses += 1
        return self.state

    def _end_pause(self, now: float) -> None:
        if self._paused_at is not None:
            self.paused_seconds += now - self._paused_at
            self._paused_at = None

    def as_dict(self) -> dict[str, Any]:
        """What ``s2_rebuild --format json`` and ``s2_status`` show (and the state row keeps)."""
        paused = self.paused_seconds
        if self._paused_at is not None:
            paused += time.monotonic() - self._paused_at
        return {
            "state": self.state,
            "backlog": self.waiting,
            "fence_budget": self.budget(),
            "apply_rate": None if self.rate is None else round(self.rate, 1),
            "apply_rate_cap": self.apply_rate_cap,
            "stalled_seconds": round(self.stalled_seconds(), 1),
            "pauses": self.pauses,
            "paused_seconds": round(paused, 1),
            "pause_after": self.pause_after,
            "stop_after": self.stop_after,
        }
