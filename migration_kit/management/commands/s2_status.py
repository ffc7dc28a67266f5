"""``manage.py s2_status``: where every migrating model stands, one line (or object) each."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from migration_kit import rebuild
from migration_kit.backfill import leases
from migration_kit.management.commands._models import resolve_models
from migration_kit.status import model_status
from s2router import shadow
from s2router.commands import S2Command


class Command(S2Command):
    help = (
        "Show per migrating model: phase, backfill progress, outbox lag, last verify and "
        "shadow-read mismatches; then every unfinished online rebuild (step, backlog, throttle). "
        "Exit 0 all healthy, 1 something needs attention (failing outbox entries, stale capture "
        "triggers, an unclean verify, shadow mismatches, a rebuild stopped for a resume), 2 "
        "usage error."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        self.add_models_argument(parser)
        self.add_format_argument(parser)
        parser.add_argument(
            "--reset-shadow",
            action="store_true",
            help="After reporting, zero the shown models' shadow-read counters (every process's).",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        chosen = resolve_models(opts["models"])
        statuses = [_with_leases(model_status(model)) for model in chosen]
        rebuilds = rebuild.status()
        if opts["reset_shadow"]:
            shadow.reset_stats(*(model._meta.label for model in chosen))
            self.stderr.write(f"shadow counters reset for {len(chosen)} model(s)")
        if opts["format"] == "json":
            self.emit_json({"models": statuses, "rebuilds": rebuilds})
        else:
            for status in statuses:
                self.stdout.write(_line(status))
            for row in rebuilds:
                self.stdout.write(_rebuild_line(row))
        attention = [s["model"] for s in statuses if _problems(s)]
        attention += [f"rebuild of {r.get('table', '?')}" for r in rebuilds if _stuck(r)]
        if attention:
            raise CommandError(f"needs attention: {', '.join(attention)}", returncode=1)


def _with_leases(status: dict[str, Any]) -> dict[str, Any]:
    """Add who holds the backfill's ranges now (``leases.progress``) to a model's status."""
    from s2router import conf as router_conf

    target = router_conf.get_config().singlestore
    status["backfill"]["leases"] = leases.progress(status["model"], status["source"], target)
    return status


def _stuck(row: dict[str, Any]) -> bool:
    """A rebuild that stopped for a resume, or whose state could not be read."""
    return "error" in row or (row["throttle"] or {}).get("state") == "stopped"


def _rebuild_line(row: dict[str, Any]) -> str:
    if "error" in row:
        return f"rebuilds: {row['error']}"
    throttle = row["throttle"] or {}
    waiting = "?" if row["backlog"] is None else f"{row['backlog']:,}"
    line = (
        f"rebuild {row['table']} on {row['database']!r}: {row['step']}, "
        f"{row['rows_copied']:,} rows copied, {row['keys_applied']:,} keys applied, {waiting} "
        f"waiting (fence budget {throttle.get('fence_budget', '-')}), "
        f"throttle {throttle.get('state', '-')}"
    )
    if throttle.get("pauses"):
        line += f" ({throttle['pauses']} pause(s), {throttle['paused_seconds']:g}s paused)"
    if throttle.get("message"):
        line += f": {throttle['message']}"
    return line


def _odd_capture(capture: dict[str, Any]) -> list[str]:
    """``"table state"`` for each table whose capture triggers are stale or unreadable."""
    return [
        f"{table} {state}"
        for table, state in capture["tables"].items()
        if state == "stale" or state.startswith("error")
    ]


def _problems(status: dict[str, Any]) -> list[str]:
    problems = []
    if _odd_capture(status["capture"]):
        problems.append("capture")
    if status["outbox"]["failing"] or status["outbox"]["errors"]:
        problems.append("outbox")
    verify = status["verify"]
    if verify is not None and not verify["clean"]:
        problems.append("verify")
    if status["shadow"]["mismatched"] or status["shadow"]["errors"]:
        problems.append("shadow")
    return problems


def _line(s: dict[str, Any]) -> str:
    backfill = s["backfill"]
    if backfill["ranges"]:
        copied = (
            f"backfill {'done' if backfill['finished'] else 'running'} "
            f"{backfill['finished_ranges']}/{backfill['ranges']} ranges, "
            f"{backfill['rows_copied']} rows"
        )
        held = backfill["leases"]
        if held["leased"] or held["expired"]:
            copied += (
                f" ({held['leased']} leased by {len(held['owners'])} owner(s), "
                f"{held['expired']} expired)"
            )
        if held["takeovers"]:
            copied += f", {held['takeovers']} takeover(s)"
    else:
        copied = "backfill not run"
    outbox = s["outbox"]
    lag = f"outbox {outbox['count']} pending"
    if outbox["count"]:
        lag += f" ({outbox['failing']} failing, oldest {outbox['oldest_age_seconds']}s)"
    if outbox["errors"]:
        lag += f" [unreadable: {'; '.join(outbox['errors'])}]"
    verify = s["verify"]
    if verify is None:
        checked = "never verified"
    elif verify["clean"]:
        checked = f"verify clean at {verify['started_at']}"
    else:
        checked = f"verify NOT clean at {verify['started_at']} ({verify['differences']} diffs)"
    shadow = s["shadow"]
    reads = f"shadow {shadow['mismatched']}/{shadow['compared']} mismatched"
    if shadow["last_mismatch_at"]:
        reads += f" (last at {shadow['last_mismatch_at']})"
    if shadow["errors"]:
        reads += f", {shadow['errors']} errors"
    capture = s["capture"]
    captured = f"capture by {capture['mode']}"
    odd = _odd_capture(capture)
    if odd:
        captured += f" [{'; '.join(odd)}]"
    return (
        f"{s['model']} [{s['phase']}] {s['primary']}→{s['mirror'] or '-'}: "
        f"{captured}; {copied}; {lag}; {checked}; {reads}"
    )
