"""Backfill speed: ``s2_backfill`` vs the raw pipe and vs ``dumpdata | loaddata``, in one run.

    .venv/bin/python bench/backfill.py [--rows 1000000] [--sample 20000] [--target s2|mysql]

Source: PostgreSQL; target: the SingleStore emulator in front of MariaDB (``--target s2``, the
default) or MariaDB directly (``--target mysql``). Baselines, on the same tables in the same run:

- raw pipe: ``psql -c "COPY (SELECT …) TO STDOUT" | mariadb -e "LOAD DATA LOCAL INFILE
  '/dev/stdin' …"`` — no Django, conversions done by PostgreSQL in the COPY query;
- ``dumpdata | loaddata``: Django's serializers on ``--sample`` rows, extrapolated as rows/s.

Also reports rows/s by batch size (one worker) and by worker count (adaptive batches).
Targets: s2_backfill ≥ 0.6x the raw pipe, ≥ 30x dumpdata/loaddata. Prints the results as JSON;
with ``BENCH_JSON`` set, writes bench/runner.py's rows there, the by-batch-size and by-worker
figures under the ``chart`` key of the best-figure row (the runner draws docs/img/backfill.png).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _kitbench as kb


def raw_pipe() -> None:
    copy = (
        "COPY (SELECT id, account, kind, amount, "
        "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), done::int, note "
        f"FROM {kb.TABLE} ORDER BY id) TO STDOUT"
    )
    load = (
        f"LOAD DATA LOCAL INFILE '/dev/stdin' INTO TABLE {kb.TABLE} CHARACTER SET utf8mb4 "
        f"FIELDS TERMINATED BY '\\t' LINES TERMINATED BY '\\n' ({kb.COLUMNS})"
    )
    env = {**os.environ, "PGPASSWORD": "s2kit"}
    producer = subprocess.Popen(
        ["psql", "-h", "127.0.0.1", "-U", "s2kit", "-d", kb.BENCH_DB, "-c", copy],
        stdout=subprocess.PIPE,
        env=env,
    )
    subprocess.run(
        ["mariadb", "--local-infile=1", "-h127.0.0.1", f"-P{kb.target_port}", "-us2kit",
         "-ps2kit", kb.target_db, "-e", load],
        stdin=producer.stdout, check=True,
    )  # fmt: skip
    producer.stdout.close()
    if producer.wait() != 0:
        raise SystemExit("psql COPY failed")


def backfill(**opts: object) -> dict:
    from django.core.management import call_command

    out = io.StringIO()
    call_command(
        "s2_backfill", "kitapp.BenchRow", source="default", target=kb.target_alias, format="json",
        restart=True, stdout=out, stderr=io.StringIO(), **opts,
    )  # fmt: skip
    return json.loads(out.getvalue())["models"][0]


def dump_load(sample: int) -> float:
    from django.core.management import call_command

    with tempfile.TemporaryDirectory() as tmp:
        fixture = os.path.join(tmp, "rows.json")
        pks = ",".join(str(i) for i in range(1, sample + 1))

        def run() -> None:
            call_command(
                "dumpdata", "kitapp.BenchRow", database="default", pks=pks, output=fixture,
                verbosity=0,
            )  # fmt: skip
            call_command("loaddata", fixture, database=kb.target_alias, verbosity=0)

        return kb.timed(run)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=20_000, help="rows for dumpdata/loaddata")
    parser.add_argument("--target", choices=sorted(kb.TARGETS), default="s2")
    args = parser.parse_args()
    kb.setup_copy(args.target, args.rows)
    n = args.rows
    results: dict = {"rows": n, "target": kb.TARGETS[args.target]}

    kb.reset_target()
    seconds = kb.timed(raw_pipe)
    assert int(kb.mariadb(f"SELECT COUNT(*) FROM {kb.TABLE}")) == n
    results["raw_pipe_rows_per_s"] = round(n / seconds)

    kb.reset_target()
    sample_seconds = dump_load(args.sample)
    results["dumpdata_loaddata_rows_per_s"] = round(args.sample / sample_seconds)
    results["dumpdata_loaddata_sample_rows"] = args.sample

    by_batch = {}
    for size in (1000, 5000, 20000, None):
        kb.reset_target()
        summary = backfill(batch_size=size, workers=1)
        assert summary["rows_copied"] == n and summary["finished"]
        by_batch["adaptive" if size is None else size] = round(summary["rows_per_second"])
    by_workers = {1: by_batch["adaptive"]}
    for workers in (2, 4):
        kb.reset_target()
        summary = backfill(workers=workers)
        assert summary["rows_copied"] == n and summary["finished"]
        by_workers[workers] = round(summary["rows_per_second"])
    results["s2_backfill_rows_per_s_by_batch_size"] = by_batch
    results["s2_backfill_rows_per_s_by_workers"] = by_workers
    best = max([*by_batch.values(), *by_workers.values()])
    default = by_batch["adaptive"]
    results["s2_backfill_rows_per_s_default"] = default
    results["s2_backfill_rows_per_s_best"] = best
    results["ratio_default_vs_raw_pipe"] = round(default / results["raw_pipe_rows_per_s"], 2)
    results["ratio_best_vs_raw_pipe"] = round(best / results["raw_pipe_rows_per_s"], 2)
    results["ratio_default_vs_dumpdata_loaddata"] = round(
        default / results["dumpdata_loaddata_rows_per_s"], 1
    )
    kb.emit(results, rows(results))


def rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    """bench/runner.py's rows: s2_backfill rows/s vs the raw pipe and vs dumpdata/loaddata."""
    ours = data["s2_backfill_rows_per_s_default"]
    best = data["s2_backfill_rows_per_s_best"]
    raw = data["raw_pipe_rows_per_s"]
    dump = data["dumpdata_loaddata_rows_per_s"]
    where = f"{data['rows']:,} rows → {data['target']}"
    chart = {
        "rows": data["rows"],
        "target": data["target"],
        "raw_pipe_rows_per_s": raw,
        "by_batch_size": data["s2_backfill_rows_per_s_by_batch_size"],
        "by_workers": data["s2_backfill_rows_per_s_by_workers"],
    }
    return [
        {"name": f"s2_backfill vs raw COPY | LOAD DATA pipe ({where})", "ours": ours,
         "baseline": raw, "unit": "rows/s", "ratio": kb.ratio(ours, raw), "target": "≥ 0.6x"},
        {"name": "s2_backfill, best batch size / workers, vs raw pipe", "ours": best,
         "baseline": raw, "unit": "rows/s", "ratio": kb.ratio(best, raw), "target": "≥ 0.6x",
         "chart": chart},
        {"name": "s2_backfill vs dumpdata | loaddata", "ours": ours, "baseline": dump,
         "unit": "rows/s", "ratio": kb.ratio(ours, dump), "target": "≥ 30x"},
    ]  # fmt: skip


if __name__ == "__main__":
    main()
