"""The online rebuild's guarantees, one by one, against the emulator at READ COMMITTED.

- no default path loses a write: a table with rows goes online (or is refused naming the
  online path); the offline copy only by ``OPTIONS['alter_strategy'] = 'offline-rebuild'``;
- a write the ORM capture did not see (raw SQL) is found by the verify under the fence, and
  the swap does not happen; a fence over its limit is rolled back, and the old table stays;
- ``s2_rebuild``: dry run, JSON, exit codes; ``kill -9`` of the command at every step, then
  ``--resume``: no lost write, no half-swapped table.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import NotSupportedError, connections, models
from django.test.utils import isolate_apps, modify_settings

from django_singlestore.base import DatabaseWrapper
from django_singlestore.options import SingleStoreOptions
from migration_kit import rebuild
from migration_kit.rebuild import fence, hooks, plan, state
from migration_kit.rebuild.drill import Traffic
from migration_kit.rebuild.models import DONE, FAILED, RebuildKey, RebuildState
from migration_kit.rebuild.runner import Options, RebuildFailed

pytestmark = [pytest.mark.s2, pytest.mark.django_db(databases=["default", "s2"], transaction=True)]

TABLE = "kitapp_rebuildme"
ROWS = 3000


def state_of(code_length: int, name_null: bool) -> type[models.Model]:
    """The table with ``code`` as CharField(code_length) and ``name`` nullable or not."""
    meta = type("Meta", (), {"app_label": "kitapp", "db_table": TABLE})
    attrs = {
        "__module__": __name__,
        "Meta": meta,
        "code": models.CharField(max_length=code_length),
        "name": models.CharField(max_length=40, null=name_null, default=""),
    }
    return type(f"RebuildMe{code_length}{name_null}", (models.Model,), attrs)


def tables() -> set[str]:
    return {t for t in connections["s2"].introspection.table_names() if t.startswith(TABLE)}


def code_length() -> int:
    connection = connections["s2"]
    with connection.cursor() as cursor:
        columns = connection.introspection.get_table_description(cursor, TABLE)
    return next(c.internal_size for c in columns if c.name == "code")


def seed(rows: int) -> None:
    with connections["s2"].cursor() as cursor:
        for start in range(0, rows, 1000):
            values = ", ".join(
                f"('s{i}', 'seeded {i}')" for i in range(start, min(rows, start + 1000))
            )
            cursor.execute(f"INSERT INTO {TABLE} (code, name) VALUES {values}")


def table_rows() -> list[tuple]:
    with connections["s2"].cursor() as cursor:
        cursor.execute(f"SELECT id, code, name FROM {TABLE} ORDER BY id")
        return list(cursor.fetchall())


@pytest.fixture
def isolated() -> Iterator[tuple[type[models.Model], type[models.Model]]]:
    """The table as created (``code`` 20 long) and as a migration wants it (60), empty."""
    with isolate_apps("tests.kit.kitapp"):
        v1, v2 = state_of(20, True), state_of(60, True)
        with connections["s2"].schema_editor() as editor:
            for suffix in ("", "__s2new", "__s2old"):
                editor.execute(f"DROP TABLE IF EXISTS {TABLE}{suffix}")
            editor.create_model(v1)
        yield v1, v2
        with connections["s2"].schema_editor() as editor:
            for suffix in ("", "__s2new", "__s2old"):
                editor.execute(f"DROP TABLE IF EXISTS {TABLE}{suffix}")


@pytest.fixture
def filled(isolated: tuple) -> tuple[type[models.Model], type[models.Model]]:
    seed(ROWS)
    return isolated


def alter(v1: type[models.Model], v2: type[models.Model]) -> None:
    with connections["s2"].schema_editor() as editor:
        editor.alter_field(v1, v1._meta.get_field("code"), v2._meta.get_field("code"))


def wrapper_with(strategy: str) -> DatabaseWrapper:
    settings_dict = {**connections["s2"].settings_dict}
    settings_dict["OPTIONS"] = {**settings_dict["OPTIONS"], "alter_strategy": strategy}
    return DatabaseWrapper(settings_dict, alias="s2")


# -- no default path loses a write ----------------------------------------------------------


def test_a_table_with_rows_is_rebuilt_online_by_default(filled: tuple) -> None:
    v1, v2 = filled
    before = table_rows()
    alter(v1, v2)
    assert code_length() == 60 and table_rows() == before
    row = RebuildState.objects.get(alias="s2", table=TABLE)
    assert row.step == DONE and row.rows_copied == ROWS and row.fence_seconds is not None
    assert tables() == {TABLE}
    assert not RebuildKey.objects.using("s2").filter(table=TABLE).exists()


def test_an_empty_table_is_copied_offline_directly(isolated: tuple) -> None:
    v1, v2 = isolated
    alter(v1, v2)
    assert code_length() == 60
    assert not RebuildState.objects.filter(table=TABLE).exists()


def test_the_offline_rebuild_runs_only_when_the_alias_opts_in(filled: tuple) -> None:
    v1, v2 = filled
    before = table_rows()
    offline = wrapper_with("offline-rebuild")
    try:
        with offline.schema_editor() as editor:
            editor.alter_field(v1, v1._meta.get_field("code"), v2._meta.get_field("code"))
    finally:
        offline.close()
    assert code_length() == 60 and table_rows() == before
    assert not RebuildState.objects.filter(table=TABLE).exists()


@modify_settings(INSTALLED_APPS={"remove": ["migration_kit"]})
def test_without_the_kit_a_table_with_rows_is_refused_naming_the_online_path(
    filled: tuple,
) -> None:
    v1, v2 = filled
    with pytest.raises(NotSupportedError) as refused:
        alter(v1, v2)
    message = str(refused.value)
    assert "S2-ALTER-TYPE" in message and "'migration_kit' to INSTALLED_APPS" in message
    assert "'offline-rebuild'" in message
    assert code_length() == 20 and tables() == {TABLE}


def test_alter_strategy_accepts_the_offline_opt_in_and_names_all_three() -> None:
    parsed, problems = SingleStoreOptions.parse({"alter_strategy": "offline-rebuild"}, "s2")
    assert parsed.alter_strategy == "offline-rebuild" and problems == []
    assert SingleStoreOptions.parse({}, "s2")[0].alter_strategy == "rebuild"
    _, problems = SingleStoreOptions.parse({"alter_strategy": "online"}, "s2")
    assert [p.id for p in problems] == ["django_singlestore.E022"]
    assert all(word in problems[0].hint for word in ("'rebuild'", "'offline-rebuild'", "'refuse'"))


# -- what the capture cannot see, and a fence that runs too long ----------------------------


def test_a_raw_sql_write_is_found_by_the_verify_and_nothing_is_swapped(filled: tuple) -> None:
    v1, v2 = filled
    raw_done: list[bool] = []

    def raw_write(message: str) -> None:
        # After the first chunk is copied: a write that bypasses the ORM, on a copied row.
        if message.startswith("copied") and not raw_done:
            with connections["s2"].cursor() as cursor:
                cursor.execute(f"UPDATE {TABLE} SET name = 'raw' WHERE code = 's1'")
            raw_done.append(True)

    with connections["s2"].schema_editor() as editor, pytest.raises(fence.VerifyFailed) as failed:
        rebuild.rebuild_model(editor, v2, options=Options(chunk_size=1000), progress=raw_write)
    assert failed.value.count == 1 and "raw SQL" in str(failed.value)
    assert code_length() == 20 and tables() == {TABLE}
    assert v1.objects.using("s2").get(code="s1").name == "raw"
    assert RebuildState.objects.get(table=TABLE).step == FAILED


def test_enqueue_keys_records_raw_writes_so_the_rebuild_carries_them(filled: tuple) -> None:
    v1, v2 = filled
    key = v1.objects.using("s2").get(code="s1").pk

    def raw_write(message: str) -> None:
        if message.startswith("copied") and not rows_written:
            with connections["s2"].cursor() as cursor:
                cursor.execute(f"UPDATE {TABLE} SET name = 'raw' WHERE id = %s", [key])
            rows_written.append(rebuild.enqueue_keys(v1, [key], using="s2"))

    rows_written: list[int] = []
    with connections["s2"].schema_editor() as editor:
        rebuild.rebuild_model(editor, v2, options=Options(chunk_size=1000), progress=raw_write)
    assert rows_written == [1]
    assert code_length() == 60 and v2.objects.using("s2").get(pk=key).name == "raw"


def test_a_fence_over_its_limit_is_rolled_back_and_the_old_table_stays(filled: tuple) -> None:
    v1, v2 = filled
    traffic = Traffic(v1, "s2", list(v1.objects.using("s2").values_list("pk", flat=True)[:200]))
    traffic.start()
    try:
        with (
            connections["s2"].schema_editor() as editor,
            pytest.raises(RebuildFailed, match="2 fences each ran over"),
        ):
            rebuild.rebuild_model(editor, v2, options=Options(fence_seconds=1e-6, fences=2))
    finally:
        counts = traffic.stop()
    assert code_length() == 20 and tables() == {TABLE}
    assert counts.failed == 0, counts.errors
    assert traffic.count_lost() == 0
    row = RebuildState.objects.get(table=TABLE)
    assert row.step == FAILED and row.fences == 2


# -- the command ----------------------------------------------------------------------------


def test_dry_run_prints_the_plan_and_changes_nothing(filled: tuple) -> None:
    _, v2 = filled
    with connections["s2"].schema_editor(collect_sql=True) as editor:
        planned = plan.build(editor, v2)
    assert planned.new == f"{TABLE}__s2new" and "`code` varchar(60)" in planned.create_sql
    out = StringIO()
    call_command(
        "s2_rebuild", "--resume", "--dry-run", "--database", "s2", "--format", "json", stdout=out
    )
    assert json.loads(out.getvalue()) == {"dry_run": True, "rebuilds": []}
    assert tables() == {TABLE} and code_length() == 20


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--database", "default"], "not a SingleStore database"),
        (["--database", "s2"], "Name models as app.Model, or pass --resume"),
        (["--database", "nowhere", "--resume"], "Unknown database alias"),
        (["--database", "s2", "--resume", "--fence-seconds", "0"], "--fence-seconds"),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message) as raised:
        call_command("s2_rebuild", *args)
    assert raised.value.returncode == 2


def command_env(kill_at: str | None) -> dict[str, str]:
    s2 = connections["s2"].settings_dict
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "tests.kit.subprocess_settings"
    env["S2_TEST_URL"] = (
        f"singlestoredb://{s2['USER']}:{s2['PASSWORD']}@{s2['HOST']}:{s2['PORT']}/{s2['NAME']}"
    )
    for alias in ("default", "s2"):
        env[f"S2KIT_DB_{alias.upper()}"] = connections[alias].settings_dict["NAME"]
    env.pop(hooks.KILL_AT_ENV, None)
    if kill_at:
        env[hooks.KILL_AT_ENV] = kill_at
    return env


def run_command(kill_at: str | None, *args: str) -> subprocess.CompletedProcess:
    command = [
        sys.executable, "-m", "django", "s2_rebuild", "--resume", "--database", "s2",
        "--chunk-size", "500", "--skip-checks", *args,
    ]  # fmt: skip
    return subprocess.run(
        command, env=command_env(kill_at), capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("step", ["capturing", "copying", "applying", "fenced", "swapped"])
def test_kill_9_at_each_step_then_resume_loses_no_write(filled: tuple, step: str) -> None:
    v1, v2 = filled
    with connections["s2"].schema_editor(collect_sql=True) as editor:
        state.start(plan.build(editor, v2))
    traffic = Traffic(v1, "s2", list(v1.objects.using("s2").values_list("pk", flat=True)[:600]))
    traffic.start()
    try:
        time.sleep(0.2)
        killed = run_command(step)
        assert killed.returncode == -9, killed.stderr
        row = RebuildState.objects.get(table=TABLE)
        present = tables()
        # Never half-swapped: the old table is under its name, or (killed in the fence)
        # renamed beside the new one; after the swap only the clean-up is left.
        if step == "fenced":
            assert present == {f"{TABLE}__s2old", f"{TABLE}__s2new"} and row.step == "fenced"
        elif step == "swapped":
            assert TABLE in present and code_length() == 60
        else:
            assert TABLE in present and code_length() == 20
        time.sleep(0.2)
        resumed = run_command(None, "--format", "json")
        assert resumed.returncode == 0, resumed.stderr
        time.sleep(0.2)
    finally:
        counts = traffic.stop()
    document = json.loads(resumed.stdout)
    assert [r["step"] for r in document["rebuilds"]] == [DONE]
    assert document["rebuilds"][0]["resumed_from"] == step
    assert tables() == {TABLE} and code_length() == 60
    assert counts.committed > 0 and counts.failed == 0, counts.errors
    assert traffic.count_lost() == 0


def test_the_migration_operation_rebuilds_into_the_migrated_state(filled: tuple) -> None:
    from django.db.migrations.state import ModelState, ProjectState

    from migration_kit.rebuild.operation import RebuildTable

    _, v2 = filled
    before = table_rows()
    project = ProjectState()
    project.add_model(ModelState.from_model(v2))
    operation = RebuildTable(v2.__name__, fence_seconds=10.0)
    assert operation.deconstruct()[2] == {"model_name": v2.__name__, "fence_seconds": 10.0}
    with connections["s2"].schema_editor() as editor:
        operation.database_forwards("kitapp", editor, project, project)
    assert code_length() == 60 and table_rows() == before
    assert RebuildState.objects.get(table=TABLE).step == DONE


def test_the_command_rebuilds_an_installed_model_and_reports_it() -> None:
    from django.utils import timezone

    from tests.kit.kitapp.models import BenchRow

    rows = [
        BenchRow(account=i, kind="k", amount=i, at=timezone.now(), note=f"n{i}") for i in range(300)
    ]
    BenchRow.objects.using("s2").bulk_create(rows)
    before = sorted(BenchRow.objects.using("s2").values_list("account", "note"))
    out, err = StringIO(), StringIO()
    call_command("s2_rebuild", "kitapp.BenchRow", "--database", "s2", "--dry-run", stdout=out)
    assert "would rebuild" in out.getvalue() and "__s2new" in out.getvalue()
    assert not RebuildState.objects.filter(table=BenchRow._meta.db_table).exists()
    out = StringIO()
    call_command("s2_rebuild", "kitapp.BenchRow", "--database", "s2", stdout=out, stderr=err)
    assert "kitapp_benchrow on 's2': done, 300 rows copied" in out.getvalue()
    assert "capturing writes" in err.getvalue() and "swapped" in err.getvalue()
    assert sorted(BenchRow.objects.using("s2").values_list("account", "note")) == before


def test_migrate_run_again_after_a_kill_in_the_fence_resumes_the_rebuild(filled: tuple) -> None:
    v1, v2 = filled
    before = table_rows()
    with connections["s2"].schema_editor(collect_sql=True) as editor:
        state.start(plan.build(editor, v2))
    assert run_command("fenced").returncode == -9
    assert TABLE not in tables()
    # An ORM read meanwhile waits for the fence to end instead of failing.
    seen: list[object] = []

    def read() -> None:
        try:
            seen.append(v1.objects.using("s2").count())
        except Exception as exc:
            seen.append(exc)
        finally:
            connections.close_all()

    reader = threading.Thread(target=read)
    reader.start()
    time.sleep(0.5)
    assert seen == []  # still waiting
    alter(v1, v2)  # what `migrate` does when it runs the AlterField again
    reader.join(30)
    assert seen == [ROWS]
    assert tables() == {TABLE} and code_length() == 60 and table_rows() == before
    assert RebuildState.objects.get(table=TABLE).step == DONE


def test_an_open_transaction_on_the_table_makes_the_fence_give_up_not_hang(
    filled: tuple,
) -> None:
    _, v2 = filled
    holding = threading.Event()

    def hold() -> None:
        # A transaction that read the table and stays open: the rename must wait for it.
        other = DatabaseWrapper({**connections["s2"].settings_dict}, alias="s2")
        try:
            with other.cursor() as cursor:
                cursor.execute("BEGIN")
                cursor.execute(f"SELECT COUNT(*) FROM {TABLE}")
                holding.set()
                time.sleep(12)
                cursor.execute("COMMIT")
        finally:
            other.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        holding.wait(10)
        began = time.monotonic()
        with (
            connections["s2"].schema_editor() as editor,
            pytest.raises(RebuildFailed, match="2 fences each ran over 1s"),
        ):
            rebuild.rebuild_model(editor, v2, options=Options(fence_seconds=1.0, fences=2))
        assert time.monotonic() - began < 11
    finally:
        holder.join()
    assert tables() == {TABLE} and code_length() == 20


def test_collecting_sql_shows_the_online_rebuild_and_runs_nothing(filled: tuple) -> None:
    v1, v2 = filled
    with connections["s2"].schema_editor(collect_sql=True) as editor:
        editor.alter_field(v1, v1._meta.get_field("code"), v2._meta.get_field("code"))
    shown = "\n".join(editor.collected_sql)
    assert "-- online rebuild (migration_kit.rebuild): create kitapp_rebuildme__s2new" in shown
    assert code_length() == 20 and tables() == {TABLE}
    assert not RebuildState.objects.filter(table=TABLE).exists()


def test_abandon_after_a_kill_puts_the_old_table_back_and_stops_capture(filled: tuple) -> None:
    _, v2 = filled
    before = table_rows()
    with connections["s2"].schema_editor(collect_sql=True) as editor:
        state.start(plan.build(editor, v2))
    assert run_command("copying").returncode == -9
    assert f"{TABLE}__s2new" in tables()
    out = StringIO()
    call_command("s2_rebuild", "--abandon", "--database", "s2", "--format", "json", stdout=out)
    assert json.loads(out.getvalue()) == {"abandoned": [TABLE]}
    assert tables() == {TABLE} and code_length() == 20 and table_rows() == before
    state.invalidate()
    assert not state.captured("s2", TABLE)
    assert not RebuildKey.objects.using("s2").filter(table=TABLE).exists()


def test_a_failed_rebuild_exits_1_with_the_error_in_json() -> None:
    out = StringIO()
    args = ["kitapp.BenchRow", "--database", "s2", "--fence-seconds", "1e-6", "--fences", "1"]
    with pytest.raises(CommandError, match="1 fences each ran over") as raised:
        call_command("s2_rebuild", *args, "--format", "json", stdout=out, stderr=StringIO())
    assert raised.value.returncode == 1
    document = json.loads(out.getvalue())
    assert document["rebuilds"] == [] and "RebuildFailed" in document["errors"][0]
    assert RebuildState.objects.get(table="kitapp_benchrow").step == FAILED


def test_an_update_filtered_by_a_subselect_is_captured(filled: tuple) -> None:
    v1, v2 = filled
    done: list[int] = []

    def write(message: str) -> None:
        if message.startswith("copied") and not done:
            chosen = v1.objects.using("s2").filter(code__in=["s1", "s2"]).values("pk")
            done.append(v1.objects.using("s2").filter(pk__in=chosen).update(name="by subselect"))

    with connections["s2"].schema_editor() as editor:
        rebuild.rebuild_model(editor, v2, options=Options(chunk_size=1000), progress=write)
    assert done == [2]
    assert set(
        v2.objects.using("s2").filter(code__in=["s1", "s2"]).values_list("name", flat=True)
    ) == {"by subselect"}


@pytest.mark.django_db(databases=["default", "mysql", "s2"])
def test_the_rebuild_tables_migrate_everywhere_with_plain_settings() -> None:
    from django_singlestore.rules import Storage

    s2 = connections["s2"]
    assert s2.s2_options.storage_for_app("migration_kit") is None
    with s2.cursor() as cursor:
        designs = {
            table: s2.introspection.get_table_design(cursor, table).storage
            for table in ("migration_kit_rebuildstate", "migration_kit_rebuildkey")
        }
    assert designs == {
        "migration_kit_rebuildstate": Storage.ROWSTORE_REFERENCE,
        "migration_kit_rebuildkey": Storage.ROWSTORE,
    }
    for alias in ("default", "mysql"):
        present = set(connections[alias].introspection.table_names())
        assert {"migration_kit_rebuildstate", "migration_kit_rebuildkey"} <= present
