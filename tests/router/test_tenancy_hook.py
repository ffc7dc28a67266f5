"""The tenant switch leaves connections alone once tenancy no longer covers their alias."""

import pytest
from django.db import connections
from django.test import override_settings

from s2router import tenancy
from tests.router.configs import ROUTERS, router_settings


def _database() -> str:
    with connections["mysql"].cursor() as cursor:
        cursor.execute("SELECT DATABASE()")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True, databases=["default", "mysql"])
def test_the_switch_steps_aside_once_tenancy_no_longer_covers_the_alias():
    connection = connections["mysql"]
    own = connection.settings_dict["NAME"]
    covered = override_settings(
        DATABASE_ROUTERS=ROUTERS,
        MULTITENANT_MAPPER_CLASS="tests.router.mapper.HeaderMapper",
        S2ROUTER=router_settings(SINGLESTORE="mysql", TENANCY={"DATABASES": ["mysql"]}),
    )
    active = tenancy.tenant("hook")
    with covered:
        db_name = tenancy.resolve("hook").db_name
        quoted = connection.ops.quote_name(db_name)
        with tenancy.no_tenant(), connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE IF NOT EXISTS {quoted}")
        active.__enter__()
        assert _database() == db_name  # the switch works while tenancy covers the alias
        assert tenancy._use_database in connection.execute_wrappers
    try:
        # The tenant is still current, but tenancy no longer covers the alias: queries run on
        # the alias's own database again, and the wrapper is gone.
        assert _database() == own
        assert tenancy._use_database not in connection.execute_wrappers
    finally:
        active.__exit__(None, None, None)
        with connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {quoted}")
