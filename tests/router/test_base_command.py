"""``s2router.commands.S2Command``: what every router and kit command shares."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command, get_commands, load_command_class
from django.core.management.base import CommandError
from django.test import override_settings

from s2router.commands import S2Command
from tests.router.configs import ROUTERS, router_settings

OURS = {name: app for name, app in get_commands().items() if name.startswith("s2_")}
KIT_COMMANDS = ["s2_backfill", "s2_verify", "s2_sync", "s2_status", "s2_capture"]


def test_every_s2_command_is_an_s2command() -> None:
    assert set(KIT_COMMANDS) | {"s2_phase", "s2_tenants", "s2_check_integrity"} <= set(OURS)
    for name, app in OURS.items():
        assert isinstance(load_command_class(app, name), S2Command), name


@pytest.mark.parametrize("name", sorted(OURS))
def test_shared_options_have_one_spelling(name: str) -> None:
    """--format is text|json everywhere; --database, models and --source/--target where taken."""
    parser = load_command_class(OURS[name], name).create_parser("manage.py", name)
    actions = {a.dest: a for a in parser._actions}
    if name != "s2_tenant_migrate":
        assert actions["format"].choices == ["text", "json"]
        assert actions["format"].default == "text"
    if "models" in actions:
        assert actions["models"].metavar == "app.Model" and actions["models"].nargs == "*"
    if name in ("s2_backfill", "s2_verify"):
        # --database is the kit's usual flag for the target (s2_sync's names outboxes).
        database = next(a for a in parser._actions if "--database" in a.option_strings)
        assert database.dest == "target"


@pytest.mark.parametrize("name", [*KIT_COMMANDS, "s2_phase", "s2_tenants"])
def test_a_broken_s2router_exits_2_naming_the_check(name: str) -> None:
    """The strict accessor runs before any command body: nothing is half done."""
    broken = router_settings(ANALYTICS="routeranalytics")  # a string, not a list: E007
    args = ["status"] if name == "s2_capture" else []
    with (
        override_settings(DATABASE_ROUTERS=ROUTERS, S2ROUTER=broken),
        pytest.raises(
            CommandError, match=r"HINT: Write ANALYTICS as a list.*\(s2router\.E007\)"
        ) as raised,
    ):
        call_command(name, *args, stdout=StringIO(), stderr=StringIO())
    assert raised.value.returncode == 2


class Probe(S2Command):
    """A command that uses the base class's public pieces."""

    def add_arguments(self, parser: Any) -> None:
        self.add_models_argument(parser)
        self.add_source_target_arguments(parser)
        self.add_format_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        self.progress_stream.write("progress\r")
        self.emit_json({"models": options["models"], "target": options["target"], "n": 1})
        if options["models"] == ["bad.Model"]:
            raise CommandError("found problems", returncode=1)
        if options["models"] == ["unset.Model"]:
            from migration_kit import conf

            conf.get("LEASE_SECONDS")  # a strict accessor, read in the middle of the work


def test_json_style_progress_stream_and_exit_1() -> None:
    out, err = StringIO(), StringIO()
    call_command(Probe(), "a.B", "--database", "s2", "--format", "json", stdout=out, stderr=err)
    assert (
        out.getvalue() == json.dumps({"models": ["a.B"], "target": "s2", "n": 1}, indent=2) + "\n"
    )
    assert err.getvalue() == "progress\r"  # the caller's stream itself, no OutputWrapper ending
    with pytest.raises(CommandError) as raised:
        call_command(Probe(), "bad.Model", stdout=StringIO(), stderr=StringIO())
    assert raised.value.returncode == 1


def test_improperly_configured_at_use_exits_2() -> None:
    """A setting's strict accessor raising inside a command body is a configuration error."""
    with (
        override_settings(MIGRATION_KIT={"LEASE_SECONDS": -5}),
        pytest.raises(CommandError, match=r"LEASE_SECONDS.*\(migration_kit\.E001\)") as raised,
    ):
        call_command(Probe(), "unset.Model", stdout=StringIO(), stderr=StringIO())
    assert raised.value.returncode == 2
