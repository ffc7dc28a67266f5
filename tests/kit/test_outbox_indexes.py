"""The outbox carries only the indexes its queries use (``migration_kit.0005``).

Every entry a capture trigger or wrapper writes pays for each index of the outbox, inside the
application's write. The migration drops the two that served no query and must apply to an
existing install, with entries in it, on every database the outbox lives on.
"""

from __future__ import annotations

import pytest
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from migration_kit.dualwrite.outbox import due
from migration_kit.models import OutboxEntry

BEFORE = ("migration_kit", "0004_verifyrun_rowstore")
AFTER = ("migration_kit", "0005_outbox_indexes")
TABLE = OutboxEntry._meta.db_table
#: The columns of each index the outbox should have, the primary key included.
WANTED = {("id",), ("model_label", "target_alias"), ("batch",)}


def index_columns(alias: str) -> set[tuple[str, ...]]:
    """The column lists of the outbox's indexes and primary key on ``alias``."""
    connection = connections[alias]
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, TABLE)
    return {
        tuple(c["columns"])
        for c in constraints.values()
        if (c["index"] or c["primary_key"]) and c["columns"]
    }


def pattern_indexes(alias: str) -> list[str]:
    """PostgreSQL indexes on the outbox built with a ``*_pattern_ops`` operator class."""
    with connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = %s AND indexdef LIKE %s",
            [TABLE, "%pattern_ops%"],
        )
        return [name for (name,) in cursor.fetchall()]


def migrate(alias: str, target: tuple[str, str]) -> None:
    MigrationExecutor(connections[alias]).migrate([target])


@pytest.mark.parametrize("alias", ["default", "mysql", pytest.param("s2", marks=pytest.mark.s2)])
@pytest.mark.django_db(databases=["default", "mysql", "s2"], transaction=True)
def test_0005_trims_the_indexes_of_an_existing_install(alias: str) -> None:
    try:
        migrate(alias, BEFORE)
        old = index_columns(alias)
        assert {("created_at",), ("batch",)} <= old
        OutboxEntry.objects.using(alias).create(
            model_label="dualwriteapp.Order", object_pk=7, source_alias="default",
            target_alias="s2", batch="b" * 32,
        )  # fmt: skip
        migrate(alias, AFTER)
    finally:
        executor = MigrationExecutor(connections[alias])
        executor.migrate(executor.loader.graph.leaf_nodes("migration_kit"))
    assert index_columns(alias) == WANTED
    if connections[alias].vendor == "postgresql":
        assert pattern_indexes(alias) == []
    entries = OutboxEntry.objects.using(alias)
    assert list(entries.values_list("object_pk", "batch")) == [(7, "b" * 32)]
    entries.delete()


@pytest.mark.django_db(databases=["default"])
def test_drain_and_batch_delete_use_indexes_on_postgresql() -> None:
    """With a backlog the drain's claim walks the primary key and the relay's delete by
    batch its index: the two queries an outbox write's indexes are kept for."""
    connection = connections["default"]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} (model_label, object_pk, source_alias, target_alias, "
            "created_at, attempts, last_error, batch) SELECT 'dualwriteapp.Order', to_jsonb(g), "
            "'default', 's2', now(), 0, '', CASE WHEN g % 2 = 0 THEN md5(g::text) ELSE '' END "
            "FROM generate_series(1, 20000) AS g"
        )
        cursor.execute(f"ANALYZE {TABLE}")
        claim = due("default", timezone.now()).select_for_update(skip_locked=True)
        sql, params = claim.values_list("id")[:500].query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "Index Scan using migration_kit_outboxentry_pkey" in plan, plan
        cursor.execute(f"EXPLAIN DELETE FROM {TABLE} WHERE batch IN (%s, %s)", ["ab", "cd"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "migration_kit_outbox_batch" in plan, plan
