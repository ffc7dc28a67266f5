"""s2_backfill on real databases: PostgreSQL → MariaDB and MariaDB → PostgreSQL."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from migration_kit.models import BackfillCheckpoint
from tests.kit.commands import json_output
from tests.kit.kitapp.models import Everything
from tests.kit.rows import everything_rows, keyed_rows, snapshot

pytestmark = pytest.mark.django_db(
    transaction=True, reset_sequences=True, databases=["default", "mysql"]
)


def run(*args: str, **opts) -> dict:
    return json_output("s2_backfill", *args, **opts)


def same(a: dict, b: dict) -> bool:
    """Equal snapshots; floats compare by value so -0.0 == 0.0 (MariaDB may drop the sign)."""
    assert a.keys() == b.keys()
    for pk, row in a.items():
        for name, value in row.items():
            assert value == b[pk][name], (pk, name, value, b[pk][name])
    return True


@pytest.mark.parametrize("method", ["load", "insert"])
def test_every_field_type_pg_to_mariadb(method: str) -> None:
    Everything.objects.using("default").bulk_create(everything_rows(120))
    summary = run("kitapp.Everything", source="default", target="mysql", method=method)
    [result] = summary["models"]
    assert result["rows_copied"] == 120 and result["finished"] and result["method"] == method
    assert result["load_fallbacks"] == 0
    assert same(snapshot(Everything, "default"), snapshot(Everything, "mysql"))


def test_every_field_type_mariadb_to_pg() -> None:
    Everything.objects.using("mysql").bulk_create(everything_rows(50))
    run("kitapp.Everything", source="mysql", target="default")
    assert same(snapshot(Everything, "mysql"), snapshot(Everything, "default"))


@pytest.mark.parametrize("label", ["UuidKeyed", "StrKeyed", "Composite"])
def test_every_key_type_small_batches(label: str) -> None:
    model, rows = next((m, r) for m, r in keyed_rows().items() if m.__name__ == label)
    model.objects.using("default").bulk_create(rows)
    summary = run(f"kitapp.{label}", source="default", target="mysql", batch_size=7)
    assert summary["models"][0]["rows_copied"] == len(rows)
    assert snapshot(model, "default") == snapshot(model, "mysql")


def test_existing_target_rows_are_never_overwritten() -> None:
    rows = everything_rows(30)
    Everything.objects.using("default").bulk_create(rows)
    mirrored = Everything.objects.using("default").get(pk=5)
    mirrored.name = "newer, mirrored"
    mirrored.save(using="mysql", force_insert=True)
    for method in ("load", "insert"):
        run("kitapp.Everything", source="default", target="mysql", method=method, restart=True)
        assert Everything.objects.using("mysql").get(pk=5).name == "newer, mirrored"
        assert Everything.objects.using("mysql").count() == 30


def test_resume_from_checkpoint_and_restart() -> None:
    Everything.objects.using("default").bulk_create(everything_rows(40))
    run("kitapp.Everything", source="default", target="mysql", batch_size=10)
    cp = BackfillCheckpoint.objects.get(model_label="kitapp.Everything")
    assert cp.finished and cp.rows_copied == 40 and cp.last_key == 40
    Everything.objects.using("default").bulk_create(everything_rows(5)[1:])
    again = run("kitapp.Everything", source="default", target="mysql")
    assert again["models"][0]["rows_copied"] == 0
    restarted = run("kitapp.Everything", source="default", target="mysql", restart=True)
    assert restarted["models"][0]["rows_copied"] == 44
    assert Everything.objects.using("mysql").count() == 44


def test_workers_copy_disjoint_ranges() -> None:
    Everything.objects.using("default").bulk_create(everything_rows(900))
    summary = run("kitapp.Everything", source="default", target="mysql", workers=2, batch_size=50)
    [result] = summary["models"]
    assert result["ranges"] == 2 and result["rows_copied"] == 900 and result["finished"]
    ranges = list(BackfillCheckpoint.objects.order_by("range_index"))
    assert sum(r.rows_copied for r in ranges) == 900 and all(r.rows_copied for r in ranges)
    assert ranges[1].last_key > ranges[0].range_end
    assert same(snapshot(Everything, "default"), snapshot(Everything, "mysql"))


@pytest.fixture
def narrow_name_on_mariadb():
    """MariaDB's ``name`` column shortened to 20 characters for one test, then restored."""
    with connections_mysql() as cursor:
        cursor.execute("ALTER TABLE kitapp_everything MODIFY name varchar(20) NOT NULL")
    yield
    with connections_mysql() as cursor:
        cursor.execute("ALTER TABLE kitapp_everything MODIFY name varchar(100) NOT NULL")


@pytest.mark.usefixtures("narrow_name_on_mariadb")
def test_refused_rows_go_to_the_reject_log(tmp_path) -> None:
    rows = everything_rows(25)
    rows[7].name = "x" * 100
    rows[13].small = 32767
    Everything.objects.using("default").bulk_create(rows)
    log = tmp_path / "rejects.jsonl"
    with pytest.raises(CommandError) as err:
        run("kitapp.Everything", source="default", target="mysql", reject_log=str(log))
    assert err.value.returncode == 1
    refused = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["pk"] for r in refused] == [8]
    assert "name" in refused[0]["error"]
    assert Everything.objects.using("mysql").count() == 24


@pytest.mark.usefixtures("narrow_name_on_mariadb")
def test_refused_row_without_log_stops_with_exit_1() -> None:
    rows = everything_rows(10)
    rows[3].name = "y" * 60
    Everything.objects.using("default").bulk_create(rows)
    with pytest.raises(CommandError) as err:
        run("kitapp.Everything", source="default", target="mysql", batch_size=2)
    assert err.value.returncode == 1 and "[4]" not in str(err.value) and "4" in str(err.value)
    cp = BackfillCheckpoint.objects.get()
    assert cp.last_key == 2 and not cp.finished


def test_usage_errors_exit_2() -> None:
    for args, opts in [
        (("kitapp.Nope",), {"source": "default", "target": "mysql"}),
        (("kitapp.Everything",), {"source": "default", "target": "nowhere"}),
        (("kitapp.Everything",), {"source": "default", "target": "default"}),
        (("kitapp.Everything",), {"source": "default", "target": "mysql", "workers": 0}),
        (("kitapp.StrKeyedChild",), {"source": "default", "target": "mysql"}),
        (("kitapp.Everything",), {}),  # not in S2ROUTER['MIGRATING'] and no aliases given
    ]:
        with pytest.raises(CommandError) as err:
            run(*args, **opts)
        assert err.value.returncode == 2


def connections_mysql():
    from django.db import connections

    return connections["mysql"].cursor()


@pytest.mark.parametrize("lock", ["on", "off"])
def test_copy_is_the_same_with_and_without_row_locks(lock: str) -> None:
    Everything.objects.using("default").bulk_create(everything_rows(70))
    run("kitapp.Everything", source="default", target="mysql", lock=lock, batch_size=9)
    assert same(snapshot(Everything, "default"), snapshot(Everything, "mysql"))


def test_racing_mirrored_writes_never_lose_to_the_backfill() -> None:
    """Writers update and delete source rows and mirror them (apply after commit) meanwhile."""
    import random
    import threading

    from django.db import connections, transaction

    from migration_kit.dualwrite.apply import apply_keys

    Everything.objects.using("default").bulk_create(everything_rows(3000))
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        try:
            while not stop.is_set():
                pk = rng.randrange(1, 3001)
                with transaction.atomic(using="default"):
                    if rng.random() < 0.2:
                        Everything.objects.using("default").filter(pk=pk).delete()
                    else:
                        Everything.objects.using("default").filter(pk=pk).update(
                            name=f"w{seed}-{rng.random()}"
                        )
                apply_keys(Everything, [pk], "default", "mysql")
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    try:
        run("kitapp.Everything", source="default", target="mysql", lock="on", batch_size=100)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors
    assert same(snapshot(Everything, "default"), snapshot(Everything, "mysql"))


def test_naive_datetimes_without_use_tz() -> None:
    """USE_TZ = False: naive datetimes copy unchanged (Python path) and verify clean."""
    from django.test.utils import override_settings

    with override_settings(USE_TZ=False):
        rows = everything_rows(40)
        for row in rows:
            row.at = row.at and row.at.replace(tzinfo=None)
        Everything.objects.using("default").bulk_create(rows)
        run("kitapp.Everything", source="default", target="mysql")
        source = snapshot(Everything, "default")
        assert source[(2,)]["at"].tzinfo is None
        assert same(source, snapshot(Everything, "mysql"))
        out = io.StringIO()
        call_command("s2_verify", "kitapp.Everything", source="default", target="mysql", stdout=out)
        assert "0 differing" in out.getvalue()


def test_locked_batch_waits_out_an_application_lock() -> None:
    """A lock wait timeout on the source (an app transaction holding a row) retries the batch."""
    import threading

    from django.db import connections, transaction

    Everything.objects.using("mysql").bulk_create(everything_rows(60))
    held, release = threading.Event(), threading.Event()

    def application() -> None:
        try:
            with transaction.atomic(using="mysql"):
                list(Everything.objects.using("mysql").select_for_update().filter(pk=30))
                held.set()
                release.wait(10)
        finally:
            connections.close_all()

    holder = threading.Thread(target=application)
    holder.start()
    assert held.wait(10)
    with connections["mysql"].cursor() as cursor:
        cursor.execute("SET SESSION innodb_lock_wait_timeout = 1")
    timer = threading.Timer(1.5, release.set)
    timer.start()
    try:
        summary = run("kitapp.Everything", source="mysql", target="default", lock="on")
    finally:
        release.set()
        holder.join()
        timer.cancel()
    assert summary["models"][0]["rows_copied"] == 60
    assert same(snapshot(Everything, "mysql"), snapshot(Everything, "default"))
