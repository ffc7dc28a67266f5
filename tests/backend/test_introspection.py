"""Introspection reads storage type, shard key and sort key; inspectdb writes them back."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connections
from django.test.utils import isolate_apps

from django_singlestore.design import table_spec
from django_singlestore.introspection import parse_show_create_table
from django_singlestore.rules import Storage
from tests.backend.backendapp.models import Article, Event, LegacyItem, Tag

SHOWN = """CREATE TABLE `t` (
  `a` int(11) NOT NULL,
  `b` datetime(6) NOT NULL,
  SHARD KEY `__SHARDKEY` (`a`),
  UNIQUE KEY `PRIMARY` (`a`,`b`) USING HASH,
  SORT KEY `b` (`b` DESC,`a`)
) AUTOSTATS_CARDINALITY_MODE=INCREMENTAL"""


def test_parse_show_create_table_forms() -> None:
    design = parse_show_create_table(SHOWN)
    assert design.storage is Storage.COLUMNSTORE
    assert design.shard_key == ("a",)
    assert design.sort_key == (("b", True), ("a", False))
    legacy = parse_show_create_table(
        "CREATE ROWSTORE REFERENCE TABLE `r` (\n  `id` bigint NOT NULL,\n  PRIMARY KEY (`id`)\n)"
    )
    assert (legacy.storage, legacy.shard_key, legacy.sort_key) == (
        Storage.ROWSTORE_REFERENCE,
        None,
        (),
    )
    clustered = parse_show_create_table(
        "CREATE TABLE `c` (\n  `x` int,\n  SHARD KEY (),\n"
        "  KEY `x` (`x`) USING CLUSTERED COLUMNSTORE\n)"
    )
    assert (clustered.shard_key, clustered.sort_key) == ((), (("x", False),))
    by_pk = parse_show_create_table(
        "CREATE TABLE `p` (\n  `id` bigint,\n  SHARD KEY `__SHARDKEY` (`id`),\n"
        "  UNIQUE KEY `PRIMARY` (`id`) USING HASH\n)"
    )
    assert by_pk.shard_key is None


@pytest.mark.s2
@pytest.mark.django_db(databases=["default", "s2"])
@pytest.mark.parametrize("model", [Event, Tag, LegacyItem, Article, Article.tags.through])
def test_table_design_introspected(model: type) -> None:
    connection = connections["s2"]
    expected = table_spec(model, connection)
    with connection.cursor() as cursor:
        design = connection.introspection.get_table_design(cursor, model._meta.db_table)
    assert design.storage is expected.storage
    assert design.shard_key == expected.shard_key
    assert design.sort_key == expected.sort_key


@pytest.mark.s2
@pytest.mark.django_db(databases=["default", "s2"])
@isolate_apps("tests.backend.backendapp")
@pytest.mark.parametrize("model", [Event, Tag, LegacyItem, Article])
def test_inspectdb_round_trips_the_design(model: type) -> None:
    out = StringIO()
    call_command("inspectdb", model._meta.db_table, database="s2", stdout=out)
    source = out.getvalue().replace("class Meta:", "class Meta:\n        app_label = 'backendapp'")
    namespace: dict = {"__name__": "tests.backend.backendapp.inspected"}
    exec(source, namespace)
    (inspected,) = [
        value
        for value in namespace.values()
        if isinstance(value, type) and getattr(value, "_meta", None) and not value._meta.abstract
    ]
    connection = connections["s2"]
    original, recreated = table_spec(model, connection), table_spec(inspected, connection)
    assert recreated.storage is original.storage
    assert recreated.shard_key == original.shard_key
    assert recreated.sort_key == original.sort_key
    assert {k.columns for k in recreated.keys if k.is_unique} >= {
        k.columns for k in original.keys if k.is_unique and k.kind == "PRIMARY"
    }
