"""Fault test: kill -9 the backfill (all its processes) at random points, resume, verify."""

from __future__ import annotations

import io
import os
import random
import signal
import subprocess
import sys
import time

import pytest
from django.core.management import call_command
from django.db import connections

from migration_kit.models import BackfillCheckpoint
from tests.kit.kitapp.models import Everything
from tests.kit.rows import everything_rows

pytestmark = pytest.mark.django_db(
    transaction=True, reset_sequences=True, databases=["default", "mysql"]
)
ROWS = 4000
KILLS = 4
TIME_LIMIT = 60.0


def start_backfill(workers: int) -> subprocess.Popen:
    env = dict(os.environ)
    for alias in ("default", "mysql"):
        env[f"S2KIT_DB_{alias.upper()}"] = connections[alias].settings_dict["NAME"]
    env["DJANGO_SETTINGS_MODULE"] = "tests.kit.subprocess_settings"
    command = [
        sys.executable, "-m", "django", "s2_backfill", "kitapp.Everything",
        "--source", "default", "--target", "mysql", "--batch-size", "25",
        "--workers", str(workers), "--skip-checks",
    ]  # fmt: skip
    return subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # a process group: the kill takes the workers down too
    )


def copied() -> int:
    return sum(BackfillCheckpoint.objects.values_list("rows_copied", flat=True))


def test_kill_9_at_random_points_then_resume_is_complete_and_clean() -> None:
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    Everything.objects.using("default").bulk_create(everything_rows(ROWS))
    deadline = time.monotonic() + TIME_LIMIT
    partial_kills = 0
    for round_ in range(KILLS):
        before = copied()
        threshold = before + rng.randrange(50, ROWS // (KILLS + 1))
        proc = start_backfill(workers=2 if round_ % 2 else 1)
        while proc.poll() is None and copied() < threshold and time.monotonic() < deadline:
            time.sleep(0.01)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        assert time.monotonic() < deadline, f"seed {seed}: too slow"
        if not all(BackfillCheckpoint.objects.values_list("finished", flat=True)):
            partial_kills += 1
        # Everything checkpointed is on the target; the target may hold a little more.
        assert Everything.objects.using("mysql").count() >= copied(), f"seed {seed}"
    assert partial_kills >= KILLS - 1, f"seed {seed}: kills did not land mid-copy"
    proc = start_backfill(workers=2)
    _, err = proc.communicate(timeout=TIME_LIMIT)
    assert proc.returncode == 0, err.decode()
    assert all(BackfillCheckpoint.objects.values_list("finished", flat=True))
    with connections["mysql"].cursor() as cursor:
        cursor.execute("SELECT COUNT(*), COUNT(DISTINCT id) FROM kitapp_everything")
        assert cursor.fetchone() == (ROWS, ROWS)
    out = io.StringIO()
    call_command("s2_verify", "kitapp.Everything", source="default", target="mysql", stdout=out)
    assert "0 differing" in out.getvalue(), f"seed {seed}: {out.getvalue()}"
