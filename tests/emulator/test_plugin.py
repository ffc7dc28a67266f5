"""The pytest plugin as another project meets it: loaded by its entry point, it starts an
emulator only when the settings have its alias, and none when ``S2_TEST_URL`` names a server.

Each case runs pytest in a fresh directory with settings of its own (PostgreSQL as ``default``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from s2emulator.process import EmulatorProcess

SETTINGS = """
import os

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql", "NAME": "s2kit", "USER": "s2kit",
        "PASSWORD": "s2kit", "HOST": "127.0.0.1", "PORT": "5432",
        "TEST": {"NAME": "test_plugin_" + os.environ["CASE"]},
    },
}
if os.environ.get("WITH_S2"):
    DATABASES["s2"] = {
        "ENGINE": "django_singlestore", "NAME": "s2kit", "USER": "s2kit", "PASSWORD": "s2kit",
        "HOST": "127.0.0.1", "PORT": os.environ.get("S2_PORT", "0"),
        "TEST": {"NAME": "test_plugin_s2_" + os.environ["CASE"], "DEPENDENCIES": []},
        # contenttypes' unique key needs a reference table on SingleStore (s2router.E013).
        "OPTIONS": {"table_storage_type": {"contenttypes": "ROWSTORE REFERENCE"}},
    }
INSTALLED_APPS = ["django.contrib.contenttypes"]
SECRET_KEY = "tests-only"
USE_TZ = True
"""

INNER_TEST = """
import os

import pytest
from django.conf import settings
from django.db import connections


def emulator_children():
    me, found = str(os.getpid()), []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as stat, open(f"/proc/{pid}/cmdline", "rb") as cmd:
                parent, command = stat.read().rsplit(")", 1)[1].split()[1], cmd.read()
        except OSError:
            continue
        if parent == me and b"s2emulator" in command:
            found.append(pid)
    return found


@pytest.mark.django_db(databases=os.environ["DATABASES"].split(","))
def test_inner(request, pytestconfig):
    assert pytestconfig.pluginmanager.hasplugin("s2emulator")
    children = emulator_children()
    print(f"children={len(children)} s2={settings.DATABASES.get('s2', {}).get('PORT')}")
    if settings.DATABASES.get("s2", {}).get("PORT", "0") != "0":  # pointed at a server
        with connections["s2"].cursor() as cursor:
            cursor.execute("SELECT @@memsql_version")
            assert cursor.fetchone()[0]


def test_s2emu_fixture(request):
    request.getfixturevalue("s2emu")
"""


def run_inner(
    tmp_path: Path, backend: str, ini: str = "s2emu_alias = s2\n", **env: str
) -> subprocess.CompletedProcess[str]:
    (tmp_path / "inner_settings.py").write_text(SETTINGS)
    (tmp_path / "test_inner.py").write_text(textwrap.dedent(INNER_TEST))
    (tmp_path / "pytest.ini").write_text(f"[pytest]\n{ini}")
    environ = {k: v for k, v in os.environ.items() if k not in ("S2_TEST_URL", "PYTEST_ADDOPTS")}
    environ.update(
        DJANGO_SETTINGS_MODULE="inner_settings",
        PYTHONPATH=str(tmp_path),
        S2EMU_BACKEND=backend,
        CASE=uuid.uuid4().hex[:10],
        **env,
    )
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-s", "-rs", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_no_alias_no_emulator(s2emu: EmulatorProcess, tmp_path: Path) -> None:
    done = run_inner(tmp_path, s2emu.backend, DATABASES="default")
    assert "children=0 s2=None" in done.stdout, done.stdout + done.stderr
    assert "2 passed" in done.stdout, done.stdout  # asked for, the s2emu fixture starts one


def test_an_alias_not_named_gets_no_emulator(s2emu: EmulatorProcess, tmp_path: Path) -> None:
    """Installed, the plugin redirects nothing until the project names the alias."""
    done = run_inner(tmp_path, s2emu.backend, ini="", DATABASES="default", WITH_S2="1")
    assert "children=0 s2=0" in done.stdout, done.stdout + done.stderr


def test_the_alias_gets_an_emulator_of_its_own(s2emu: EmulatorProcess, tmp_path: Path) -> None:
    done = run_inner(tmp_path, s2emu.backend, DATABASES="default,s2", WITH_S2="1")
    assert "children=1 s2=" in done.stdout and " s2=0" not in done.stdout, done.stdout
    assert "2 passed" in done.stdout, done.stdout + done.stderr


def test_s2_test_url_starts_none(s2emu: EmulatorProcess, tmp_path: Path) -> None:
    """The session's emulator plays the real server of ``S2_TEST_URL``."""
    port = str(s2emu.port)
    done = run_inner(
        tmp_path,
        s2emu.backend,
        DATABASES="default,s2",
        WITH_S2="1",
        S2_PORT=port,
        S2_TEST_URL=s2emu.url("s2kit", "s2kit", "s2kit"),
    )
    assert f"children=0 s2={port}" in done.stdout, done.stdout + done.stderr
    assert "1 passed, 1 skipped" in done.stdout and "S2_TEST_URL" in done.stdout, done.stdout


pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads child processes in /proc")
