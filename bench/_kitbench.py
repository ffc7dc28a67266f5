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
        from django_singlestore.emulator.pytest_plugin import start_emulator

        _emulator = start_emulator("mysql://s2kit:s2kit@127.0.0.1:3306", [])
        atexit.register(_stop_emulator)
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


def _stop_emulator() -> None:
    from django_singlestore.emulator.pytest_plugin import stop_emulator

    if _emulator is not None:
        stop_emulator(_emulator)


def mariadb(sql: str, database: str | None = None, stdin: bytes | None = None) -> str:
    """Run SQL with the MariaDB client on the bench target (LOCAL INFILE enabled)."""
    database = target_db if database is None else database
    args = ["mariadb", "--local-infile=1", "-h127.0.0.1", f"-P{target_port}", "-us2kit",
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
