"""``pip install django-s2kit`` with no extras, in a virtualenv of its own.

The venv is built by ``pip install <this checkout>`` (pip's cache makes the dependencies quick)
and kept between runs under the user's cache directory, keyed by pyproject.toml and the Python
version; each run reinstalls the checkout itself. Then, in that venv: the backend imports and
answers a query on the session's SingleStore (the emulator, or ``S2_TEST_URL``), no extra's
package was installed, and each optional import that fails names its extra.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
import sys
import textwrap
import venv
from pathlib import Path

import pytest
from django.conf import settings

from s2emulator.pytest_plugin import real_singlestore

ROOT = Path(__file__).resolve().parents[2]
EXTRA_PACKAGES = {"psycopg", "psycopg-binary", "mysqlclient", "django-db-multitenant", "tqdm"}


def _cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    key = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:12]
    return base / "django-s2kit" / f"bare-py{sys.version_info[0]}{sys.version_info[1]}-{key}"


@pytest.fixture(scope="module")
def bare_python() -> Path:
    """The venv's python, with this checkout installed (no extras, no editable install)."""
    path = _cache_dir()
    path.parent.mkdir(parents=True, exist_ok=True)
    python = path / "bin" / "python"
    with open(f"{path}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel suites share the venv
        pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        complete = path / ".dependencies-installed"
        if complete.exists():  # same pyproject.toml: the same dependencies, only our code anew
            pip += ["--force-reinstall", "--no-deps"]
        else:
            venv.create(path, with_pip=True, clear=True)
        result = subprocess.run([*pip, str(ROOT)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
        complete.touch()
    return python


def run(python: Path, code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), "-c", textwrap.dedent(code)],
        cwd="/",  # not this checkout: only what the venv installed can be imported
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_no_extra_is_installed(bare_python: Path) -> None:
    result = run(
        bare_python,
        "import importlib.metadata as m\nfor d in m.distributions(): print(d.name.lower())",
    )
    installed = set(result.stdout.split())
    assert "django-s2kit" in installed and "singlestoredb" in installed
    assert not installed & EXTRA_PACKAGES


@pytest.mark.s2
def test_the_backend_alone_imports_and_queries(request: pytest.FixtureRequest, bare_python: Path):
    db = settings.DATABASES["s2"]
    if real_singlestore():
        host, port = db["HOST"], db["PORT"]
    else:
        emulator = request.getfixturevalue("s2emu")
        host, port = emulator.host, emulator.port
    result = run(
        bare_python,
        f"""
        import django
        from django.conf import settings
        settings.configure(DATABASES={{"default": {{
            "ENGINE": "django_singlestore", "NAME": "", "HOST": {host!r}, "PORT": {port!r},
            "USER": {db["USER"]!r}, "PASSWORD": {db["PASSWORD"]!r}}}}})
        django.setup()
        from django.db import connection
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 + 1")
            print(connection.vendor, cursor.fetchone()[0])
        try:
            import MySQLdb
        except ImportError:
            print("no MySQLdb")
        """,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["singlestore 2", "no MySQLdb"]


SETUP = """
import django
from django.conf import settings
settings.configure(DATABASES={databases}, INSTALLED_APPS={apps}, **{extra})
try:
    django.setup()
    {then}
except Exception as exc:
    print(type(exc).__name__, exc)
"""


def failure(python: Path, databases: dict, apps: list[str], then: str = "", **extra: object):
    code = SETUP.format(databases=databases, apps=apps, extra=extra, then=then or "pass")
    result = run(python, code)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


S2 = {"ENGINE": "django_singlestore", "NAME": "s2"}
KIT = ["django.contrib.contenttypes", "django.contrib.auth", "s2router", "migration_kit"]


def test_migration_kit_without_psycopg_names_the_extra(bare_python: Path) -> None:
    pg = {"ENGINE": "django.db.backends.postgresql", "NAME": "app"}
    message = failure(bare_python, {"default": pg, "s2": S2}, KIT)
    assert message.startswith("ImproperlyConfigured The migration kit (DATABASES['default']")
    assert "pip install 'django-s2kit[postgresql]'" in message


def test_migration_kit_without_mysqlclient_names_the_extra(bare_python: Path) -> None:
    mysql = {"ENGINE": "django.db.backends.mysql", "NAME": "app"}
    message = failure(bare_python, {"default": S2, "legacy": mysql}, KIT)
    assert "(DATABASES['legacy'] is django.db.backends.mysql) needs mysqlclient" in message
    assert "pip install 'django-s2kit[mysql]'" in message


def test_django_mysql_backend_without_mysqlclient_names_the_extra(bare_python: Path) -> None:
    """Once this backend loaded Django's MySQL modules through the stand-in, an alias on
    Django's MySQL backend says at connect time which extra it lacks. (Loaded before ours, that
    module raises Django's own "Did you install mysqlclient?".)"""
    mysql = {"ENGINE": "django.db.backends.mysql", "NAME": "app"}
    then = (
        "from django.db import connections; connections['default']; "
        "connections['legacy'].ensure_connection()"
    )
    message = failure(bare_python, {"default": S2, "legacy": mysql}, [], then)
    assert message.startswith("ImproperlyConfigured Django's MySQL backend")
    assert "pip install 'django-s2kit[mysql]'" in message


def test_backfill_without_tqdm_names_the_extra(bare_python: Path) -> None:
    then = "import migration_kit.backfill.runner"
    message = failure(bare_python, {"default": S2}, KIT, then)
    assert message.startswith("ImproperlyConfigured s2_backfill (its progress bars) needs tqdm")
    assert "pip install 'django-s2kit[progress]'" in message


def test_tenancy_without_django_db_multitenant_names_the_extra(bare_python: Path) -> None:
    then = "from s2router.tenancy import get_mapper; get_mapper()"
    message = failure(
        bare_python, {"default": S2}, ["s2router"], then, MULTITENANT_MAPPER_CLASS="x.Mapper"
    )
    assert "S2ROUTER['TENANCY'] needs django-db-multitenant" in message
    assert "pip install 'django-s2kit[tenancy]'" in message
