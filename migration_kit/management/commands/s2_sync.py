"""``manage.py s2_sync``: apply the dual-write outbox to the mirrors, or catch up ``--since``."""

from __future__ import annotations

import datetime
import signal
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser
from django.db import connections, models
from django.utils import timezone

from migration_kit.dualwrite.drain import DrainResult, catch_up, drain_all
from migration_kit.dualwrite.outbox import lag, outbox_aliases
from migration_kit.management.commands._models import resolve_aliases, resolve_models
from s2router.commands import S2Command


class Command(S2Command):
    help = (
        "Drain the outbox: apply pending keys to their mirror, with backoff on errors. "
        "With --since, copy rows changed since a time without an outbox. "
        "Exit 0 ok, 1 some keys failed, 2 usage or configuration error."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        self.add_models_argument(parser, help="With --since: the models to catch up.")
        self.add_database_argument(
            parser,
            "Drain the outbox on this alias (repeatable; default: every alias holding one).",
            many=True,
            dest="databases",
        )
        parser.add_argument("--batch-size", type=int, default=500, help="Entries per claim.")
        parser.add_argument("--loop", action="store_true", help="Keep draining until stopped.")
        parser.add_argument(
            "--interval", type=float, default=1.0, help="Seconds to sleep when idle with --loop."
        )
        parser.add_argument(
            "--since",
            metavar="WHEN",
            help="Catch-up mode: apply rows whose --field is at or after WHEN (ISO date/time, "
            "or a number for integer fields).",
        )
        parser.add_argument(
            "--field", default="updated_at", help="The updated_at-style field for --since."
        )
        parser.add_argument("--source", help="With --since: source alias (default: the router's).")
        parser.add_argument("--target", help="With --since: target alias (default: the router's).")
        self.add_format_argument(parser)

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.", returncode=2)
        if opts["since"] is not None:
            report = self._catch_up(opts)
            failed = 0
        else:
            if opts["models"]:
                raise CommandError(
                    "Model labels are only used with --since; the outbox drains every model.",
                    returncode=2,
                )
            report, failed = self._drain(opts)
        if opts["format"] == "json":
            self.emit_json(report)
        else:
            self.stdout.write(self._text(report))
        if failed:
            raise CommandError(f"{failed} outbox entr(ies) failed; they will be retried.", 1)

    def _drain(self, opts: dict[str, Any]) -> tuple[dict[str, Any], int]:
        aliases = opts["databases"]
        if aliases:
            unknown = [a for a in aliases if a not in connections]
            if unknown:
                raise CommandError(
                    f"Unknown database alias(es) {', '.join(unknown)}; "
                    f"DATABASES has {', '.join(connections)}.",
                    returncode=2,
                )
        else:
            aliases, errors = outbox_aliases()
            for error in errors:
                self.stderr.write(f"skipping unreachable database {error}")
        stop = {"requested": False}

        def request_stop(signum: int, frame: Any) -> None:
            stop["requested"] = True

        previous = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            result = drain_all(
                aliases,
                opts["batch_size"],
                loop=opts["loop"],
                interval=opts["interval"],
                should_stop=lambda: stop["requested"],
                progress=self._progress,
            )
        except Exception as exc:
            raise CommandError(f"cannot drain: {type(exc).__name__}: {exc}", returncode=2) from exc
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        report = {
            "databases": aliases,
            "claimed": result.claimed,
            "applied": result.applied,
            "failed": result.failed,
            "upserted": result.upserted,
            "deleted": result.deleted,
            "errors": result.errors,
            "lag": {alias: lag(alias) for alias in aliases},
        }
        return report, result.failed

    def _progress(self, alias: str, one: DrainResult) -> None:
        self.stderr.write(
            f"{alias}: applied {one.applied}, failed {one.failed} of {one.claimed} claimed"
        )

    def _catch_up(self, opts: dict[str, Any]) -> dict[str, Any]:
        if not opts["models"]:
            raise CommandError("--since needs the models to catch up (app.Model).", returncode=2)
        results = []
        for model in resolve_models(opts["models"]):
            source, target = resolve_aliases(model, opts["source"], opts["target"])
            field = _since_field(model, opts["field"])
            since = _parse_since(field, opts["since"])
            applied, highest = catch_up(
                model,
                since,
                field.name,
                source,
                target,
                opts["batch_size"],
                progress=lambda n, label=model._meta.label: self.stderr.write(
                    f"{label}: {n} rows applied"
                ),
            )
            results.append(
                {
                    "model": model._meta.label,
                    "source": source,
                    "target": target,
                    "field": field.name,
                    "since": since,
                    "rows": applied.keys,
                    "upserted": applied.upserted,
                    "next_since": highest,
                }
            )
        return {"models": results}

    @staticmethod
    def _text(report: dict[str, Any]) -> str:
        if "models" in report:
            return "\n".join(
                f"{m['model']} {m['source']}→{m['target']}: {m['rows']} row(s) with "
                f"{m['field']} >= {m['since']}; next --since {m['next_since']}"
                for m in report["models"]
            )
        lines = [
            f"applied {report['applied']}, failed {report['failed']} "
            f"(upserted {report['upserted']}, deleted {report['deleted']} rows)"
        ]
        lines += [f"error: {e}" for e in report["errors"]]
        for alias, per_label in report["lag"].items():
            for label, row in per_label.items():
                lines.append(
                    f"{alias} {label}: {row['count']} pending ({row['failing']} failing), "
                    f"oldest {row['oldest_age_seconds']}s"
                )
        return "\n".join(lines)


def _since_field(model: type[models.Model], name: str) -> models.Field:
    try:
        field = model._meta.get_field(name)
    except Exception:
        raise CommandError(
            f"{model._meta.label} has no field {name!r}; pass --field with its updated_at-style "
            "field.",
            returncode=2,
        ) from None
    if not isinstance(field, models.DateField | models.IntegerField):
        raise CommandError(
            f"{model._meta.label}.{name} is a {type(field).__name__}; --since needs a date, "
            "datetime or integer field that grows with each change.",
            returncode=2,
        )
    return field


def _parse_since(field: models.Field, raw: str) -> Any:
    try:
        value = field.to_python(raw)
    except Exception as exc:
        raise CommandError(f"--since {raw!r}: {exc}", returncode=2) from None
    if value is None:
        raise CommandError(f"--since {raw!r} is empty.", returncode=2)
    if isinstance(value, datetime.datetime) and settings.USE_TZ and timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value
