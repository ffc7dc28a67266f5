"""``manage.py s2_capture install|remove|status``: the source's capture triggers, per table."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from migration_kit.dualwrite import triggers
from migration_kit.management.commands._models import resolve_aliases, resolve_models
from s2router.commands import S2Command


class Command(S2Command):
    help = (
        "Install, remove or show the triggers that write outbox entries on a migrating model's "
        "source database (the model's table and its auto-created M2M tables). Exit 0 done, "
        "1 a table failed or its triggers are stale, 2 usage or configuration error."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["install", "remove", "status"])
        self.add_models_argument(parser)
        self.add_database_argument(
            parser, "The source alias (default: the model's S2ROUTER source)."
        )
        parser.add_argument(
            "--target", help="The mirror alias entries name (default: S2ROUTER['SINGLESTORE'])."
        )
        self.add_format_argument(parser)
        parser.add_argument(
            "--force",
            action="store_true",
            help="remove even while the source is the primary (dual_write, shadow).",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        # The source is the primary and its triggers do the capturing.
        from s2router.phases import MIRRORED_TO_SINGLESTORE, get_phase

        action = opts["action"]
        rows = []
        for model in resolve_models(opts["models"]):
            source, mirror = resolve_aliases(model, opts["database"], opts["target"])
            phase = get_phase(model)
            if action == "remove" and phase in MIRRORED_TO_SINGLESTORE and not opts["force"]:
                raise CommandError(
                    f"{model._meta.label} is in {phase}: without its triggers, raw SQL would "
                    "no longer reach the mirror, and other processes' writes would not either "
                    f"until they notice (up to {triggers.CACHE_SECONDS:g} s). Pass --force.",
                    returncode=2,
                )
            for table in triggers.covered_models(model):
                rows.append(self._one(action, table, source, mirror))
        if opts["format"] == "json":
            self.emit_json({"action": action, "tables": rows})
        else:
            for row in rows:
                note = f" ({row['reason']})" if row["reason"] else ""
                self.stdout.write(
                    f"{row['model']} on {row['database']} → {row['target']}: {row['state']}{note}"
                )
        bad = [r["model"] for r in rows if r["state"] in ("stale", "error")]
        if bad:
            raise CommandError(f"needs attention: {', '.join(bad)}", returncode=1)

    def _one(self, action: str, model: Any, source: str, mirror: str) -> dict[str, Any]:
        row = {"model": model._meta.label, "database": source, "target": mirror, "reason": ""}
        try:
            if action == "install":
                done = triggers.install(model, source, mirror)
                self.stderr.write(
                    f"{'installed' if done else 'already installed'} {model._meta.label} "
                    f"on {source}"
                )
            elif action == "remove":
                triggers.remove(model, source)
                self.stderr.write(f"removed {model._meta.label} on {source}")
            row["state"] = triggers.state(model, source, mirror)
        except triggers.NotCapturable as exc:
            row.update(state="not capturable", reason=f"{exc} The wrappers capture its writes.")
        except Exception as exc:
            row.update(state="error", reason=f"{type(exc).__name__}: {exc}")
        return row
