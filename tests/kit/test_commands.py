"""The ``--celery`` option group ``s2_backfill`` and ``s2_verify`` share: help and usage errors."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command, load_command_class

from tests.kit.commands import json_result

pytestmark = pytest.mark.django_db(databases=["default", "s2"])


@pytest.mark.parametrize("name", ["s2_backfill", "s2_verify"])
def test_both_commands_show_the_group_with_their_own_help(name: str) -> None:
    parser = load_command_class("migration_kit", name).create_parser("manage.py", name)
    text = " ".join(parser.format_help().split())
    assert "key ranges and Celery:" in text
    assert "--ranges RANGES With --celery: key ranges to plan (default 8)." in text
    own = {
        "s2_backfill": "Copy on the project's Celery workers: one task per range (see --ranges).",
        "s2_verify": "Compare on the project's Celery workers: one task per key range.",
    }
    assert own[name] in text


@pytest.mark.parametrize(
    ("name", "opts", "message"),
    [
        ("s2_backfill", {"no_wait": True}, "--ranges and --no-wait go with --celery."),
        ("s2_backfill", {"lease_seconds": 0}, "--lease-seconds must be positive."),
        (
            "s2_verify",
            {"lease_seconds": 5},
            "--ranges, --no-wait, --lease-seconds and --progress go with --celery.",
        ),
        ("s2_verify", {"celery": True, "ranges": 0}, "--ranges must be at least 1."),
    ],
)
def test_usage_errors_exit_2_with_the_message(name: str, opts: dict, message: str) -> None:
    with pytest.raises(CommandError, match="^" + message.replace(".", r"\.") + "$") as info:
        call_command(name, "kitapp.Everything", source="default", target="s2", **opts)
    assert info.value.returncode == 2
    code, _ = json_result(name, "kitapp.Everything", source="default", target="s2", **opts)
    assert code == 2


def test_a_plain_backfill_takes_lease_seconds_without_celery() -> None:
    code, out = json_result(
        "s2_backfill", "kitapp.Everything", source="default", target="s2", lease_seconds=5
    )
    assert code == 0, out
    assert out["models"][0]["finished"]
