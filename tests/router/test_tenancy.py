"""Tenancy: ``USE <tenant db>`` on the tenancy alias (MariaDB standing in for SingleStore).

Every tenant has its own database holding one ``TenantNote`` row with its name, so any read that
returns another tenant's name is a cross-tenant leak.
"""

import asyncio
import gc
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO, StringIO

import pytest
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.db import connections
from django.test import override_settings

from s2router import tenancy
from s2router.tenancy import NoTenantError, make_cache_key, no_tenant, tenant
from tests.router.configs import ROUTERS, router_settings
from tests.router.routerapp.models import TenantNote

TENANTS = [f"t{i:02d}" for i in range(12)]
TENANCY_SETTINGS = {
    "DATABASE_ROUTERS": ROUTERS,
    "MULTITENANT_MAPPER_CLASS": "tests.router.mapper.HeaderMapper",
    "S2ROUTER": router_settings(
        SINGLESTORE="mysql",
        ANALYTICS=["routeranalytics", "routerapp.TenantNote"],
        TENANCY={"DATABASES": ["mysql"], "STRICT": True, "TENANTS": TENANTS},
    ),
}
DATABASES = ["default", "mysql"]


def _notes() -> list[str]:
    return sorted(TenantNote.objects.values_list("tenant", flat=True))


def _database() -> str:
    with connections["mysql"].cursor() as cursor:
        cursor.execute("SELECT DATABASE()")
        return cursor.fetchone()[0]


def _drop(db_name: str) -> None:
    with no_tenant(), connections["mysql"].cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {connections['mysql'].ops.quote_name(db_name)}")


@pytest.fixture(scope="module")
def tenant_dbs(django_db_setup, django_db_blocker) -> Iterator[None]:
    """One database per tenant with its marker row; dropped afterwards."""
    with override_settings(**TENANCY_SETTINGS), django_db_blocker.unblock():
        connection = connections["mysql"]
        for name in TENANTS:
            db_name = tenancy.resolve(name).db_name
            _drop(db_name)
            with no_tenant(), connection.cursor() as cursor:
                cursor.execute(f"CREATE DATABASE {connection.ops.quote_name(db_name)}")
            with tenant(name):
                with connection.schema_editor() as editor:
                    editor.create_model(TenantNote)
                TenantNote.objects.create(tenant=name)
        try:
            yield
        finally:
            for name in TENANTS:
                _drop(tenancy.resolve(name).db_name)


pytestmark = [pytest.mark.usefixtures("tenant_dbs")]


@pytest.mark.django_db(databases=DATABASES)
def test_each_tenant_sees_only_its_database():
    for name in TENANTS:
        with tenant(name) as active:
            assert tenancy.current_tenant() == active
            assert _notes() == [name]
            assert _database() == active.db_name
    assert tenancy.current_tenant() is None


@pytest.mark.django_db(databases=DATABASES)
def test_strict_mode_refuses_routed_queries_without_tenant():
    with pytest.raises(NoTenantError, match="no tenant is set"):
        _notes()
    with pytest.raises(NoTenantError):
        TenantNote.objects.create(tenant="nobody")


@pytest.mark.django_db(databases=DATABASES)
def test_no_tenant_reaches_the_alias_own_database_even_after_a_tenant():
    with tenant("t01"):
        assert _notes() == ["t01"]
    # The connection is still on t01's database; the next statement must leave it.
    with no_tenant():
        assert _database() == connections["mysql"].settings_dict["NAME"]
        TenantNote.objects.create(tenant="shared")
        assert _notes() == ["shared"]
    with tenant("t01"):
        assert _notes() == ["t01"]


@pytest.mark.django_db(databases=DATABASES)
def test_use_is_issued_only_when_the_database_changes():
    def use_count() -> int:
        with connections["mysql"].cursor() as cursor:
            cursor.execute("SHOW SESSION STATUS LIKE 'Com_change_db'")
            return int(cursor.fetchone()[1])

    with tenant("t02"):
        before = use_count()
        for _ in range(5):
            _notes()
        assert use_count() == before
    with tenant("t03"):
        _notes()
        assert use_count() == before + 1


@pytest.mark.django_db(databases=DATABASES)
def test_nested_tenants_restore_the_outer_one():
    with tenant("t04"):
        with tenant("t05"):
            assert _notes() == ["t05"]
        assert _notes() == ["t04"]


@pytest.mark.django_db(databases=DATABASES, transaction=True)
def test_a_new_physical_connection_starts_on_the_alias_database():
    connection = connections["mysql"]
    with tenant("t06"):
        _notes()
    connection.close()
    connection.ensure_connection()
    assert connection._s2router_db == connection.settings_dict["NAME"]
    with no_tenant():
        assert _database() == connection.settings_dict["NAME"]


@pytest.mark.parametrize("name", ["", "evil"])
def test_bad_tenant_or_database_names_are_refused_before_any_sql(name):
    with override_settings(**TENANCY_SETTINGS), pytest.raises(ValueError):
        tenancy.resolve(name)


@pytest.mark.parametrize("db_name", ["ok_1", "a-b", "Tenant$9"])
def test_valid_database_names(db_name):
    assert tenancy.validate_db_name(db_name) == db_name


@pytest.mark.parametrize("db_name", ["a`b", "a b", "a;b", "$a", "x" * 61, None, "été"])
def test_invalid_database_names(db_name):
    with pytest.raises(ValueError, match="not allowed"):
        tenancy.validate_db_name(db_name)


@pytest.mark.django_db(databases=DATABASES)
def test_context_follows_sync_to_async_and_copied_contexts_but_not_bare_threads():
    async def run() -> tuple[list[str], list[str]]:
        with tenant("t07"):
            inside = await sync_to_async(_notes)()
        with tenant("t08"):
            other = await sync_to_async(_notes, thread_sensitive=False)()
        return inside, other

    assert asyncio.run(run()) == (["t07"], ["t08"])
    with tenant("t09"), ThreadPoolExecutor(1) as pool:
        assert pool.submit(tenancy.current_tenant).result() is None


def test_cache_keys_carry_the_tenant_prefix():
    with override_settings(**TENANCY_SETTINGS):
        assert make_cache_key("k", "site", 1) == "site:1:k"
        with tenant("t10"):
            assert make_cache_key("k", "site", 1) == "tenant-t10:1:k"


# --- Django's real request handlers, persistent connections ------------------------------------

HANDLER_SETTINGS = {
    **TENANCY_SETTINGS,
    "ROOT_URLCONF": "tests.router.urls",
    "MIDDLEWARE": ["s2router.middleware.TenantMiddleware"],
    "ALLOWED_HOSTS": ["testserver"],
}


@pytest.fixture
def persistent_connections() -> Iterator[None]:
    settings_dict = connections.settings["mysql"]
    before = settings_dict["CONN_MAX_AGE"]
    settings_dict["CONN_MAX_AGE"] = 600
    try:
        yield
    finally:
        settings_dict["CONN_MAX_AGE"] = before


def _environ(path: str, name: str | None) -> dict:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "wsgi.input": BytesIO(b""),
    }
    if name:
        environ["HTTP_X_TENANT"] = name
    return environ


def _wsgi(handler: WSGIHandler, path: str, name: str | None) -> tuple[str, bytes]:
    status = []
    body = b"".join(handler(_environ(path, name), lambda s, h: status.append(s)))
    return status[0], body


@pytest.mark.django_db(databases=DATABASES, transaction=True)
@pytest.mark.usefixtures("persistent_connections")
def test_wsgi_concurrent_requests_never_cross_tenants():
    requests = [TENANTS[(i * 7) % len(TENANTS)] for i in range(240)]
    with override_settings(**HANDLER_SETTINGS):
        handler = WSGIHandler()
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda n: _wsgi(handler, "/sync/", n), requests))
        gc.collect()  # close the finished threads' persistent connections
    connection_ids = set()
    for name, (status, body) in zip(requests, results, strict=True):
        assert status.startswith("200"), body
        seen = json.loads(body)
        for read in (seen["first"], seen["second"]):
            assert read["tenant"] == name
            assert read["rows"] == [name]
            assert read["database"].endswith(f"_t_{name}")
            connection_ids.add(read["connection"])
    # Persistent connections really were reused across tenants (8 threads, 240 requests).
    assert len(connection_ids) <= 8


@pytest.mark.django_db(databases=DATABASES, transaction=True)
@pytest.mark.usefixtures("persistent_connections")
def test_wsgi_streaming_response_keeps_the_tenant():
    with override_settings(**HANDLER_SETTINGS):
        handler = WSGIHandler()
        status, body = _wsgi(handler, "/stream/", "t11")
    assert status.startswith("200")
    assert body.decode().splitlines() == ["t11", "t11", "t11"]


@pytest.mark.django_db(databases=DATABASES, transaction=True)
def test_request_without_tenant_is_refused_in_strict_mode():
    with override_settings(**HANDLER_SETTINGS, DEBUG_PROPAGATE_EXCEPTIONS=True):
        handler = WSGIHandler()
        with pytest.raises(NoTenantError):
            _wsgi(handler, "/sync/", None)


async def _asgi(handler: ASGIHandler, path: str, name: str) -> tuple[int, bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"x-tenant", name.encode())],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }
    sent = False
    messages = []

    async def receive():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(3600)

    async def send(message):
        messages.append(message)

    await handler(scope, receive, send)
    status = next(m["status"] for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return status, body


def run_asgi(requests: list[tuple[str, str]], in_flight: int = 8) -> list[tuple[int, bytes]]:
    """Serve ``(tenant, path)`` requests concurrently through one ``ASGIHandler``.

    Each ASGI request runs its sync code in a thread of its own, holding its own connection:
    ``in_flight`` bounds how many exist at once, and the dead threads' connections are
    collected afterwards so the servers' connection limits are never reached.
    """

    async def run() -> list[tuple[int, bytes]]:
        handler = ASGIHandler()
        limit = asyncio.Semaphore(in_flight)

        async def one(name: str, path: str) -> tuple[int, bytes]:
            async with limit:
                return await _asgi(handler, path, name)

        return await asyncio.gather(*(one(name, path) for name, path in requests))

    try:
        return asyncio.run(run())
    finally:
        gc.collect()


@pytest.mark.django_db(databases=DATABASES, transaction=True)
@pytest.mark.usefixtures("persistent_connections")
def test_asgi_concurrent_requests_never_cross_tenants():
    requests = [
        (TENANTS[(i * 5) % len(TENANTS)], "/sync/" if i % 2 else "/async/") for i in range(120)
    ]

    with override_settings(**HANDLER_SETTINGS):
        results = run_asgi(requests)
    for (name, path), (status, body) in zip(requests, results, strict=True):
        assert status == 200, body
        seen = json.loads(body)
        if path == "/sync/":
            assert [seen["first"]["rows"], seen["second"]["rows"]] == [[name], [name]]
            assert seen["first"]["database"].endswith(f"_t_{name}")
        else:
            assert seen["tenant"] == name
            assert seen["rows"] == seen["again"] == [name]


@pytest.mark.django_db(databases=DATABASES)
def test_migrate_works_in_strict_mode_without_a_tenant():
    with override_settings(**TENANCY_SETTINGS):
        out = StringIO()
        call_command("migrate", database="mysql", verbosity=1, stdout=out)
        assert "No migrations to apply" in out.getvalue()
        with pytest.raises(NoTenantError):
            _notes()


@pytest.mark.django_db(databases=DATABASES, transaction=True)
def test_test_database_creation_works_with_strict_tenancy_on_the_alias():
    """Unlike django-db-multitenant's backends: creating and migrating a test database for an
    alias under strict tenancy needs no tenant and lands in that test database only."""
    from copy import deepcopy

    from django.db.utils import load_backend

    from tests.router.routeranalytics.models import PageView
    from tests.router.test_migrate import S2_TABLES

    probe = deepcopy(connections.settings["mysql"])
    base_name = probe["NAME"]
    probe["TEST"] = {**probe["TEST"], "NAME": f"{base_name}_probe"}
    # A dynamically created alias: reachable as connections["probe"] (for migrate), outside
    # DATABASES, so the test case's per-alias guards leave it alone.
    connections["probe"] = load_backend(probe["ENGINE"]).DatabaseWrapper(probe, "probe")
    strict = router_settings(
        SINGLESTORE="probe", TENANCY={"DATABASES": ["probe"], "STRICT": True, "TENANTS": TENANTS}
    )
    connection = connections["probe"]
    try:
        with override_settings(
            DATABASE_ROUTERS=ROUTERS,
            S2ROUTER=strict,
            MULTITENANT_MAPPER_CLASS="tests.router.mapper.HeaderMapper",
        ):
            # What create_test_db() does, minus its settings.DATABASES bookkeeping.
            test_name = connection.creation._get_test_db_name()
            connection.creation._create_test_db(verbosity=0, autoclobber=True, keepdb=False)
            connection.settings_dict["NAME"] = test_name
            call_command("migrate", database="probe", verbosity=0, run_syncdb=True)
            tables = set(connection.introspection.table_names())
            with pytest.raises(NoTenantError):
                PageView.objects.count()  # routed to the strict alias with no tenant
            connection.close()
            connection.settings_dict["NAME"] = base_name
            connection.creation._destroy_test_db(test_name, verbosity=0)
    finally:
        connection.close()
        del connections["probe"]
    assert test_name == f"{base_name}_probe"
    assert tables == S2_TABLES
