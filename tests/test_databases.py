"""The test harness talks to real servers: PostgreSQL as ``default``, MariaDB as ``mysql``."""

import importlib

import pytest
from django.db import connections

from tests.backend.testapp.models import Note


@pytest.mark.parametrize("package", ["django_singlestore", "s2router", "migration_kit"])
def test_packages_import(package: str) -> None:
    assert importlib.import_module(package).__doc__


@pytest.mark.django_db(databases=["default", "mysql"])
@pytest.mark.parametrize(
    ("alias", "vendor", "version_sql"),
    [("default", "postgresql", "SHOW server_version"), ("mysql", "mysql", "SELECT VERSION()")],
)
def test_alias_is_a_real_server(alias: str, vendor: str, version_sql: str) -> None:
    connection = connections[alias]
    assert connection.vendor == vendor
    with connection.cursor() as cursor:
        cursor.execute(version_sql)
        (version,) = cursor.fetchone()
    assert version
    if alias == "mysql":
        assert "MariaDB" in version


@pytest.mark.django_db(databases=["default", "mysql"])
def test_rows_stay_on_their_database() -> None:
    Note.objects.using("default").create(title="on postgres")
    Note.objects.using("mysql").bulk_create([Note(title="a"), Note(title="b")])
    assert list(Note.objects.using("default").values_list("title", flat=True)) == ["on postgres"]
    assert list(Note.objects.using("mysql").values_list("title", flat=True)) == ["a", "b"]


@pytest.mark.s2
@pytest.mark.django_db(databases=["s2"])
def test_s2_alone_is_singlestore() -> None:
    """A test may use only ``s2``: its test database does not depend on ``default``."""
    with connections["s2"].cursor() as cursor:
        cursor.execute("SELECT @@memsql_version")
        (version,) = cursor.fetchone()
    assert version
