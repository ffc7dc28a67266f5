"""save() latency of a migrating model in ``dual_write`` vs ``legacy``, in one run.

    .venv/bin/python bench/dual_write.py [--saves 2000] [--rounds 6] [--source default|mysql]
                                         [--mirror s2|mysql|default]

Both phases save the same kind of new ``BenchRow`` on the source (PostgreSQL by default,
MariaDB with ``--source mysql``); the mirror is the SingleStore emulator by default
(``--mirror mysql``/``default``: a plain MariaDB/PostgreSQL). Rounds alternate between
the phases so drift on the machine hits both alike. In ``dual_write`` every save also records
its outbox entry in the same transaction and the fast path applies it to the mirror from a
background thread (the default ``FAST_PATH``).

Two ways to record the entry:

- ``triggers`` (``manage.py s2_capture install``, or ``s2_phase … dual_write``): the source's
  trigger inserts it within the save's own INSERT, still one round trip. The triggers exist
  only during the dual_write rounds, so the legacy rounds pay nothing for them.
- ``wrappers`` (no triggers installed): the kit inserts it; a bare ``save()`` in autocommit
  then also needs BEGIN and COMMIT, a ``save()`` inside ``atomic()`` one INSERT more.

Cases: a bare ``save()``, ``save()`` inside ``atomic()`` as with ``ATOMIC_REQUESTS``, and a bare
``save()`` with ``FAST_PATH="off"`` (entries left to ``s2_sync``: the writer's own cost without
the mirror work competing for the same CPUs), each with triggers and with wrappers. Prints the
median per-save latency of each phase and their ratio (target ≤ 1.3x), then checks that the
mirror caught up.
"""

from __future__ import annotations

import argparse
import datetime
import decimal
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _kitbench import setup_django


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--saves", type=int, default=2000, help="saves per phase and case")
    parser.add_argument("--rounds", type=int, default=6, help="alternating rounds per phase")
    parser.add_argument("--source", choices=["default", "mysql"], default="default")
    parser.add_argument("--mirror", choices=["s2", "mysql", "default"], default="s2")
    args = parser.parse_args()
    if args.source == args.mirror:
        parser.error("--source and --mirror must differ")
    setup_django("s2" if args.mirror == "s2" else "mysql")

    from django.db import transaction
    from django.test.utils import override_settings

    from migration_kit import triggers
    from migration_kit.models import OutboxEntry
    from migration_kit.sync import drain_all, fast_path
    from tests.kitapp.models import BenchRow

    source, mirror = args.source, args.mirror
    for alias in (source, mirror):
        BenchRow.objects.using(alias).all().delete()
        OutboxEntry.objects.using(alias).all().delete()

    def phase_settings(phase: str, fast: str = "thread") -> override_settings:
        return override_settings(
            S2ROUTER={
                "SINGLESTORE": mirror,
                "MIGRATING": {"kitapp.BenchRow": {"source": source, "phase": phase}},
            },
            MIGRATION_KIT={"FAST_PATH": fast},
        )

    at = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)

    def one_round(n: int, in_atomic: bool) -> list[float]:
        latencies = []
        for i in range(n):
            row = BenchRow(account=i % 5000, kind="k", amount=decimal.Decimal("1.25"), at=at)
            began = time.perf_counter()
            if in_atomic:
                with transaction.atomic(using=source):
                    row.save(using=source)
            else:
                row.save(using=source)
            latencies.append(time.perf_counter() - began)
        return latencies

    per_round = max(1, args.saves // args.rounds)
    written = 0
    results: list[dict[str, object]] = []
    print(f"source {source} → mirror {mirror}, {per_round * args.rounds} saves per phase and case")
    cases = [
        (f"{kind}, {capture}", capture, in_atomic, fast)
        for capture in ("triggers", "wrappers")
        for kind, in_atomic, fast in (
            ("save()", False, "thread"),
            ("save() in atomic()", True, "thread"),
            ("save(), fast path off", False, "off"),
        )
    ]

    def phase_round(phase: str, capture: str, n: int, in_atomic: bool, fast: str) -> list[float]:
        with_triggers = phase == "dual_write" and capture == "triggers"
        if with_triggers:
            triggers.install(BenchRow, source, mirror)
        try:
            with phase_settings(phase, fast):
                latencies = one_round(n, in_atomic)
                fast_path.flush(60)
        finally:
            if with_triggers:
                triggers.remove(BenchRow, source)
        return latencies

    for case, capture, in_atomic, fast in cases:
        for phase in ("legacy", "dual_write"):  # warm-up: connections, caches, the thread
            phase_round(phase, capture, 50, in_atomic, fast)
        written += 50
        samples: dict[str, list[float]] = {"legacy": [], "dual_write": []}
        for _ in range(args.rounds):
            for phase in ("legacy", "dual_write"):
                samples[phase] += phase_round(phase, capture, per_round, in_atomic, fast)
        written += len(samples["dual_write"])
        legacy = statistics.median(samples["legacy"]) * 1e6
        dual = statistics.median(samples["dual_write"]) * 1e6
        p95 = {p: statistics.quantiles(s, n=20)[18] * 1e6 for p, s in samples.items()}
        print(
            f"{case:<32} legacy median {legacy:7.1f} µs (p95 {p95['legacy']:7.1f}), "
            f"dual_write median {dual:7.1f} µs (p95 {p95['dual_write']:7.1f}): "
            f"ratio {dual / legacy:.2f}x (target ≤ 1.3x)"
        )
        results.append(
            {
                "name": f"{case} latency, dual_write vs legacy ({source} → {mirror})",
                "ours": round(dual, 1),
                "baseline": round(legacy, 1),
                "unit": "µs",
                "ratio": round(dual / legacy, 2),
                "target": "≤ 1.3x",
            }
        )

    drain_all([source])  # what the "fast path off" case left for s2_sync
    mirrored = BenchRow.objects.using(mirror).count()
    left = OutboxEntry.objects.using(source).count()
    print(f"mirror holds {mirrored} of {written} dual-write rows; {left} outbox entries left")
    fast_path.stop()
    if os.environ.get("BENCH_JSON"):
        Path(os.environ["BENCH_JSON"]).write_text(json.dumps(results, ensure_ascii=False))
    if left or mirrored != written:
        sys.exit("the mirror did not catch up")


if __name__ == "__main__":
    main()
