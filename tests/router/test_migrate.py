"""``migrate --database X`` creates exactly the tables the router places on X.

Each run migrates into an empty namespace of a real server: a fresh PostgreSQL schema (via
``search_path``) for ``default``, and a fresh tenant database on MariaDB — migrated with
``s2_tenant_migrate``, which is also the proof that tenancy keeps ``migrate`` working — for the
SingleStore role (MariaDB stands in for SingleStore; the ``s2`` tests repeat it on SingleStore).
"""

from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connections
from django.test import override_settings

from s2router import tenancy
from tests.router.configs import ROUTERS, router_settings

S2_TABLES = {
    "django_migrations",
    "routeranalytics_event",
    "routeranalytics_pageview",
    "routerapp_country",  # REFERENCE: on its source and on SingleStore
    "routerapp_order",  # MIGRATING: on its source and on SingleStore
} | {m._meta.db_table for m in apps.get_app_config("migration_kit").get_models()}  # SHARED_APPS


OURS = ("auth", "contenttypes", "sessions", "admin", "sites", "s2router", "routerapp",
        "routeranalytics")  # fmt: skip


def _our_tables() -> set[str]:
    """Tables of contrib and the router's own apps (other teammates' apps route themselves)."""
    return {
        m._meta.db_table
        for label in OURS
        for m in apps.get_app_config(label).get_models(include_auto_created=True)
    } | {"django_migrations"}


@pytest.mark.django_db(databases=["default"], transaction=True)
def test_migrate_default_creates_everything_but_singlestore_only_tables(s2router_settings):
    connection = connections["default"]
    with connection.cursor() as cursor:
        cursor.execute("DROP SCHEMA IF EXISTS router_migrate CASCADE")
        cursor.execute("CREATE SCHEMA router_migrate")
        cursor.execute("SET search_path TO router_migrate")
    try:
        call_command("migrate", database="default", verbosity=0, interactive=False)
        tables = set(connection.introspection.table_names())
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET search_path TO DEFAULT")
            cursor.execute("DROP SCHEMA router_migrate CASCADE")
        connection.close()
    ours = _our_tables()
    assert tables & ours == ours - {"routeranalytics_event", "routeranalytics_pageview"}
    assert {"auth_user", "django_session", "django_admin_log", "s2router_modelphase"} <= tables


@pytest.mark.django_db(databases=["default", "mysql"], transaction=True)
def test_migrate_on_the_singlestore_alias_creates_only_its_tables():
    settings = router_settings(
        SINGLESTORE="mysql", TENANCY={"DATABASES": ["mysql"], "TENANTS": ["fresh"]}
    )
    with override_settings(
        DATABASE_ROUTERS=ROUTERS,
        S2ROUTER=settings,
        MULTITENANT_MAPPER_CLASS="tests.router.mapper.HeaderMapper",
    ):
        fresh = tenancy.resolve("fresh")
        connection = connections["mysql"]
        try:
            err = StringIO()
            call_command(
                "s2_tenant_migrate",
                "--all-tenants",
                "--create",
                "--database",
                "mysql",
                stderr=err,
            )
            assert f"migrating tenant fresh ({fresh.db_name}) on mysql" in err.getvalue()
            with tenancy.tenant(fresh):
                tables = set(connection.introspection.table_names())
                with connection.cursor() as cursor:
                    cursor.execute("SELECT COUNT(*) FROM django_migrations")
                    applied = cursor.fetchone()[0]
            with tenancy.no_tenant():
                base_tables = set(connection.introspection.table_names())
        finally:
            with tenancy.no_tenant(), connection.cursor() as cursor:
                cursor.execute(
                    f"DROP DATABASE IF EXISTS {connection.ops.quote_name(fresh.db_name)}"
                )
    assert tables == S2_TABLES
    assert applied > 10  # every app's migrations are recorded, even with nothing to create
    assert "auth_user" in base_tables  # the alias's own database was not touched


@pytest.mark.django_db(databases=["default", "mysql"])
def test_contrib_on_the_singlestore_alias_moves_all_contrib_tables(s2router_settings):
    s2router_settings(CONTRIB_DATABASE="s2")
    from django.db import router

    on_s2 = {
        m._meta.db_table
        for m in apps.get_models(include_auto_created=True)
        if router.allow_migrate_model("s2", m)
    }
    contrib = {
        m._meta.db_table
        for label in ("auth", "contenttypes", "sessions", "admin", "sites")
        for m in apps.get_app_config(label).get_models(include_auto_created=True)
    }
    assert on_s2 == contrib | S2_TABLES - {"django_migrations"}
    assert not any(
        router.allow_migrate_model("default", m)
        for m in apps.get_models()
        if m._meta.db_table in contrib
    )
