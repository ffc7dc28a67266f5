"""pytest plugin: run the SingleStore emulator for the test session and point a Django alias at it.

Installing ``django-s2kit[emulator]`` registers it (the ``pytest11`` entry point ``s2emulator``);
``-p no:s2emulator`` turns it off. It starts nothing unless the session's Django settings have
the alias it serves, so a project without that alias is unaffected.

When the environment variable ``S2_TEST_URL`` is set, the plugin stays out of the way: the alias
keeps its settings (a real SingleStore) and emulator-only tests that use the :func:`s2emu`
fixture are skipped. Otherwise the first database test of the session starts
``python -m s2emulator`` on a free port and rewrites the alias's HOST/PORT.

Settings (``pytest.ini``/``pyproject.toml`` ``[tool.pytest.ini_options]``):

- ``s2emu_alias`` — the Django database alias to redirect (default ``s2``);
- ``s2emu_backend`` — MariaDB URL for the emulator, ``mysql://user[:password]@host[:port]``
  (default ``mysql://root@127.0.0.1:3306``; the ``S2EMU_BACKEND`` variable overrides it);
- ``s2emu_args`` — extra CLI flags, e.g. ``--shuffle-rows --scatter-auto-increment``.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

START_TIMEOUT = 20.0
_LISTENING = re.compile(r"listening on ([\d.]+):(\d+)")


@dataclass
class RunningEmulator:
    """An emulator process started for the session."""

    host: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    backend: str  # the MariaDB URL it proxies to, for tests that start another one

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("s2emu_alias", "Django alias the SingleStore emulator serves", default="s2")
    parser.addini(
        "s2emu_backend",
        "MariaDB URL behind the SingleStore emulator",
        default="mysql://root@127.0.0.1:3306",
    )
    parser.addini("s2emu_args", "extra flags for python -m s2emulator", default="")


def real_singlestore() -> bool:
    """True when ``S2_TEST_URL`` names a real SingleStore (the emulator is not used)."""
    return bool(os.environ.get("S2_TEST_URL"))


def start_emulator(backend: str, extra_args: list[str]) -> RunningEmulator:
    """Start the emulator on a free port; returns once it accepts connections."""
    handle, name = tempfile.mkstemp(prefix="s2emu-", suffix=".log")
    log_path = Path(name)
    with os.fdopen(handle, "wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "s2emulator",
                "--listen",
                "127.0.0.1:0",
                "--backend",
                backend,
                *extra_args,
            ],
            stdout=log,
            stderr=log,
        )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        match = _LISTENING.search(log_path.read_text(errors="replace"))
        if match:
            port = int(match.group(2))
            return RunningEmulator(match.group(1), port, process, log_path, backend)
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    process.wait()
    raise RuntimeError(
        f"the SingleStore emulator did not start (backend {backend}); its log:\n"
        + log_path.read_text(errors="replace")
    )


def stop_emulator(emulator: RunningEmulator) -> None:
    emulator.process.terminate()
    try:
        emulator.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        emulator.process.kill()
        emulator.process.wait()
    emulator.log_path.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def _s2emu_process(pytestconfig: pytest.Config) -> Iterator[RunningEmulator | None]:
    if real_singlestore():
        yield None
        return
    backend = os.environ.get("S2EMU_BACKEND") or pytestconfig.getini("s2emu_backend")
    emulator = start_emulator(backend, shlex.split(pytestconfig.getini("s2emu_args")))
    try:
        yield emulator
    finally:
        stop_emulator(emulator)


@pytest.fixture(scope="session")
def s2emu(_s2emu_process: RunningEmulator | None) -> RunningEmulator:
    """The session's emulator, for tests of emulator-only behaviour (skipped on real servers)."""
    if _s2emu_process is None:
        pytest.skip("emulator-only behaviour; S2_TEST_URL points at a real SingleStore")
    return _s2emu_process


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    django_db_modify_db_settings_parallel_suffix: None,
    request: pytest.FixtureRequest,
    pytestconfig: pytest.Config,
) -> None:
    """pytest-django's settings hook: point the alias at the emulator before test DBs exist.

    The emulator starts only when the settings have the alias (the plugin is installed for every
    project in the environment, not just ours)."""
    from django.conf import settings

    alias = pytestconfig.getini("s2emu_alias")
    if alias not in settings.DATABASES:
        return
    emulator: RunningEmulator | None = request.getfixturevalue("_s2emu_process")
    if emulator is not None:
        settings.DATABASES[alias]["HOST"] = emulator.host
        settings.DATABASES[alias]["PORT"] = str(emulator.port)
