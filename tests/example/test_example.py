"""The example project (``example/``) passes its system checks and migrates on every alias.

Runs ``example/manage.py`` in subprocesses against databases of its own
(``s2kit_demo*_t<suffix>``), so neither the demo's nor the test suite's databases are touched.
SingleStore is the session's emulator, or the server named by ``S2_TEST_URL``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import MySQLdb
import psycopg
import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
MANAGE = ROOT / "example" / "manage.py"
SUFFIX = "_t" + "".join(c for c in os.environ.get("TOX_PARALLEL_ENV", "") if c.isalnum())

pytestmark = pytest.mark.s2


def _mysql(host: str, port: int, user: str, password: str, sql: str) -> None:
    """Run one statement; wait out "Too many connections" (1040) from suites running next door."""
    for attempt in range(10):
        try:
            conn = MySQLdb.connect(host=host, port=port, user=user, passwd=password)
            break
        except MySQLdb.OperationalError as exc:
            if exc.args[0] != 1040 or attempt == 9:
                raise
            time.sleep(1.0)
    try:
        conn.cursor().execute(sql)
    finally:
        conn.close()


@pytest.fixture(scope="module")
def example_env(_s2emu_process: object) -> Iterator[dict[str, str]]:
    """Environment for ``example/manage.py``: fresh PostgreSQL, MariaDB and SingleStore
    databases, dropped afterwards."""
    pg, my = settings.DATABASES["default"], settings.DATABASES["mysql"]
    if _s2emu_process is None:
        s2 = urlsplit(os.environ["S2_TEST_URL"])
        s2_host, s2_port = s2.hostname or "127.0.0.1", s2.port or 3306
        s2_user, s2_password = s2.username or "root", s2.password or ""
    else:
        s2_host, s2_port = _s2emu_process.host, _s2emu_process.port
        s2_user, s2_password = my["USER"], my["PASSWORD"]
    names = {"pg": f"s2kit_demo{SUFFIX}", "my": f"s2kit_demo_legacy{SUFFIX}"}
    names["s2"] = f"s2kit_demo_s2{SUFFIX}"
    servers = {
        "my": (my["HOST"], int(my["PORT"] or 3306), my["USER"], my["PASSWORD"]),
        "s2": (s2_host, s2_port, s2_user, s2_password),
    }

    def drop() -> None:
        with psycopg.connect(
            host=pg["HOST"], port=pg["PORT"] or 5432, user=pg["USER"], password=pg["PASSWORD"],
            dbname="postgres", autocommit=True,
        ) as conn:  # fmt: skip
            conn.execute(f'DROP DATABASE IF EXISTS "{names["pg"]}" WITH (FORCE)')
        for key, server in servers.items():
            _mysql(*server, f"DROP DATABASE IF EXISTS `{names[key]}`")

    drop()
    with psycopg.connect(
        host=pg["HOST"], port=pg["PORT"] or 5432, user=pg["USER"], password=pg["PASSWORD"],
        dbname="postgres", autocommit=True,
    ) as conn:  # fmt: skip
        conn.execute(f'CREATE DATABASE "{names["pg"]}"')
    for key, server in servers.items():
        _mysql(*server, f"CREATE DATABASE `{names[key]}`")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "exampleproject.settings",
        "PG_URL": f"postgresql://{pg['USER']}:{pg['PASSWORD']}@{pg['HOST']}:"
        f"{pg['PORT'] or 5432}/{names['pg']}",
        "MYSQL_URL": f"mysql://{my['USER']}:{my['PASSWORD']}@{my['HOST']}:"
        f"{my['PORT'] or 3306}/{names['my']}",
        "S2_URL": f"singlestoredb://{s2_user}:{s2_password}@{s2_host}:{s2_port}/{names['s2']}",
    }
    try:
        yield env
    finally:
        drop()


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(MANAGE), *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_checks_pass_on_every_alias(example_env: dict[str, str]) -> None:
    args = ["--database=s2", "--database=default", "--database=mysql", "--fail-level=WARNING"]
    result = manage(example_env, "check", *args)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_migrations_are_complete(example_env: dict[str, str]) -> None:
    result = manage(example_env, "makemigrations", "--check", "--dry-run", "--skip-checks")
    assert result.returncode == 0, result.stdout + result.stderr


def test_migrations_apply_on_every_alias(example_env: dict[str, str]) -> None:
    aliases = ("default", "mysql", "s2")
    running = [
        subprocess.Popen(
            [sys.executable, str(MANAGE), "migrate", "--database", alias, "-v", "0"],
            env=example_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for alias in aliases
    ]
    for alias, process in zip(aliases, running, strict=True):
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, f"{alias}: {out}{err}"
    # Each alias holds exactly what the routers place there.
    code = (
        "import json; from django.db import connections as c; "
        "print(json.dumps({a: c[a].introspection.table_names() for a in ('default','mysql','s2')}))"
    )
    result = manage(example_env, "shell", "--no-imports", "-c", code)
    assert result.returncode == 0, result.stderr
    tables = json.loads(result.stdout)
    assert {"shop_order", "shop_customer", "catalog_country", "auth_user"} <= set(tables["default"])
    assert not {"analytics_pageview", "analytics_event", "legacy_events"} & set(tables["default"])
    assert set(tables["mysql"]) == {
        "django_migrations",
        "legacy_events",
        "migration_kit_backfillcheckpoint",
        "migration_kit_outboxentry",
        "migration_kit_rebuildkey",
        "migration_kit_rebuildstate",
        "migration_kit_verifyrun",
    }
    assert {
        "analytics_pageview",
        "analytics_event",
        "legacy_events",
        "shop_order",
        "shop_customer",
        "catalog_country",
        "migration_kit_outboxentry",
    } <= set(tables["s2"])
    assert not {"auth_user", "s2router_modelphase"} & set(tables["s2"])


def test_one_setting_moves_contrib_apps_to_singlestore_reference_tables(
    example_env: dict[str, str],
) -> None:
    def create_statements(contrib_on_s2: str) -> str:
        env = {**example_env, "CONTRIB_ON_S2": contrib_on_s2}
        result = subprocess.run(
            [sys.executable, str(MANAGE), "sqlmigrate", "auth", "0001", "--database", "s2"],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert "auth_permission" not in create_statements("")
    assert "CREATE ROWSTORE REFERENCE TABLE `auth_permission`" in create_statements("1")
