"""Backfill speed: ``s2_backfill`` vs a raw pipe moving the same columns, over a matrix, in one run.

    .venv/bin/python bench/backfill.py [--rows 1000000] [--rounds 3] [--target s2|mysql]
                                       [--models narrow,wide] [--sources pg,maria]

Cells: a narrow model (``BenchRow``: integer, text, decimal, datetime, boolean, text with tabs)
and a wide realistic one (``BenchWide``: every common field — NULLs, non-ASCII text, float,
UUID, JSON, IP address, a DateTimeField); ``USE_TZ`` True and False, with a non-UTC
``TIME_ZONE`` (``America/New_York``: without ``USE_TZ``, a PostgreSQL source's instants are
converted to it on both paths); a PostgreSQL and a MariaDB source; the target is the
SingleStore emulator in front of MariaDB (``--target s2``, the default) or MariaDB directly.
In each cell the raw pipe (``psql COPY … TO STDOUT`` or ``mariadb --raw -B -e SELECT …``,
piped into ``LOAD DATA LOCAL INFILE '/dev/stdin'``) and ``s2_backfill`` (defaults: adaptive
batches, one worker) alternate ``--rounds`` times on an emptied target; each figure is the
median rows/s, with min and max. After each round the target's values must checksum to what
the raw pipe loaded. Target: ≥ 0.9x the raw pipe in every cell. Prints the results
as JSON; with ``BENCH_JSON`` set, writes bench/runner.py's rows there (one per cell).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _kitbench as kb

TARGET = 0.9


def backfill(label: str, source: str, use_tz: bool) -> dict:
    from django.core.management import call_command
    from django.test.utils import override_settings

    out = io.StringIO()
    with override_settings(**kb.tz_settings(use_tz)):
        call_command(
            "s2_backfill", label, source=source, target=kb.target_alias, format="json",
            restart=True, stdout=out, stderr=io.StringIO(),
        )  # fmt: skip
    return json.loads(out.getvalue())["models"][0]


def cell(name: str, source: str, use_tz: bool, rows: int, rounds: int) -> dict[str, Any]:
    model = kb.MODELS[name]
    raw, ours, notes = [], [], []
    for _ in range(rounds):
        kb.reset_matrix_target(model)
        began = time.perf_counter()
        kb.raw_pipe(model, source, zone=kb.stored_zone(use_tz))
        raw.append(rows / (time.perf_counter() - began))
        loaded = kb.target_checksum(model)
        assert int(loaded.split()[0]) == rows, loaded
        kb.reset_matrix_target(model)
        began = time.perf_counter()
        summary = backfill(model["label"], kb.SOURCES[source], use_tz)
        ours.append(rows / (time.perf_counter() - began))
        assert summary["rows_copied"] == rows and summary["finished"], summary
        assert summary["load_fallbacks"] == 0, summary
        assert kb.target_checksum(model) == loaded, "s2_backfill loaded other values"
        notes = summary["notes"]
    raw_s, ours_s = kb.spread(raw), kb.spread(ours)
    return {
        "model": name,
        "source": source,
        "use_tz": use_tz,
        "raw_pipe_rows_per_s": {k: round(v) for k, v in raw_s.items()},
        "s2_backfill_rows_per_s": {k: round(v) for k, v in ours_s.items()},
        "ratio": round(ours_s["median"] / raw_s["median"], 2),
        "notes": notes,
        "load_average": kb.load_average(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--target", choices=sorted(kb.TARGETS), default="s2")
    parser.add_argument("--models", default="narrow,wide")
    parser.add_argument("--sources", default="pg,maria")
    args = parser.parse_args()
    kb.setup_django(args.target, kb.COPY_DB)
    kb.ensure_matrix_rows(args.rows)
    cells = []
    for name in args.models.split(","):
        for source in args.sources.split(","):
            for use_tz in (True, False):
                cells.append(cell(name, source, use_tz, args.rows, args.rounds))
                print(json.dumps(cells[-1]), file=sys.stderr, flush=True)
    results = {
        "rows": args.rows,
        "rounds": args.rounds,
        "target": kb.TARGETS[args.target],
        "cells": cells,
    }
    kb.emit(results, rows(results))


def rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    """bench/runner.py's rows: one per cell, s2_backfill median rows/s vs the raw pipe's."""
    out = []
    for c in data["cells"]:
        ours, raw = c["s2_backfill_rows_per_s"], c["raw_pipe_rows_per_s"]
        out.append(
            {
                "name": (
                    f"s2_backfill vs raw pipe: {c['model']}, {c['source']} source, "
                    f"USE_TZ={c['use_tz']} ({data['rows']:,} rows, median of {data['rounds']}; "
                    f"ours {ours['min']:,} to {ours['max']:,}, "
                    f"raw {raw['min']:,} to {raw['max']:,}; "
                    f"load {c['load_average']})"
                ),
                "ours": ours["median"],
                "baseline": raw["median"],
                "unit": "rows/s",
                "ratio": c["ratio"],
                "target": f"≥ {TARGET}x",
            }
        )
    return out


if __name__ == "__main__":
    main()
