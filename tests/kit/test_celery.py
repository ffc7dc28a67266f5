"""``--celery`` backfill and verify on a real broker (Redis) and real ``celery worker`` processes:
a worker killed with -9 mid-range, a backfill racing live dual writes drained by the
``drain_outbox`` task, a verify that finds and repairs planted differences, ``--no-wait`` with
``s2_status``, usage errors."""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connections, transaction

from migration_kit.backfill import Options, backfill
from migration_kit.models import BackfillCheckpoint, VerifyRun
from tests.kit.celeryapp.processes import Workers
from tests.kit.commands import json_result
from tests.kit.kitapp.models import Everything
from tests.kit.rows import everything_rows, snapshot
from tests.kit.syncapp.testing import mirrored, pending

pytestmark = [
    pytest.mark.s2,
    pytest.mark.django_db(
        transaction=True, reset_sequences=True, databases=["default", "mysql", "s2"]
    ),
]
WORKERS = 3
TIME_LIMIT = 120.0


@pytest.fixture(scope="module")
def pool(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workers]:
    """Three workers on this session's own queue, for the module (started once: ~2 s each)."""
    queue = f"s2kit-tests-{os.environ.get('TOX_PARALLEL_ENV', 'main')}-{os.getpid()}"
    os.environ["S2KIT_CELERY_QUEUE"] = queue
    from tests.kit.celeryapp.app import app

    app.conf.task_default_queue = queue
    workers = Workers(queue, tmp_path_factory.mktemp("celery"))
    try:
        workers.start(WORKERS)
        yield workers
    finally:
        workers.stop()
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge(queue)


@pytest.fixture
def workers(pool: Workers) -> Workers:
    """The module's workers, topped up to three (a test may have killed some)."""
    missing = WORKERS - len(pool.procs)
    if missing > 0:
        pool.start(missing)
    return pool


def in_thread(function: Any, /, *args: Any, **kwargs: Any) -> tuple[threading.Thread, dict]:
    """Run ``function`` in a thread; its return value or exception lands in the dict."""
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["value"] = function(*args, **kwargs)
        except BaseException as exc:
            out["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def joined(thread: threading.Thread, out: dict) -> Any:
    thread.join(TIME_LIMIT)
    assert not thread.is_alive(), "the command did not finish"
    if "error" in out:
        raise out["error"]
    return out["value"]


def target_rows() -> tuple[int, int]:
    with connections["s2"].cursor() as cursor:
        cursor.execute("SELECT COUNT(*), COUNT(DISTINCT id) FROM kitapp_everything")
        return cursor.fetchone()


def verify_clean(source: str) -> None:
    code, out = json_result(
        "s2_verify", "kitapp.Everything", source=source, target="s2", lag_wait=0
    )
    assert code == 0 and out["models"][0]["differences"] == 0, out


@pytest.mark.parametrize("source", ["default", "mysql"])
def test_a_worker_killed_mid_range_loses_and_duplicates_nothing(
    workers: Workers, source: str
) -> None:
    rows = 4000
    Everything.objects.using(source).bulk_create(everything_rows(rows))
    thread, out = in_thread(
        json_result, "s2_backfill", "kitapp.Everything", source=source, target="s2",
        celery=True, ranges=6, batch_size=40, lease_seconds=3,
    )  # fmt: skip
    victim = None
    deadline = time.monotonic() + TIME_LIMIT
    while victim is None:
        assert time.monotonic() < deadline and thread.is_alive(), out
        busy = BackfillCheckpoint.objects.filter(rows_copied__gt=0, finished=False)
        for pk, holder in busy.exclude(lease_owner="").values_list("pk", "lease_owner"):
            name = workers.by_pid(int(holder.split(":")[1]))
            if name is not None:
                victim = (name, pk)
                break
        time.sleep(0.005)
    workers.kill(victim[0])
    code, result = joined(thread, out)
    assert code == 0, result
    summary = result["models"][0]
    assert summary["finished"] and summary["rows_total"] == rows, summary
    assert summary["ranges"] == 6 and summary["method"] == "load", summary
    assert target_rows() == (rows, rows)
    taken = BackfillCheckpoint.objects.get(pk=victim[1])
    assert taken.finished and taken.takeovers >= 1 and taken.lease_owner == ""
    verify_clean(source)


def test_a_worker_host_lost_is_taken_over_once_its_lease_expires(pool: Workers) -> None:
    """Workers with hostnames of their own: no dead pid to see, only the lease's expiry."""
    if not Workers.can_own_hosts():
        pytest.skip("unshare --uts is not permitted here")
    hosts = Workers(f"{pool.queue}-hosts", pool.log_dir)
    hosts.start(2, own_hosts=True)
    from tests.kit.celeryapp.app import app

    app.conf.task_default_queue = hosts.queue
    try:
        rows = 3000
        Everything.objects.using("default").bulk_create(everything_rows(rows))
        thread, out = in_thread(
            json_result, "s2_backfill", "kitapp.Everything", source="default", target="s2",
            celery=True, ranges=4, batch_size=40, lease_seconds=2,
        )  # fmt: skip
        victim = None
        deadline = time.monotonic() + TIME_LIMIT
        while victim is None:
            assert time.monotonic() < deadline and thread.is_alive(), out
            busy = BackfillCheckpoint.objects.filter(rows_copied__gt=0, finished=False)
            for pk, holder in busy.exclude(lease_owner="").values_list("pk", "lease_owner"):
                assert holder.startswith("celery-host-"), holder
                name = hosts.by_pid(int(holder.split(":")[1]))
                if name is not None:
                    victim = (name, pk)
                    break
            time.sleep(0.005)
        hosts.kill(victim[0])
        killed_at = time.monotonic()
        code, result = joined(thread, out)
        assert code == 0 and result["models"][0]["rows_total"] == rows, result
        assert time.monotonic() - killed_at >= 2.0  # it waited for the lease to expire
        taken = BackfillCheckpoint.objects.get(pk=victim[1])
        assert taken.finished and taken.takeovers == 1
        assert target_rows() == (rows, rows)
        verify_clean("default")
    finally:
        app.conf.task_default_queue = pool.queue
        hosts.stop()
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge(hosts.queue)


def test_a_celery_backfill_racing_live_dual_writes_ends_equal(workers: Workers) -> None:
    from migration_kit.tasks import drain_outbox

    rows = 2000
    Everything.objects.using("default").bulk_create(everything_rows(rows))
    stop = threading.Event()
    errors: list[BaseException] = []
    writes = [0, 0]

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        try:
            while not stop.is_set():
                writes[seed] += 1
                pk = rng.randrange(1, rows + 1)
                with transaction.atomic(using="default"):
                    if rng.random() < 0.2:
                        Everything.objects.filter(pk=pk).delete()
                    else:
                        Everything.objects.filter(pk=pk).update(name=f"w{seed}-{rng.random()}")
                time.sleep(0.002)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    def drainer() -> None:
        while not stop.is_set():
            drain_outbox.delay(aliases=["default"])
            time.sleep(0.3)

    with mirrored("default", "s2", relay="off"):
        threads = [threading.Thread(target=writer, args=(i,)) for i in range(2)]
        threads.append(threading.Thread(target=drainer))
        for t in threads:
            t.start()
        try:
            code, result = json_result(
                "s2_backfill", "kitapp.Everything", source="default", target="s2",
                celery=True, ranges=4, batch_size=100, lock="on",
            )  # fmt: skip
            time.sleep(0.5)  # writes keep landing after the copy, too
        finally:
            stop.set()
            for t in threads:
                t.join()
        assert not errors, errors
        assert code == 0 and result["models"][0]["locked"], result
        assert sum(writes) > 100, writes
        deadline = time.monotonic() + TIME_LIMIT
        while pending("default"):
            assert time.monotonic() < deadline, "the outbox was not drained"
            drain_outbox.delay(aliases=["default"])
            time.sleep(0.3)
    assert snapshot(Everything, "default") == snapshot(Everything, "s2")
    verify_clean("default")


def test_a_celery_verify_finds_and_repairs_planted_differences(workers: Workers) -> None:
    rows = 1500
    Everything.objects.using("mysql").bulk_create(everything_rows(rows))
    assert backfill(Everything, "mysql", "s2", Options(batch_size=500)).finished
    Everything.objects.using("s2").filter(pk=10).delete()  # missing on the target
    Everything.objects.using("s2").filter(pk=700).update(name="changed")  # differs
    Everything.objects.using("mysql").filter(pk=1400).delete()  # extra on the target
    args = ("s2_verify", "kitapp.Everything")
    opts = {"source": "mysql", "target": "s2", "celery": True, "ranges": 4, "lag_wait": 0}
    code, found = json_result(*args, **opts)
    model = found["models"][0]
    assert code == 1 and model["differences"] == 3, found
    assert sorted(model["sample"]) == [10, 700, 1400] and model["remaining"] == 3
    assert model["source_rows"] == rows - 1 and model["target_rows"] == rows - 1
    assert BackfillCheckpoint.objects.filter(kind="verify").count() == 4
    code, fixed = json_result(*args, repair=True, **opts)
    assert code == 0 and fixed["models"][0]["repaired"] == 3, fixed
    assert VerifyRun.objects.latest("started_at").repaired == 3
    verify_clean("mysql")


def test_no_wait_enqueues_and_s2_status_shows_the_leases(workers: Workers) -> None:
    rows = 1200
    Everything.objects.using("default").bulk_create(everything_rows(rows))
    with mirrored("default", "s2", phase="legacy"):
        code, queued = json_result(
            "s2_backfill", "kitapp.Everything", celery=True, no_wait=True, ranges=3,
            batch_size=10,
        )  # fmt: skip
        assert code == 0 and not queued["models"][0]["finished"], queued
        seen_leased = 0
        deadline = time.monotonic() + TIME_LIMIT
        while True:
            _, status = json_result("s2_status", "kitapp.Everything")
            backfill_status = status["models"][0]["backfill"]
            seen_leased = max(seen_leased, backfill_status["leases"]["leased"])
            if backfill_status["finished"]:
                break
            assert time.monotonic() < deadline, backfill_status
            time.sleep(0.05)
        assert seen_leased >= 1, "s2_status never showed a leased range"
        assert backfill_status["rows_copied"] == rows
        assert backfill_status["leases"] == {
            "leased": 0, "expired": 0, "owners": [], "takeovers": 0
        }  # fmt: skip
    assert target_rows() == (rows, rows)
    code, verified = json_result(
        "s2_verify", "kitapp.Everything", source="default", target="s2", celery=True,
        no_wait=True, ranges=2, lag_wait=0,
    )  # fmt: skip
    run = VerifyRun.objects.get(pk=verified["models"][0]["verify_run"])
    deadline = time.monotonic() + TIME_LIMIT
    while run.finished_at is None:
        assert time.monotonic() < deadline and not run.error, run.error
        time.sleep(0.1)
        run.refresh_from_db()
    assert run.clean and run.source_rows == rows


@pytest.mark.parametrize(
    ("name", "opts"),
    [
        ("s2_backfill", {"ranges": 4}),
        ("s2_backfill", {"no_wait": True}),
        ("s2_backfill", {"celery": True, "workers": 2}),
        ("s2_backfill", {"celery": True, "ranges": 0}),
        ("s2_verify", {"ranges": 4}),
        ("s2_verify", {"celery": True, "lease_seconds": 0}),
    ],
)
def test_usage_errors_exit_2(name: str, opts: dict) -> None:
    code, _ = json_result(name, "kitapp.Everything", source="default", target="s2", **opts)
    assert code == 2
