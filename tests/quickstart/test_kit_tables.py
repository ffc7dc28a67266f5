"""The kit's own tables on SingleStore with plain settings, and the migration for old installs.

Old installs made ``migration_kit``'s tables ROWSTORE REFERENCE through
``OPTIONS["table_storage_type"]`` (the setting the example and the tests used to carry);
``migration_kit.0004`` moves them to the designs the models now declare: on SingleStore a table
rebuild that keeps the rows, elsewhere nothing at all.
"""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from django_singlestore.options import SingleStoreOptions
from django_singlestore.rules import Storage

OLD_SETTING = {"table_storage_type": {"migration_kit": "ROWSTORE REFERENCE"}}
BEFORE, AFTER = (
    ("migration_kit", "0003_outbox_rowstore"),
    ("migration_kit", "0004_verifyrun_rowstore"),
)
KIT_TABLES = {
    "migration_kit_backfillcheckpoint": Storage.ROWSTORE_REFERENCE,
    "migration_kit_outboxentry": Storage.ROWSTORE,
    "migration_kit_verifyrun": Storage.ROWSTORE,
}


def storage(table: str) -> Storage:
    connection = connections["s2"]
    with connection.cursor() as cursor:
        return connection.introspection.get_table_design(cursor, table).storage


@pytest.mark.s2
@pytest.mark.django_db(databases=["s2"])
def test_kit_tables_have_their_declared_design_without_settings() -> None:
    assert connections["s2"].s2_options.storage_for_app("migration_kit") is None
    assert {table: storage(table) for table in KIT_TABLES} == KIT_TABLES


@pytest.mark.s2
@pytest.mark.django_db(databases=["s2"], transaction=True)
def test_0004_rebuilds_an_old_install_on_singlestore(monkeypatch: pytest.MonkeyPatch) -> None:
    connection = connections["s2"]
    plain = connection.s2_options
    try:
        monkeypatch.setattr(
            connection, "s2_options", SingleStoreOptions.from_settings(OLD_SETTING, "s2")
        )
        MigrationExecutor(connection).migrate([BEFORE])
        assert storage("migration_kit_verifyrun") is Storage.ROWSTORE_REFERENCE
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO migration_kit_verifyrun (model_label, source_alias, target_alias,"
                " started_at, repaired, sample, error) VALUES (%s, %s, %s, %s, 0, '[]', '')",
                ["shop.Order", "default", "s2", timezone.now().replace(tzinfo=None)],
            )
        monkeypatch.setattr(connection, "s2_options", plain)  # the setting is dropped
        MigrationExecutor(connection).migrate([AFTER])
    finally:
        monkeypatch.setattr(connection, "s2_options", plain)
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes("migration_kit"))
    assert storage("migration_kit_verifyrun") is Storage.ROWSTORE
    with connection.cursor() as cursor:
        cursor.execute("SELECT model_label FROM migration_kit_verifyrun")
        assert [row[0] for row in cursor.fetchall()] == ["shop.Order"]  # the rebuild kept it


@pytest.mark.parametrize("alias", ["default", "mysql"])
@pytest.mark.django_db(databases=["default", "mysql"])
def test_0004_is_a_no_op_elsewhere(alias: str) -> None:
    out = io.StringIO()
    call_command("sqlmigrate", *AFTER, database=alias, stdout=out)
    statements = [
        line for line in out.getvalue().splitlines() if line.strip() and not line.startswith("--")
    ]
    assert statements in ([], ["BEGIN;", "COMMIT;"]), out.getvalue()
