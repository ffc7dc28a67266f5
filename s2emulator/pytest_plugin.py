"""pytest plugin: run the SingleStore emulator for the test session and point a Django alias at it.

Installing django-s2kit registers it (the ``pytest11`` entry point ``s2emulator``; the emulator
itself needs the ``[emulator]`` extra). It does nothing until the project names the alias to
serve (``s2emu_alias``) and that alias is in its Django settings, so installing the package
never redirects anyone's database; ``-p no:s2emulator`` turns it off altogether.

When the environment variable ``S2_TEST_URL`` is set, the plugin stays out of the way: the alias
keeps its settings (a real SingleStore) and emulator-only tests that use the :func:`s2emu`
fixture are skipped. Otherwise the first database test of the session starts
``python -m s2emulator`` on a free port and rewrites the alias's HOST/PORT.

Settings (``pytest.ini``/``pyproject.toml`` ``[tool.pytest.ini_options]``):

- ``s2emu_alias`` — the Django database alias to redirect (unset: the plugin stays idle);
- ``s2emu_backend`` — MariaDB URL for the emulator, ``mysql://user[:password]@host[:port]``
  (default ``mysql://root@127.0.0.1:3306``; the ``S2EMU_BACKEND`` variable overrides it);
- ``s2emu_args`` — extra CLI flags, e.g. ``--shuffle-rows --scatter-auto-increment``.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterator

import pytest

from .process import EmulatorProcess


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("s2emu_alias", "Django alias the SingleStore emulator serves", default="")
    parser.addini(
        "s2emu_backend",
        "MariaDB URL behind the SingleStore emulator",
        default="mysql://root@127.0.0.1:3306",
    )
    parser.addini("s2emu_args", "extra flags for python -m s2emulator", default="")


def real_singlestore() -> bool:
    """True when ``S2_TEST_URL`` names a real SingleStore (the emulator is not used)."""
    return bool(os.environ.get("S2_TEST_URL"))


@pytest.fixture(scope="session")
def _s2emu_process(pytestconfig: pytest.Config) -> Iterator[EmulatorProcess | None]:
    if real_singlestore():
        yield None
        return
    backend = os.environ.get("S2EMU_BACKEND") or pytestconfig.getini("s2emu_backend")
    with EmulatorProcess(backend, shlex.split(pytestconfig.getini("s2emu_args"))) as emulator:
        yield emulator


@pytest.fixture(scope="session")
def s2emu(_s2emu_process: EmulatorProcess | None) -> EmulatorProcess:
    """The session's emulator, for tests of emulator-only behaviour (skipped on real servers)."""
    if _s2emu_process is None:
        pytest.skip("emulator-only behaviour; S2_TEST_URL points at a real SingleStore")
    return _s2emu_process


class _RedirectAlias:
    """pytest-django's settings hook, overridden. A fixture from a plugin overrides another
    plugin's only if registered after it, and entry points load in no set order, so
    :func:`pytest_configure` registers this once every plugin is in."""

    @pytest.fixture(scope="session")
    @staticmethod
    def django_db_modify_db_settings(
        django_db_modify_db_settings_parallel_suffix: None,
        request: pytest.FixtureRequest,
        pytestconfig: pytest.Config,
    ) -> None:
        """Point the alias at the emulator before test databases exist. The emulator starts only
        when the project names the alias and its settings have it (the plugin loads for every
        project in the environment, not just ours)."""
        from django.conf import settings

        alias = pytestconfig.getini("s2emu_alias")
        if not alias or alias not in settings.DATABASES:
            return
        emulator: EmulatorProcess | None = request.getfixturevalue("_s2emu_process")
        if emulator is not None:
            settings.DATABASES[alias]["HOST"] = emulator.host
            settings.DATABASES[alias]["PORT"] = str(emulator.port)


def pytest_configure(config: pytest.Config) -> None:
    if config.pluginmanager.hasplugin("django"):
        config.pluginmanager.register(_RedirectAlias(), "s2emulator-redirect")
