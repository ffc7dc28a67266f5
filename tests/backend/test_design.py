"""Table design declared in models, recorded in migrations, judged by the rules catalogue."""

import pytest
from django.core import checks
from django.db import connections, models
from django.db.migrations.writer import MigrationWriter
from django.test.utils import isolate_apps

from django_singlestore import rules
from django_singlestore.base import DatabaseWrapper
from django_singlestore.design import (
    ShardKey,
    SortKey,
    TableStorage,
    UnenforcedUniqueConstraint,
    model_storage,
    table_spec,
)
from django_singlestore.schema import ModelStorageManager
from tests.backend.backendapp.models import Article, Event, LegacyItem, Reading, Tag


def s2(**options: object) -> DatabaseWrapper:
    settings_dict = {**connections["s2"].settings_dict}
    settings_dict["OPTIONS"] = {**settings_dict["OPTIONS"], **options}
    return DatabaseWrapper(settings_dict, alias="s2-design")


def check_ids(model: type, connection: DatabaseWrapper) -> list[str]:
    return [issue.id for issue in connection.validation.check_model(model)]


def test_event_spec_has_shard_and_sort_key() -> None:
    spec = table_spec(Event, connections["s2"])
    assert spec.storage is rules.Storage.COLUMNSTORE
    assert spec.shard_key == ("tenant_id",)
    assert spec.sort_key == (("created", True),)
    assert spec.primary_key().columns == ("tenant_id", "id")
    assert rules.check_table(spec) == []


def test_composite_primary_key_is_the_default_shard_key() -> None:
    spec = table_spec(Reading, connections["s2"])
    assert spec.shard_key is None
    assert spec.effective_shard_key() == ("sensor", "taken")


def test_auto_created_many_to_many_is_valid_on_columnstore() -> None:
    spec = table_spec(Article.tags.through, connections["s2"])
    assert spec.storage is rules.Storage.COLUMNSTORE
    assert spec.primary_key() is None
    assert spec.shard_key == ("article_id",)
    (unique,) = [k for k in spec.keys if k.kind == rules.UNIQUE]
    assert unique.columns == ("article_id", "tag_id")
    assert any(k.columns == ("id",) and k.kind == rules.INDEX for k in spec.keys)
    assert next(c for c in spec.columns if c.name == "id").auto_increment
    assert rules.check_table(spec) == []


def test_auto_fields_and_their_foreign_keys_are_bigint() -> None:
    spec = table_spec(Article.tags.through, connections["s2"])
    assert {c.name: c.type for c in spec.columns} == {
        "id": "bigint auto_increment",
        "article_id": "bigint",
        "tag_id": "bigint",
    }


def test_storage_resolution_order(monkeypatch: pytest.MonkeyPatch) -> None:
    connection = s2(table_storage_type={"backendapp": "ROWSTORE"})
    assert model_storage(Tag, connection) is rules.Storage.REFERENCE  # TableStorage wins
    assert model_storage(LegacyItem, connection) is rules.Storage.ROWSTORE_REFERENCE  # manager
    assert model_storage(Article, connection) is rules.Storage.ROWSTORE  # OPTIONS
    monkeypatch.setenv("DJANGO_SINGLESTORE_TABLE_STORAGE_TYPE_BACKENDAPP", "reference")
    assert model_storage(Article, connection) is rules.Storage.REFERENCE  # env beats OPTIONS
    assert model_storage(Article, s2()) is rules.Storage.REFERENCE
    monkeypatch.delenv("DJANGO_SINGLESTORE_TABLE_STORAGE_TYPE_BACKENDAPP")
    assert model_storage(Article, s2()) is rules.Storage.COLUMNSTORE


def test_design_entries_round_trip_through_migration_writer() -> None:
    for entry in (
        TableStorage("rowstore reference"),
        ShardKey("tenant_id", name="s"),
        ShardKey(name="keyless"),
        SortKey("-created", "id", name="o"),
    ):
        source, imports = MigrationWriter.serialize(entry)
        namespace: dict = {}
        for line in imports:
            exec(line, namespace)
        assert eval(source, namespace) == entry


def test_invalid_storage_is_a_clear_error() -> None:
    with pytest.raises(Exception, match="unknown SingleStore table storage type 'COLUMNS'"):
        TableStorage("COLUMNS")
    with pytest.raises(Exception, match="unknown SingleStore table storage type"):
        ModelStorageManager(table_storage_type="DISK")


@isolate_apps("tests.backend.backendapp")
def test_unique_field_on_sharded_table_is_e001_with_hint() -> None:
    class Customer(models.Model):
        email = models.CharField(max_length=100, unique=True)

        class Meta:
            app_label = "backendapp"

    issues = connections["s2"].validation.check_model(Customer)
    assert [i.id for i in issues] == ["django_singlestore.E001"]
    assert isinstance(issues[0], checks.Error)
    assert "unique keys must contain all columns of the shard key" in issues[0].msg
    assert "TableStorage('REFERENCE')" in issues[0].hint
    assert "UnenforcedUniqueConstraint" in issues[0].hint


@isolate_apps("tests.backend.backendapp")
def test_each_documented_fix_clears_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    class AsReference(models.Model):
        email = models.CharField(max_length=100, unique=True)

        class Meta:
            app_label = "backendapp"
            constraints = [TableStorage("REFERENCE")]

    class Unenforced(models.Model):
        email = models.CharField(max_length=100)

        class Meta:
            app_label = "backendapp"
            constraints = [UnenforcedUniqueConstraint(fields=["email"], name="u_email")]

    class ShardedOnKey(models.Model):
        pk = models.CompositePrimaryKey("tenant", "number")
        tenant = models.IntegerField()
        number = models.IntegerField()
        code = models.CharField(max_length=10)

        class Meta:
            app_label = "backendapp"
            constraints = [
                ShardKey("tenant"),
                models.UniqueConstraint(fields=["tenant", "code"], name="u_code"),
            ]

    class ByEnv(models.Model):
        email = models.CharField(max_length=100, unique=True)

        class Meta:
            app_label = "backendapp"

    for model in (AsReference, Unenforced):
        assert check_ids(model, connections["s2"]) == []
    # Two unique keys, one multi-column, on a columnstore table: the next rule.
    assert check_ids(ShardedOnKey, connections["s2"]) == ["django_singlestore.E004"]
    assert check_ids(ByEnv, s2(not_enforced_unique=["backendapp"])) == []
    monkeypatch.setenv("DJANGO_SINGLESTORE_NOT_ENFORCED_UNIQUE_BACKENDAPP", "1")
    assert check_ids(ByEnv, connections["s2"]) == []


@isolate_apps("tests.backend.backendapp")
def test_other_rules_have_their_own_ids() -> None:
    class Keyless(models.Model):
        code = models.CharField(max_length=10, unique=True)

        class Meta:
            app_label = "backendapp"
            constraints = [ShardKey()]

    class FloatKey(models.Model):
        value = models.FloatField(primary_key=True)

        class Meta:
            app_label = "backendapp"

    class SortedRowstore(models.Model):
        when = models.DateTimeField()

        class Meta:
            app_label = "backendapp"
            constraints = [TableStorage("ROWSTORE"), SortKey("when")]

    class TwoShardKeys(models.Model):
        code = models.CharField(max_length=10)

        class Meta:
            app_label = "backendapp"
            constraints = [ShardKey("id", name="a"), ShardKey("code", name="b")]

    class Functional(models.Model):
        code = models.CharField(max_length=10)

        class Meta:
            app_label = "backendapp"
            indexes = [models.Index(models.functions.Lower("code"), name="lower_code")]
            constraints = [
                models.UniqueConstraint(
                    fields=["code"], condition=models.Q(code="x"), name="partial_code"
                )
            ]

    assert "django_singlestore.E002" in check_ids(Keyless, connections["s2"])
    assert check_ids(FloatKey, connections["s2"]) == ["django_singlestore.E005"]
    assert check_ids(SortedRowstore, connections["s2"]) == ["django_singlestore.E011"]
    assert check_ids(TwoShardKeys, connections["s2"]) == ["django_singlestore.E010"]
    # Like MySQL: functional and partial keys are not created (Django's own checks warn).
    spec = table_spec(Functional, connections["s2"])
    assert [k.columns for k in spec.keys] == [("id",)]
    assert check_ids(Functional, connections["s2"]) == []


def test_check_command_on_the_project_is_clean_for_backendapp() -> None:
    from django.apps import apps

    config = apps.get_app_config("backendapp")
    issues = connections["s2"].validation.check(app_configs=[config])
    assert issues == []
