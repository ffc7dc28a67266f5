"""``manage.py s2_rebuild``: rebuild tables online (no ORM write lost), or resume rebuilds."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import DatabaseError, NotSupportedError, connections

from migration_kit import rebuild
from migration_kit.management.commands._models import resolve_models
from migration_kit.rebuild import fence, plan, state
from migration_kit.rebuild.runner import Options, Outcome, RebuildFailed
from migration_kit.rebuild.throttle import RebuildStopped
from s2router.commands import S2Command


def _singlestore_alias() -> str:
    from s2router import conf

    config = conf.get_config()
    return config.singlestore if config.configured and config.singlestore else "default"


class Command(S2Command):
    help = (
        "Rebuild the tables of the given models on SingleStore into each model's current "
        "state while the application keeps writing (capture, chunked copy, apply, short write "
        "fence, verify, swap by rename), or --resume rebuilds a crash or a migration left "
        "unfinished. Progress on stderr. Exit 0 done, 1 a rebuild failed or stopped because the "
        "apply could not keep up with the writers (the old table is in place), 2 usage error."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        self.add_models_argument(parser)
        self.add_database_argument(
            parser,
            "The SingleStore alias holding the tables (default: S2ROUTER['SINGLESTORE'], "
            "else 'default').",
        )
        parser.add_argument(
            "--resume",
            action="store_true",
            help="Carry unfinished rebuilds on --database (of the given models, or all) on.",
        )
        parser.add_argument(
            "--abandon",
            action="store_true",
            help="Stop unfinished rebuilds on --database (of the given models, or all): the old "
            "table stays, the new one is dropped, capture stops.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Show what would be done; change nothing."
        )
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=Options.chunk_size,
            help="Rows per INSERT … SELECT of the copy (default %(default)s).",
        )
        parser.add_argument(
            "--fence-seconds",
            type=float,
            default=Options.fence_seconds,
            help="Longest write fence before it is rolled back (default %(default)s).",
        )
        parser.add_argument(
            "--fences",
            type=int,
            default=Options.fences,
            help="Fences to try before giving up (default %(default)s).",
        )
        parser.add_argument(
            "--backlog",
            type=int,
            default=Options.backlog,
            help="Fence once at most this many captured keys wait, fewer when the apply is "
            "slow (default %(default)s).",
        )
        parser.add_argument(
            "--pause-after",
            type=float,
            help="Pause the copy when the captured-key backlog has not shrunk for this many "
            "seconds (default MIGRATION_KIT['REBUILD_PAUSE_AFTER_SECONDS'], 10).",
        )
        parser.add_argument(
            "--stop-after",
            type=float,
            help="Stop for a later --resume when it has not shrunk for this many seconds "
            "(default MIGRATION_KIT['REBUILD_STOP_AFTER_SECONDS'], 300).",
        )
        parser.add_argument(
            "--apply-rate",
            type=float,
            help="Apply at most this many captured keys per second, 0 for no cap (default "
            "MIGRATION_KIT['REBUILD_APPLY_RATE'], no cap).",
        )
        self.add_format_argument(parser)

    def handle(self, *args: str, **opts: Any) -> None:
        alias = opts["database"] or _singlestore_alias()
        if alias not in connections:
            raise CommandError(f"Unknown database alias {alias!r}.", returncode=2)
        if connections[alias].vendor != "singlestore":
            raise CommandError(
                f"{alias!r} is not a SingleStore database; the rebuild is for SingleStore tables.",
                returncode=2,
            )
        if opts["chunk_size"] < 1 or opts["fences"] < 1 or opts["backlog"] < 0:
            raise CommandError("--chunk-size and --fences must be positive.", returncode=2)
        if opts["fence_seconds"] <= 0:
            raise CommandError("--fence-seconds must be positive.", returncode=2)
        if not opts["models"] and not (opts["resume"] or opts["abandon"]):
            raise CommandError(
                "Name models as app.Model, or pass --resume or --abandon.", returncode=2
            )
        if opts["resume"] and opts["abandon"]:
            raise CommandError("--resume and --abandon exclude each other.", returncode=2)
        options = self._options(opts)
        models = resolve_models(opts["models"]) if opts["models"] else []
        if opts["dry_run"]:
            self._dry_run(alias, models, opts)
            return
        if opts["abandon"] and not opts["dry_run"]:
            tables = [m._meta.db_table for m in models] or [None]
            stopped = [t for table in tables for t in rebuild.abandon(alias, table)]
            if opts["format"] == "json":
                self.emit_json({"abandoned": stopped})
            else:
                for table in stopped:
                    self.stdout.write(f"{table} on {alias!r}: abandoned, the old table is in place")
            return
        progress = self._progress
        outcomes: list[Outcome] = []
        failures: list[str] = []
        try:
            if opts["resume"]:
                tables = [m._meta.db_table for m in models] or [None]
                for table in tables:
                    outcomes += rebuild.resume(alias, table, options, progress)
                if not outcomes:
                    progress(f"no unfinished rebuild on {alias!r}")
            else:
                with connections[alias].schema_editor(atomic=False) as editor:
                    for model in models:
                        outcomes.append(
                            rebuild.rebuild_model(editor, model, options=options, progress=progress)
                        )
        except RebuildStopped as exc:
            if exc.outcome is not None:
                outcomes.append(exc.outcome)
            failures.append(f"{type(exc).__name__}: {exc}")
        except (RebuildFailed, fence.VerifyFailed, NotSupportedError, DatabaseError) as exc:
            failures.append(f"{type(exc).__name__}: {exc}")
        self._report(outcomes, failures, opts["format"])
        if failures:
            raise CommandError(failures[0], returncode=1)

    @staticmethod
    def _options(opts: dict[str, Any]) -> Options:
        """The run's options: the flags given, the MIGRATION_KIT throttle settings otherwise."""
        throttle = {
            name: opts[name]
            for name in ("pause_after", "stop_after", "apply_rate")
            if opts[name] is not None
        }
        for name in ("pause_after", "stop_after"):
            if throttle.get(name, 1) <= 0:
                raise CommandError(f"--{name.replace('_', '-')} must be positive.", returncode=2)
        if throttle.get("apply_rate", 0) < 0:
            raise CommandError("--apply-rate must not be negative.", returncode=2)
        if throttle.get("apply_rate") == 0:
            throttle["apply_rate"] = None
        options = Options(
            chunk_size=opts["chunk_size"],
            backlog=opts["backlog"],
            fence_seconds=opts["fence_seconds"],
            fences=opts["fences"],
            **throttle,
        )
        if options.stop_after <= options.pause_after:
            raise CommandError(
                f"--stop-after ({options.stop_after:g}) must be longer than --pause-after "
                f"({options.pause_after:g}).",
                returncode=2,
            )
        return options

    def _progress(self, message: str) -> None:
        self.stderr.write(message)

    def _dry_run(self, alias: str, models: list[Any], opts: dict[str, Any]) -> None:
        documents = []
        if opts["resume"] or opts["abandon"]:
            would = "resume" if opts["resume"] else "abandon"
            for row in state.unfinished(alias):
                if not models or row.table in {m._meta.db_table for m in models}:
                    documents.append(
                        {"table": row.table, "database": alias, "step": row.step,
                         "rows_copied": row.rows_copied, "would": would}
                    )  # fmt: skip
        else:
            with connections[alias].schema_editor(atomic=False, collect_sql=True) as editor:
                for model in models:
                    planned = plan.build(editor, model)
                    documents.append(
                        {"table": planned.table, "database": alias, "would": "rebuild",
                         "steps": planned.describe()}
                    )  # fmt: skip
        if opts["format"] == "json":
            self.emit_json({"dry_run": True, "rebuilds": documents})
            return
        for doc in documents:
            self.stdout.write(f"{doc['table']} on {alias!r}: would {doc['would']}")
            for step in doc.get("steps", []):
                self.stdout.write(f"  - {step}")

    def _report(self, outcomes: list[Outcome], failures: list[str], fmt: str) -> None:
        if fmt == "json":
            self.emit_json({"rebuilds": [o.as_dict() for o in outcomes], "errors": failures})
            return
        for o in outcomes:
            fence_ms = "-" if o.fence_seconds is None else f"{o.fence_seconds * 1000:.0f} ms"
            resumed = f", resumed from {o.resumed_from}" if o.resumed_from else ""
            throttled = ""
            if o.throttle and (o.throttle["pauses"] or o.throttle["state"] != "running"):
                throttled = (
                    f", throttle {o.throttle['state']} ({o.throttle['pauses']} pause(s), "
                    f"{o.throttle['paused_seconds']:g}s paused, {o.throttle['backlog']:,} keys "
                    "waiting)"
                )
            self.stdout.write(
                f"{o.table} on {o.alias!r}: {o.step}, {o.rows_copied:,} rows copied, "
                f"{o.keys_applied:,} captured keys applied, fence {fence_ms} "
                f"({o.fences} tried), {o.seconds:.1f}s{resumed}{throttled}"
            )
