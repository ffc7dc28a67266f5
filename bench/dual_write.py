"""save() latency of a migrating model in ``dual_write`` vs ``legacy``, in one run.

    .venv/bin/python bench/dual_write.py [--saves 3000] [--rounds 6] [--source default]

Both phases save the same kind of new ``BenchRow`` on the source (PostgreSQL by default,
MariaDB with ``--source mysql``); the mirror is the other server. Rounds alternate between
the phases so drift on the machine hits both alike. In ``dual_write`` every save also writes
its outbox entry in the same transaction and the fast path applies it to the mirror from a
background thread (the default ``FAST_PATH``). Prints the median per-save latency of each
phase and their ratio (target ≤ 1.3x), then checks that the mirror caught up.
"""

from __future__ import annotations

import argparse
import datetime
import decimal
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _kitbench import setup_django


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--saves", type=int, default=3000, help="saves per phase (total)")
    parser.add_argument("--rounds", type=int, default=6, help="alternating rounds per phase")
    parser.add_argument("--source", choices=["default", "mysql"], default="default")
    args = parser.parse_args()
    setup_django()

    from django.test.utils import override_settings

    from migration_kit.models import OutboxEntry
    from migration_kit.sync import fast_path
    from tests.kitapp.models import BenchRow

    source = args.source
    mirror = "mysql" if source == "default" else "default"
    for alias in (source, mirror):
        BenchRow.objects.using(alias).all().delete()
        OutboxEntry.objects.using(alias).all().delete()

    def phase_settings(phase: str) -> override_settings:
        return override_settings(
            S2ROUTER={
                "SINGLESTORE": mirror,
                "MIGRATING": {"kitapp.BenchRow": {"source": source, "phase": phase}},
            },
            MIGRATION_KIT={"FAST_PATH": "thread"},
        )

    at = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)

    def one_round(n: int) -> list[float]:
        latencies = []
        for i in range(n):
            row = BenchRow(account=i % 5000, kind="k", amount=decimal.Decimal("1.25"), at=at)
            began = time.perf_counter()
            row.save(using=source)
            latencies.append(time.perf_counter() - began)
        return latencies

    per_round = max(1, args.saves // args.rounds)
    for phase in ("legacy", "dual_write"):  # warm-up: connections, caches, the thread
        with phase_settings(phase):
            one_round(50)
            fast_path.flush(60)
    samples: dict[str, list[float]] = {"legacy": [], "dual_write": []}
    for _ in range(args.rounds):
        for phase in ("legacy", "dual_write"):
            with phase_settings(phase):
                samples[phase] += one_round(per_round)
                fast_path.flush(60)

    legacy = statistics.median(samples["legacy"]) * 1e6
    dual = statistics.median(samples["dual_write"]) * 1e6
    ratio = dual / legacy
    p95 = {p: statistics.quantiles(s, n=20)[18] * 1e6 for p, s in samples.items()}
    print(f"source {source} → mirror {mirror}, {per_round * args.rounds} saves per phase")
    print(f"legacy     save(): median {legacy:7.1f} µs, p95 {p95['legacy']:7.1f} µs")
    print(f"dual_write save(): median {dual:7.1f} µs, p95 {p95['dual_write']:7.1f} µs")
    print(f"ratio dual_write / legacy: {ratio:.2f}x (target ≤ 1.3x)")

    mirrored = BenchRow.objects.using(mirror).count()
    written = samples["dual_write"].__len__() + 50
    left = OutboxEntry.objects.using(source).count()
    print(f"mirror holds {mirrored} of {written} dual-write rows; {left} outbox entries left")
    fast_path.stop()
    if left or mirrored != written:
        sys.exit("the mirror did not catch up")


if __name__ == "__main__":
    main()
