"""The tenant switch leaves connections alone once tenancy no longer covers their alias."""

import pytest
from django.db import connections
from django.test import override_settings

from s2router import tenancy
from tests.router.conftest import ROUTERS, router_settings


def _database() -> str:
    with connections["mysql"].cursor() as cursor:
        cursor.execute("SELECT DATABASE()")
        return cursor.fetchone()[0]


@pytest.mark.django_db(databases=["default", "mysql"])
def test_the_switch_steps_aside_once_tenancy_no_longer_covers_the_alias():
    connection = connections["mysql"]
    with override_settings(
        DATABASE_ROUTERS=ROUTERS,
        MULTITENANT_MAPPER_CLASS="tests.router.mapper.HeaderMapper",
        S2ROUTER=router_settings(SINGLESTORE="mysql", TENANCY={"DATABASES": ["mysql"]}),
    ):
        with tenancy.no_tenant():
            assert _database() == connection.settings_dict["NAME"]
        assert tenancy._use_database in connection.execute_wrappers
    assert _database() == connection.settings_dict["NAME"]
    assert tenancy._use_database not in connection.execute_wrappers
