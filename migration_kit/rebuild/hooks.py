"""Crash points for the kill -9 tests: ``MIGRATION_KIT_REBUILD_KILL_AT=<step>`` makes the
process running the rebuild SIGKILL itself when it reaches that step (a real kill -9, no
cleanup), so the tests can resume from every step. Unset, :func:`reached` does nothing."""

from __future__ import annotations

import os
import signal

KILL_AT_ENV = "MIGRATION_KIT_REBUILD_KILL_AT"


def reached(step: str) -> None:
    """Called by the rebuild at each step; kills this process if the tests asked for it."""
    if os.environ.get(KILL_AT_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)
