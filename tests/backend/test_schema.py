"""ALTERs SingleStore refuses on columnstore tables: rebuilt with data intact, or refused."""

from collections.abc import Iterator

import pytest
from django.db import DatabaseError, NotSupportedError, connections, models
from django.test.utils import isolate_apps

from django_singlestore.base import DatabaseWrapper
from django_singlestore.design import ShardKey, SortKey, TableStorage
from django_singlestore.rules import Storage

pytestmark = [pytest.mark.s2, pytest.mark.django_db(databases=["default", "s2"], transaction=True)]

TABLE = "backendapp_gadget"


def rows(connection: DatabaseWrapper, sql: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return list(cursor.fetchall())


def models_v1_v2(**v2_meta: object) -> tuple[type, type]:
    """Two states of one table: ``V1`` as created, ``V2`` as a migration wants it."""

    class V1(models.Model):
        name = models.CharField(max_length=20, null=True)
        count = models.CharField(max_length=10)

        class Meta:
            app_label = "backendapp"
            db_table = TABLE

    class V2(models.Model):
        name = models.CharField(max_length=20, default="?")
        count = models.IntegerField()

        class Meta:
            app_label = "backendapp"
            db_table = TABLE
            db_table_comment = v2_meta.get("comment", "")
            constraints = v2_meta.get("constraints", [])

    return V1, V2


@pytest.fixture
def gadget() -> Iterator[tuple[type, type]]:
    with isolate_apps("tests.backend.backendapp"):
        v1, v2 = models_v1_v2()
        connection = connections["s2"]
        with connection.schema_editor() as editor:
            editor.create_model(v1)
        v1.objects.using("s2").bulk_create([v1(name="a", count="1"), v1(name="b", count="22")])
        yield v1, v2
        with connection.schema_editor() as editor:
            editor.execute(f"DROP TABLE IF EXISTS {TABLE}")


def test_type_change_and_not_null_are_rebuilt_keeping_rows(gadget: tuple[type, type]) -> None:
    v1, v2 = gadget
    connection = connections["s2"]
    with connection.schema_editor() as editor:
        editor.alter_field(v1, v1._meta.get_field("count"), v2._meta.get_field("count"))
        editor.alter_field(v1, v1._meta.get_field("name"), v2._meta.get_field("name"))
    assert sorted(v2.objects.using("s2").values_list("name", "count")) == [("a", 1), ("b", 22)]
    columns = {
        c.name: c
        for c in connection.introspection.get_table_description(connection.cursor(), TABLE)
    }
    assert columns["count"].data_type == "int" and not columns["name"].null_ok


def test_refuse_strategy_names_rule_and_workaround(gadget: tuple[type, type]) -> None:
    v1, v2 = gadget
    settings_dict = {**connections["s2"].settings_dict}
    settings_dict["OPTIONS"] = {**settings_dict["OPTIONS"], "alter_strategy": "refuse"}
    refusing = DatabaseWrapper(settings_dict, alias="s2-refuse")
    try:
        with (
            pytest.raises(NotSupportedError) as raised,
            refusing.schema_editor() as editor,
        ):
            editor.alter_field(v1, v1._meta.get_field("count"), v2._meta.get_field("count"))
    finally:
        refusing.close()
    message = str(raised.value)
    assert "S2-ALTER-TYPE" in message and "modifies type of column" in message
    assert "INSERT ... SELECT" in message
    assert sorted(v1.objects.using("s2").values_list("count", flat=True)) == ["1", "22"]


def test_table_design_change_rebuilds_with_new_shard_and_sort_key(
    gadget: tuple[type, type],
) -> None:
    v1, _ = gadget
    with isolate_apps("tests.backend.backendapp"):
        _, redesigned = models_v1_v2(
            constraints=[TableStorage("REFERENCE"), SortKey("-name")], comment="now a lookup"
        )
        connection = connections["s2"]
        with connection.schema_editor() as editor:
            editor.alter_field(v1, v1._meta.get_field("count"), redesigned._meta.get_field("count"))
            editor.add_constraint(redesigned, redesigned._meta.constraints[0])
        with connection.cursor() as cursor:
            design = connection.introspection.get_table_design(cursor, TABLE)
        assert design.storage is Storage.REFERENCE
        assert design.sort_key == (("name", True),)
        assert sorted(redesigned.objects.using("s2").values_list("count", flat=True)) == [1, 22]


@pytest.mark.usefixtures("gadget")
def test_shard_key_change_rebuilds() -> None:
    with isolate_apps("tests.backend.backendapp"):

        class Sharded(models.Model):
            name = models.CharField(max_length=20, null=True)
            count = models.CharField(max_length=10)

            class Meta:
                app_label = "backendapp"
                db_table = TABLE
                constraints = [ShardKey()]

        connection = connections["s2"]
        with connection.schema_editor() as editor:
            editor.add_constraint(Sharded, Sharded._meta.constraints[0])
        with connection.cursor() as cursor:
            design = connection.introspection.get_table_design(cursor, TABLE)
        assert design.shard_key == ()
        assert Sharded.objects.using("s2").count() == 2


def test_comment_change_is_rebuilt(gadget: tuple[type, type]) -> None:
    v1, _ = gadget
    with isolate_apps("tests.backend.backendapp"):
        _, commented = models_v1_v2(comment="gadgets")
        connection = connections["s2"]
        with connection.schema_editor() as editor:
            editor.alter_db_table_comment(commented, "", "gadgets")
        tables = connection.introspection.get_table_list(connection.cursor())
        assert next(t.comment for t in tables if t.name == TABLE) == "gadgets"
        assert v1.objects.using("s2").count() == 2


def test_failed_copy_leaves_the_original_untouched(gadget: tuple[type, type]) -> None:
    v1, v2 = gadget
    v1.objects.using("s2").create(name="c", count="abc")
    connection = connections["s2"]
    with pytest.raises(DatabaseError), connection.schema_editor() as editor:
        editor.alter_field(v1, v1._meta.get_field("count"), v2._meta.get_field("count"))
    assert sorted(v1.objects.using("s2").values_list("count", flat=True)) == [
        "1",
        "22",
        "abc",
    ]
    tables = {t.name for t in connection.introspection.get_table_list(connection.cursor())}
    assert not any(name.startswith(TABLE + "__s2") for name in tables)
