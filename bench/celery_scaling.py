"""Celery backfill scaling: ``s2_backfill --celery`` rows/s on 1, 2 and 4 workers, in one run.

    .venv/bin/python bench/celery_scaling.py [--rows 1000000] [--workers 1,2,4] [--ranges 8]
                                             [--model wide|narrow]

A model of bench/backfill.py's matrix (the wide realistic ``BenchWide`` by default, or the
narrow ``BenchRow``), PostgreSQL source, the SingleStore emulator (in front of the
local MariaDB) as target, Redis as broker. For each worker count, ``--workers`` real ``celery
worker`` processes (solo pool) copy the table planned in ``--ranges`` ranges onto an emptied
target; the figure is rows / wall time of the command (planning, enqueueing and waiting
included). Baselines measured in the same run: the raw pipe (``psql COPY`` into ``LOAD DATA``,
no Django) and plain ``s2_backfill`` in one process. Prints the results as JSON; with
``BENCH_JSON`` set, writes bench/runner.py's rows there. CPU time of every process is sampled
from /proc so the summary can say what saturates.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _kitbench as kb

DATABASE = "s2kit_bench_celery"
QUEUE = f"s2kit-bench-{os.getpid()}"


def cpu_seconds() -> dict[str, float]:
    """User+system CPU seconds so far of every process, grouped by what it is."""
    ticks = os.sysconf("SC_CLK_TCK")
    groups: dict[str, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()
        used = (int(fields[11]) + int(fields[12])) / ticks
        if "celery" in cmd and "worker" in cmd:
            group = "celery workers"
        elif "postgres" in stat.split()[1]:
            group = "postgresql"
        elif "mariadbd" in cmd or "mysqld" in cmd:
            group = "mariadb (emulator backend)"
        elif "emulator" in cmd:
            group = "emulator"
        elif "redis" in cmd:
            group = "redis"
        elif entry.name == str(os.getpid()):
            group = "command (coordinator)"
        else:
            continue
        groups[group] = groups.get(group, 0.0) + used
    return groups


def cpu_share(before: dict[str, float], after: dict[str, float], seconds: float) -> dict:
    """Cores each group used on average during ``seconds``."""
    return {
        group: round((after.get(group, 0.0) - before.get(group, 0.0)) / seconds, 2)
        for group in sorted(after)
        if after.get(group, 0.0) - before.get(group, 0.0) > 0.01 * seconds
    }


def command(label: str, **opts: Any) -> dict:
    from django.core.management import call_command

    out = io.StringIO()
    call_command("s2_backfill", label, source="default", target=kb.target_alias,
                 format="json", stdout=out, stderr=io.StringIO(), **opts)  # fmt: skip
    return json.loads(out.getvalue())["models"][0]


def timed_run(model: dict[str, Any], rows: int, run: Any, loaded: str) -> tuple[float, dict]:
    """Rows/s of ``run`` onto an emptied target, and the cores each process group used; the
    target must then checksum to ``loaded`` (what the raw pipe loaded)."""
    kb.reset_matrix_target(model)
    before, began = cpu_seconds(), time.perf_counter()
    summary = run()
    seconds = time.perf_counter() - began
    cores = cpu_share(before, cpu_seconds(), seconds)
    assert kb.target_checksum(model) == loaded, "the backfill loaded other values"
    return rows / seconds, {"cores": cores, "summary": summary}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--ranges", type=int, default=8)
    parser.add_argument("--model", choices=sorted(kb.MODELS), default="wide")
    args = parser.parse_args()
    kb.setup_django("s2", DATABASE)
    kb.ensure_matrix_rows(args.rows)
    os.environ["S2KIT_CELERY_QUEUE"] = QUEUE
    sys.path.insert(0, str(kb.ROOT))
    from tests.kit.celeryapp.app import app
    from tests.kit.celeryapp.processes import Workers

    app.conf.task_default_queue = QUEUE
    model = kb.MODELS[args.model]
    label = model["label"]
    kb.reset_matrix_target(model)
    began = time.perf_counter()
    kb.raw_pipe(model, "pg")
    raw = args.rows / (time.perf_counter() - began)
    loaded = kb.target_checksum(model)
    assert int(loaded.split()[0]) == args.rows, loaded
    plain, plain_info = timed_run(model, args.rows, lambda: command(label, restart=True), loaded)
    cells = []
    logs = Path(os.environ.get("TMPDIR", "/tmp")) / QUEUE
    logs.mkdir(exist_ok=True)
    for count in (int(n) for n in args.workers.split(",")):
        pool = Workers(QUEUE, logs)
        pool.start(count)
        try:
            rate, info = timed_run(
                model,
                args.rows,
                lambda: command(label, restart=True, celery=True, ranges=args.ranges),
                loaded,
            )
        finally:
            pool.stop()
        cells.append({"workers": count, "rows_per_s": round(rate), **info})
        print(json.dumps(cells[-1]), file=sys.stderr, flush=True)
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(QUEUE)
    results = {
        "model": args.model,
        "rows": args.rows,
        "ranges": args.ranges,
        "target": kb.TARGETS["s2"],
        "raw_pipe_rows_per_s": round(raw),
        "plain_s2_backfill_rows_per_s": round(plain),
        "plain_cores": plain_info["cores"],
        "cells": cells,
        "load_average": kb.load_average(),
        "nproc": os.cpu_count(),
    }
    kb.emit(results, rows(results))


def rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    """bench/runner.py's rows: each worker count against the raw pipe, and against 1 worker."""
    out = []
    one = next((c["rows_per_s"] for c in data["cells"] if c["workers"] == 1), None)
    for c in data["cells"]:
        cores = ", ".join(f"{k} {v}" for k, v in c["cores"].items())
        speedup = f"; {c['rows_per_s'] / one:.2f}x of 1 worker" if one else ""
        out.append(
            {
                "name": (
                    f"s2_backfill --celery, {c['workers']} worker(s), {data['ranges']} ranges, "
                    f"{data['rows']:,} {data['model']} rows PG → emulator{speedup}; "
                    f"cores used: {cores}; "
                    f"load {data['load_average']}"
                ),
                "ours": c["rows_per_s"],
                "baseline": data["raw_pipe_rows_per_s"],
                "unit": "rows/s",
                "ratio": round(c["rows_per_s"] / data["raw_pipe_rows_per_s"], 2),
                "target": "measured (scaling on 2 cores)",
            }
        )
    out.append(
        {
            "name": (
                f"plain s2_backfill (one process), {data['rows']:,} {data['model']} rows, same run"
            ),
            "ours": data["plain_s2_backfill_rows_per_s"],
            "baseline": data["raw_pipe_rows_per_s"],
            "unit": "rows/s",
            "ratio": round(data["plain_s2_backfill_rows_per_s"] / data["raw_pipe_rows_per_s"], 2),
            "target": "reference",
        }
    )
    return out


if __name__ == "__main__":
    main()
