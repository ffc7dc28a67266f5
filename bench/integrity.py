"""Benchmark ``s2_check_integrity`` against one raw anti-join statement, and its memory.

The relation is ``integrityapp.Review.book`` (a narrow child: id, book_id — the worst case for
any overhead around the join). For each size the child table grows to that many rows, with one
orphan every ``--orphan-every`` rows, generated with set-based SQL (``generate_series`` on
PostgreSQL, the SEQUENCE engine on MariaDB). Each measurement runs in a fresh process that
alternates the raw statement and the command ``--repeat`` times and reports the medians and its
peak RSS; the command's answer is checked against the known orphan count every time.

    .venv/bin/python bench/integrity.py                       # PostgreSQL and MariaDB, 1M/3M/10M
    .venv/bin/python bench/integrity.py --vendors postgresql --sizes 1000000,10000000
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "s2kit_bench_integrity"
ALIASES = {"postgresql": "default", "mysql": "mysql"}
RAW = (
    "SELECT c.id FROM integrityapp_review c LEFT JOIN integrityapp_book p ON p.id = c.book_id "
    "WHERE c.book_id IS NOT NULL AND p.id IS NULL"
)


def configure() -> None:
    """Django settings for the bench databases only (no router: same-database relations)."""
    sys.path.insert(0, str(ROOT))
    import django
    from django.conf import settings

    common = {"USER": "s2kit", "PASSWORD": "s2kit", "HOST": "127.0.0.1", "NAME": BENCH_DB}
    settings.configure(
        DATABASES={
            "default": {"ENGINE": "django.db.backends.postgresql", "PORT": "5432", **common},
            "mysql": {
                "ENGINE": "django.db.backends.mysql",
                "PORT": "3306",
                "OPTIONS": {"charset": "utf8mb4"},
                **common,
            },
        },
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "s2router",
            "migration_kit",
            "tests.integrity.integrityapp",
        ],
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        USE_TZ=True,
    )
    django.setup()


def create_databases() -> None:
    env = {**os.environ, "PGPASSWORD": "s2kit"}
    psql = ["psql", "-h", "127.0.0.1", "-U", "s2kit", "-d", "s2kit", "-tAc"]
    found = subprocess.run(
        [*psql, f"SELECT 1 FROM pg_database WHERE datname = '{BENCH_DB}'"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not found:
        subprocess.run([*psql, f"CREATE DATABASE {BENCH_DB}"], env=env, check=True)
    subprocess.run(
        [
            "mariadb",
            "-h127.0.0.1",
            "-us2kit",
            "-ps2kit",
            "-e",
            f"CREATE DATABASE IF NOT EXISTS {BENCH_DB} CHARACTER SET utf8mb4",
        ],
        check=True,
    )


def execute(alias: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    from django.db import connections

    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params or None)
        return cursor.fetchall() if cursor.description else []


def generate(alias: str, parents: int, size: int, every: int) -> None:
    """Make the child table hold rows 1..size (adding what is missing) and the parents 1..parents.

    Row g points at book (g % parents) + 1, except every ``every``-th row, which points at -g.
    """
    vendor = "postgresql" if alias == "default" else "mysql"
    (books,) = execute(alias, "SELECT COUNT(*) FROM integrityapp_book")[0]
    if books != parents:
        execute(alias, "TRUNCATE TABLE integrityapp_review")
        execute(alias, "DELETE FROM integrityapp_book")
        if vendor == "postgresql":
            execute(
                alias,
                "INSERT INTO integrityapp_book (id, title) "
                "SELECT g, '' FROM generate_series(1, %s) g",
                (parents,),
            )
        else:
            execute(
                alias,
                f"INSERT INTO integrityapp_book (id, title) "
                f"SELECT seq, '' FROM seq_1_to_{int(parents)}",
            )
    (have,) = execute(alias, "SELECT COALESCE(MAX(id), 0) FROM integrityapp_review")[0]
    if have > size:  # start over: a shrunk table keeps its pages and would skew the scans
        execute(alias, "TRUNCATE TABLE integrityapp_review")
        have = 0
    step = 1_000_000
    for lo in range(int(have) + 1, size + 1, step):
        hi = min(lo + step - 1, size)
        started = time.monotonic()
        if vendor == "postgresql":
            execute(
                alias,
                "INSERT INTO integrityapp_review (id, book_id) SELECT g, CASE WHEN "
                "g %% %s = 0 THEN -g ELSE (g %% %s) + 1 END FROM generate_series(%s, %s) g",
                (every, parents, lo, hi),
            )
        else:
            execute(
                alias,
                f"INSERT INTO integrityapp_review (id, book_id) SELECT seq, IF(seq "
                f"% {every} = 0, -seq, (seq % {parents}) + 1) FROM seq_{lo}_to_{hi}",
            )
        print(
            f"  {alias}: rows {lo:,}..{hi:,} in {time.monotonic() - started:.1f}s", file=sys.stderr
        )
    if vendor == "postgresql":
        execute(alias, "VACUUM ANALYZE integrityapp_review")
        execute(alias, "VACUUM ANALYZE integrityapp_book")
    else:
        execute(alias, "ANALYZE TABLE integrityapp_review, integrityapp_book")


def measure(alias: str, size: int, every: int, repeat: int, batch_sizes: list[int]) -> dict:
    """Alternate the raw statement and the command; medians, and this process's peak RSS."""
    from django.core.management import call_command
    from django.core.management.base import CommandError

    expected = size // every
    execute(alias, RAW)  # warm the caches once, for both contenders
    raw: list[float] = []
    runs: dict[int, list[float]] = {b: [] for b in batch_sizes}
    for _ in range(repeat):
        started = time.perf_counter()
        found = execute(alias, RAW)
        raw.append(time.perf_counter() - started)
        assert len(found) == expected, (len(found), expected)
        for batch in batch_sizes:
            out = io.StringIO()
            started = time.perf_counter()
            try:
                call_command(
                    "s2_check_integrity",
                    "integrityapp.Review.book",
                    database=alias,
                    format="json",
                    batch_size=batch,
                    stdout=out,
                    stderr=io.StringIO(),
                )
            except CommandError as exc:
                assert exc.returncode == 1, exc
            runs[batch].append(time.perf_counter() - started)
            total = json.loads(out.getvalue())["total"]
            assert total["violations"] == expected, total
            assert total["rows_checked"] == size, total
    return {
        "raw_s": statistics.median(raw),
        "command_s": {str(b): statistics.median(t) for b, t in runs.items()},
        "raw_min_s": min(raw),
        "command_min_s": {str(b): min(t) for b, t in runs.items()},
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vendors", default="postgresql,mysql")
    parser.add_argument("--sizes", default="1000000,3000000,10000000")
    parser.add_argument("--parents", type=int, default=1_000_000)
    parser.add_argument("--orphan-every", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--batch-sizes",
        default="10000000,1000000",
        help="--batch-size values to time the command with",
    )
    parser.add_argument("--measure", metavar="ALIAS", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    if args.measure:
        configure()
        result = measure(args.measure, sizes[0], args.orphan_every, args.repeat, batch_sizes)
        print(json.dumps(result))
        return
    create_databases()
    configure()
    from django.core.management import call_command

    print(
        f"s2_check_integrity integrityapp.Review.book vs one raw anti-join; "
        f"{args.parents:,} parents, one orphan per {args.orphan_every:,} rows; "
        f"medians of {args.repeat} alternated runs (best: ratio of the fastest runs); "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    measurements: list[dict] = []
    for vendor in args.vendors.split(","):
        alias = ALIASES[vendor]
        call_command("migrate", database=alias, verbosity=0)
        smallest_rss = None
        for size in sizes:
            generate(alias, args.parents, size, args.orphan_every)
            child = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--measure",
                    alias,
                    "--sizes",
                    str(size),
                    "--orphan-every",
                    str(args.orphan_every),
                    "--repeat",
                    str(args.repeat),
                    "--batch-sizes",
                    args.batch_sizes,
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            result = json.loads(child.stdout)
            smallest_rss = smallest_rss or result["peak_rss_mb"]
            measurements.extend(bench_rows(vendor, size, result, smallest_rss))
            cells = ", ".join(
                f"--batch-size {int(b):,}: {t:.2f}s = {t / result['raw_s']:.2f}x "
                f"(best {result['command_min_s'][b] / result['raw_min_s']:.2f}x)"
                for b, t in result["command_s"].items()
            )
            print(
                f"{vendor:<10} {size:>12,} rows: raw {result['raw_s']:.2f}s; {cells}; "
                f"peak RSS {result['peak_rss_mb']:.0f} MB",
                flush=True,
            )
    if os.environ.get("BENCH_JSON"):
        Path(os.environ["BENCH_JSON"]).write_text(json.dumps(measurements, indent=2))


def bench_rows(vendor: str, size: int, result: dict, smallest_rss: float) -> list[dict]:
    """Machine-readable rows for bench/runner.py (``BENCH_JSON``)."""
    raw = result["raw_s"]
    rows = []
    for batch, seconds in result["command_s"].items():
        chunks = -(-size // int(batch))
        rows.append(
            {
                "name": f"s2_check_integrity vs one raw anti-join ({vendor}, {size:,} rows, "
                f"{chunks} chunk{'s' if chunks > 1 else ''})",
                "ours": round(seconds, 3),
                "baseline": round(raw, 3),
                "unit": "s",
                "ratio": round(seconds / raw, 2),
                "target": "≤ 1.2x" if chunks == 1 else "(chunked)",
            }
        )
    rows.append(
        {
            "name": f"s2_check_integrity peak RSS ({vendor}, {size:,} rows) vs smallest size",
            "ours": round(result["peak_rss_mb"], 1),
            "baseline": round(smallest_rss, 1),
            "unit": "MB",
            "ratio": round(result["peak_rss_mb"] / smallest_rss, 2),
            "target": "flat",
        }
    )
    return rows


if __name__ == "__main__":
    main()
