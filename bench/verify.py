"""Verify speed: ``s2_verify`` vs one raw checksum pass over both sides, over a matrix, in one run.

    .venv/bin/python bench/verify.py [--rows 1000000] [--rounds 3] [--target s2|mysql]
                                     [--models narrow,wide] [--sources pg,maria]

The cells of bench/backfill.py: the narrow and the wide model, ``USE_TZ`` True and False (with the
non-UTC ``TIME_ZONE`` of bench/_kitbench.py), a PostgreSQL and a MariaDB source, against the
SingleStore emulator (``--target s2``, default) or MariaDB. The target is loaded by the raw pipe
once per cell (its datetimes naive in the zone the cell's settings store them in). The baseline
is one ``SELECT SUM(<60 bits of MD5(CONCAT_WS('|', every column))>)`` over the whole table on the
source and then on the target — the least any checksum comparison must do; ``s2_verify`` (it
queries both sides at once) must find no difference. They alternate ``--rounds`` times; each
figure is the median seconds, with min and max. Target: clean ≤ 1.1x in every cell. One run per
cell with 100 scattered differences on the target checks they are all found. Prints JSON; with
``BENCH_JSON`` set, writes bench/runner.py's rows there (one per cell).
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _kitbench as kb

TARGET = 1.1
DIFFERENCES = 100
# Its own databases: bench/backfill.py regenerates and empties the tables of ``kb.COPY_DB``.
DATABASE = "s2kit_bench_verify"


def raw_checksums(model: dict[str, Any], source: str, use_tz: bool) -> tuple[int, int]:
    from django.db import connections
    from django.test.utils import override_settings

    columns = ", ".join(name for name, _, _ in model["columns"])
    pg = (
        f"SELECT SUM(('x' || substr(md5(concat_ws('|', {columns})), 1, 15))::bit(60)::bigint)"
        f" FROM {model['table']}"
    )
    my = (
        f"SELECT SUM(CAST(CONV(SUBSTRING(MD5(CONCAT_WS('|', {columns})), 1, 15), 16, 10)"
        f" AS UNSIGNED)) FROM {model['table']}"
    )
    sums = []
    with override_settings(**kb.tz_settings(use_tz)):  # the cell's session zones, as verify's
        for alias, sql in (
            (kb.SOURCES[source], pg if source == "pg" else my),
            (kb.target_alias, my),
        ):
            with connections[alias].cursor() as cursor:
                cursor.execute(sql)
                sums.append(int(cursor.fetchone()[0]))
    return sums[0], sums[1]


def verify(label: str, source: str, use_tz: bool) -> dict:
    from django.core.management import CommandError, call_command
    from django.test.utils import override_settings

    out = io.StringIO()
    with override_settings(**kb.tz_settings(use_tz)):
        try:
            call_command(
                "s2_verify", label, source=source, target=kb.target_alias, format="json",
                lag_wait=0, stdout=out,
            )  # fmt: skip
        except CommandError as exc:
            if exc.returncode != 1:
                raise
    return json.loads(out.getvalue())["models"][0]


def cells_for(name: str, source: str, rows: int, rounds: int) -> list[dict[str, Any]]:
    model = kb.MODELS[name]
    keys = sorted(random.Random(6).sample(range(1, rows + 1), DIFFERENCES))
    in_keys = ",".join(map(str, keys))
    out = []
    for use_tz in (True, False):
        kb.reset_matrix_target(model)
        kb.raw_pipe(model, source, zone=kb.stored_zone(use_tz))
        raw, ours = [], []
        for _ in range(rounds):
            raw.append(kb.timed(lambda m=model, tz=use_tz: raw_checksums(m, source, tz)))
            began = time.perf_counter()
            clean = verify(model["label"], kb.SOURCES[source], use_tz)
            ours.append(time.perf_counter() - began)
            assert clean["differences"] == 0, clean
        kb.mariadb(f"UPDATE {model['table']} SET kind = CONCAT(kind, '!') WHERE id IN ({in_keys})")
        dirty = verify(model["label"], kb.SOURCES[source], use_tz)
        kb.mariadb(
            f"UPDATE {model['table']} SET kind = SUBSTRING(kind, 1, CHAR_LENGTH(kind) - 1) "
            f"WHERE id IN ({in_keys})"
        )
        assert dirty["differences"] == DIFFERENCES, dirty
        raw_s, ours_s = kb.spread(raw), kb.spread(ours)
        out.append(
            {
                "model": name,
                "source": source,
                "use_tz": use_tz,
                "raw_checksum_s": {k: round(v, 2) for k, v in raw_s.items()},
                "s2_verify_s": {k: round(v, 2) for k, v in ours_s.items()},
                "ratio": round(ours_s["median"] / raw_s["median"], 2),
                "python_columns": clean["python_columns"],
                "notes": clean["notes"],
                "differences_found": dirty["differences"],
                "load_average": kb.load_average(),
            }
        )
        print(json.dumps(out[-1]), file=sys.stderr, flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--target", choices=sorted(kb.TARGETS), default="s2")
    parser.add_argument("--models", default="narrow,wide")
    parser.add_argument("--sources", default="pg,maria")
    args = parser.parse_args()
    kb.setup_django(args.target, DATABASE)
    kb.ensure_matrix_rows(args.rows)
    cells = []
    for name in args.models.split(","):
        for source in args.sources.split(","):
            cells += cells_for(name, source, args.rows, args.rounds)
    results = {
        "rows": args.rows,
        "rounds": args.rounds,
        "target": kb.TARGETS[args.target],
        "cells": cells,
    }
    kb.emit(results, rows(results))


def rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    """bench/runner.py's rows: one per cell, s2_verify median seconds vs the raw pass's."""
    out = []
    for c in data["cells"]:
        ours, raw = c["s2_verify_s"], c["raw_checksum_s"]
        out.append(
            {
                "name": (
                    f"s2_verify vs raw checksum pass: {c['model']}, {c['source']} source, "
                    f"USE_TZ={c['use_tz']} ({data['rows']:,} rows, median of {data['rounds']}; "
                    f"ours {ours['min']} to {ours['max']} s, raw {raw['min']} to {raw['max']} s; "
                    f"load {c['load_average']})"
                ),
                "ours": ours["median"],
                "baseline": raw["median"],
                "unit": "s",
                "ratio": c["ratio"],
                "target": f"≤ {TARGET}x",
            }
        )
    return out


if __name__ == "__main__":
    main()
