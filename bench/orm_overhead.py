"""ORM overhead on SingleStore: our backend vs upstream ``django-singlestore`` 5.0.1 vs raw driver.

One run starts the emulator, then alternates worker processes on the same emulator:

- ``raw``: the same statements through a bare ``singlestoredb`` cursor (the baseline);
- ``ours``: this repository's backend (Django 5.2, this virtualenv);
- ``upstream``: PyPI ``django-singlestore==5.0.1`` on Django 5.0, from a separate virtualenv
  (``--upstream-python``, default ``/tmp/upstream-venv/bin/python``; create it with
  ``python -m venv /tmp/upstream-venv && /tmp/upstream-venv/bin/pip install
  django-singlestore==5.0.1 'django>=5.0,<5.1'``).

Each worker times create / get / filter / bulk_create loops and prints JSON; the driver takes
the median of ``--rounds`` and prints microseconds per operation and the ratios; with
``BENCH_JSON`` set, it writes each loop's ours-vs-upstream and ours-vs-raw rows there. The worker
mode runs without this repository on ``sys.path``, so ``django_singlestore`` resolves to
whichever backend the interpreter has installed.

Usage: ``.venv/bin/python bench/orm_overhead.py [--n 300] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BACKEND = os.environ.get("S2EMU_BACKEND", "mysql://s2kit:s2kit@127.0.0.1:3306")
USER, PASSWORD = "s2kit", "s2kit"
OPERATIONS = ("create", "get", "filter", "bulk_create")
TABLE = "bench_item"


def _timed(fn, count: int) -> list[float]:
    """Wall-clock and client CPU microseconds per operation. The server work is the same SQL
    for every worker, so client CPU isolates the ORM's own overhead from machine load."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return [
        (time.perf_counter() - wall) / count * 1e6,
        (time.process_time() - cpu) / count * 1e6,
    ]


def raw_worker(host: str, port: int, database: str, n: int) -> dict[str, float]:
    import singlestoredb

    conn = singlestoredb.connect(
        host=host, port=port, user=USER, password=PASSWORD, database=database, autocommit=True
    )
    cur = conn.cursor()
    cur.execute(f"DROP TABLE IF EXISTS {TABLE}")
    cur.execute(
        f"CREATE TABLE {TABLE} (id BIGINT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50) NOT NULL,"
        " score INTEGER NOT NULL)"
    )
    ids: list[int] = []

    def create() -> None:
        for i in range(n):
            cur.execute(f"INSERT INTO {TABLE} (name, score) VALUES (%s, %s)", (f"n{i}", i))
            ids.append(cur.lastrowid)

    def get() -> None:
        for pk in ids:
            cur.execute(f"SELECT id, name, score FROM {TABLE} WHERE id = %s LIMIT 21", (pk,))
            cur.fetchall()

    def filter_() -> None:
        for i in range(n):
            cur.execute(
                f"SELECT id, name, score FROM {TABLE} WHERE score = %s ORDER BY id LIMIT 1", (i,)
            )
            cur.fetchall()

    def bulk() -> None:
        rows = [(f"b{i}", i) for i in range(n * 10)]
        for start in range(0, len(rows), 1000):
            chunk = rows[start : start + 1000]
            values = ", ".join(["(%s, %s)"] * len(chunk))
            cur.execute(
                f"INSERT INTO {TABLE} (name, score) VALUES {values}",
                [v for row in chunk for v in row],
            )

    result = {
        "create": _timed(create, n),
        "get": _timed(get, n),
        "filter": _timed(filter_, n),
        "bulk_create": _timed(bulk, n * 10),
    }
    cur.execute(f"DROP TABLE {TABLE}")
    conn.close()
    return result


def django_worker(host: str, port: int, database: str, n: int) -> dict[str, float]:
    import django
    from django.conf import settings

    settings.configure(
        DATABASES={
            "default": {
                "ENGINE": "django_singlestore",
                "HOST": host,
                "PORT": port,
                "USER": USER,
                "PASSWORD": PASSWORD,
                "NAME": database,
            }
        },
        INSTALLED_APPS=["django.contrib.contenttypes"],
        USE_TZ=False,
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    )
    django.setup()
    from django.db import connection, models

    class Item(models.Model):
        name = models.CharField(max_length=50)
        score = models.IntegerField()

        class Meta:
            app_label = "contenttypes"
            db_table = TABLE

        def __str__(self) -> str:
            return self.name

    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")
    with connection.schema_editor() as editor:
        editor.create_model(Item)
    ids: list[int] = []

    def create() -> None:
        for i in range(n):
            ids.append(Item.objects.create(name=f"n{i}", score=i).pk)

    def get() -> None:
        for pk in ids:
            Item.objects.get(pk=pk)

    def filter_() -> None:
        for i in range(n):
            Item.objects.filter(score=i).order_by("id").first()

    def bulk() -> None:
        Item.objects.bulk_create(
            [Item(name=f"b{i}", score=i) for i in range(n * 10)], batch_size=1000
        )

    result = {
        "create": _timed(create, n),
        "get": _timed(get, n),
        "filter": _timed(filter_, n),
        "bulk_create": _timed(bulk, n * 10),
    }
    with connection.schema_editor() as editor:
        editor.delete_model(Item)
    return result


def run_worker(python: str, kind: str, host: str, port: int, database: str, n: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DJANGO_SETTINGS_MODULE")}
    completed = subprocess.run(
        [
            python,
            str(Path(__file__).resolve()),
            "--worker",
            kind,
            host,
            str(port),
            database,
            str(n),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd="/",
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{kind} worker failed:\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        kind, host, port, database, n = sys.argv[2:7]
        worker = raw_worker if kind == "raw" else django_worker
        print(json.dumps(worker(host, int(port), database, int(n))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="operations per loop")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (median)")
    parser.add_argument("--upstream-python", default="/tmp/upstream-venv/bin/python")
    args = parser.parse_args()
    if not Path(args.upstream_python).exists():
        print(
            f"no upstream interpreter at {args.upstream_python}; see the docstring", file=sys.stderr
        )
        return 2
    sys.path.insert(0, str(ROOT))
    import singlestoredb

    from s2emulator.process import EmulatorProcess

    emulator = EmulatorProcess(BACKEND).start()
    database = "bench_orm_overhead"
    pythons = {"raw": sys.executable, "ours": sys.executable, "upstream": args.upstream_python}
    samples: dict[str, list[dict]] = {kind: [] for kind in pythons}
    try:
        admin = singlestoredb.connect(
            host=emulator.host, port=emulator.port, user=USER, password=PASSWORD
        )
        admin.cursor().execute(f"CREATE DATABASE IF NOT EXISTS {database}")
        for round_ in range(args.rounds):
            for kind, python in pythons.items():
                print(f"round {round_ + 1}: {kind}", file=sys.stderr, flush=True)
                samples[kind].append(
                    run_worker(python, kind, emulator.host, emulator.port, database, args.n)
                )
        admin.cursor().execute(f"DROP DATABASE {database}")
        admin.close()
    finally:
        emulator.close()
    measurements = []
    for index, clock in enumerate(("wall-clock", "client CPU")):
        median = {
            kind: {op: statistics.median(sample[op][index] for sample in runs) for op in OPERATIONS}
            for kind, runs in samples.items()
        }
        print(f"\nn={args.n}, rounds={args.rounds}, median {clock} microseconds per operation")
        print(
            f"{'operation':<12}{'raw':>9}{'ours':>9}{'upstream':>10}{'ours/raw':>10}"
            f"{'up/raw':>9}{'ours/up':>9}"
        )
        for op in OPERATIONS:
            raw, ours, up = (median[k][op] for k in ("raw", "ours", "upstream"))
            print(
                f"{op:<12}{raw:>9.0f}{ours:>9.0f}{up:>10.0f}{ours / raw:>10.2f}"
                f"{up / raw:>9.2f}{ours / up:>9.2f}"
            )
            measurements.append(
                {
                    "name": f"ORM {op} ({clock}): ours vs upstream django-singlestore 5.0.1",
                    "ours": round(ours, 1),
                    "baseline": round(up, 1),
                    "unit": "µs/op",
                    "ratio": round(ours / up, 2),
                    "target": "≤ 1.0x",
                }
            )
            measurements.append(
                {
                    "name": f"ORM {op} ({clock}): ours vs raw singlestoredb cursor",
                    "ours": round(ours, 1),
                    "baseline": round(raw, 1),
                    "unit": "µs/op",
                    "ratio": round(ours / raw, 2),
                }
            )
    if os.environ.get("BENCH_JSON"):
        Path(os.environ["BENCH_JSON"]).write_text(json.dumps(measurements, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
