"""``manage.py s2_phase [app.Model [PHASE]]``: show or change migration phases at run time.

Exit codes: 0 done (or nothing to change), 1 the transition was refused (reasons printed),
2 usage or configuration error (unknown model or phase, broken S2ROUTER).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from s2router import conf, phases
from s2router.checks import check_settings
from s2router.commands import S2Command
from s2router.phases import Phase


class Command(S2Command):
    help = (
        "Show migration phases (no arguments), one model's phase (app.Model), or move a model "
        "to PHASE (legacy, dual_write, shadow, cutover, done)."
    )
    requires_system_checks: list[str] = []  # configuration errors exit 2, reported below

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("model", nargs="?", help="app_label.ModelName listed in MIGRATING")
        parser.add_argument("phase", nargs="?", choices=[p.value for p in Phase])
        parser.add_argument(
            "--force", action="store_true", help="Skip the order rule and transition guards."
        )
        parser.add_argument("--note", default="", help="Why: stored with the change.")
        parser.add_argument(
            "--clear", action="store_true", help="Delete the override; settings decide again."
        )
        self.add_format_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        errors = [m for m in check_settings() if m.is_serious()]
        if errors:
            raise CommandError(
                "S2ROUTER is misconfigured: " + "; ".join(f"{m.id} {m.msg}" for m in errors),
                returncode=2,
            )
        label, target = options["model"], options["phase"]
        if options["clear"] and (target or not label):
            raise CommandError("--clear takes a model and no phase.", returncode=2)
        try:
            if label and options["clear"]:
                removed = phases.clear_phase(label)
                self._emit(options, [self._row(label)], {"cleared": removed})
            elif label and target:
                self._change(options, label, target)
            elif label:
                phases.migrating_placement(label)  # unknown label -> exit 2
                self._emit(options, [self._row(label)])
            else:
                self._emit(options, [self._row(m) for m in phases.migrating_models()])
        except phases.PhaseError as exc:
            raise CommandError(str(exc), returncode=2) from exc

    def _change(self, options: dict[str, Any], label: str, target: str) -> None:
        try:
            result = phases.set_phase(label, target, force=options["force"], note=options["note"])
        except phases.IllegalTransition as exc:
            self._emit(
                options,
                [self._row(label)],
                {
                    "from": exc.from_phase,
                    "to": exc.to_phase,
                    "changed": False,
                    "refused": exc.reasons,
                },
            )
            raise CommandError(str(exc), returncode=1) from exc
        extra = {
            "from": result.from_phase,
            "to": result.to_phase,
            "changed": result.changed,
            "forced": result.forced,
            "overridden": result.overridden,
        }
        self._emit(options, [self._row(label)], extra)
        verb = "moved" if result.changed else "already in"
        self.stderr.write(f"{result.label}: {verb} {result.to_phase}")

    @staticmethod
    def _row(label: str) -> dict[str, Any]:
        norm = conf.normalize(label)
        primary, mirror = phases.write_aliases(norm)
        return {
            "model": norm,
            "phase": phases.get_phase(norm),
            "source": phases.source_alias(norm),
            "reads": phases.read_alias(norm),
            "writes": primary,
            "mirror": mirror,
        }

    def _emit(
        self, options: dict[str, Any], rows: list[dict[str, Any]], extra: dict | None = None
    ) -> None:
        if options["format"] == "json":
            payload: dict[str, Any] = {"models": rows, **(extra or {})}
            self.emit_json(payload)
            return
        for row in rows:
            mirror = f" + mirror {row['mirror']}" if row["mirror"] else ""
            self.stdout.write(
                f"{row['model']}\t{row['phase']}\treads {row['reads']}\t"
                f"writes {row['writes']}{mirror}\tsource {row['source']}"
            )
        for reason in (extra or {}).get("refused", []):
            self.stdout.write(f"refused: {reason}")
