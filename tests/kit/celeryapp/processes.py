"""Child processes of the kit's multi-process tests: ``manage.py`` commands and Celery workers
that use the test's own databases (the names pytest-django gave them, the emulator's port)."""

from __future__ import annotations

import os
import subprocess
import sys
from urllib.parse import quote

from django.db import connections

ALIASES = ("default", "mysql", "s2")


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a child that must see this test's databases: each alias's test
    database name, and the SingleStore alias's address (the emulator's port is per session)."""
    env = dict(os.environ)
    for alias in ALIASES:
        env[f"S2KIT_DB_{alias.upper()}"] = connections[alias].settings_dict["NAME"]
    s2 = connections["s2"].settings_dict
    if not env.get("S2_TEST_URL"):
        env["S2_TEST_URL"] = (
            f"singlestoredb://{quote(s2['USER'])}:{quote(s2['PASSWORD'])}@"
            f"{s2['HOST']}:{s2['PORT']}/{s2['NAME']}"
        )
    env["DJANGO_SETTINGS_MODULE"] = "tests.kit.subprocess_settings"
    env.update(extra)
    return env


def manage(*args: str, **popen: object) -> subprocess.Popen:
    """``python -m django ARGS --skip-checks`` in its own process group (so ``killpg`` takes its
    workers too), stdout and stderr piped."""
    return subprocess.Popen(
        [sys.executable, "-m", "django", *args, "--skip-checks"],
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        **popen,  # type: ignore[arg-type]
    )
