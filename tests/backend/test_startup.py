"""Start-up: what importing the backend loads, what the first connection adds, and that the
driver's features deferred for it (Fusion SQL, TLS contexts) still work (docs/backend.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
import singlestoredb
from django.db import DatabaseError, connections

from django_singlestore.base import DatabaseWrapper

pytestmark = [pytest.mark.s2]
ROOT = Path(__file__).resolve().parent.parent.parent
CONNECTION, FUSION = "singlestoredb.mysql.connection", "singlestoredb.fusion.registry"
LOADED = f"import json, sys; print(json.dumps([m in sys.modules for m in {(CONNECTION, FUSION)}]))"


def python(code: str, **env: str) -> list[bool]:
    """Run ``code`` in a fresh interpreter of this test environment; its JSON output."""
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def s2_url() -> str:
    """The ``s2`` alias's test database as a URL a child process's settings can use."""
    s = connections["s2"].settings_dict
    user = f"{quote(s['USER'])}:{quote(s['PASSWORD'])}@" if s["USER"] else ""
    return f"singlestoredb://{user}{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 3306}/{s['NAME']}"


def fresh_wrapper() -> DatabaseWrapper:
    return DatabaseWrapper({**connections["s2"].settings_dict}, alias="s2-startup")


def test_importing_the_backend_loads_neither_the_driver_connection_nor_fusion() -> None:
    loaded = python("import django_singlestore.base; " + LOADED)
    assert loaded == [False, False]  # the driver's connection module, its Fusion registry


def test_without_mysqlclient_the_fusion_registry_still_waits() -> None:
    """Django's MySQL modules then import singlestoredb's constants (django_mysql.py), which
    loads the driver's connection module early; its Fusion registry still waits."""
    loaded = python(
        "import sys; sys.modules['MySQLdb'] = None; import django_singlestore.base; " + LOADED
    )
    assert loaded == [True, False]


@pytest.mark.django_db(databases=["default", "s2"])
def test_the_first_connection_loads_the_driver_connection_but_not_fusion() -> None:
    code = (
        "import django; django.setup(); from django.db import connections; "
        "c = connections['s2'].cursor(); c.execute('SELECT 1'); assert c.fetchone() == (1,); "
    )
    loaded = python(code + LOADED, DJANGO_SETTINGS_MODULE="tests.settings", S2_TEST_URL=s2_url())
    assert loaded == [True, False]


@pytest.fixture
def fusion_enabled():
    previous = singlestoredb.get_option("fusion.enabled")
    singlestoredb.set_option("fusion.enabled", True)
    try:
        yield
    finally:
        singlestoredb.set_option("fusion.enabled", previous)


@pytest.mark.django_db(databases=["default", "s2"])
def test_fusion_commands_run_through_a_connection_opened_with_fusion_enabled(
    fusion_enabled: None,
) -> None:
    wrapper = fresh_wrapper()
    try:
        with wrapper.cursor() as cursor:
            cursor.execute("SHOW FUSION COMMANDS")
            commands = " ".join(str(row[0]) for row in cursor.fetchall())
            cursor.execute("SELECT 1 + 1")  # ordinary SQL still reaches the server
            assert cursor.fetchone() == (2,)
        assert "SHOW FUSION COMMANDS" in commands and "SHOW WORKSPACES" in commands
    finally:
        wrapper.close()


@pytest.mark.django_db(databases=["default", "s2"])
def test_a_raw_driver_connection_still_runs_fusion_commands(fusion_enabled: None) -> None:
    s = connections["s2"].settings_dict
    conn = singlestoredb.connect(
        host=s["HOST"], port=int(s["PORT"]), user=s["USER"], password=s["PASSWORD"],
        database=s["NAME"],
    )  # fmt: skip
    try:
        cursor = conn.cursor()
        cursor.execute("SHOW FUSION COMMANDS")
        assert any("SHOW WORKSPACES" in str(row[0]) for row in cursor.fetchall())
    finally:
        conn.close()


@pytest.mark.django_db(databases=["default", "s2"])
def test_without_fusion_such_a_statement_goes_to_the_server() -> None:
    wrapper = fresh_wrapper()
    try:
        assert wrapper.cursor().connection.fusion_enabled is False
        with pytest.raises(DatabaseError), wrapper.cursor() as cursor:
            cursor.execute("SHOW FUSION COMMANDS")  # not SQL: the server refuses it
    finally:
        wrapper.close()


@pytest.mark.django_db(databases=["default", "s2"])
def test_connections_share_one_tls_context_per_settings(tmp_path: Path) -> None:
    first, second = fresh_wrapper(), fresh_wrapper()
    try:
        first.ensure_connection()
        second.ensure_connection()
        assert first.connection.ctx is second.connection.ctx
        ca = tmp_path / "ca.pem"
        ca.write_text(Path(__import__("certifi").where()).read_text())
        conn = first.connection
        context = conn._create_ssl_ctx({"ca": str(ca), "verify_mode": True})
        assert conn._create_ssl_ctx({"ca": str(ca), "verify_mode": True}) is context
        other = {"ca": str(ca), "check_hostname": False, "verify_mode": False}
        assert conn._create_ssl_ctx(other) is not context
        os.utime(ca, ns=(0, 0))  # a renewed CA file gets a new context
        assert conn._create_ssl_ctx({"ca": str(ca), "verify_mode": True}) is not context
    finally:
        first.close()
        second.close()
