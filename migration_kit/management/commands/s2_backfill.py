"""``manage.py s2_backfill``: copy existing rows of migrating models to SingleStore."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import CommandError, CommandParser
from django.db import DatabaseError

from migration_kit.backfill import Options, RowsRejected, WorkerFailed, backfill
from migration_kit.backfill.runner import Result
from migration_kit.management.commands._models import (
    DEFAULT_RANGES,
    add_celery_arguments,
    check_celery_arguments,
    refuse_multi_table,
    resolve_aliases,
    resolve_models,
)
from s2router.commands import S2Command


class Command(S2Command):
    help = (
        "Copy the rows of migrating models from their source database to the target, resuming "
        "from checkpoints. Exit 0 when done, 1 when rows were refused, 2 on usage, "
        "configuration or database errors."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        self.add_models_argument(parser)
        self.add_source_target_arguments(
            parser, database_help="Same as --target (the kit's usual flag)."
        )
        parser.add_argument("--workers", type=int, default=1, help="Parallel processes.")
        parser.add_argument(
            "--batch-size", type=int, help="Fixed rows per batch (default: adaptive)."
        )
        parser.add_argument(
            "--batch-seconds",
            type=float,
            default=1.0,
            help="Target time per batch for the adaptive batch size (default 1.0).",
        )
        parser.add_argument(
            "--method",
            choices=["auto", "load", "insert"],
            default="auto",
            help="load: LOAD DATA LOCAL INFILE; insert: multi-row INSERT (default auto).",
        )
        parser.add_argument(
            "--lock",
            choices=["auto", "on", "off"],
            default="auto",
            help="Hold source row locks per batch (auto: while the model is in dual_write or "
            "shadow).",
        )
        parser.add_argument("--restart", action="store_true", help="Forget checkpoints.")
        parser.add_argument("--reject-log", help="Append refused rows here and continue.")
        add_celery_arguments(
            parser,
            celery_help="Copy on the project's Celery workers: one task per range (see --ranges).",
            no_wait_help="With --celery: enqueue the tasks and return; s2_status shows progress.",
            lease_seconds_help="How long a range stays claimed without a renewal before another "
            "process may take it over (default MIGRATION_KIT['LEASE_SECONDS'], 60).",
        )
        self.add_format_argument(parser)
        parser.add_argument(
            "--progress",
            action="store_true",
            default=None,
            help="Show the progress bar even when stderr is not a terminal.",
        )

    def handle(self, *args: str, **opts: Any) -> None:
        if opts["workers"] < 1:
            raise CommandError("--workers must be at least 1.", returncode=2)
        if opts["batch_size"] is not None and opts["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.", returncode=2)
        if opts["batch_seconds"] <= 0:
            raise CommandError("--batch-seconds must be positive.", returncode=2)
        check_celery_arguments(opts)
        if opts["celery"] and opts["workers"] != 1:
            raise CommandError(
                "--workers forks local processes; with --celery the workers are Celery's "
                "(choose the task count with --ranges).",
                returncode=2,
            )
        models = resolve_models(opts["models"])
        refuse_multi_table(models)
        plans = [(m, *resolve_aliases(m, opts["source"], opts["target"])) for m in models]
        options = Options(
            workers=opts["workers"],
            batch_size=opts["batch_size"],
            batch_seconds=opts["batch_seconds"],
            method=opts["method"],
            lock=opts["lock"],
            restart=opts["restart"],
            reject_log=opts["reject_log"],
            progress=opts["progress"],
            lease_seconds=opts["lease_seconds"],
        )
        results = []
        try:
            for model, source, target in plans:
                if opts["celery"]:
                    results.append(self._on_celery(model, source, target, options, opts))
                else:
                    results.append(backfill(model, source, target, options, self.progress_stream))
        except RowsRejected as exc:
            raise CommandError(str(exc), returncode=1) from exc
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc), returncode=2) from exc
        except (WorkerFailed, DatabaseError, ValueError) as exc:
            raise CommandError(f"Backfill failed: {exc}", returncode=2) from exc
        if opts["no_wait"]:
            self._enqueued(results, opts["format"])
            return
        rejected = sum(r.rejected for r in results)
        if opts["format"] == "json":
            summary = {"models": [r.as_dict() for r in results], "rejected": rejected}
            self.emit_json(summary)
        else:
            for r in results:
                self.stdout.write(
                    f"{r.model}: {r.rows_copied} rows copied {r.source}→{r.target} in "
                    f"{r.seconds:.1f}s ({r.rows_per_second:,.0f} rows/s, {r.method}, "
                    f"{r.ranges} range(s)); {r.rows_total} in total"
                    + (f"; {r.rejected} refused → {opts['reject_log']}" if r.rejected else "")
                    + ("" if r.finished else "; NOT finished")
                )
                for note in r.notes:
                    self.stdout.write(f"  note: {note}")
        if rejected:
            raise CommandError(
                f"{rejected} row(s) refused by the target; see {opts['reject_log']}.", returncode=1
            )

    def _on_celery(
        self, model: Any, source: str, target: str, options: Options, opts: dict[str, Any]
    ) -> Result:
        """One model on the project's Celery workers (``migration_kit.tasks``; without the
        ``celery`` extra its import raises ImproperlyConfigured naming it)."""
        from migration_kit import tasks

        tasks.celery_app()
        try:
            return tasks.run_backfill(
                model,
                source,
                target,
                options,
                opts["ranges"] or DEFAULT_RANGES,
                no_wait=opts["no_wait"],
                progress_file=self.progress_stream,
            )
        except tasks.TaskFailed as exc:
            raise WorkerFailed(str(exc)) from exc

    def _enqueued(self, results: list[Result], fmt: str) -> None:
        if fmt == "json":
            self.emit_json({"models": [r.as_dict() for r in results], "rejected": 0})
            return
        for r in results:
            self.stdout.write(
                f"{r.model}: {r.notes[0]} on Celery ({r.ranges} range(s), {r.rows_total} rows "
                "copied so far); s2_status shows progress"
            )
