"""``create()`` latency of a user-shaped model in ``dual_write`` vs ``legacy``, in one run.

    .venv/bin/python bench/dual_write.py [--creates 400] [--rounds 7] [--source default mysql]
                                         [--quick]

The model is ``tests.kit.dualwriteapp.Order`` — a big auto key, a big integer, a decimal,
non-ASCII text, two timestamps (one often NULL), a boolean and a JSON document — the shape of the
order tables users migrate, under a non-UTC ``TIME_ZONE`` (bench/_kitbench.py's). The source is
PostgreSQL (``default``) and MariaDB (``mysql``); the mirror is the SingleStore emulator. Each
cell alternates ``legacy`` and ``dual_write`` rounds of ``--creates``
``Order.objects.create()`` calls, so drift on the machine hits both phases alike, and reports
the median latency of each phase over all rounds, their ratio (target ≤ 1.2x) and
the spread of the per-round ratios (min to max).

Cells, for each source:

- ``triggers``: the capture triggers ``s2_phase … dual_write`` installs record each outbox entry
  inside the INSERT; the relay (``RELAY="thread"``, the default) drains them after commit
  from a thread of the writing process. Measured with ``USE_TZ`` True and False. The triggers
  exist only during the ``dual_write`` rounds, so ``legacy`` pays nothing for them.
- ``triggers, relay off``: the same writes with the draining left to ``s2_sync``: the
  writer's own cost, without the mirror work competing for the process and the CPUs.
- ``wrappers``: no triggers; the kit's wrappers insert the entry in a transaction around the
  write.

After each cell every dual-write row must be on the mirror, equal, and the outbox empty (what
the relay left is drained first, as ``s2_sync`` would).
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

from _kitbench import setup_django, tz_settings

DATABASE = "s2kit_bench_dualwrite"
TARGET = 1.2
NOTES = ["", "Lieferung an Grüße-Straße 5", "café crème ✓", "注文 #12 🚀", "tab\there", "plain"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--creates", type=int, default=400, help="create() calls per round")
    parser.add_argument("--rounds", type=int, default=7, help="rounds per phase and cell")
    parser.add_argument("--source", nargs="+", choices=["default", "mysql"],
                        default=["default", "mysql"])  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="headline cells only")
    args = parser.parse_args()
    setup_django("s2", DATABASE)

    from django.db import connections
    from django.test.utils import override_settings
    from django.utils import timezone

    from migration_kit.dualwrite import triggers
    from migration_kit.dualwrite.drain import drain_all
    from migration_kit.dualwrite.relay import relay
    from migration_kit.models import OutboxEntry
    from tests.kit.dualwriteapp.models import Order

    mirror = "s2"
    for alias in (*args.source, mirror):
        Order.objects.using(alias).all().delete()
        OutboxEntry.objects.using(alias).all().delete()

    dual_keys: set[int] = set()

    def one_round(source: str, n: int, start: int, keys: set[int] | None) -> list[float]:
        aware = timezone.is_aware(timezone.now())
        placed = datetime.datetime(2024, 5, 17, 9, 30, 15, 250000)
        if aware:
            placed = placed.replace(tzinfo=datetime.UTC)
        latencies = []
        for i in range(start, start + n):
            values = {
                "customer_id": 10_000_000_000 + i % 5000,
                "total": decimal.Decimal(i % 100_000) / 100,
                "note": NOTES[i % len(NOTES)],
                "placed_at": placed + datetime.timedelta(seconds=i),
                "paid": i % 3 == 0,
                "attrs": None if i % 7 == 0 else {"items": [i, 2.5, None], "ünï": "x", "n": i},
                "shipped_at": placed if i % 4 == 0 else None,
            }
            began = time.perf_counter()
            order = Order.objects.using(source).create(**values)
            latencies.append(time.perf_counter() - began)
            if keys is not None:
                keys.add(order.pk)
        return latencies

    written = 0

    def phase_round(source: str, phase: str, capture: str, relay_mode: str, n: int) -> list[float]:
        nonlocal written
        with_triggers = phase == "dual_write" and capture == "triggers"
        if with_triggers:
            triggers.install(Order, source, mirror)
        try:
            with override_settings(
                S2ROUTER={
                    "SINGLESTORE": mirror,
                    "MIGRATING": {"dualwriteapp.Order": {"source": source, "phase": phase}},
                },
                MIGRATION_KIT={"RELAY": relay_mode},
            ):
                keys = dual_keys if phase == "dual_write" else None
                latencies = one_round(source, n, written, keys)
                relay.flush(60)
        finally:
            if with_triggers:
                triggers.remove(Order, source)
        written += n
        return latencies

    def caught_up(source: str) -> list[str]:
        """After a cell: the mirror holds exactly its dual-write rows (what the relay left
        drained first, as s2_sync would); then the mirror is emptied for the next."""
        relay.stop()
        drain_all([source])
        left = OutboxEntry.objects.using(source).count()
        on_mirror = set(Order.objects.using(mirror).values_list("pk", flat=True))
        found = []
        print(f"{vendor[source]}: mirror holds {len(on_mirror)} of {len(dual_keys)} dual-write "
              f"rows, {left} outbox entries left")  # fmt: skip
        if left:
            found.append(f"{left} outbox entries left on {source}")
        if on_mirror != dual_keys:
            found.append(f"mirror differs from {source}'s dual-write rows")
        else:
            copies = Order.objects.using(mirror).order_by("pk").values_list()
            originals = Order.objects.using(source).filter(pk__in=dual_keys).order_by("pk")
            if list(copies) != list(originals.values_list()):
                found.append(f"mirror rows differ from {source}'s")
        Order.objects.using(mirror).all().delete()
        dual_keys.clear()
        return found

    cells = []
    for source in args.source:
        for use_tz in (True, False):
            cells.append((source, "triggers", "thread", use_tz))
        if not args.quick:
            cells.append((source, "triggers", "off", True))
            cells.append((source, "wrappers", "thread", True))
    results: list[dict[str, object]] = []
    problems: list[str] = []
    vendor = {"default": "PostgreSQL", "mysql": "MariaDB"}
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{args.rounds} rounds of {args.creates} create() per phase and cell; mirror: emulator; "
          f"load average {load}")  # fmt: skip
    for source, capture, relay_mode, use_tz in cells:
        # A new relay thread for each cell: its connections must be opened under the cell's
        # USE_TZ, as in a process started with that setting.
        relay.stop()
        connections.close_all()
        with override_settings(**tz_settings(use_tz)):
            for phase in ("legacy", "dual_write"):  # warm-up: connections, caches, the thread
                phase_round(source, phase, capture, relay_mode, 50)
            samples: dict[str, list[float]] = {"legacy": [], "dual_write": []}
            ratios = []
            for _ in range(args.rounds):
                medians = {}
                for phase in ("legacy", "dual_write"):
                    got = phase_round(source, phase, capture, relay_mode, args.creates)
                    samples[phase] += got
                    medians[phase] = statistics.median(got)
                ratios.append(medians["dual_write"] / medians["legacy"])
            # Compared under the cell's own settings: rows written without USE_TZ hold local
            # times, which the other setting would read differently on the two sides.
            problems += caught_up(source)
        connections.close_all()
        legacy = statistics.median(samples["legacy"]) * 1000
        dual = statistics.median(samples["dual_write"]) * 1000
        p95 = {p: statistics.quantiles(s, n=20)[18] * 1000 for p, s in samples.items()}
        how = capture if relay_mode == "thread" else f"{capture}, relay {relay_mode}"
        label = f"Order.create(), {how}, {vendor[source]} source, USE_TZ={use_tz}"
        headline = capture == "triggers" and relay_mode == "thread"
        print(
            f"{label:<62} legacy {legacy:.3f} ms (p95 {p95['legacy']:.3f}), dual_write "
            f"{dual:.3f} ms (p95 {p95['dual_write']:.3f}): {dual / legacy:.2f}x, rounds "
            f"{min(ratios):.2f}x to {max(ratios):.2f}x"
            + (f" (target ≤ {TARGET}x)" if headline else "")
        )
        results.append(
            {
                "name": f"{label}: dual_write vs legacy latency",
                "ours": round(dual, 3),
                "baseline": round(legacy, 3),
                "unit": "ms",
                "ratio": round(dual / legacy, 2),
                "target": f"≤ {TARGET}x" if headline else "",
                "spread": [round(min(ratios), 2), round(max(ratios), 2)],
                "p95_ms": {k: round(v, 3) for k, v in p95.items()},
                "rounds": args.rounds,
                "creates": args.creates,
                "load_average": [round(x, 1) for x in os.getloadavg()],
            }
        )

    if os.environ.get("BENCH_JSON"):
        Path(os.environ["BENCH_JSON"]).write_text(json.dumps(results, ensure_ascii=False))
    if problems:
        sys.exit("the mirror did not catch up: " + "; ".join(problems))


if __name__ == "__main__":
    main()
