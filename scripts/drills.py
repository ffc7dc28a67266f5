"""``make drills``: the migration's fault drills on the example shop, with counts.

1. kill -9 during backfill — writers run on ``shop.Order`` (dual write) while
   ``manage.py s2_backfill`` is killed with SIGKILL (its whole process group) part-way; a rerun
   resumes from its checkpoints.
2. SingleStore outage during dual write — concurrent writers keep writing while the SingleStore
   server (the emulator) is SIGKILLed and restarted; source writes must all commit, the outbox
   keeps the mirror writes, ``manage.py s2_sync`` drains them after the restart.
3. many tenants at once — one writer thread per tenant database on SingleStore
   (``s2router.tenant``), all at the same time; every row must land in its own tenant.
4. online rebuild — four ORM writers (create, update, delete, bulk) on a 200,000-row
   columnstore table while a CharField ``max_length`` change and a NULL → NOT NULL change are
   rebuilt online (``migration_kit.rebuild``); prints the fence length and the writers' p99.
5. a worker host lost mid-backfill — ``s2_backfill shop.Order --celery`` on three ``celery
   worker`` processes (Redis broker), each its own "host" (a UTS namespace with its own
   hostname, where ``unshare`` works; else its own process group) while writers keep writing;
   the worker holding a range part-way is killed with SIGKILL (its whole process group) and
   its range is taken over when its lease expires.

Each drill prints: writes attempted, committed, keys mirrored, keys lost (must be 0) and the
``s2_verify`` result. Exit 0 when every drill holds, 1 otherwise. Without ``S2_URL`` the
emulator stands in for SingleStore (the outage drill needs it: it kills the server). The
databases are ``s2kit_demo*_drill``, recreated on each run.
"""

from __future__ import annotations

import argparse
import io
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import demo
from demo import StepFailed, Traffic, manage, new_emulator, say, start_emulator, stop_relay

from s2emulator.process import EmulatorProcess

TENANTS = [f"t{i:02d}" for i in range(1, 9)]
DRILL_S2_DATABASE = "s2kit_demo_s2_drill"


@dataclass
class Result:
    """One line of the final table."""

    drill: str
    attempted: int = 0
    committed: int = 0
    mirrored: int = 0
    lost: int = -1
    verify: str = "not run"
    ok: bool = False
    skipped: bool = False  # not run here; never counted as a pass
    note: str = ""


def configure(emulator: EmulatorProcess) -> None:
    """Point the example project at the drill databases (and the emulator) and set Django up."""
    for var, url in (
        ("PG_URL", "postgresql://s2kit:s2kit@127.0.0.1:5432/s2kit_demo_drill"),
        ("MYSQL_URL", "mysql://s2kit:s2kit@127.0.0.1:3306/s2kit_demo_legacy_drill"),
    ):
        os.environ.setdefault(var, url)
    os.environ["EXAMPLE_TENANTS"] = ",".join(TENANTS)
    if not os.environ.get("S2_URL"):
        os.environ["S2_EMULATOR_URL"] = start_emulator(emulator, DRILL_S2_DATABASE)
    sys.path[:0] = [str(demo.EXAMPLE), str(demo.ROOT)]
    os.environ["DJANGO_SETTINGS_MODULE"] = "exampleproject.settings"
    import django

    django.setup()


def compare(keys: set[int]) -> tuple[int, int]:
    """(mirrored, lost): written keys whose SingleStore row equals the source row, and not."""
    from shop.models import Order

    fields = [f.attname for f in Order._meta.concrete_fields]
    ordered = sorted(keys)
    mirrored = lost = 0
    for start in range(0, len(ordered), 2000):
        chunk = ordered[start : start + 2000]
        rows = {
            alias: {r[0]: r for r in Order.objects.using(alias).filter(pk__in=chunk).values_list(
                *fields
            )}
            for alias in ("default", "s2")
        }  # fmt: skip
        for key in chunk:
            if rows["default"].get(key) == rows["s2"].get(key):
                mirrored += 1
            else:
                lost += 1
    return mirrored, lost


def drain_and_verify(result: Result, traffic: Traffic) -> None:
    """Drain the outbox until empty, verify, and count mirrored/lost written keys."""
    from migration_kit.models import OutboxEntry

    deadline = time.monotonic() + 60
    while True:
        manage("s2_sync", expect=(0, 1))
        pending = OutboxEntry.objects.using("default").count()
        if not pending or time.monotonic() > deadline:
            break
        say(f"  {pending} outbox entries waiting for their retry time")
        time.sleep(1.0)
    code = _verify()
    result.verify = "clean" if code == 0 else f"NOT clean (exit {code})"
    result.attempted, result.committed = traffic.attempted, traffic.committed
    result.mirrored, result.lost = compare(traffic.touched)
    result.ok = code == 0 and result.lost == 0 and traffic.failed == 0 and not pending
    if pending:
        result.note += f"; {pending} entries still in the outbox"


def _verify() -> int:
    try:
        manage("s2_verify", "shop.Order", "--lag-wait", "10")
    except StepFailed:
        return 1
    return 0


def writers(traffic: Traffic, count: int, seed: int) -> tuple[threading.Event, list[Any]]:
    stop = threading.Event()
    threads = [
        threading.Thread(target=demo.order_writes, args=(traffic, stop, seed + i))
        for i in range(count)
    ]
    for t in threads:
        t.start()
    return stop, threads


def finish(stop: threading.Event, threads: list[Any]) -> None:
    stop.set()
    for t in threads:
        t.join()


def drill_kill_backfill(rows: int) -> Result:
    from django.db.models import Count, Sum
    from shop.models import Order

    from migration_kit.models import BackfillCheckpoint

    result = Result("kill -9 during backfill")
    total = Order.objects.count()
    traffic = Traffic()
    stop, threads = writers(traffic, 2, 10)
    try:
        args = ["s2_backfill", "shop.Order", "--workers", "2", "--batch-size", "2000"]
        say(f"  $ manage.py {' '.join(args)}   (killed with SIGKILL at ~40%)")
        process = subprocess.Popen(
            [sys.executable, str(demo.MANAGE), *args],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        copied = 0
        while process.poll() is None and copied < total * 0.4:
            time.sleep(0.2)
            copied = (
                BackfillCheckpoint.objects.filter(model_label="shop.Order").aggregate(
                    n=Sum("rows_copied")
                )["n"]
                or 0
            )
        if process.poll() is not None:
            raise StepFailed(f"the backfill finished before the kill (copied {copied})")
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        say(f"  killed at {copied:,} of {total:,} rows checkpointed")
        out = manage("s2_backfill", "shop.Order", "--workers", "2")
        result.note = f"killed at {copied:,}/{total:,}; rerun: " + out.strip().split(": ", 1)[-1]
    finally:
        finish(stop, threads)
    drain_and_verify(result, traffic)
    keys = Order.objects.using("s2").aggregate(n=Count("pk"), distinct=Count("pk", distinct=True))
    duplicates = keys["n"] - keys["distinct"]
    result.note += f"; {duplicates} duplicate keys on SingleStore"
    result.ok = result.ok and duplicates == 0
    return result


DRILL_QUEUE = f"s2kit-drill-{os.getpid()}"
CELERY_LEASE_SECONDS = 5


def celery_app() -> Any:
    """The drill's Celery app, as a project's ``celery.py`` makes it; ``celery -A drills``
    finds it as the module's ``app`` (``__getattr__`` below). Needs Django's settings."""
    from celery import Celery

    global _app
    if _app is None:
        _app = Celery("s2kit_drills")
        _app.config_from_object("django.conf:settings", namespace="CELERY")
        _app.conf.broker_url = os.environ.get("S2KIT_CELERY_BROKER", "redis://127.0.0.1:6379/0")
        _app.conf.task_default_queue = os.environ.get("S2KIT_DRILL_QUEUE", DRILL_QUEUE)
        _app.conf.worker_prefetch_multiplier = 1
        _app.conf.task_ignore_result = True
        _app.autodiscover_tasks(["migration_kit"])
    return _app


_app: Any = None


def __getattr__(name: str) -> Any:
    if name == "app":
        return celery_app()
    raise AttributeError(name)


def _own_hosts() -> bool:
    """Whether ``unshare --uts`` works here (each worker then gets a hostname of its own)."""
    try:
        probe = subprocess.run(["unshare", "--uts", "hostname", "probe"], capture_output=True)
    except OSError:
        return False
    return probe.returncode == 0


def start_workers(count: int, own_hosts: bool) -> list[tuple[str, subprocess.Popen]]:
    """``count`` solo-pool workers on the drill's queue, each in its own process group."""
    env = dict(os.environ, S2KIT_DRILL_QUEUE=DRILL_QUEUE)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parent), *sys.path])
    started = []
    for i in range(1, count + 1):
        host = f"drill-worker-{i}"
        worker = [sys.executable, "-m", "celery", "-A", "drills", "worker", "-Q", DRILL_QUEUE,
                  "-P", "solo", "-n", f"{host}@{host}", "--without-gossip", "--without-mingle",
                  "--without-heartbeat", "-l", "error"]  # fmt: skip
        command = ["unshare", "--uts", "sh", "-c", f'hostname {host} && exec "$@"', "sh"]
        process = subprocess.Popen(
            [*command, *worker] if own_hosts else worker,
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        started.append((f"{host}@{host}", process))
    app = celery_app()
    deadline = time.monotonic() + 60
    waiting = {name for name, _ in started}
    while waiting:
        if time.monotonic() > deadline:
            raise StepFailed(f"workers not ready: {sorted(waiting)}")
        waiting -= {n for reply in app.control.ping(list(waiting), timeout=0.5) for n in reply}
    return started


def drill_worker_lost(rows: int) -> Result:
    """Copy shop.Order again on Celery workers and lose one worker host part-way."""
    from django.db import connections
    from django.db.models import Count, Sum
    from shop.models import Order

    from migration_kit.models import BackfillCheckpoint

    result = Result("a worker host lost mid-backfill")
    # Start over on SingleStore: the first drill copied everything already.
    BackfillCheckpoint.objects.filter(model_label="shop.Order").delete()
    with connections["s2"].cursor() as cursor:
        cursor.execute("DELETE FROM shop_order")
    total = Order.objects.count()
    own_hosts = _own_hosts()
    workers = start_workers(3, own_hosts)
    say(f"  3 celery workers up ({'own hostnames' if own_hosts else 'process groups only'})")
    traffic = Traffic()
    stop, threads = writers(traffic, 2, 30)
    outcome: dict[str, Any] = {}
    out = io.StringIO()

    def command() -> None:
        from django.core.management import call_command

        try:
            call_command("s2_backfill", "shop.Order", "--celery", "--ranges", "6",
                         "--lease-seconds", str(CELERY_LEASE_SECONDS), stdout=out)  # fmt: skip
        except BaseException as exc:
            outcome["error"] = exc
        finally:
            connections.close_all()

    try:
        args = f"s2_backfill shop.Order --celery --ranges 6 --lease-seconds {CELERY_LEASE_SECONDS}"
        say(f"  $ manage.py {args}   (a worker killed with SIGKILL mid-range)")
        runner = threading.Thread(target=command)
        runner.start()
        victim = None
        deadline = time.monotonic() + 300
        while victim is None and runner.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
            busy = BackfillCheckpoint.objects.filter(
                model_label="shop.Order", finished=False, rows_copied__gt=0
            ).exclude(lease_owner="")
            for holder in busy.values_list("lease_owner", flat=True):
                pid = int(holder.split(":")[1])
                victim = next((w for w in workers if w[1].pid == pid), None)
                if victim:
                    break
        if victim is None:
            raise StepFailed("no worker was caught holding a range part-way")
        copied = BackfillCheckpoint.objects.filter(model_label="shop.Order").aggregate(
            n=Sum("rows_copied")
        )["n"]
        os.killpg(victim[1].pid, signal.SIGKILL)
        victim[1].wait()
        say(f"  killed {victim[0]} at {copied:,} of {total:,} rows checkpointed")
        runner.join(600)
        if runner.is_alive() or "error" in outcome:
            raise StepFailed(f"the Celery backfill did not finish: {outcome.get('error')}")
        takeovers = BackfillCheckpoint.objects.filter(model_label="shop.Order").aggregate(
            n=Sum("takeovers")
        )["n"]
        line = out.getvalue().strip().splitlines()[0].split(": ", 1)[-1]
        result.note = f"killed {victim[0]} at {copied:,}/{total:,}; {takeovers} takeover(s); {line}"
    finally:
        finish(stop, threads)
        for _, process in workers:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for _, process in workers:
            process.wait()
        with celery_app().connection_for_write() as conn:
            conn.default_channel.queue_purge(DRILL_QUEUE)
    drain_and_verify(result, traffic)
    keys = Order.objects.using("s2").aggregate(n=Count("pk"), distinct=Count("pk", distinct=True))
    duplicates = keys["n"] - keys["distinct"]
    result.note += f"; {duplicates} duplicate keys on SingleStore"
    result.ok = result.ok and duplicates == 0 and keys["distinct"] == Order.objects.count()
    return result


def drill_outage(emulator: EmulatorProcess, down_seconds: float) -> Result:
    from django.db import connections

    result = Result("SingleStore outage during dual write")
    if os.environ.get("S2_URL"):
        result.verify = "skipped"
        result.note = "needs the emulator (it kills the server); unset S2_URL"
        result.skipped = True
        return result
    traffic = Traffic()
    stop, threads = writers(traffic, 3, 20)
    try:
        time.sleep(2.0)
        emulator.kill()
        say(f"  SingleStore (emulator) killed with SIGKILL; down for {down_seconds:.0f}s")
        during = traffic.committed
        time.sleep(down_seconds)
        during = traffic.committed - during
        emulator.start()
        connections.close_all()  # this thread's SingleStore connection died with the server
        say(f"  restarted on port {emulator.port}; {during} writes committed while it was down")
        time.sleep(2.0)
    finally:
        finish(stop, threads)
    result.note = f"{during} writes committed during the outage"
    drain_and_verify(result, traffic)
    return result


def drill_tenants(seconds: float) -> Result:
    """Concurrent writers, one per tenant database; each row must be in its own tenant only."""
    from analytics.models import PageView
    from django.db import connections
    from django.utils import timezone

    import s2router

    result = Result(f"{len(TENANTS)} tenants at once")
    s2 = connections["s2"].settings_dict
    server = demo.urlsplit(f"mysql://{s2['USER']}:{s2['PASSWORD']}@{s2['HOST']}:{s2['PORT']}")
    for name in TENANTS:
        demo.mysql_admin(f"DROP DATABASE IF EXISTS `{s2['NAME']}_{name}`", server)
    manage("s2_tenant_migrate", "--all-tenants", "--create", "-v", "0")
    traffic = Traffic()
    stop = threading.Event()

    def write(name: str) -> None:
        try:
            while not stop.is_set():
                try:
                    with s2router.tenant(name):
                        PageView.objects.create(path=f"/{name}/", viewed_at=timezone.now())
                        seen = set(PageView.objects.values_list("path", flat=True).distinct())
                    if seen != {f"/{name}/"}:
                        raise AssertionError(f"tenant {name} sees {sorted(seen)}")
                    traffic.record("create", True)
                except Exception as exc:
                    traffic.record("create", False, f"{name}: {type(exc).__name__}: {exc}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(name,)) for name in TENANTS]
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    counts = {}
    misplaced = 0
    for name in TENANTS:
        with s2router.tenant(name):
            counts[name] = PageView.objects.count()
            misplaced += PageView.objects.exclude(path=f"/{name}/").count()
    own = PageView.objects.using("s2").filter(path__startswith="/t").count()
    result.attempted, result.committed = traffic.attempted, traffic.committed
    result.mirrored = sum(counts.values()) - misplaced
    result.lost = traffic.committed - result.mirrored + misplaced + own
    code = subprocess.run(
        [sys.executable, str(demo.MANAGE), "s2_check_integrity", "analytics", "--all-tenants",
         "--database", "s2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    ).returncode  # fmt: skip
    result.verify = "integrity clean in every tenant" if code == 0 else f"integrity exit {code}"
    result.note = (
        f"rows per tenant {min(counts.values())} to {max(counts.values())}, {misplaced} in a wrong "
        f"tenant, {own} on the shared database"
    )
    if traffic.errors:
        result.note += f"; errors: {traffic.errors[:2]}"
    result.ok = result.lost == 0 and traffic.failed == 0 and code == 0
    return result


def drill_rebuild(rows: int, app: str = "analytics") -> Result:
    """Four ORM writers through two refused ALTERs of a columnstore table on SingleStore: a
    CharField max_length change, then NULL → NOT NULL, each rebuilt online. The table belongs
    to an isolated model of ``app`` (the example's analytics app)."""
    from django.db import connections, models
    from django.test.utils import isolate_apps

    from migration_kit import rebuild
    from migration_kit.rebuild.drill import Traffic

    app_label = app.rsplit(".", 1)[-1]
    table = f"{app_label}_rebuilddrill"
    result = Result("online rebuild under four writers")
    s2 = connections["s2"]

    def state(suffix: str, code_length: int, name_null: bool) -> type[models.Model]:
        attrs = {
            "__module__": __name__,
            "Meta": type("Meta", (), {"app_label": app_label, "db_table": table}),
            "code": models.CharField(max_length=code_length),
            "name": models.CharField(max_length=40, null=name_null, default=""),
        }
        return type(f"RebuildDrill{suffix}", (models.Model,), attrs)

    with isolate_apps(app):
        v1, v2, v3 = state("V1", 20, True), state("V2", 60, True), state("V3", 60, False)
        with s2.schema_editor() as editor:
            for suffix in ("", "__s2new", "__s2old"):
                editor.execute(f"DROP TABLE IF EXISTS {table}{suffix}")
            editor.create_model(v1)
        with s2.cursor() as cursor:
            for start in range(0, rows, 5000):
                values = ", ".join(
                    f"('s{i}', 'seeded {i}')" for i in range(start, min(rows, start + 5000))
                )
                cursor.execute(f"INSERT INTO {table} (code, name) VALUES {values}")
        say(f"  {rows:,} rows in columnstore table {table}")
        owned = list(v1._base_manager.using("s2").order_by("pk").values_list("pk", flat=True))
        traffic = Traffic(v1, "s2", owned[: rows // 10])
        notes = []
        traffic.start()
        try:
            time.sleep(1.0)
            for what, new, defaults in (
                ("code max_length 20 -> 60", v2, {}),
                ("name NULL -> NOT NULL", v3, {"name": ""}),
            ):
                swapped: list[float] = []

                def progress(message: str, swapped: list[float] = swapped) -> None:
                    if message.startswith("swapped"):
                        swapped.append(time.monotonic())

                with s2.schema_editor() as editor:
                    outcome = rebuild.rebuild_model(
                        editor, new, defaults=defaults, progress=progress
                    )
                fence = outcome.fence_seconds or 0.0
                p99, inflight = traffic.counts.p99_overlapping(swapped[0] - fence, swapped[0])
                notes.append(
                    f"{what}: {outcome.seconds:.1f}s, {outcome.keys_applied:,} captured keys, "
                    f"fence {fence * 1000:.0f} ms ({outcome.fences} tried), writers' p99 "
                    f"{p99 * 1000:.0f} ms over the {inflight} writes in flight during it"
                )
                say(f"  {notes[-1]}")
                time.sleep(1.0)
        finally:
            counts = traffic.stop()
        lost = traffic.count_lost()
        with s2.cursor() as cursor:
            columns = {c.name: c for c in s2.introspection.get_table_description(cursor, table)}
        changed = columns["code"].internal_size == 60 and not columns["name"].null_ok
        with s2.schema_editor() as editor:
            editor.execute(f"DROP TABLE IF EXISTS {table}")
    result.attempted, result.committed, result.lost = counts.tried, counts.committed, lost
    result.mirrored = counts.committed - lost
    result.verify = "clean (under each fence)" if changed else "columns NOT changed"
    result.note = "; ".join(notes) + f"; writers' p99 overall {counts.p99() * 1000:.0f} ms"
    if counts.errors:
        result.note += f"; errors: {counts.errors[:2]}"
    result.ok = changed and lost == 0 and counts.failed == 0 and counts.tried == counts.committed
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=200_000, help="rows to seed (~)")
    parser.add_argument("--outage-seconds", type=float, default=5.0)
    parser.add_argument("--tenant-seconds", type=float, default=5.0)
    parser.add_argument("--rebuild-rows", type=int, default=200_000)
    parser.add_argument(
        "--only",
        choices=["backfill", "outage", "tenants", "rebuild", "celery"],
        help="Run one drill.",
    )
    args = parser.parse_args(argv)
    os.chdir(demo.ROOT)
    emulator = new_emulator()
    results: list[Result] = []
    try:
        say("== set-up")
        configure(emulator)
        say("  " + demo.recreate_databases())
        demo.manage_together(
            [("migrate", "--database", alias, "-v", "0") for alias in ("default", "mysql", "s2")]
        )
        say("  " + demo.seed(args.rows))
        manage("s2_phase", "shop.Order", "dual_write")
        time.sleep(0.6)  # PHASE_CACHE_SECONDS
        drills = {
            "backfill": ("kill -9 during backfill", lambda: drill_kill_backfill(args.rows)),
            "outage": ("SingleStore outage during dual write",
                       lambda: drill_outage(emulator, args.outage_seconds)),
            "tenants": ("many tenants", lambda: drill_tenants(args.tenant_seconds)),
            "rebuild": ("online rebuild under writers", lambda: drill_rebuild(args.rebuild_rows)),
            "celery": ("a worker host lost mid-backfill", lambda: drill_worker_lost(args.rows)),
        }  # fmt: skip
        chosen = [drills[args.only]] if args.only else list(drills.values())
        for title, run in chosen:
            say(f"\n== {title}")
            try:
                results.append(run())
            except Exception as exc:
                results.append(Result(title, note=f"FAILED: {type(exc).__name__}: {exc}"))
            say(f"  -> {results[-1]}")
    finally:
        stop_relay()
        emulator.close()
    say("\n== drills")
    say("| drill | writes tried | committed | keys mirrored | keys lost | verify | ok | notes |")
    say("|---|---:|---:|---:|---:|---|---|---|")
    for r in results:
        lost = "?" if r.lost < 0 else str(r.lost)
        say(
            f"| {r.drill} | {r.attempted} | {r.committed} | {r.mirrored} | {lost} | {r.verify} "
            f"| {'SKIPPED' if r.skipped else 'ok' if r.ok else 'NO'} | {r.note} |"
        )
    ran = [r for r in results if not r.skipped]
    return 0 if len(results) == (1 if args.only else 5) and all(r.ok for r in ran) else 1


if __name__ == "__main__":
    sys.exit(main())
