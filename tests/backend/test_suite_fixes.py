"""Backend bugs found by Django's own test suite (docs/django-suite.md), one test each."""

import datetime
import json

import pytest
from django.db import connections, models
from django.db.models import Min
from django.test.utils import isolate_apps

from django_singlestore import rules
from django_singlestore.base import DatabaseWrapper
from django_singlestore.design import table_spec
from tests.backend.backendapp.models import Doc, Event

pytestmark = [pytest.mark.s2]


@pytest.mark.django_db(databases=["s2"])
def test_aggregate_default_from_python_comes_back_as_a_datetime() -> None:
    """``COALESCE(MIN(col), '<text>')`` is text on the server; the value is still a datetime."""
    fallback = datetime.datetime(1970, 1, 1, 12, 30, tzinfo=datetime.UTC)
    result = Event.objects.using("s2").aggregate(first=Min("created", default=fallback))
    assert result == {"first": fallback}


@pytest.mark.django_db(databases=["s2"])
def test_is_usable_does_not_reconnect_a_closed_connection() -> None:
    """The driver's ``ping()`` reconnects by default, which hid a lost session from Django."""
    wrapper = DatabaseWrapper({**connections["s2"].settings_dict}, alias="s2-usable")
    wrapper.ensure_connection()
    assert wrapper.is_usable()
    wrapper._close()
    assert not wrapper.is_usable()
    assert not wrapper.connection.open


@pytest.mark.django_db(databases=["s2"])
def test_json_keys_with_quotes_and_non_ascii_characters_match() -> None:
    key = "emo🤡'ji"
    doc = Doc.objects.using("s2").create(data={key: "v"})
    with connections["s2"].cursor() as cursor:
        cursor.execute("SELECT data FROM backendapp_doc WHERE id = %s", [doc.pk])
        (stored,) = cursor.fetchone()
    assert stored == json.dumps({key: "v"}, ensure_ascii=False)
    for lookup in ({"data__has_key": key}, {f"data__{key}": "v"}):
        assert list(Doc.objects.using("s2").filter(**lookup)) == [doc]


@isolate_apps("tests.backend.backendapp")
def test_text_columns_get_no_db_index_key() -> None:
    class Note(models.Model):
        body = models.TextField(db_index=True)
        title = models.CharField(max_length=20, db_index=True)

        class Meta:
            app_label = "backendapp"

    spec = table_spec(Note, connections["s2"])
    assert [k.columns for k in spec.keys if k.columns != ("id",)] == [("title",)]


@isolate_apps("tests.backend.backendapp")
def test_deferrable_unique_constraint_is_not_created() -> None:
    """As on every backend without deferrable constraints (Django warns: models.W038)."""

    class Pony(models.Model):
        pink = models.IntegerField()

        class Meta:
            app_label = "backendapp"
            constraints = [
                models.UniqueConstraint(
                    fields=["pink"], name="pink_later", deferrable=models.Deferrable.DEFERRED
                ),
                models.UniqueConstraint(fields=["id", "pink"], name="pink_now"),
            ]

    spec = table_spec(Pony, connections["s2"])
    assert [k.name for k in spec.keys if k.kind == rules.UNIQUE] == ["pink_now"]


@isolate_apps("tests.backend.backendapp")
def test_foreign_key_to_a_multi_table_child_is_bigint() -> None:
    """The child's pk is its parent link, itself a key to a BIGINT AutoField."""

    class Pony(models.Model):
        class Meta:
            app_label = "backendapp"

    class ShetlandPony(Pony):
        class Meta:
            app_label = "backendapp"

    class Rider(models.Model):
        pony = models.ForeignKey(ShetlandPony, models.CASCADE)

        class Meta:
            app_label = "backendapp"

    columns = {c.name: c.type for c in table_spec(Rider, connections["s2"]).columns}
    assert columns["pony_id"] == "bigint"
