"""Running the kit's management commands in tests, with ``--format json``."""

from __future__ import annotations

import io
import json
from typing import Any

from django.core.management import CommandError, call_command


def json_output(name: str, *args: str, **opts: Any) -> dict:
    """``manage.py name ... --format json``'s parsed stdout; a CommandError propagates."""
    out = io.StringIO()
    call_command(name, *args, format="json", stdout=out, stderr=io.StringIO(), **opts)
    return json.loads(out.getvalue())


def json_result(name: str, *args: str, **opts: Any) -> tuple[int, dict]:
    """The exit code and parsed stdout (``{}`` when it printed nothing) of the same."""
    out = io.StringIO()
    try:
        call_command(name, *args, format="json", stdout=out, stderr=io.StringIO(), **opts)
        code = 0
    except CommandError as exc:
        code = exc.returncode
    return code, json.loads(out.getvalue()) if out.getvalue() else {}
