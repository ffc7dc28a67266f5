"""What the SingleStore emulator costs: direct MariaDB vs the same MariaDB through the emulator.

Measured in one run with the real ``singlestoredb`` driver, alternating direct and proxied
batches (order swapped every round) so machine load hits both alike:

- per-query latency (p50/p99, ms) of a primary-key point query, and the added p50;
- the same for a query the shape rules must parse (a correlated EXISTS, the shape Django's
  ``Exists(...)`` filters produce): with a new parameter each time (every statement text new,
  so sqlglot parses each one) and with one repeated text (the parse cache answers);
- bulk fetch: ``SELECT *`` of a 4-column table, rows/s (median of rounds; ratio = median of
  the per-round emulator/direct ratios);
- ``LOAD DATA LOCAL INFILE`` of a TSV file into an emptied table, rows/s (same).

Targets: ≤ 0.2 ms added per query at p50; ≥ 0.9x direct throughput for fetch and LOAD DATA.
The emulator runs as a separate process (``python -m s2emulator``), as in
tests. Uses a throw-away database ``s2kit_ebench``, dropped at the end.

    .venv/bin/python bench/emulator_overhead.py [--queries N] [--rows N] [--rounds N]
        [--loop auto|uvloop|asyncio]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
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

from s2emulator.process import EmulatorProcess  # noqa: E402

DB = "s2kit_ebench"
USER, PASSWORD = "s2kit", "s2kit"
BACKEND = f"mysql://{USER}:{PASSWORD}@127.0.0.1:3306"
BATCH = 100


def connect(port: int) -> Any:
    return singlestoredb.connect(
        host="127.0.0.1", port=port, user=USER, password=PASSWORD, database=DB, local_infile=True
    )


POINT = "SELECT id, label FROM bench_rows WHERE id = %s"
#: A statement with a nested SELECT: the emulator parses it (S2 shape rules) before forwarding.
SHAPED = (
    "SELECT b.id, b.label FROM bench_rows b WHERE b.id = %s AND EXISTS(SELECT 1 AS a FROM "
    "bench_load l WHERE l.id = (b.id) LIMIT 1)"
)


_fresh = itertools.count(10_000)


def latencies(connection: Any, n: int, query: str = POINT, vary: bool | None = None) -> list[float]:
    """``n`` timed executions; the parameter cycles through 1,000 ids (``vary=None``), is new
    every time (``True``: never-seen statement texts), or is always the same (``False``)."""
    cursor = connection.cursor()
    out = []
    for i in range(n):
        value = i % 1000 if vary is None else next(_fresh) if vary else 7
        start = time.perf_counter()
        cursor.execute(query, (value,))
        cursor.fetchall()
        out.append(time.perf_counter() - start)
    return out


def fetch_all(connection: Any) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM bench_rows")
        return len(cursor.fetchall())


def load_file(connection: Any, tsv: Path, rows: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE TABLE bench_load")
        cursor.execute(f"LOAD DATA LOCAL INFILE '{tsv}' INTO TABLE bench_load")
    return rows


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (seconds), in ms."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def rows_per_second(action: Callable[[], int]) -> float:
    start = time.perf_counter()
    rows = action()
    return rows / (time.perf_counter() - start)


def write_json(
    path: Path,
    lat: dict[str, list[float]],
    fetch: dict[str, list[float]],
    load: dict[str, list[float]],
    shaped: dict[str, dict[str, list[float]]],
) -> None:
    """The ``BENCH_JSON`` contract of bench/runner.py: one entry per measured target."""
    p50 = pct(lat["emulator"], 0.5), pct(lat["direct"], 0.5)
    rows = [
        {"name": "point query p50 through the emulator vs direct MariaDB", "ours": p50[0],
         "baseline": p50[1], "unit": "ms", "ratio": round(p50[0] / p50[1], 2),
         "target": "≤ +0.2 ms", "met": p50[0] - p50[1] <= 0.2},
    ]  # fmt: skip
    for case, values in shaped.items():
        ours, base = pct(values["emulator"], 0.5), pct(values["direct"], 0.5)
        rows.append(
            {
                "name": f"correlated EXISTS query p50 ({case}) through the emulator vs direct",
                "ours": ours,
                "baseline": base,
                "unit": "ms",
                "ratio": round(ours / base, 2),
                "target": "",
            }
        )
    for name, values in (
        ("bulk fetch through the emulator vs direct", fetch),
        ("LOAD DATA LOCAL INFILE through the emulator vs direct", load),
    ):
        ours, base = statistics.median(values["emulator"]), statistics.median(values["direct"])
        rows.append(
            {
                "name": name,
                "ours": ours,
                "baseline": base,
                "unit": "rows/s",
                "ratio": round(ours / base, 2),
                "target": "≥ 0.9x",
            }
        )
    path.write_text(json.dumps(rows, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=2000, help="point queries per round")
    parser.add_argument("--rows", type=int, default=200_000, help="rows for fetch and LOAD DATA")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument(
        "--loop", default="auto", choices=["auto", "uvloop", "asyncio"], help="the emulator's"
    )
    args = parser.parse_args()

    emulator = EmulatorProcess(BACKEND, ["--log-level", "WARNING", "--loop", args.loop]).start()
    loop = emulator.log().rsplit("loop ", 1)[-1].split(")", 1)[0]
    tsv = Path(tempfile.mkdtemp(prefix="s2emu-bench-")) / "rows.tsv"
    try:
        tsv.write_text(
            "".join(
                f"{i}\tlabel {i:012d}\t{i * 0.5}\t2024-01-01 00:00:00\n" for i in range(args.rows)
            )
        )
        setup = singlestoredb.connect(
            host="127.0.0.1", port=emulator.port, user=USER, password=PASSWORD
        )
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
        cases = {"new text each time: parsed": True, "repeated text: parse cached": False}
        shaped: dict[str, dict[str, list[float]]] = {c: {s: [] for s in sides} for c in cases}
        fetch: dict[str, list[float]] = {side: [] for side in sides}
        load: dict[str, list[float]] = {side: [] for side in sides}
        for connection in sides.values():  # warm-up
            latencies(connection, 200)
        for round_no in range(args.rounds):
            # Alternate small batches (and swap the order every round) so that the machine's
            # load drifts over both sides alike.
            order = list(sides.items()) if round_no % 2 == 0 else list(sides.items())[::-1]
            for _ in range(max(1, args.queries // BATCH)):
                for side, connection in order:
                    lat[side].extend(latencies(connection, BATCH))
                    for case, vary in cases.items():
                        shaped[case][side].extend(latencies(connection, BATCH // 4, SHAPED, vary))
            for side, connection in order:
                fetch[side].append(rows_per_second(lambda c=connection: fetch_all(c)))
                load[side].append(
                    rows_per_second(lambda c=connection: load_file(c, tsv, args.rows))
                )

        def ratios(values: dict[str, list[float]]) -> list[float]:
            return [e / d for e, d in zip(values["emulator"], values["direct"], strict=True)]

        print(
            f"emulator_overhead: {len(lat['direct'])} point queries per side in batches of "
            f"{BATCH}, {args.rows} rows, {args.rounds} alternating rounds; emulator loop: {loop}"
        )
        print(f"{'':10} {'p50 ms':>8} {'p99 ms':>8} {'fetch rows/s':>14} {'LOAD rows/s':>13}")
        for side in sides:
            print(
                f"{side:10} {pct(lat[side], 0.5):8.3f} {pct(lat[side], 0.99):8.3f} "
                f"{statistics.median(fetch[side]):14,.0f} {statistics.median(load[side]):13,.0f}"
            )
        added = pct(lat["emulator"], 0.5) - pct(lat["direct"], 0.5)
        print(f"added p50: {added:.3f} ms (target <= 0.200)")
        for case, values in shaped.items():
            extra = pct(values["emulator"], 0.5) - pct(values["direct"], 0.5)
            print(
                f"correlated EXISTS ({case}): p50 {pct(values['direct'], 0.5):.3f} ms direct, "
                f"{pct(values['emulator'], 0.5):.3f} ms emulator, added {extra:.3f} ms"
            )
        print(
            f"fetch throughput, median per-round ratio: {statistics.median(ratios(fetch)):.2f}x "
            f"(best {max(ratios(fetch)):.2f}x; target >= 0.90)"
        )
        print(
            f"LOAD DATA throughput, median per-round ratio: {statistics.median(ratios(load)):.2f}x "
            f"(best {max(ratios(load)):.2f}x; target >= 0.90)"
        )
        print("load average at the end: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
        if os.environ.get("BENCH_JSON"):
            write_json(Path(os.environ["BENCH_JSON"]), lat, fetch, load, shaped)
        for connection in sides.values():
            connection.close()
    finally:
        # Through the emulator, so that its catalog forgets the bench tables too.
        cleanup = singlestoredb.connect(
            host="127.0.0.1", port=emulator.port, user=USER, password=PASSWORD
        )
        with cleanup.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {DB}")
        cleanup.close()
        emulator.close()
        tsv.unlink(missing_ok=True)
        tsv.parent.rmdir()


if __name__ == "__main__":
    main()
