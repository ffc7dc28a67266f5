"""The router on SingleStore itself (the emulator, or a real server with ``S2_TEST_URL``)."""

import gc
import json
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.db import connections
from django.test import override_settings

from s2router import tenancy
from tests.router.configs import ROUTERS, router_settings
from tests.router.routeranalytics.models import PageView
from tests.router.routerapp.models import Order, TenantNote
from tests.router.test_migrate import S2_TABLES
from tests.router.test_tenancy import _wsgi, run_asgi

pytestmark = pytest.mark.s2

TENANTS = ["s2a", "s2b", "s2c", "s2d"]


def s2_settings(**overrides) -> dict:
    return {
        "DATABASE_ROUTERS": ROUTERS,
        "MULTITENANT_MAPPER_CLASS": "tests.router.mapper.S2HeaderMapper",
        "S2ROUTER": router_settings(
            ANALYTICS=["routeranalytics", "routerapp.TenantNote"],
            TENANCY={"DATABASES": ["s2"], "STRICT": True, "TENANTS": TENANTS},
            **overrides,
        ),
    }


def _drop(db_name: str) -> None:
    connection = connections["s2"]
    with tenancy.no_tenant(), connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {connection.ops.quote_name(db_name)}")


def _migrate_fresh(name: str) -> tuple[set[str], dict[str, str]]:
    """``s2_tenant_migrate`` into a new tenant database; its tables and SHOW CREATE TABLE."""
    fresh = tenancy.resolve(name)
    connection = connections["s2"]
    _drop(fresh.db_name)
    try:
        call_command(
            "s2_tenant_migrate", "--tenant", name, "--create", "--database", "s2",
            stderr=StringIO(),
        )  # fmt: skip
        with tenancy.tenant(fresh):
            tables = set(connection.introspection.table_names())
            ddl = {}
            with connection.cursor() as cursor:
                for table in sorted(tables - {"django_migrations"}):
                    cursor.execute(f"SHOW CREATE TABLE {connection.ops.quote_name(table)}")
                    ddl[table] = cursor.fetchone()[1]
    finally:
        _drop(fresh.db_name)
    return tables, ddl


@pytest.mark.django_db(databases=["default", "s2"], transaction=True)
def test_migrate_database_s2_creates_only_singlestore_tables():
    with override_settings(**s2_settings()):
        tables, ddl = _migrate_fresh("fresh")
    assert tables == S2_TABLES | {"routerapp_tenantnote"}
    assert "REFERENCE" in ddl["routerapp_country"].upper()


@pytest.mark.django_db(databases=["default", "s2"], transaction=True)
def test_contrib_on_singlestore_become_reference_tables():
    with override_settings(**s2_settings(CONTRIB_DATABASE="s2")):
        tables, ddl = _migrate_fresh("contrib")
    contrib = {t for t in tables if t.startswith(("auth_", "django_")) and t != "django_migrations"}
    assert {"auth_user", "auth_user_groups", "django_session", "django_content_type",
            "django_admin_log", "django_site"} <= contrib  # fmt: skip
    for table in contrib:
        assert "REFERENCE" in ddl[table].upper(), table


HANDLERS = {
    "ROOT_URLCONF": "tests.router.urls",
    "MIDDLEWARE": ["s2router.middleware.TenantMiddleware"],
    "ALLOWED_HOSTS": ["testserver"],
}


@pytest.fixture
def s2_tenants():
    """A database per tenant on SingleStore with its marker row; persistent connections."""
    connection = connections["s2"]
    settings_dict = connections.settings["s2"]
    before = settings_dict["CONN_MAX_AGE"]
    settings_dict["CONN_MAX_AGE"] = 600
    with override_settings(**s2_settings(), **HANDLERS):
        try:
            for name in TENANTS:
                db_name = tenancy.resolve(name).db_name
                _drop(db_name)
                with tenancy.no_tenant(), connection.cursor() as cursor:
                    cursor.execute(f"CREATE DATABASE {connection.ops.quote_name(db_name)}")
                with tenancy.tenant(name):
                    with connection.schema_editor() as editor:
                        editor.create_model(TenantNote)
                    TenantNote.objects.create(tenant=name)
            yield
        finally:
            settings_dict["CONN_MAX_AGE"] = before
            for name in TENANTS:
                _drop(tenancy.resolve(name).db_name)


@pytest.mark.django_db(databases=["default", "s2"], transaction=True)
@pytest.mark.usefixtures("s2_tenants")
def test_concurrent_wsgi_requests_on_singlestore_never_cross_tenants():
    handler = WSGIHandler()
    requests = [TENANTS[(i * 3) % len(TENANTS)] for i in range(60)]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda n: _wsgi(handler, "/sync/", n), requests))
    gc.collect()  # close the finished threads' persistent connections
    for name, (status, body) in zip(requests, results, strict=True):
        assert status.startswith("200"), body
        seen = json.loads(body)
        assert seen["first"]["rows"] == seen["second"]["rows"] == [name]
        assert seen["first"]["database"].endswith(f"_t_{name}")


@pytest.mark.django_db(databases=["default", "s2"], transaction=True)
@pytest.mark.usefixtures("s2_tenants")
def test_concurrent_asgi_requests_on_singlestore_never_cross_tenants():
    requests = [(TENANTS[i % len(TENANTS)], "/sync/" if i % 2 else "/async/") for i in range(40)]

    results = run_asgi(requests)
    for (name, path), (status, body) in zip(requests, results, strict=True):
        assert status == 200, body
        seen = json.loads(body)
        rows = [seen["first"]["rows"], seen["second"]["rows"]] if path == "/sync/" else [
            seen["rows"], seen["again"]]  # fmt: skip
        assert rows == [[name], [name]]


@pytest.mark.django_db(databases=["default", "s2"])
@pytest.mark.parametrize(("phase", "lands_on"), [("legacy", "default"), ("cutover", "s2")])
def test_writes_and_reads_land_where_the_phase_says(s2router_settings, phase, lands_on):
    s2router_settings(MIGRATING={"routerapp.Order": {"source": "default", "phase": phase}})
    order = Order.objects.create(number="A-1", amount=Decimal("9.50"))
    assert order._state.db == lands_on
    assert Order.objects.get(pk=order.pk).number == "A-1"
    other = "s2" if lands_on == "default" else "default"
    assert not Order.objects.using(other).filter(pk=order.pk).exists()


@pytest.mark.django_db(databases=["default", "s2"])
def test_analytic_rows_point_at_contrib_rows_across_databases(s2router_settings):
    user = User.objects.create(username="ana")
    view = PageView.objects.create(url="/", user=user, viewed_at="2026-01-01T00:00:00Z")
    assert (user._state.db, view._state.db) == ("default", "s2")
    fetched = PageView.objects.get(pk=view.pk)
    assert fetched.user == user  # followed from s2 to default by the router
    assert fetched.user._state.db == "default"
