"""Shared set-up for the migration-kit benchmarks: bench databases holding ``BenchRow`` rows.

The source is ``s2kit_bench`` on PostgreSQL. The target is the SingleStore emulator (started
here, in front of the local MariaDB, database ``s2kit_bench_s2``) — or MariaDB itself through
the ``mysql`` alias with ``--target mysql``. Databases are created and migrated on first use;
``ensure_rows(n)`` fills the source with ``n`` deterministic rows in SQL.

``bench/backfill.py`` and ``bench/verify.py`` copy between databases of their own
(``setup_copy``) and hand their results to ``emit``: the results for people on stdout, the
measurement rows to bench/runner.py's ``BENCH_JSON`` file.
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "s2kit_bench"
S2_BENCH_DB = "s2kit_bench_s2"
TABLE = "kitapp_benchrow"
#: Every column of ``TABLE``, in table order.
COLUMNS = "id, account, kind, amount, at, done, note"
# Not the shared s2kit_bench: bench/dual_write.py empties BenchRow there.
COPY_DB = "s2kit_bench_copy"
TARGETS = {
    "s2": "the SingleStore emulator in front of MariaDB (s2 alias)",
    "mysql": "MariaDB directly (mysql alias), not the emulator",
}
target_alias = "s2"
target_port = 3306
target_db = BENCH_DB
_emulator = None


def setup_django(target: str, database: str = BENCH_DB) -> None:
    """Point the test settings at the bench databases (creating them) and migrate them.

    Benches that must not share rows pass their own ``database`` name.
    """
    global target_alias, target_port, target_db, _emulator, BENCH_DB, S2_BENCH_DB
    BENCH_DB, S2_BENCH_DB = database, f"{database}_s2"
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("S2KIT_DB_DEFAULT", BENCH_DB)
    os.environ.setdefault("S2KIT_DB_MYSQL", BENCH_DB)
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.kit.subprocess_settings"
    pg = {"PGPASSWORD": "s2kit"}
    exists = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "s2kit", "-d", "s2kit", "-tAc",
         f"SELECT 1 FROM pg_database WHERE datname = '{BENCH_DB}'"],
        env={**os.environ, **pg}, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    if not exists:
        subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "s2kit", "-d", "s2kit", "-c",
             f"CREATE DATABASE {BENCH_DB}"],
            env={**os.environ, **pg}, check=True, capture_output=True,
        )  # fmt: skip
    mariadb(f"CREATE DATABASE IF NOT EXISTS {BENCH_DB} CHARACTER SET utf8mb4", database="")
    target_alias, target_db = target, BENCH_DB
    aliases = ["default", "mysql"]
    if target == "s2":
        from s2emulator.process import EmulatorProcess

        _emulator = EmulatorProcess("mysql://s2kit:s2kit@127.0.0.1:3306").start()
        atexit.register(_emulator.close)
        target_port, target_db = _emulator.port, S2_BENCH_DB
        os.environ["S2_TEST_URL"] = (
            f"singlestoredb://s2kit:s2kit@127.0.0.1:{target_port}/{S2_BENCH_DB}"
        )
        mariadb(f"CREATE DATABASE IF NOT EXISTS {S2_BENCH_DB}", database="")
        aliases.append("s2")
    import django
    from django.core.management import call_command

    django.setup()
    for alias in aliases:
        call_command("migrate", database=alias, verbosity=0)


def setup_copy(target: str, rows: int) -> None:
    """Databases of the backfill and verify benches (``COPY_DB``), source holding rows 1..rows."""
    setup_django(target, COPY_DB)
    ensure_rows(rows)


def mariadb(
    sql: str, database: str | None = None, stdin: bytes | None = None, port: int | None = None
) -> str:
    """Run SQL with the MariaDB client on the bench target (or ``port``; LOCAL INFILE on)."""
    database = target_db if database is None else database
    port = target_port if port is None else port
    args = ["mariadb", "--local-infile=1", "-h127.0.0.1", f"-P{port}", "-us2kit",
            "-ps2kit", "-N", "-e", sql]  # fmt: skip
    if database:
        args.insert(-2, database)
    return subprocess.run(args, input=stdin, capture_output=True, check=True).stdout.decode()


def ensure_rows(n: int) -> None:
    """Make the source table hold exactly rows 1..n (regenerated when the count differs)."""
    from django.db import connections

    with connections["default"].cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*), COALESCE(MAX(id), 0) FROM {TABLE}")
        if cursor.fetchone() == (n, n):
            return
        print(f"generating {n:,} source rows…", file=sys.stderr)
        cursor.execute(f"TRUNCATE {TABLE} RESTART IDENTITY")
        cursor.execute(
            f"""INSERT INTO {TABLE} (account, kind, amount, at, done, note)
            SELECT g %% 5000, 'kind-' || (g %% 17), (g %% 100000) / 100.0,
                   TIMESTAMPTZ '2024-01-01 00:00:00+00' + g * INTERVAL '1.000123 second',
                   g %% 3 = 0,
                   CASE WHEN g %% 7 = 0 THEN '' ELSE 'note ' || g || E'\\twith tab' END
            FROM generate_series(1, %s) AS g""",
            [n],
        )
        cursor.execute(f"ANALYZE {TABLE}")


def reset_target() -> None:
    """Empty the target table and forget backfill checkpoints."""
    from migration_kit.models import BackfillCheckpoint

    mariadb(f"TRUNCATE {TABLE}")
    BackfillCheckpoint.objects.all().delete()


def timed(fn: Callable[[], object]) -> float:
    """Seconds ``fn`` takes."""
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


def ratio(ours: float, baseline: float) -> float:
    """``ours / baseline`` to two decimals (0.0 without a baseline)."""
    return round(ours / baseline, 2) if baseline else 0.0


def emit(results: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    """Print ``results`` as JSON; write ``rows`` where ``BENCH_JSON`` says (bench/runner.py)."""
    print(json.dumps(results, indent=2))
    if os.environ.get("BENCH_JSON"):
        Path(os.environ["BENCH_JSON"]).write_text(
            json.dumps(rows, indent=2, ensure_ascii=False) + "\n"
        )


# -- the matrix: a narrow and a wide model, PostgreSQL and MariaDB sources ---------------------

#: Per model: its label, table, and columns as (name, kind, nullable) in table order.
MODELS: dict[str, dict[str, Any]] = {
    "narrow": {
        "label": "kitapp.BenchRow",
        "table": TABLE,
        "columns": [
            ("id", "int", False), ("account", "int", False), ("kind", "text", False),
            ("amount", "plain", False), ("at", "datetime", False), ("done", "bool", False),
            ("note", "text", False),
        ],
    },
    "wide": {
        "label": "kitapp.BenchWide",
        "table": "kitapp_benchwide",
        "columns": [
            ("id", "int", False), ("account", "int", False), ("kind", "text", False),
            ("title", "text", False), ("amount", "plain", False), ("ratio", "plain", True),
            ("created", "datetime", False), ("day", "plain", True), ("active", "bool", False),
            ("note", "text", True), ("ref", "uuid", True), ("data", "text", True),
            ("ip", "text", True),
        ],
    },
}  # fmt: skip
SOURCES = {"pg": "default", "maria": "mysql"}
#: The matrix benches' ``TIME_ZONE``, as a user's project sets it: not UTC, so the ``USE_TZ=False``
#: cells convert a PostgreSQL source's instants to local time, as they do for such a project.
#: (With ``USE_TZ=True`` Django's connections work in UTC whatever ``TIME_ZONE`` says.)
LOCAL_ZONE = "America/New_York"


def tz_settings(use_tz: bool) -> dict[str, Any]:
    """The settings a cell runs under: its ``USE_TZ`` with the benches' ``TIME_ZONE``."""
    return {"USE_TZ": use_tz, "TIME_ZONE": LOCAL_ZONE}


def stored_zone(use_tz: bool) -> str:
    """The zone a MySQL-family target stores a cell's datetimes in (naive)."""
    return "UTC" if use_tz else LOCAL_ZONE


_WIDE_ROWS = """INSERT INTO kitapp_benchwide
    (account, kind, title, amount, ratio, created, day, active, note, ref, data, ip)
    SELECT g %% 50000, 'kind-' || (g %% 17), 'Commande n°' || g || ' — Zoë Ørsted',
        (g %% 1000000) / 100.0,
        CASE WHEN g %% 5 = 0 THEN NULL ELSE g / 7.0::float8 END,
        TIMESTAMPTZ '2024-01-01 00:00:00+00' + g * INTERVAL '1.000123 second',
        CASE WHEN g %% 4 = 0 THEN NULL ELSE DATE '2020-01-01' + (g %% 2000) END,
        g %% 3 <> 0,
        CASE WHEN g %% 6 = 0 THEN NULL ELSE 'note ' || g || E'\\twith tab, ü ✓ 🚀' END,
        CASE WHEN g %% 3 = 0 THEN NULL ELSE overlay(overlay(md5(g::text) PLACING '4' FROM 13)
            PLACING substr('89ab', 1 + g %% 4, 1) FROM 17)::uuid END,
        CASE WHEN g %% 4 = 0 THEN NULL ELSE jsonb_build_object(
            'n', g, 'tags', jsonb_build_array('a', 'ü'), 'ok', g %% 2 = 0, 'x', g / 3.0) END,
        CASE WHEN g %% 2 = 0 THEN NULL ELSE ('10.' || (g %% 256) || '.' || ((g / 256) %% 256)
            || '.1')::inet END
    FROM generate_series(1, %s) AS g"""


def ensure_matrix_rows(n: int) -> None:
    """Both models hold rows 1..n on PostgreSQL and, copied by the raw pipe, on MariaDB.

    The wide rows are regenerated when the generator changed (its hash is the table's comment);
    the MariaDB copy must hold as many non-NULL values per column as PostgreSQL, so a value
    MariaDB turned into NULL on the way (LOAD DATA only warns) fails the bench.
    """
    import hashlib

    from django.db import connections

    ensure_rows(n)
    version = hashlib.md5(_WIDE_ROWS.encode(), usedforsecurity=False).hexdigest()
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*), COALESCE(MAX(id), 0), "
            "obj_description('kitapp_benchwide'::regclass, 'pg_class') FROM kitapp_benchwide"
        )
        if cursor.fetchone() != (n, n, version):
            print(f"generating {n:,} wide source rows…", file=sys.stderr)
            cursor.execute("TRUNCATE kitapp_benchwide RESTART IDENTITY")
            cursor.execute(_WIDE_ROWS, [n])
            cursor.execute(f"COMMENT ON TABLE kitapp_benchwide IS '{version}'")
            cursor.execute("ANALYZE kitapp_benchwide")
    for model in MODELS.values():
        table = model["table"]
        counts = ", ".join(f"COUNT({name})" for name, _, _ in model["columns"])
        with connections["default"].cursor() as cursor:
            cursor.execute(f"SELECT {counts} FROM {table}")
            wanted = "\t".join(map(str, cursor.fetchone()))
        held = mariadb(f"SELECT {counts} FROM {table}", port=3306, database=BENCH_DB).strip()
        if held != wanted:
            print(f"copying {table} to the MariaDB source…", file=sys.stderr)
            mariadb(f"TRUNCATE {table}", port=3306, database=BENCH_DB)
            raw_pipe(model, "pg", 3306, BENCH_DB)
            held = mariadb(f"SELECT {counts} FROM {table}", port=3306, database=BENCH_DB).strip()
            if held != wanted:
                raise SystemExit(
                    f"{table}: MariaDB holds other non-NULL counts per column than PostgreSQL "
                    f"({held.split()} vs {wanted.split()}): a value was refused on the way"
                )


def _pg_select(model: dict[str, Any], zone: str) -> str:
    exprs = []
    for name, kind, _ in model["columns"]:
        exprs.append(
            {
                "datetime": f"to_char({name} AT TIME ZONE '{zone}', 'YYYY-MM-DD HH24:MI:SS.US')",
                "bool": f"{name}::int",
                "uuid": f"replace({name}::text, '-', '')",
            }.get(kind, name)
        )
    return f"SELECT {', '.join(exprs)} FROM {model['table']} ORDER BY id"


def _maria_select(model: dict[str, Any]) -> str:
    exprs = []
    for name, kind, nullable in model["columns"]:
        expr = f"REPLACE(CAST({name} AS CHAR), '-', '')" if kind == "uuid" else name
        if kind == "text":
            expr = (
                f"REPLACE(REPLACE(REPLACE({name}, '\\\\', '\\\\\\\\'), '\\t', '\\\\t'), "
                "'\\n', '\\\\n')"
            )
        exprs.append(f"IFNULL({expr}, '\\\\N')" if nullable else expr)
    return f"SELECT {', '.join(exprs)} FROM {model['table']} ORDER BY id"


def raw_pipe(
    model: dict[str, Any],
    source: str,
    port: int | None = None,
    db: str | None = None,
    zone: str = "UTC",
) -> None:
    """The baseline: the source's client printing the same columns, piped into the target's
    ``LOAD DATA LOCAL INFILE '/dev/stdin'``; no Django, conversions done by the source's SQL
    (``psql COPY … TO STDOUT`` for PostgreSQL, ``mariadb --raw -N -B -e SELECT …`` else).
    A PostgreSQL source's timestamps are written naive in ``zone`` (see ``stored_zone``); a
    MariaDB source's are naive already and copied as they are."""
    port = target_port if port is None else port
    db = target_db if db is None else db
    columns = ", ".join(name for name, _, _ in model["columns"])
    load = (
        f"LOAD DATA LOCAL INFILE '/dev/stdin' INTO TABLE {model['table']} CHARACTER SET utf8mb4 "
        f"FIELDS TERMINATED BY '\\t' LINES TERMINATED BY '\\n' ({columns})"
    )
    if source == "pg":
        producer_args = ["psql", "-h", "127.0.0.1", "-U", "s2kit", "-d", BENCH_DB, "-c",
                         f"COPY ({_pg_select(model, zone)}) TO STDOUT"]  # fmt: skip
    else:
        producer_args = ["mariadb", "--raw", "--default-character-set=utf8mb4", "-N", "-B",
                         "-h127.0.0.1", "-P3306", "-us2kit", "-ps2kit", BENCH_DB,
                         "-e", _maria_select(model)]  # fmt: skip
    env = {**os.environ, "PGPASSWORD": "s2kit"}
    producer = subprocess.Popen(producer_args, stdout=subprocess.PIPE, env=env)
    subprocess.run(
        ["mariadb", "--local-infile=1", "-h127.0.0.1", f"-P{port}", "-us2kit", "-ps2kit", db,
         "-e", load],
        stdin=producer.stdout, check=True,
    )  # fmt: skip
    producer.stdout.close()
    if producer.wait() != 0:
        raise SystemExit(f"{producer_args[0]} failed")


def target_checksum(model: dict[str, Any]) -> str:
    """A checksum of every value of ``model``'s target table: what a backfill loaded must sum
    to what the raw pipe loaded."""
    parts = ", ".join(f"IFNULL({name}, '~')" for name, _, _ in model["columns"])
    return mariadb(f"SELECT COUNT(*), SUM(CRC32(CONCAT_WS('|', {parts}))) FROM {model['table']}")


def reset_matrix_target(model: dict[str, Any]) -> None:
    """Empty ``model``'s target table and forget backfill checkpoints."""
    from migration_kit.models import BackfillCheckpoint

    mariadb(f"TRUNCATE {model['table']}")
    BackfillCheckpoint.objects.all().delete()


def spread(values: list[float]) -> dict[str, float]:
    """Median, min and max of a cell's rounds."""
    ordered = sorted(values)
    return {"median": ordered[len(ordered) // 2], "min": ordered[0], "max": ordered[-1]}


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as ``uptime`` prints them."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())
