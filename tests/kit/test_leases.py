"""Range leases: claim, renew, release, fencing, takeover of expired and dead owners, and
``s2_backfill`` processes racing for one model (PostgreSQL and MariaDB sources → SingleStore)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from migration_kit.backfill import Options, backfill, leases
from migration_kit.models import BackfillCheckpoint
from tests.kit.celeryapp.processes import manage
from tests.kit.commands import json_result
from tests.kit.kitapp.models import Everything
from tests.kit.rows import everything_rows

pytestmark = pytest.mark.django_db(
    transaction=True, reset_sequences=True, databases=["default", "mysql", "s2"]
)
ELSEWHERE = "another-host:4242:0123456789ab"  # a holder on a host we cannot look into
SOURCES = ["default", "mysql"]


def checkpoint(**fields: object) -> BackfillCheckpoint:
    return BackfillCheckpoint.objects.create(
        model_label="kitapp.Everything", source_alias="default", target_alias="s2", **fields
    )


def hold(pk: int, holder: str, seconds: float) -> None:
    """Make ``holder`` the owner of range ``pk`` for ``seconds`` (negative: expired)."""
    BackfillCheckpoint.objects.filter(pk=pk).update(
        lease_owner=holder, lease_expires_at=timezone.now() + timedelta(seconds=seconds)
    )


def row(pk: int) -> BackfillCheckpoint:
    return BackfillCheckpoint.objects.get(pk=pk)


@pytest.mark.s2
def test_claim_renew_release_and_a_fenced_save() -> None:
    cp = checkpoint()
    mine = leases.claim(cp.pk, seconds=30)
    assert mine is not None and mine.lease_owner == leases.owner()
    host, pid, _ = mine.lease_owner.split(":")
    assert int(pid) == os.getpid() and host
    first = row(cp.pk).lease_expires_at
    time.sleep(0.01)
    leases.renew(mine)
    assert row(cp.pk).lease_expires_at > first
    mine.rows_copied = 7
    mine.save(update_fields=["rows_copied", "updated_at"])
    assert row(cp.pk).rows_copied == 7
    # Taken over (ours expired meanwhile): no save of ours may touch the new owner's row.
    hold(cp.pk, ELSEWHERE, 30)
    mine.rows_copied = 99
    with pytest.raises(leases.LeaseLost):
        mine.save(update_fields=["rows_copied", "updated_at"])
    with pytest.raises(leases.LeaseLost):
        leases.renew(mine)
    assert row(cp.pk).rows_copied == 7 and row(cp.pk).lease_owner == ELSEWHERE
    leases.release(mine)  # not ours any more: nothing changes
    assert row(cp.pk).lease_owner == ELSEWHERE
    assert leases.claim(cp.pk, seconds=30) is None
    hold(cp.pk, leases.owner(), 30)
    leases.release(row(cp.pk))
    assert row(cp.pk).lease_owner == "" and row(cp.pk).lease_expires_at is None


@pytest.mark.s2
def test_takeover_after_expiry_and_at_once_from_a_dead_process_here() -> None:
    live, dead, done = (
        checkpoint(range_index=0),
        checkpoint(range_index=1),
        checkpoint(range_index=2, finished=True),
    )
    hold(live.pk, ELSEWHERE, 1.0)
    assert leases.claim(live.pk) is None
    time.sleep(1.1)
    taken = leases.claim(live.pk)
    assert taken is not None and row(live.pk).takeovers == 1
    # A process of this host that is gone: no need to wait for its lease to expire.
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                           capture_output=True, text=True)  # fmt: skip
    gone = f"{os.uname().nodename}:{child.stdout.strip()}:feedfacecafe"
    hold(dead.pk, gone, 600)
    assert leases.claim(dead.pk) is not None and row(dead.pk).takeovers == 1
    # A live process of this host keeps its lease until it expires.
    hold(dead.pk, f"{os.uname().nodename}:{os.getppid()}:feedfacecafe", 600)
    assert leases.claim(dead.pk) is None
    assert leases.claim(done.pk) is None  # finished ranges are never claimed
    progress = leases.progress("kitapp.Everything", "default", "s2")
    assert progress["leased"] == 2 and progress["takeovers"] == 2, progress


def target_rows() -> tuple[int, int]:
    with connections["s2"].cursor() as cursor:
        cursor.execute("SELECT COUNT(*), COUNT(DISTINCT id) FROM kitapp_everything")
        return cursor.fetchone()


@pytest.mark.s2
@pytest.mark.parametrize("source", SOURCES)
def test_two_backfills_racing_copy_each_range_once(source: str) -> None:
    rows = 3000
    Everything.objects.using(source).bulk_create(everything_rows(rows))
    args = ["s2_backfill", "kitapp.Everything", "--source", source, "--target", "s2",
            "--batch-size", "50", "--workers", "2", "--format", "json"]  # fmt: skip
    procs = [manage(*args) for _ in range(2)]
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
        outputs.append(json.loads(out)["models"][0])
    # Each range was copied by exactly one process: the two runs' rows add up to the table.
    assert sum(o["rows_copied"] for o in outputs) == rows, outputs
    assert all(o["finished"] and o["rows_total"] == rows for o in outputs), outputs
    assert BackfillCheckpoint.objects.count() == 2  # one plan, though both raced to make it
    assert target_rows() == (rows, rows)
    code, verified = json_result("s2_verify", "kitapp.Everything", source=source, target="s2",
                                 lag_wait=0)  # fmt: skip
    assert code == 0 and verified["models"][0]["differences"] == 0


@pytest.mark.s2
@pytest.mark.parametrize("source", SOURCES)
def test_a_stolen_lease_stops_the_loser_which_takes_it_back_after_expiry(source: str) -> None:
    rows = 1500
    Everything.objects.using(source).bulk_create(everything_rows(rows))
    stolen: dict[str, object] = {}

    def thief() -> None:
        # Another host takes the range over once some rows are checkpointed (as if ours had
        # expired), then dies without copying anything: its lease runs out after 2 s.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            cp = BackfillCheckpoint.objects.filter(rows_copied__gt=0).first()
            if cp is not None:
                stolen["at"] = cp.rows_copied
                hold(cp.pk, ELSEWHERE, 2.0)
                break
            time.sleep(0.005)
        connections.close_all()

    watcher = threading.Thread(target=thief)
    watcher.start()
    began = time.monotonic()
    result = backfill(Everything, source, "s2", Options(batch_size=20, lease_seconds=30))
    watcher.join()
    assert "at" in stolen, "the thief never saw a checkpoint"
    assert any("taken over" in note for note in result.notes), result.notes
    assert result.finished and time.monotonic() - began >= 2.0
    cp = BackfillCheckpoint.objects.get()
    assert cp.takeovers == 1 and cp.lease_owner == "" and cp.rows_copied == rows
    assert target_rows() == (rows, rows)


def stopped_state(pid: int) -> str:
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        return stat.read().rpartition(")")[2].split()[0]


@pytest.mark.s2
def test_a_frozen_backfill_is_taken_over_after_expiry_and_stops_cleanly_on_waking() -> None:
    rows = 2000
    Everything.objects.using("default").bulk_create(everything_rows(rows))
    args = ["s2_backfill", "kitapp.Everything", "--source", "default", "--target", "s2",
            "--batch-size", "20", "--lease-seconds", "2", "--format", "json"]  # fmt: skip
    frozen = manage(*args)
    deadline = time.monotonic() + 60
    while not BackfillCheckpoint.objects.filter(rows_copied__gte=200).exists():
        assert time.monotonic() < deadline and frozen.poll() is None
        time.sleep(0.01)
    os.killpg(frozen.pid, signal.SIGSTOP)  # alive, but neither copying nor renewing
    try:
        while stopped_state(frozen.pid) != "T":  # the signal lands asynchronously
            time.sleep(0.001)
        at = BackfillCheckpoint.objects.get().rows_copied
        taker = manage(*args)
        # Once the lease has expired and been taken, wake the frozen run: a statement it had in
        # flight (and the row locks that holds on the target) completes, then its next
        # checkpoint save finds the lease gone.
        while not BackfillCheckpoint.objects.filter(takeovers=1).exists():
            assert time.monotonic() < deadline and taker.poll() is None, taker.stderr
            time.sleep(0.01)
    finally:
        os.killpg(frozen.pid, signal.SIGCONT)
    out, err = taker.communicate(timeout=120)
    assert taker.returncode == 0, err.decode()
    took = json.loads(out)["models"][0]
    out, err = frozen.communicate(timeout=60)
    assert frozen.returncode == 0, err.decode()
    woke = json.loads(out)["models"][0]
    assert any("taken over" in note for note in woke["notes"]), woke
    assert woke["finished"] and took["finished"]
    cp = BackfillCheckpoint.objects.get()
    assert cp.takeovers == 1 and cp.rows_copied == rows, (cp.takeovers, cp.rows_copied)
    # The taker resumed from the frozen run's checkpoint (at most a batch re-read).
    assert rows - at - 20 <= took["rows_copied"] <= rows - at + 20, (at, took)
    assert target_rows() == (rows, rows)
