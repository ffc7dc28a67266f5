"""``manage.py s2_verify``: prove target copies equal their sources, optionally repair them."""

from __future__ import annotations

import json
import time
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import CommandError, CommandParser

from migration_kit.conf import MAX_STREAMS
from migration_kit.management.commands._models import (
    DEFAULT_RANGES,
    add_celery_arguments,
    check_celery_arguments,
    refuse_multi_table,
    resolve_aliases,
    resolve_models,
)
from migration_kit.verify import verify
from migration_kit.verify.runner import Outcome
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
        parser.add_argument(
            "--streams",
            type=int,
            default=None,
            help="Chunk checksum queries in flight on each side, one connection each (default "
            "MIGRATION_KIT['VERIFY_STREAMS'], 2).",
        )
        add_celery_arguments(
            parser,
            celery_help="Compare on the project's Celery workers: one task per key range.",
            no_wait_help="With --celery: enqueue and return; the last range records the verify "
            "run.",
            lease_seconds_help="With --celery: a range's lease time (default "
            "MIGRATION_KIT['LEASE_SECONDS']).",
        )
        parser.add_argument(
            "--progress",
            action="store_true",
            default=None,
            help="With --celery: show the progress bar even when stderr is not a terminal.",
        )
        self.add_format_argument(parser)

    def handle(self, *args: str, **opts: Any) -> None:
        if opts["chunk_rows"] < 2:
            raise CommandError("--chunk-rows must be at least 2.", returncode=2)
        if opts["lag_wait"] < 0:
            raise CommandError("--lag-wait must not be negative.", returncode=2)
        if opts["streams"] is not None and not 1 <= opts["streams"] <= MAX_STREAMS:
            raise CommandError(f"--streams must be from 1 to {MAX_STREAMS}.", returncode=2)
        check_celery_arguments(opts, celery_only=("ranges", "no_wait", "lease_seconds", "progress"))
        if opts["celery"] and opts["streams"] is not None:
            raise CommandError(
                "--streams is for a pass in this process; with --celery each range task "
                "checks its chunks one at a time and --ranges sets the parallelism.",
                returncode=2,
            )
        models = resolve_models(opts["models"])
        refuse_multi_table(models)
        plans = [(m, *resolve_aliases(m, opts["source"], opts["target"])) for m in models]
        if opts["celery"]:
            self._on_celery(plans, opts)
            return
        outcomes = [
            verify(
                model,
                source,
                target,
                repair=opts["repair"],
                lag_wait=opts["lag_wait"],
                chunk_rows=opts["chunk_rows"],
                streams=opts["streams"],
            )
            for model, source, target in plans
        ]
        self._report(outcomes, opts)

    def _report(self, outcomes: list[Outcome], opts: dict[str, Any]) -> None:
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

    def _on_celery(self, plans: list[tuple[Any, str, str]], opts: dict[str, Any]) -> None:
        """Each model's pass as range tasks on the project's Celery workers."""
        try:
            from migration_kit import tasks

            tasks.celery_app()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc), returncode=2) from exc
        options = {
            "repair": opts["repair"],
            "lag_wait": opts["lag_wait"],
            "chunk_rows": opts["chunk_rows"],
            "lease_seconds": opts["lease_seconds"],
        }
        outcomes, enqueued = [], []
        for model, source, target in plans:
            began = time.monotonic()
            run, totals = tasks.run_verify(
                model,
                source,
                target,
                options,
                opts["ranges"] or DEFAULT_RANGES,
                no_wait=opts["no_wait"],
                progress_file=self.progress_stream,
                progress=opts["progress"],
            )
            if opts["no_wait"]:
                enqueued.append({"model": model._meta.label, "verify_run": run.pk, **totals})
                continue
            label = model._meta.label
            outcomes.append(
                Outcome(
                    run=run,
                    differing=totals["differing"],
                    lagging=totals["lagging"],
                    repaired=totals["repaired"],
                    chunks=totals["chunks"],
                    seconds=time.monotonic() - began,
                    python_columns=totals["python_columns"],
                    notes=[f"{label}: compared in {totals['ranges']} range task(s) on Celery."],
                )
            )
        if opts["no_wait"]:
            if opts["format"] == "json":
                self.emit_json({"models": enqueued})
            else:
                for e in enqueued:
                    self.stdout.write(
                        f"{e['model']}: {e['enqueued']} verify range task(s) enqueued on Celery "
                        f"(verify run {e['verify_run']}); s2_status shows the result"
                    )
            return
        self._report(outcomes, opts)

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
