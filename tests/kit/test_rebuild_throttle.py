"""The online rebuild's throttle against the emulator: writers that outpace the apply.

The apply is slowed by its own setting (``MIGRATION_KIT['REBUILD_APPLY_RATE']``), the writers
are the drill's ORM threads at full speed. The rebuild must pause its copy, then stop cleanly
(old table in place, nothing fenced, capture on, ``s2_status`` saying so); once the writers slow
down, ``s2_rebuild --resume`` completes it with every committed write in the new table.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from io import StringIO

import pytest
from django.core import checks
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections, models
from django.test.utils import isolate_apps, override_settings

from migration_kit import conf, rebuild
from migration_kit.rebuild.drill import Traffic
from migration_kit.rebuild.models import COPYING, DONE, RebuildState
from migration_kit.rebuild.runner import Options
from tests.kit.commands import json_result

TABLE = "kitapp_rebuildthrottle"
ROWS = 3000
#: The slowed apply (keys per second) and the throttle's windows (seconds) of the test.
THROTTLED = {
    "REBUILD_APPLY_RATE": 60,
    "REBUILD_PAUSE_AFTER_SECONDS": 1,
    "REBUILD_STOP_AFTER_SECONDS": 3,
}


def state_of(code_length: int) -> type[models.Model]:
    meta = type("Meta", (), {"app_label": "kitapp", "db_table": TABLE})
    attrs = {
        "__module__": __name__,
        "Meta": meta,
        "code": models.CharField(max_length=code_length),
        "name": models.CharField(max_length=40, null=True, default=""),
    }
    return type(f"RebuildThrottle{code_length}", (models.Model,), attrs)


def tables() -> set[str]:
    return {t for t in connections["s2"].introspection.table_names() if t.startswith(TABLE)}


def drop_all() -> None:
    with connections["s2"].schema_editor() as editor:
        for suffix in ("", "__s2new", "__s2old"):
            editor.execute(f"DROP TABLE IF EXISTS {TABLE}{suffix}")


@pytest.fixture
def filled() -> Iterator[tuple[type[models.Model], type[models.Model]]]:
    with isolate_apps("tests.kit.kitapp"):
        v1, v2 = state_of(20), state_of(60)
        drop_all()
        with connections["s2"].schema_editor() as editor:
            editor.create_model(v1)
        with connections["s2"].cursor() as cursor:
            for start in range(0, ROWS, 1000):
                values = ", ".join(
                    f"('s{i}', 'seeded {i}')" for i in range(start, min(ROWS, start + 1000))
                )
                cursor.execute(f"INSERT INTO {TABLE} (code, name) VALUES {values}")
        yield v1, v2
        drop_all()


def code_length() -> int:
    connection = connections["s2"]
    with connection.cursor() as cursor:
        columns = connection.introspection.get_table_description(cursor, TABLE)
    return next(c.internal_size for c in columns if c.name == "code")


@pytest.mark.s2
@pytest.mark.django_db(databases=["default", "s2"], transaction=True)
def test_writers_outpacing_the_apply_stop_the_rebuild_cleanly_and_a_resume_completes_it(
    filled: tuple,
) -> None:
    v1, v2 = filled
    owned = list(v1._base_manager.using("s2").order_by("pk").values_list("pk", flat=True))
    traffic = Traffic(v1, "s2", owned, pause=0.0)
    with override_settings(MIGRATION_KIT=THROTTLED):
        traffic.start()
        try:
            began = time.monotonic()
            with (
                pytest.raises(rebuild.RebuildStopped) as stopped,
                connections["s2"].schema_editor(atomic=False) as editor,
            ):
                rebuild.rebuild_model(editor, v2, options=Options(chunk_size=500))
            stopped_after = time.monotonic() - began
            # Stopped cleanly at the copy: nothing fenced, old table in place, new one kept.
            row = RebuildState.objects.get(alias="s2", table=TABLE)
            assert row.step == COPYING and row.fences == 0 and 0 < row.rows_copied < ROWS
            assert tables() == {TABLE, f"{TABLE}__s2new"}
            assert code_length() == 20
            verdict = row.throttle
            assert verdict["state"] == "stopped" and verdict["pauses"] >= 1, verdict
            assert verdict["paused_seconds"] >= 1.5 and verdict["backlog"] > verdict["fence_budget"]
            assert verdict["apply_rate"] <= THROTTLED["REBUILD_APPLY_RATE"] * 1.3, verdict
            assert "s2_rebuild --resume --database s2" in str(stopped.value)
            assert stopped.value.outcome.throttle["state"] == "stopped"
            assert stopped_after < 30, stopped_after
            # s2_status names it (exit 1: it waits for a resume).
            code, status = json_result("s2_status", "kitapp.Everything")
            [shown] = [r for r in status["rebuilds"] if r["table"] == TABLE]
            assert code == 1 and shown["step"] == COPYING and shown["backlog"] > 0
            assert shown["throttle"]["state"] == "stopped"
            assert traffic.counts.failed == 0, traffic.counts.errors

            # The writers slow down to well under the apply's cap: the resume completes.
            traffic.pause = 1.0
            code, out = json_result("s2_rebuild", "--resume", "--database", "s2")
            assert code == 0, out
            [done] = out["rebuilds"]
            assert done["step"] == DONE and done["resumed_from"] == COPYING, done
            assert done["fences"] == 1 and done["throttle"]["state"] == "running", done
            assert done["fence_ms"] < Options.fence_seconds * 1000
        finally:
            counts = traffic.stop()
    assert code_length() == 60 and tables() == {TABLE}
    assert counts.failed == 0, counts.errors
    assert counts.committed > 500, counts.as_dict()
    assert traffic.count_lost() == 0, counts.as_dict()


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"REBUILD_APPLY_RATE": 0}, "None or a number of keys per second > 0"),
        ({"REBUILD_PAUSE_AFTER_SECONDS": -1}, "must be a number > 0"),
        ({"REBUILD_STOP_AFTER_SECONDS": "5"}, "must be a number > 0"),
        ({"REBUILD_PAUSE_AFTER_SECONDS": 30, "REBUILD_STOP_AFTER_SECONDS": 20}, "must be longer"),
    ],
)
def test_bad_throttle_settings_are_system_check_errors(setting: dict, message: str) -> None:
    with override_settings(MIGRATION_KIT=setting):
        found = conf.check_settings()
    assert [m.id for m in found] == ["migration_kit.E001"], found
    assert message in found[0].msg and found[0].hint
    assert isinstance(found[0], checks.Error)


@pytest.mark.s2
@pytest.mark.django_db(databases=["default", "s2"])
@pytest.mark.parametrize(
    "args",
    [
        ["--pause-after", "0"],
        ["--stop-after", "-1"],
        ["--apply-rate", "-5"],
        ["--pause-after", "20", "--stop-after", "10"],
        ["--pause-after", "400"],  # longer than the default stop window (300)
    ],
)
def test_bad_throttle_flags_exit_2(args: list[str]) -> None:
    with pytest.raises(CommandError) as info:
        call_command("s2_rebuild", "--resume", "--database", "s2", *args, stderr=StringIO())
    assert info.value.returncode == 2


@pytest.mark.s2
@pytest.mark.django_db(databases=["default", "s2"])
def test_the_flags_override_the_settings() -> None:
    from migration_kit.management.commands.s2_rebuild import Command

    with override_settings(MIGRATION_KIT=THROTTLED):
        parser = Command().create_parser("manage.py", "s2_rebuild")
        given = vars(parser.parse_args(["--resume", "--apply-rate", "0", "--stop-after", "9"]))
        options = Command._options(given)
    assert options.apply_rate is None and options.stop_after == 9
    assert options.pause_after == THROTTLED["REBUILD_PAUSE_AFTER_SECONDS"]
