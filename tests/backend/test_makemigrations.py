"""``makemigrations`` keeps a new model's table design inside its ``CreateModel``.

The models are ``tests.backend.designapp``'s: design entries next to foreign keys, one of them
the shard key. Its committed migration was written by this command; the ``s2`` test database is
migrated with it.
"""

import importlib
import io
import sys
from pathlib import Path

import pytest
from django.core import checks
from django.core.management import call_command, get_commands
from django.core.management.commands.makemigrations import Command as DjangoMakemigrations
from django.db import NotSupportedError, connections, models
from django.db.migrations import operations
from django.db.migrations.graph import MigrationGraph
from django.db.migrations.questioner import NonInteractiveMigrationQuestioner
from django.db.migrations.state import ModelState, ProjectState
from django.db.migrations.writer import OperationWriter
from django.test import override_settings

from django_singlestore.autodetector import DesignAutodetector
from django_singlestore.design import ShardKey, SortKey, TableStorage
from django_singlestore.rules import Storage
from tests.backend.designapp.migrations import __name__ as committed_package
from tests.backend.designapp.models import Account, Region, Visit


def write_migrations(tmp_path: Path, command: object = "makemigrations") -> list:
    """Run ``command`` for designapp into a fresh migrations package; its operations."""
    package = f"designapp_migrations_{tmp_path.name}"
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text("")
    sys.path.insert(0, str(tmp_path))
    try:
        with override_settings(MIGRATION_MODULES={"designapp": package}):
            call_command(command, "designapp", stdout=io.StringIO(), stderr=io.StringIO())
        return importlib.import_module(f"{package}.0001_initial").Migration.operations
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m.startswith(package)]:
            del sys.modules[name]


#: makemigrations checks each database's migration history before it writes.
every_database = pytest.mark.django_db(databases=["default", "mysql", "s2"])


def text(operation: operations.base.Operation) -> str:
    return OperationWriter(operation).serialize()[0]


def created(ops: list) -> dict[str, operations.CreateModel]:
    return {op.name_lower: op for op in ops if isinstance(op, operations.CreateModel)}


def test_makemigrations_is_this_backends_command() -> None:
    assert get_commands()["makemigrations"] == "django_singlestore"
    assert get_commands()["migrate"] == "django_singlestore"


def test_migrate_and_makemigrations_share_the_autodetector() -> None:
    """Django's commands.E001 refuses a makemigrations whose autodetector migrate lacks."""
    assert [m.id for m in checks.run_checks(tags=[checks.Tags.commands])] == []


@pytest.mark.s2
@every_database
def test_create_model_carries_the_design(tmp_path: Path) -> None:
    ops = write_migrations(tmp_path)
    assert not [op for op in ops if isinstance(op, operations.AddConstraint)]
    creates = created(ops)
    for model in (Region, Account, Visit):
        create = creates[model._meta.model_name]
        assert create.options["constraints"] == model._meta.constraints
    # The shard key's foreign key moved into Visit's CreateModel with it.
    assert "account" in dict(creates["visit"].fields)
    # Account's foreign key is no part of its design: the autodetector's split stays.
    assert [
        (op.model_name_lower, op.name) for op in ops if isinstance(op, operations.AddField)
    ] == [("account", "region")]


@pytest.mark.s2
@every_database
def test_committed_migration_is_what_the_command_writes(tmp_path: Path) -> None:
    ops = write_migrations(tmp_path)
    committed = importlib.import_module(f"{committed_package}.0001_initial").Migration.operations
    assert [text(op) for op in ops] == [text(op) for op in committed]


@pytest.mark.s2
@every_database
def test_djangos_own_command_splits_the_design_off(tmp_path: Path) -> None:
    """What the command exists for: Django's first CREATE of Account is columnstore, refused."""
    ops = write_migrations(tmp_path, DjangoMakemigrations())
    added = {
        (op.model_name_lower, type(op.constraint).__name__)
        for op in ops
        if isinstance(op, operations.AddConstraint)
    }
    assert ("account", "TableStorage") in added
    assert ("visit", "ShardKey") in added
    state = ProjectState()
    for op in ops[: ops.index(created(ops)["account"]) + 1]:
        op.state_forwards("designapp", state)
    account = state.apps.get_model("designapp", "account")
    with pytest.raises(NotSupportedError, match="S2-SHARD-UNIQUE"):
        connections["s2"].schema_editor().table_sql(account)


@pytest.mark.s2
@pytest.mark.django_db(databases=["default", "s2"])
def test_migrated_tables_have_the_design() -> None:
    connection = connections["s2"]
    with connection.cursor() as cursor:
        designs = {
            model: connection.introspection.get_table_design(cursor, model._meta.db_table)
            for model in (Region, Account, Visit)
        }
    assert designs[Region].storage is Storage.REFERENCE
    assert designs[Account].storage is Storage.REFERENCE
    assert designs[Visit].storage is Storage.COLUMNSTORE
    assert designs[Visit].shard_key == ("account_id",)
    assert designs[Visit].sort_key == (("at", True),)
    with connection.cursor() as cursor:
        cursor.execute(f"SHOW CREATE TABLE {Visit._meta.db_table}")
        assert "UNENFORCED" in cursor.fetchone()[1]


def mutual_models() -> ProjectState:
    """Two new models sharded on foreign keys to each other: both cannot be created first."""
    state = ProjectState()
    for name, other in (("Left", "cyc.right"), ("Right", "cyc.left")):
        fk = other.split(".")[1]
        state.add_model(
            ModelState(
                "cyc",
                name,
                [
                    ("id", models.BigAutoField(primary_key=True)),
                    ("at", models.DateTimeField()),
                    (fk, models.ForeignKey(other, models.DO_NOTHING)),
                ],
                {
                    "constraints": [
                        TableStorage("COLUMNSTORE", name=f"{name}_storage"),
                        ShardKey(fk, name=f"{name}_shard"),
                        SortKey("at", name=f"{name}_sort"),
                    ]
                },
            )
        )
    return state


def test_a_cycle_leaves_one_shard_key_as_add_constraint() -> None:
    changes = DesignAutodetector(
        ProjectState(), mutual_models(), NonInteractiveMigrationQuestioner(specified_apps={"cyc"})
    ).changes(graph=MigrationGraph())
    (migration,) = changes["cyc"]
    ops = migration.operations
    creates = created(ops)
    folded = [name for name, op in creates.items() if len(op.options["constraints"]) == 3]
    split = [name for name, op in creates.items() if len(op.options["constraints"]) == 2]
    assert len(folded) == 1 and len(split) == 1
    first = ops.index(creates[split[0]])
    assert first < ops.index(creates[folded[0]])
    # The split model: storage and sort key at CREATE; its relation and shard key afterwards.
    assert [type(c) for c in creates[split[0]].options["constraints"]] == [TableStorage, SortKey]
    later = ops[ops.index(creates[folded[0]]) + 1 :]
    assert [type(op) for op in later] == [operations.AddField, operations.AddConstraint]
    assert later[1].model_name_lower == split[0]
    assert isinstance(later[1].constraint, ShardKey)


def test_a_relation_across_apps_joins_the_create_model() -> None:
    """The other app's table is created first; its own back-reference waits for ours."""
    state = ProjectState()
    state.add_model(
        ModelState(
            "alpha",
            "Hit",
            [
                ("id", models.BigAutoField(primary_key=True)),
                ("page", models.ForeignKey("beta.page", models.DO_NOTHING)),
            ],
            {"constraints": [ShardKey("page", name="hit_shard")]},
        )
    )
    state.add_model(
        ModelState(
            "beta",
            "Page",
            [
                ("id", models.BigAutoField(primary_key=True)),
                ("top_hit", models.ForeignKey("alpha.hit", models.DO_NOTHING)),
            ],
            {},
        )
    )
    changes = DesignAutodetector(
        ProjectState(), state, NonInteractiveMigrationQuestioner(specified_apps={"alpha", "beta"})
    ).changes(graph=MigrationGraph())
    (hit_migration,) = changes["alpha"]
    (create_hit,) = hit_migration.operations
    assert "page" in dict(create_hit.fields)
    assert create_hit.options["constraints"] == [ShardKey("page", name="hit_shard")]
    assert ("beta", "0001_initial") in hit_migration.dependencies
    page_first, page_then = changes["beta"]
    assert [type(op) for op in page_first.operations] == [operations.CreateModel]
    assert [type(op) for op in page_then.operations] == [operations.AddField]
    assert ("alpha", "0001_initial") in page_then.dependencies
