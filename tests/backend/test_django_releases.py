"""What each supported Django release asks of a backend, on SingleStore: generated columns over
UUIDs, fields added before they belong to a model, relations, database-level on_delete, and
the UUID functions (the last two are Django 6.1's)."""

import uuid
from collections.abc import Iterator

import pytest
from django.core import checks
from django.db import NotSupportedError, connections, models
from django.db.models.functions import Cast, Lower
from django.test.utils import isolate_apps

from django_singlestore.versions import DJANGO_6_1

pytestmark = [pytest.mark.s2, pytest.mark.django_db(databases=["default", "s2"], transaction=True)]

TABLE = "backendapp_release"


@pytest.fixture
def table() -> Iterator[None]:
    """Drop the test table afterwards, whatever the test left."""
    with isolate_apps("tests.backend.backendapp"):
        yield
    with connections["s2"].schema_editor() as editor:
        editor.execute(f"DROP TABLE IF EXISTS {TABLE}")


def test_generated_column_casting_a_uuid_to_a_uuid(table: None) -> None:
    """``Cast(uuid_field, UUIDField())`` in a GeneratedField is the value itself: CAST(... AS
    char(32)) of a CHAR column is refused inside GENERATED ALWAYS AS."""

    class Tagged(models.Model):
        field = models.UUIDField()
        copy = models.GeneratedField(
            expression=Cast("field", models.UUIDField()),
            output_field=models.UUIDField(),
            db_persist=True,
        )

        class Meta:
            app_label = "backendapp"
            db_table = TABLE

    with connections["s2"].schema_editor() as editor:
        editor.create_model(Tagged)
    value = uuid.uuid4()
    Tagged.objects.using("s2").create(field=value)
    assert Tagged.objects.using("s2").get().copy == value


def test_add_field_of_a_generated_field_not_yet_on_a_model(table: None) -> None:
    """Migrations and Django's schema tests pass a field whose ``model`` is unset."""

    class Named(models.Model):
        name = models.CharField(max_length=20)

        class Meta:
            app_label = "backendapp"
            db_table = TABLE

    connection = connections["s2"]
    with connection.schema_editor() as editor:
        editor.create_model(Named)
    Named.objects.using("s2").create(name="MiXed")
    field = models.GeneratedField(
        expression=Lower("name"), output_field=models.CharField(max_length=20), db_persist=True
    )
    field.set_attributes_from_name("lowered")
    with connection.schema_editor() as editor:
        editor.add_field(Named, field)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT lowered FROM {TABLE}")
        assert [tuple(row) for row in cursor.fetchall()] == [("mixed",)]


def test_relations_are_empty_without_foreign_keys() -> None:
    """A ForeignKey makes no foreign key on SingleStore, so introspection reports none (in
    Django 6.1's 3-tuple form this is still an empty dict)."""
    connection = connections["s2"]
    with connection.cursor() as cursor:
        relations = connection.introspection.get_relations(cursor, "backendapp_article_tags")
    assert relations == {}


@pytest.mark.skipif(not DJANGO_6_1, reason="database-level on_delete is Django 6.1's")
def test_database_level_on_delete_is_reported_by_djangos_check() -> None:
    """No foreign keys, so no DB_CASCADE/DB_SET_NULL: Django's own check says so (fields.E324)
    instead of child rows silently pointing nowhere."""
    with isolate_apps("tests.backend.backendapp"):

        class Parent(models.Model):
            class Meta:
                app_label = "backendapp"

        class Child(models.Model):
            cascade = models.ForeignKey(Parent, models.DB_CASCADE, related_name="+")
            set_null = models.ForeignKey(Parent, models.DB_SET_NULL, null=True, related_name="+")

            class Meta:
                app_label = "backendapp"

        errors = [
            error
            for name in ("cascade", "set_null")
            for error in Child._meta.get_field(name).check(databases=["s2"])
        ]
    assert [(e.id, e.msg) for e in errors] == [
        ("fields.E324", "SingleStore does not support a DB_CASCADE."),
        ("fields.E324", "SingleStore does not support a DB_SET_NULL."),
    ]
    assert all(isinstance(e, checks.Error) for e in errors)


@pytest.mark.skipif(not DJANGO_6_1, reason="UUID4()/UUID7() are Django 6.1's")
def test_uuid_functions_are_refused_without_naming_mysql() -> None:
    from django.db.models.functions import UUID4, UUID7

    from tests.backend.backendapp.models import Tag

    for function, name in ((UUID4(), "UUID4"), (UUID7(), "UUID7")):
        query = Tag.objects.using("s2").annotate(u=function).query
        with pytest.raises(NotSupportedError) as raised:
            query.get_compiler("s2").as_sql()
        assert str(raised.value) == f"{name} is not supported on this database backend."
