"""The rebuild drill at test size: a refused columnstore ALTER under four ORM writers.

A CharField ``max_length`` change and a NULL → NOT NULL change are each refused by SingleStore
on a columnstore table, so the schema editor rebuilds the table while writers create, update,
delete and bulk-create rows in threads. Every write tried must commit and be present after —
at READ COMMITTED, as the emulator's sessions run and as SingleStore does. ``make drills``
runs the same drill on 200,000 rows.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from django.db import connections, models
from django.test.utils import isolate_apps

from migration_kit.rebuild.drill import Traffic
from migration_kit.rebuild.models import DONE, RebuildState

pytestmark = [pytest.mark.s2, pytest.mark.django_db(databases=["default", "s2"], transaction=True)]

TABLE = "kitapp_rebuilddrill"
ROWS = 20_000


def states() -> tuple[type[models.Model], type[models.Model], type[models.Model]]:
    """The table as created, after widening ``code``, and after making ``name`` NOT NULL."""

    def state(suffix: str, code_length: int, name_null: bool) -> type[models.Model]:
        meta = type("Meta", (), {"app_label": "kitapp", "db_table": TABLE})
        attrs = {
            "__module__": __name__,
            "Meta": meta,
            "code": models.CharField(max_length=code_length),
            "name": models.CharField(max_length=40, null=name_null, default=""),
        }
        return type(f"RebuildDrill{suffix}", (models.Model,), attrs)

    return state("V1", 20, True), state("V2", 60, True), state("V3", 60, False)


def seed(rows: int) -> None:
    """``rows`` rows written in a few multi-row INSERTs (no capture: nothing is migrating)."""
    with connections["s2"].cursor() as cursor:
        for start in range(0, rows, 2000):
            values = ", ".join(
                f"('s{i}', 'seeded {i}')" for i in range(start, min(rows, start + 2000))
            )
            cursor.execute(f"INSERT INTO {TABLE} (code, name) VALUES {values}")


@pytest.fixture
def drill_table() -> Iterator[tuple[type[models.Model], ...]]:
    with isolate_apps("tests.kit.kitapp"):
        models_ = states()
        with connections["s2"].schema_editor() as editor:
            editor.execute(f"DROP TABLE IF EXISTS {TABLE}")
            editor.create_model(models_[0])
        seed(ROWS)
        yield models_
        with connections["s2"].schema_editor() as editor:
            for suffix in ("", "__s2new", "__s2old"):
                editor.execute(f"DROP TABLE IF EXISTS {TABLE}{suffix}")


def test_refused_alters_under_writers_lose_no_write(
    drill_table: tuple[type[models.Model], ...],
) -> None:
    v1, v2, v3 = drill_table
    owned = list(v1.objects.using("s2").order_by("pk").values_list("pk", flat=True)[:4000])
    traffic = Traffic(v1, "s2", owned)
    traffic.start()
    try:
        time.sleep(0.3)
        before = traffic.counts.committed
        with connections["s2"].schema_editor() as editor:
            editor.alter_field(v1, v1._meta.get_field("code"), v2._meta.get_field("code"))
        with connections["s2"].schema_editor() as editor:
            editor.alter_field(v2, v2._meta.get_field("name"), v3._meta.get_field("name"))
        during = traffic.counts.committed - before
        time.sleep(0.3)
    finally:
        counts = traffic.stop()
    lost = traffic.count_lost()
    columns = {
        c.name: c
        for c in connections["s2"].introspection.get_table_description(
            connections["s2"].cursor(), TABLE
        )
    }
    assert during > 0, "no write committed while the table was rebuilt: the drill proves nothing"
    assert lost == 0, f"{lost} of {counts.committed} committed writes lost"
    assert counts.failed == 0, counts.errors
    assert counts.tried == counts.committed
    assert columns["code"].internal_size == 60
    assert not columns["name"].null_ok
    # Both ALTERs went the online way: the state row of the second is done, with its fence.
    finished = RebuildState.objects.get(alias="s2", table=TABLE)
    assert finished.step == DONE and finished.fence_seconds is not None
    assert finished.rows_copied >= ROWS - 4000
    print(f"drill: {counts.as_dict()}, {during} during, fence {finished.fence_seconds:.3f}s")
