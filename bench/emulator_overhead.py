"""What the SingleStore emulator costs: direct MariaDB vs the same MariaDB through the emulator.

Measured in one run with the real ``singlestoredb`` driver, alternating direct and proxied
rounds so machine load hits both alike:

- per-query latency (p50/p99, ms) of a small point query, and the added p50;
- bulk fetch: ``SELECT *`` of a wide-ish table, rows/s;
- ``LOAD DATA LOCAL INFILE`` of a TSV file, rows/s.

Targets: ≤ 0.2 ms added per query at p50; ≥ 0.9x direct throughput for fetch and LOAD DATA.
The emulator runs as a separate process (``python -m django_singlestore.emulator``), as in
tests. Uses a throw-away database ``s2kit_ebench``, dropped at the end.

    .venv/bin/python bench/emulator_overhead.py [--queries N] [--rows N] [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import singlestoredb  # noqa: E402

from django_singlestore.emulator.pytest_plugin import start_emulator, stop_emulator  # noqa: E402

DB = "s2kit_ebench"
BACKEND = "mysql://root@127.0.0.1:3306"
USER, PASSWORD = "s2kit", "s2kit"


def connect(port: int) -> Any:
    return singlestoredb.connect(
        host="127.0.0.1", port=port, user=USER, password=PASSWORD, database=DB, local_infile=True
    )


def latencies(connection: Any, n: int) -> list[float]:
    cursor = connection.cursor()
    out = []
    for i in range(n):
        start = time.perf_counter()
        cursor.execute("SELECT id, label FROM bench_rows WHERE id = %s", (i % 1000,))
        cursor.fetchall()
        out.append(time.perf_counter() - start)
    return out


def rows_per_second(action: Callable[[], int]) -> float:
    start = time.perf_counter()
    rows = action()
    return rows / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=2000, help="point queries per round")
    parser.add_argument("--rows", type=int, default=200_000, help="rows for fetch and LOAD DATA")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    emulator = start_emulator(BACKEND, ["--log-level", "WARNING"])
    tsv = Path(tempfile.mkdtemp(prefix="s2emu-bench-")) / "rows.tsv"
    try:
        tsv.write_text(
            "".join(
                f"{i}\tlabel {i:012d}\t{i * 0.5}\t2024-01-01 00:00:00\n" for i in range(args.rows)
            )
        )
        setup = singlestoredb.connect(host="127.0.0.1", port=3306, user=USER, password=PASSWORD)
        with setup.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {DB}")
            cursor.execute(f"CREATE DATABASE {DB}")
        setup.close()
        proxied = connect(emulator.port)
        with proxied.cursor() as cursor:
            cursor.execute(
                "CREATE ROWSTORE TABLE bench_rows (id BIGINT PRIMARY KEY, label VARCHAR(40), "
                "score DOUBLE, created DATETIME)"
            )
            cursor.execute(f"LOAD DATA LOCAL INFILE '{tsv}' INTO TABLE bench_rows")
            cursor.execute(
                "CREATE ROWSTORE TABLE bench_load (id BIGINT PRIMARY KEY, label VARCHAR(40), "
                "score DOUBLE, created DATETIME)"
            )
        direct = connect(3306)
        sides = {"direct": direct, "emulator": proxied}

        lat: dict[str, list[float]] = {side: [] for side in sides}
        fetch: dict[str, list[float]] = {side: [] for side in sides}
        load: dict[str, list[float]] = {side: [] for side in sides}
        for connection in sides.values():  # warm-up
            latencies(connection, 200)
        for _ in range(args.rounds):
            for side, connection in sides.items():
                lat[side].extend(latencies(connection, args.queries))

                def fetch_all(connection: Any = connection) -> int:
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT * FROM bench_rows")
                        return len(cursor.fetchall())

                def load_file(connection: Any = connection) -> int:
                    with connection.cursor() as cursor:
                        cursor.execute("TRUNCATE TABLE bench_load")
                        cursor.execute(f"LOAD DATA LOCAL INFILE '{tsv}' INTO TABLE bench_load")
                        return args.rows

                fetch[side].append(rows_per_second(fetch_all))
                load[side].append(rows_per_second(load_file))

        def pct(values: list[float], q: float) -> float:
            ordered = sorted(values)
            return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

        print(
            f"emulator_overhead: {args.queries * args.rounds} point queries, "
            f"{args.rows} rows, best of {args.rounds} rounds for throughput"
        )
        print(f"{'':10} {'p50 ms':>8} {'p99 ms':>8} {'fetch rows/s':>14} {'LOAD rows/s':>13}")
        for side in sides:
            print(
                f"{side:10} {pct(lat[side], 0.5):8.3f} {pct(lat[side], 0.99):8.3f} "
                f"{max(fetch[side]):14,.0f} {max(load[side]):13,.0f}"
            )
        added = pct(lat["emulator"], 0.5) - pct(lat["direct"], 0.5)
        fetch_ratio = max(fetch["emulator"]) / max(fetch["direct"])
        load_ratio = max(load["emulator"]) / max(load["direct"])
        print(f"added p50: {added:.3f} ms (target <= 0.200)")
        print(f"fetch throughput ratio: {fetch_ratio:.2f}x (target >= 0.90)")
        print(f"LOAD DATA throughput ratio: {load_ratio:.2f}x (target >= 0.90)")
        rounds = zip(fetch["emulator"], fetch["direct"], strict=True)
        print(f"median per-round fetch ratio: {statistics.median(e / d for e, d in rounds):.2f}x")
        for connection in sides.values():
            connection.close()
    finally:
        cleanup = singlestoredb.connect(host="127.0.0.1", port=3306, user=USER, password=PASSWORD)
        with cleanup.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {DB}")
        cleanup.close()
        stop_emulator(emulator)
        tsv.unlink(missing_ok=True)
        tsv.parent.rmdir()


if __name__ == "__main__":
    main()
