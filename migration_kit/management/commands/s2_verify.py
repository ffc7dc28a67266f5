"""``manage.py s2_verify``: prove target copies equal their sources, optionally repair them."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandError, CommandParser

from migration_kit.management.commands._models import (
    refuse_multi_table,
    resolve_aliases,
    resolve_models,
)
from migration_kit.verify import verify
from s2router.commands import S2Command


class Command(S2Command):
    help = (
        "Compare migrating models between source and target (counts, chunk checksums, "
        "bisection to the differing rows). Exit 0 equal, 1 differences, 2 error."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        self.add_models_argument(parser)
        self.add_source_target_arguments(parser)
        parser.add_argument(
            "--repair",
            action="store_true",
            help="Re-apply differing keys from the source through the outbox apply path.",
        )
        parser.add_argument(
            "--lag-wait",
            type=float,
            default=5.0,
            help="Seconds to wait for differing keys still queued in the outbox (default 5).",
        )
        parser.add_argument(
            "--chunk-rows", type=int, default=50_000, help="Rows per top-level checksum chunk."
        )
        self.add_format_argument(parser)

    def handle(self, *args: str, **opts: Any) -> None:
        if opts["chunk_rows"] < 2:
            raise CommandError("--chunk-rows must be at least 2.", returncode=2)
        if opts["lag_wait"] < 0:
            raise CommandError("--lag-wait must not be negative.", returncode=2)
        models = resolve_models(opts["models"])
        refuse_multi_table(models)
        plans = [(m, *resolve_aliases(m, opts["source"], opts["target"])) for m in models]
        outcomes = [
            verify(
                model,
                source,
                target,
                repair=opts["repair"],
                lag_wait=opts["lag_wait"],
                chunk_rows=opts["chunk_rows"],
            )
            for model, source, target in plans
        ]
        if opts["format"] == "json":
            self.emit_json({"models": [o.as_dict() for o in outcomes]})
        else:
            for o in outcomes:
                self.stdout.write(self._line(o))
        errors = [o for o in outcomes if o.run.error]
        if errors:
            raise CommandError(
                "; ".join(f"{o.run.model_label}: {o.run.error}" for o in errors), returncode=2
            )
        if any(o.remaining for o in outcomes):
            raise CommandError(
                f"{sum(o.remaining for o in outcomes)} differing row(s) "
                + ("left after repair." if opts["repair"] else "(rerun with --repair to fix)."),
                returncode=1,
            )

    @staticmethod
    def _line(o: Any) -> str:
        run = o.run
        head = f"{run.model_label} {run.source_alias}→{run.target_alias}: "
        if run.error:
            return head + f"ERROR {run.error}"
        text = (
            f"{run.source_rows} vs {run.target_rows} rows, {run.differences} differing"
            + (f" (sample {json.dumps(run.sample[:5])})" if run.differences else "")
            + (f", {o.repaired} repaired" if o.repaired else "")
            + (f", {len(o.lagging)} still in the outbox" if o.lagging else "")
            + f" [{o.chunks} chunk(s), {o.seconds:.2f}s]"
        )
        return head + text
