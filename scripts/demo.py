"""``make demo``: move the example shop's orders from PostgreSQL to SingleStore, live.

The story, one step at a time, each printed with its outcome (commands as you would type them):

 1. databases  — fresh demo databases; the SingleStore emulator unless ``S2_URL`` is set
 2. migrate    — ``manage.py migrate --database`` default, mysql and s2
 3. seed       — customers and orders on PostgreSQL, legacy events on MySQL, analytics on S2
 4. check      — ``manage.py check --database s2``: every model against SingleStore's rules
 5. dual write — ``manage.py s2_phase shop.Order dual_write`` (and the legacy import)
 6. backfill   — ``manage.py s2_backfill`` from PostgreSQL and MySQL while live writes run
 7. traffic    — saves, creates, bulk updates, queryset updates and deletes, then ``s2_sync``
 8. verify     — ``manage.py s2_verify``: counts and checksums, must be clean
 9. integrity  — plant orphans, ``s2_check_integrity`` finds them, ``--fix --yes`` removes them
10. cutover    — ``s2_phase`` shadow → cutover; writes now land on SingleStore first
11. status     — ``manage.py s2_status``

Exit status 0 when every step succeeded, 1 when one failed (later steps are skipped), 2 for bad
arguments. The demo's databases are dropped and recreated on each run and are all named
``s2kit_demo*``; with ``S2_URL`` the SingleStore database must be named that way too.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from s2emulator.process import EmulatorProcess, EmulatorStartError

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "example"
MANAGE = EXAMPLE / "manage.py"
DEMO_PREFIX = "s2kit_demo"
EMULATOR_BACKEND = os.environ.get("S2EMU_BACKEND", "mysql://s2kit:s2kit@127.0.0.1:3306")
EMULATOR_CATALOG = "s2kit_demo_catalog"
S2_DATABASE = "s2kit_demo_s2"
COUNTRIES = {
    "AR": "Argentina", "AU": "Australia", "BR": "Brazil", "CA": "Canada", "CN": "China",
    "DE": "Germany", "ES": "Spain", "FR": "France", "GB": "United Kingdom", "IN": "India",
    "IT": "Italy", "JP": "Japan", "KR": "South Korea", "MX": "Mexico", "NG": "Nigeria",
    "NL": "Netherlands", "PL": "Poland", "SE": "Sweden", "US": "United States",
    "ZA": "South Africa",
}  # fmt: skip
ORPHANS = 5


class StepFailed(Exception):
    """A step did not reach its expected outcome; the message says what happened."""


@dataclass
class Step:
    """One line of the final summary."""

    name: str
    outcome: str = "skipped"
    seconds: float = 0.0
    ok: bool | None = None


@dataclass
class Traffic:
    """Live writes run by threads while the migration proceeds."""

    attempted: int = 0
    committed: int = 0
    failed: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    touched: set[int] = field(default_factory=set)  # primary keys of committed writes
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, ok: bool, error: str = "", keys: list[int] | None = None) -> None:
        with self.lock:
            self.attempted += 1
            if ok:
                self.committed += 1
                self.by_kind[kind] = self.by_kind.get(kind, 0) + 1
                self.touched.update(keys or ())
            else:
                self.failed += 1
                if len(self.errors) < 5:
                    self.errors.append(error)


# --- output -------------------------------------------------------------------------------


def say(text: str = "") -> None:
    print(text, flush=True)


def manage(*args: str, expect: tuple[int, ...] = (0,), live: bool = False) -> str:
    """Run ``manage.py`` like a person would; print the command and its stdout. With ``live``
    its stderr (progress bars) goes to the terminal, else it is shown only on failure."""
    return manage_together([args], expect=expect, live=0 if live else None)[0]


def manage_together(
    commands: list[tuple[str, ...]], expect: tuple[int, ...] = (0,), live: int | None = None
) -> list[str]:
    """Run independent ``manage.py`` commands at once; print each one's stdout in order.
    Raise StepFailed when one exits with a code not in ``expect``."""
    processes = []
    for index, args in enumerate(commands):
        say(f"  $ manage.py {' '.join(args)}")
        stderr = None if index == live else subprocess.PIPE
        processes.append(
            subprocess.Popen(
                [sys.executable, str(MANAGE), *args],
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
        )
    outputs = [process.communicate() for process in processes]
    failed = []
    for args, process, (out, err) in zip(commands, processes, outputs, strict=True):
        if len(commands) > 1 and out.strip():
            say(f"  [{' '.join(args)}]")
        for line in out.rstrip().splitlines():
            say(f"    {line}")
        if process.returncode not in expect:
            for line in (err or "").rstrip().splitlines()[-15:]:
                say(f"    ! {line}")
            failed.append(f"manage.py {' '.join(args[:2])} exited {process.returncode}")
    if failed:
        raise StepFailed("; ".join(failed))
    return [out for out, _ in outputs]


# --- the emulator and the databases ------------------------------------------------------


def new_emulator() -> EmulatorProcess:
    """The demo's emulator (not started): its catalog in a schema of its own."""
    return EmulatorProcess(EMULATOR_BACKEND, ["--catalog-schema", EMULATOR_CATALOG])


def start_emulator(emulator: EmulatorProcess, database: str) -> str:
    """Start it on a free port with an empty catalog; returns the URL of ``database`` on it."""
    mysql_admin(f"DROP DATABASE IF EXISTS {EMULATOR_CATALOG}", urlsplit(EMULATOR_BACKEND))
    try:
        emulator.start()
    except EmulatorStartError as exc:
        raise StepFailed(str(exc)) from exc
    return emulator.url("s2kit", "s2kit", database)


def mysql_admin(sql: str, url: Any, port: int | None = None) -> None:
    """Run one server-level statement over the MySQL protocol (MariaDB or SingleStore)."""
    import MySQLdb

    conn = MySQLdb.connect(
        host=url.hostname or "127.0.0.1",
        port=port or url.port or 3306,
        user=url.username or "root",
        passwd=url.password or "",
    )
    try:
        conn.cursor().execute(sql)
    finally:
        conn.close()


def recreate_databases() -> str:
    """Drop and create the three demo databases; return a one-line description."""
    from django.db import connections

    names = []
    for alias in ("default", "mysql", "s2"):
        name = connections[alias].settings_dict["NAME"]
        if not name.startswith(DEMO_PREFIX):
            raise StepFailed(
                f"refusing to drop database {name!r} ({alias}): the demo only recreates "
                f"databases named {DEMO_PREFIX}*; point the URL at one"
            )
        names.append(name)
    pg = connections["default"].settings_dict
    import psycopg

    with psycopg.connect(
        host=pg["HOST"], port=pg["PORT"] or 5432, user=pg["USER"], password=pg["PASSWORD"],
        dbname="postgres", autocommit=True,
    ) as conn:  # fmt: skip
        conn.execute(f'DROP DATABASE IF EXISTS "{names[0]}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{names[0]}"')
    for alias, name in (("mysql", names[1]), ("s2", names[2])):
        s = connections[alias].settings_dict
        url = urlsplit(f"mysql://{s['USER']}:{s['PASSWORD']}@{s['HOST']}:{s['PORT'] or 3306}")
        mysql_admin(f"DROP DATABASE IF EXISTS `{name}`", url)
        charset = " CHARACTER SET utf8mb4" if alias == "mysql" else ""
        mysql_admin(f"CREATE DATABASE `{name}`{charset}", url)
    return f"PostgreSQL {names[0]}, MariaDB {names[1]}, SingleStore {names[2]}"


# --- seeding -----------------------------------------------------------------------------


def seed(rows: int) -> str:
    """Fill the sources with set-based SQL (fast) and the analytics tables with bulk_create."""
    from analytics.models import Event, PageView
    from catalog.models import Country
    from django.core.management.color import no_style
    from django.db import connections
    from django.utils import timezone
    from shop.models import Customer, Order

    customers = max(100, rows // 40)
    orders = rows * 60 // 100
    legacy = rows * 30 // 100
    views = rows * 5 // 100
    codes = sorted(COUNTRIES)
    Country.objects.bulk_create(Country(code=c, name=n) for c, n in COUNTRIES.items())
    pg = connections["default"]
    with pg.cursor() as cursor:
        cursor.execute(
            "INSERT INTO shop_customer (id, name, email, country_id, joined_at) "
            "SELECT g, 'Customer ' || g, 'customer' || g || '@example.com', "
            "(%s::text[])[1 + g %% %s], TIMESTAMPTZ '2022-01-01' + g * INTERVAL '1 hour' "
            "FROM generate_series(1, %s) g",
            [codes, len(codes), customers],
        )
        cursor.execute(
            "INSERT INTO shop_order (customer_id, status, total, created_at, updated_at) "
            "SELECT 1 + g %% %s, (ARRAY['new','paid','shipped','cancelled'])[1 + g %% 4], "
            "round((5 + (g * 7919) %% 50000 / 100.0)::numeric, 2), "
            "TIMESTAMPTZ '2024-01-01' + g * INTERVAL '1 minute', now() "
            "FROM generate_series(1, %s) g",
            [customers, orders],
        )
        for sql in pg.ops.sequence_reset_sql(no_style(), [Customer, Order]):
            cursor.execute(sql)
    digits = " UNION ALL ".join(f"SELECT {d} AS n" for d in range(10))
    with connections["mysql"].cursor() as cursor:
        cursor.execute(
            f"INSERT INTO legacy_events (kind, path, customer_ref, payload, occurred_at) "
            f"SELECT ELT(1 + MOD(s.n, 4), 'view', 'click', 'signup', 'purchase'), "
            f"CONCAT('/p/', MOD(s.n, 500)), 1 + MOD(s.n, %s), "
            f"JSON_OBJECT('v', MOD(s.n, 7), 'source', 'legacy'), "
            f"TIMESTAMP '2019-01-01 00:00:00' + INTERVAL s.n MINUTE "
            f"FROM (SELECT 1 + a.n + 10 * b.n + 100 * c.n + 1000 * d.n + 10000 * e.n "
            f"+ 100000 * f.n AS n FROM ({digits}) a, ({digits}) b, ({digits}) c, ({digits}) d, "
            f"({digits}) e, ({digits}) f) s WHERE s.n <= %s",
            [customers, legacy],
        )
    now = timezone.now()
    rng = random.Random(42)
    for start in range(0, views, 5000):
        batch = [
            PageView(
                customer_id=1 + rng.randrange(customers),
                country_id=rng.choice(codes),
                path=f"/p/{rng.randrange(500)}",
                viewed_at=now - timezone.timedelta(seconds=rng.randrange(86400 * 30)),
                duration_ms=rng.randrange(60_000),
            )
            for _ in range(min(5000, views - start))
        ]
        PageView.objects.bulk_create(batch)
    view_ids = list(PageView.objects.values_list("id", flat=True))
    for start in range(0, views, 5000):
        Event.objects.bulk_create(
            Event(
                page_view_id=rng.choice(view_ids),
                name=rng.choice(["click", "scroll", "add_to_cart", "checkout"]),
                properties={"button": rng.randrange(10)},
                occurred_at=now,
            )
            for _ in range(min(5000, views - start))
        )
    total = len(COUNTRIES) + customers + orders + legacy + 2 * views
    return (
        f"{total:,} rows: {customers:,} customers + {orders:,} orders (PostgreSQL), "
        f"{legacy:,} legacy events (MySQL), {views:,} page views + {views:,} events (SingleStore)"
    )


# --- live traffic -----------------------------------------------------------------------


def order_writes(traffic: Traffic, stop: threading.Event, seed_: int) -> None:
    """One writer: a mix of every ORM write path on ``shop.Order``, routed by its phase."""
    from django.db import connections, transaction
    from shop.models import Customer, Order

    rng = random.Random(seed_)
    max_customer = Customer.objects.order_by("-id").values_list("id", flat=True).first() or 1
    try:
        while not stop.is_set():
            top = Order.objects.order_by("-id").values_list("id", flat=True).first() or 1
            kind = rng.choice(["create", "save", "bulk_update", "update", "delete", "create"])
            start = rng.randrange(top)
            keys: list[int] = []
            try:
                with transaction.atomic(using=_write_alias(Order)):
                    if kind == "create":
                        order = Order.objects.create(
                            customer_id=1 + rng.randrange(max_customer),
                            total=Decimal(rng.randrange(500, 50_000)) / 100,
                        )
                        keys = [order.pk]
                    elif kind == "save":
                        order = Order.objects.filter(pk__gte=start).order_by("pk").first()
                        if order is not None:
                            order.status = Order.Status.PAID
                            order.save()
                            keys = [order.pk]
                    elif kind == "bulk_update":
                        objs = list(locked(Order.objects.filter(pk__gte=start, pk__lt=start + 40)))
                        for obj in objs:
                            obj.total += Decimal("1.00")
                        Order.objects.bulk_update(objs, ["total"])
                        keys = [obj.pk for obj in objs]
                    else:
                        rows = Order.objects.filter(
                            pk__gte=start, pk__lt=start + (100 if kind == "update" else 3)
                        )
                        keys = list(locked(rows).values_list("pk", flat=True))
                        if kind == "update":
                            rows.update(status=Order.Status.SHIPPED)
                        else:
                            rows.delete()
                traffic.record(kind, True, keys=keys)
            except Exception as exc:
                traffic.record(kind, False, f"{kind}: {type(exc).__name__}: {exc}")
    finally:
        connections.close_all()


def locked(rows: Any) -> Any:
    """Lock the rows a multi-row write will change, in primary-key order: writers (and the
    backfill, which locks its batches in that order) then queue instead of deadlocking."""
    return rows.select_for_update().order_by("pk")


def _write_alias(model: Any) -> str:
    from django.db import router

    return router.db_for_write(model)


def run_traffic(traffic: Traffic, writers: int, seconds: float) -> None:
    stop = threading.Event()
    threads = [
        threading.Thread(target=order_writes, args=(traffic, stop, i)) for i in range(writers)
    ]
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()


# --- the story ---------------------------------------------------------------------------


class Demo:
    """The steps in order; each returns the outcome line for the summary."""

    def __init__(self, rows: int, writers: int, traffic_seconds: float) -> None:
        self.rows = rows
        self.writers = writers
        self.traffic_seconds = traffic_seconds
        self.emulator = new_emulator()
        self.traffic = Traffic()
        self.target = ""

    def steps(self) -> list[tuple[str, Callable[[], str]]]:
        return [
            ("databases", self.databases),
            ("migrate", self.migrate),
            ("seed", self.seed),
            ("check", self.check),
            ("dual write", self.dual_write),
            ("backfill", self.backfill),
            ("traffic", self.live_traffic),
            ("verify", self.verify),
            ("integrity", self.integrity),
            ("cutover", self.cutover),
            ("status", self.status),
        ]

    def databases(self) -> str:
        if os.environ.get("S2_URL"):
            self.target = "real SingleStore (S2_URL)"
        else:
            os.environ["S2_EMULATOR_URL"] = start_emulator(self.emulator, S2_DATABASE)
            self.target = "SingleStore emulator (no S2_URL)"
        sys.path[:0] = [str(EXAMPLE), str(ROOT)]
        os.environ["DJANGO_SETTINGS_MODULE"] = "exampleproject.settings"
        import django

        django.setup()
        from django.conf import settings

        s2 = settings.DATABASES["s2"]
        say(f"  SingleStore: {self.target} at {s2['HOST']}:{s2['PORT']}")
        return recreate_databases() + f"; s2 = {self.target}"

    def migrate(self) -> str:
        from django.db import connections

        aliases = ("default", "mysql", "s2")
        manage_together([("migrate", "--database", alias, "-v", "0") for alias in aliases])
        tables = {alias: len(connections[alias].introspection.table_names()) for alias in aliases}
        return ", ".join(f"{alias}: {n} tables" for alias, n in tables.items())

    def seed(self) -> str:
        return seed(self.rows)

    def check(self) -> str:
        manage("check", "--database", "s2", "--fail-level", "WARNING")
        return "no issues: every table design passes SingleStore's rules"

    def dual_write(self) -> str:
        manage_together(
            [("s2_phase", label, "dual_write") for label in ("shop.Order", "analytics.LegacyEvent")]
        )
        time.sleep(0.6)  # PHASE_CACHE_SECONDS: this process sees the new phase
        # s2_phase installed the capture triggers on both sources; show them.
        tables = manage("s2_capture", "status").splitlines()
        installed = sum(line.endswith(": installed") for line in tables)
        return (
            "shop.Order and analytics.LegacyEvent: writes mirrored through the outbox, "
            f"capture triggers on {installed} of {len(tables)} source tables"
        )

    def backfill(self) -> str:
        # Live writes start first: the backfill must never lose or overwrite them.
        stop = threading.Event()
        threads = [
            threading.Thread(target=order_writes, args=(self.traffic, stop, 100 + i))
            for i in range(self.writers)
        ]
        for t in threads:
            t.start()
        try:
            outputs = manage_together(
                [
                    ("s2_backfill", "catalog.Country", "shop.Customer", "shop.Order",
                     "--workers", "2", "--progress"),
                    ("s2_backfill", "analytics.LegacyEvent"),
                ],
                live=0,
            )  # fmt: skip
        finally:
            stop.set()
            for t in threads:
                t.join()
        copied = _sum_copied("\n".join(outputs))
        return (
            f"{copied:,} rows copied from PostgreSQL and MySQL while "
            f"{self.traffic.committed:,} live writes committed"
        )

    def live_traffic(self) -> str:
        say(f"  {self.writers} writers for {self.traffic_seconds:.0f}s: create, save, bulk_update, "
            "update, delete on shop.Order")  # fmt: skip
        run_traffic(self.traffic, self.writers, self.traffic_seconds)
        manage("s2_sync")
        t = self.traffic
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(t.by_kind.items()))
        if t.failed:
            raise StepFailed(f"{t.failed} of {t.attempted} writes failed: {t.errors}")
        return f"{t.attempted:,} writes attempted, {t.committed:,} committed ({kinds})"

    def verify(self) -> str:
        out = manage(
            "s2_verify", "shop.Order", "analytics.LegacyEvent", "shop.Customer",
            "catalog.Country", "--lag-wait", "10",
        )  # fmt: skip
        return f"clean: {_count_lines(out)} models equal on source and SingleStore"

    def integrity(self) -> str:
        from analytics.models import Event
        from django.utils import timezone

        missing = 10**12
        Event.objects.bulk_create(
            Event(page_view_id=missing + i, name="orphan", occurred_at=timezone.now())
            for i in range(ORPHANS)
        )
        say(f"  planted {ORPHANS} events whose page view does not exist")
        check = ("s2_check_integrity", "analytics", "shop", "--database", "s2", "--format", "json")
        found = json.loads(manage(*check, expect=(1,)))["total"]["violations"]
        if found != ORPHANS:
            raise StepFailed(f"s2_check_integrity found {found} orphans, {ORPHANS} were planted")
        manage("s2_check_integrity", "analytics.Event", "--database", "s2", "--fix", "--yes",
               expect=(0, 1))  # fmt: skip
        manage(*check)
        return f"{found} orphans found (exit 1), deleted by --fix (CASCADE), recheck clean"

    def cutover(self) -> str:
        from shop.models import Order

        for order, legacy in (("shadow", "shadow"), ("cutover", "cutover"), (None, "done")):
            manage_together(
                [("s2_phase", "shop.Order", order)] * (order is not None)
                + [("s2_phase", "analytics.LegacyEvent", legacy)]
            )
        time.sleep(0.6)  # PHASE_CACHE_SECONDS: this process sees the new phase
        before = self.traffic.committed
        run_traffic(self.traffic, self.writers, 2.0)
        if self.traffic.failed:
            raise StepFailed(f"writes after cutover failed: {self.traffic.errors}")
        manage("s2_sync")
        manage("s2_verify", "shop.Order", "--lag-wait", "10")
        where = _write_alias(Order)
        return (
            f"shop.Order reads and writes on {where}, PostgreSQL kept in sync "
            f"({self.traffic.committed - before} writes after cutover, verify clean); "
            "legacy events done"
        )

    def status(self) -> str:
        manage("s2_status")
        return "all models healthy"


def _sum_copied(text: str) -> int:
    total = 0
    for line in text.splitlines():
        if " rows copied " in line:
            total += int(line.split(": ", 1)[1].split(" rows copied", 1)[0].replace(",", ""))
    return total


def _count_lines(text: str) -> int:
    return sum(1 for line in text.splitlines() if "→" in line)


def stop_relay() -> None:
    """Let the migration kit's relay thread finish its mirror writes (once Django is up)."""
    from django.apps import apps

    if apps.ready:
        from migration_kit.dualwrite.relay import relay

        relay.stop()


def run(demo: Demo) -> list[Step]:
    summary = [Step(name) for name, _ in demo.steps()]
    try:
        for step, (name, action) in zip(summary, demo.steps(), strict=True):
            say(f"\n== {name}")
            started = time.monotonic()
            try:
                step.outcome = action()
                step.ok = True
            except Exception as exc:
                step.outcome = f"FAILED: {exc}" if isinstance(exc, StepFailed) else (
                    f"FAILED: {type(exc).__name__}: {exc}"
                )  # fmt: skip
                step.ok = False
            step.seconds = time.monotonic() - started
            say(f"  -> {step.outcome} ({step.seconds:.1f}s)")
            if not step.ok:
                break
    finally:
        stop_relay()
        demo.emulator.close()
    return summary


def print_summary(summary: list[Step], target: str, total: float) -> None:
    width = max(len(s.name) for s in summary)
    say("\n== summary" + (f" (SingleStore: {target})" if target else ""))
    say(f"| {'step':<{width}} | ok | seconds | outcome |")
    say(f"|{'-' * (width + 2)}|----|---------|---------|")
    for s in summary:
        mark = {True: "ok", False: "NO", None: "--"}[s.ok]
        say(f"| {s.name:<{width}} | {mark} | {s.seconds:7.1f} | {s.outcome} |")
    say(f"total {total:.1f}s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=200_000, help="rows to seed (~)")
    parser.add_argument("--writers", type=int, default=3, help="concurrent writer threads")
    parser.add_argument(
        "--traffic-seconds", type=float, default=5.0, help="length of the live-traffic step"
    )
    args = parser.parse_args(argv)
    if args.rows < 1000 or args.writers < 1 or args.traffic_seconds <= 0:
        parser.error("--rows must be >= 1000, --writers >= 1, --traffic-seconds > 0")
    os.chdir(ROOT)
    started = time.monotonic()
    demo = Demo(args.rows, args.writers, args.traffic_seconds)
    summary = run(demo)
    print_summary(summary, demo.target, time.monotonic() - started)
    return 0 if all(s.ok for s in summary) else 1


if __name__ == "__main__":
    sys.exit(main())
