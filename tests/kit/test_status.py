"""``s2_status`` and the cutover guard registered with ``s2router.phases``."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.core.checks import run_checks
from django.core.management import CommandError, call_command
from django.db import connections
from django.test import override_settings
from django.utils import timezone

from migration_kit.dualwrite import triggers
from migration_kit.dualwrite.drain import drain_all
from migration_kit.models import BackfillCheckpoint, OutboxEntry, VerifyRun
from s2router import shadow
from s2router.models import ShadowStat
from s2router.phases import IllegalTransition, set_phase
from tests.kit.commands import json_output
from tests.kit.syncapp.models import Author, Book
from tests.kit.syncapp.testing import mirrored
from tests.router.routerapp.models import Order

pytestmark = pytest.mark.django_db(databases=["default", "mysql"])


def s2_status(*labels: str) -> dict:
    return json_output("s2_status", *labels)


def backfilled(model: type, finished: bool = True) -> None:
    for i in range(2):
        BackfillCheckpoint.objects.create(
            model_label=model._meta.label,
            source_alias="default",
            target_alias="mysql",
            range_index=i,
            rows_copied=10,
            finished=finished or i == 0,
        )


def verified(model: type, differences: int = 0) -> None:
    VerifyRun.objects.create(
        model_label=model._meta.label,
        source_alias="default",
        target_alias="mysql",
        started_at=timezone.now(),
        finished_at=timezone.now(),
        differences=differences,
    )


def test_status_reports_each_part() -> None:
    with mirrored("default", "mysql", phase="shadow"):
        backfilled(Author, finished=False)
        verified(Author, differences=3)
        author = Author.objects.using("default").create(name="a")
        Book.objects.using("default").create(author=author, title="b").tags.create(name="t")
        with pytest.raises(CommandError) as attention:
            s2_status("syncapp.Author", "syncapp.Book")
        assert attention.value.returncode == 1  # the verify is not clean
        [book] = s2_status("syncapp.Book")["models"]  # healthy: exit 0
        # Book's own row plus its auto-created tag table's row count as Book's lag.
        assert book["outbox"]["count"] == 2 and book["phase"] == "shadow"
        assert (book["primary"], book["mirror"]) == ("default", "mysql")
        out = io.StringIO()
        with pytest.raises(CommandError):
            call_command("s2_status", "syncapp.Author", format="json", stdout=out)
        [status] = json.loads(out.getvalue())["models"]
        assert status["backfill"] == {
            **status["backfill"],
            "ranges": 2,
            "finished_ranges": 1,
            "rows_copied": 20,
            "finished": False,
        }
        assert status["outbox"]["count"] == 1 and status["outbox"]["failing"] == 0
        assert status["verify"]["clean"] is False and status["verify"]["differences"] == 3
        assert status["shadow"] == {
            "compared": 0,
            "matched": 0,
            "mismatched": 0,
            "errors": 0,
            "last_mismatch_at": None,
        }


def test_status_text_and_healthy_exit() -> None:
    with mirrored("default", "mysql", phase="dual_write"):
        out = io.StringIO()
        call_command("s2_status", "syncapp.Tag", stdout=out)
        assert out.getvalue().startswith(
            "syncapp.Tag [dual_write] default→mysql: capture by wrappers; backfill not run; "
            "outbox 0 pending; never verified; shadow 0/0 mismatched"
        )


def test_status_shows_capture_triggers_and_flags_stale_ones() -> None:
    with mirrored("default", "mysql", phase="dual_write"):
        triggers.install(Book, "default", "mysql")
        [status] = s2_status("syncapp.Book")["models"]
        assert status["capture"] == {
            "mode": "mixed",
            "tables": {"syncapp.Book": "installed", "syncapp.Book_tags": "missing"},
        }
        triggers.install(Book.tags.through, "default", "mysql")
        [status] = s2_status("syncapp.Book")["models"]
        assert status["capture"]["mode"] == "triggers"
        triggers.install(Book, "default", "s2")  # entries would name another mirror
        out = io.StringIO()
        with pytest.raises(CommandError) as raised:
            call_command("s2_status", "syncapp.Book", stdout=out)
        assert raised.value.returncode == 1
        assert "capture by mixed [syncapp.Book stale]" in out.getvalue()


SHADOW_ROUTER = {
    "SINGLESTORE": "mysql",
    "MIGRATING": {
        "routerapp.Order": {"source": "default", "phase": "shadow", "shadow_sample_rate": 1}
    },
    "PHASE_CACHE_SECONDS": 0,
}


def s2_status_in_a_new_process(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """``python -m django s2_status`` with the test databases and ``SHADOW_ROUTER``."""
    (tmp_path / "status_child_settings.py").write_text(
        "from tests.kit.subprocess_settings import *  # noqa: F403\n"
        f"DATABASE_ROUTERS = ['s2router.SingleStoreRouter']\nS2ROUTER = {SHADOW_ROUTER!r}\n"
    )
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="status_child_settings")
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), os.getcwd()])
    for alias in ("default", "mysql"):
        env[f"S2KIT_DB_{alias.upper()}"] = connections[alias].settings_dict["NAME"]
    command = [sys.executable, "-m", "django", "s2_status", *args, "--skip-checks"]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.django_db(
    databases=["default", "mysql"],
    transaction=True,
    available_apps=["s2router", "migration_kit", "tests.router.routerapp"],
)
def test_shadow_mismatches_of_another_connection_reach_s2_status(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(shadow, "FLUSH_EVERY", 2)
    monkeypatch.setattr(shadow, "FLUSH_SECONDS", 3600.0)
    monkeypatch.setattr(shadow, "_attempted_at", time.monotonic())
    monkeypatch.setattr(shadow, "_since_attempt", 0)
    for alias, amount in (("default", "1.00"), ("mysql", "9.00")):
        with connections[alias].cursor() as cursor:
            cursor.execute(
                f"INSERT INTO routerapp_order (id, number, amount) VALUES (1, '1', {amount})"
            )

    def serve() -> None:
        """A request thread: its own connections, two shadowed reads, one mismatching."""
        try:
            list(Order.objects.all())
            Order.objects.count()
        finally:
            connections.close_all()

    with override_settings(DATABASE_ROUTERS=["s2router.SingleStoreRouter"], S2ROUTER=SHADOW_ROUTER):
        shadow.reset_stats()
        worker = threading.Thread(target=serve)
        worker.start()
        worker.join()
        assert ShadowStat.objects.get().mismatched == 1  # flushed by the thread, committed

        child = s2_status_in_a_new_process(tmp_path, "routerapp.Order", "--format", "json")
        assert child.returncode == 1, child.stderr  # mismatches need attention
        [status] = json.loads(child.stdout)["models"]
        assert status["phase"] == "shadow"
        assert {k: v for k, v in status["shadow"].items() if k != "last_mismatch_at"} == {
            "compared": 2,
            "matched": 1,
            "mismatched": 1,
            "errors": 0,
        }
        assert status["shadow"]["last_mismatch_at"] is not None

        child = s2_status_in_a_new_process(tmp_path, "routerapp.Order", "--reset-shadow")
        assert child.returncode == 1 and "shadow 1/2 mismatched (last at " in child.stdout
        assert not ShadowStat.objects.exists()  # reset after reporting
        out = io.StringIO()
        call_command("s2_status", "routerapp.Order", stdout=out)
        assert "shadow 0/0 mismatched" in out.getvalue()


def test_cutover_is_refused_until_backfilled_drained_and_verified() -> None:
    with mirrored("default", "mysql", phase="shadow"):
        Author.objects.using("default").create(name="pending")
        with pytest.raises(IllegalTransition) as refused:
            set_phase("syncapp.Author", "cutover")
        reasons = " | ".join(refused.value.reasons)
        assert "no backfill" in reasons and "never verified" in reasons
        assert "1 outbox entr(ies) still pending" in reasons
        backfilled(Author, finished=False)
        verified(Author, differences=2)
        with pytest.raises(IllegalTransition) as refused:
            set_phase("syncapp.Author", "cutover")
        reasons = " | ".join(refused.value.reasons)
        assert "backfill unfinished: 1/2" in reasons and "2 difference(s)" in reasons
        BackfillCheckpoint.objects.update(finished=True)
        verified(Author)
        drain_all(["default"])
        assert set_phase("syncapp.Author", "cutover").changed


def test_leaving_cutover_waits_for_the_mirror() -> None:
    """Rolling back with writes still queued for the source would lose or reorder them."""
    with mirrored("default", "mysql", phase="cutover"):
        Author.objects.using("mysql").create(name="written on the new primary")
        assert OutboxEntry.objects.using("mysql").count() == 1
        with pytest.raises(IllegalTransition, match="still pending"):
            set_phase("syncapp.Author", "shadow")
        drain_all(["mysql"])
        assert set_phase("syncapp.Author", "shadow").changed
        assert Author.objects.using("default").get().name == "written on the new primary"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"RELAY": "sometimes"}, "RELAY"),
        ({"LEASE_SECONDS": -1}, "LEASE_SECONDS"),
        ({"RETRIES": 3}, "unknown key"),
    ],
)
def test_bad_settings_are_a_system_check_error(value: dict, message: str) -> None:
    with override_settings(MIGRATION_KIT=value):
        errors = [e for e in run_checks() if e.id == "migration_kit.E001"]
    assert len(errors) == 1 and message in errors[0].msg


def test_every_bad_key_is_reported_with_a_hint_and_the_accessor_names_the_check() -> None:
    from django.core.exceptions import ImproperlyConfigured

    from migration_kit import conf

    bad = {"RELAY": "sometimes", "LEASE_SECONDS": True, "RETRIES": 3}
    with override_settings(MIGRATION_KIT=bad):
        errors = [e for e in run_checks() if e.id == "migration_kit.E001"]
        assert [e.msg.split()[0] for e in errors] == [
            "MIGRATION_KIT",
            "MIGRATION_KIT['RELAY']",
            "MIGRATION_KIT['LEASE_SECONDS']",
        ]
        assert "Known keys: RELAY," in errors[0].hint and "'inline'" in errors[1].hint
        with pytest.raises(ImproperlyConfigured, match=r"\(migration_kit\.E001\) \(2 more"):
            conf.get("LEASE_SECONDS")
    with override_settings(MIGRATION_KIT={"LEASE_SECONDS": 7}):
        assert conf.get("LEASE_SECONDS") == 7.0 and conf.get("RELAY") == "thread"
    with override_settings(MIGRATION_KIT="thread"):
        [error] = [e for e in run_checks() if e.id == "migration_kit.E001"]
        assert "must be a dict, not str" in error.msg


def test_the_old_fast_path_key_still_works_with_a_deprecation_warning() -> None:
    """``FAST_PATH`` was renamed ``RELAY``: its value is used, and ``migration_kit.W001`` says so;
    a wrong value is still the error naming the key as written."""
    from django.core.exceptions import ImproperlyConfigured

    from migration_kit import conf

    def kit_checks() -> list:
        return [e for e in run_checks() if e.id.startswith("migration_kit.")]

    with override_settings(MIGRATION_KIT={"FAST_PATH": "inline"}):
        [warning] = kit_checks()
        assert warning.id == "migration_kit.W001" and not warning.is_serious()
        assert "['FAST_PATH'] is deprecated" in warning.msg and "'RELAY'" in warning.msg
        assert "MIGRATION_KIT = {'RELAY': 'inline', ...}" in warning.hint
        assert conf.get("RELAY") == "inline"
    with override_settings(MIGRATION_KIT={"FAST_PATH": "inline", "RELAY": "off"}):
        [warning] = kit_checks()
        assert warning.id == "migration_kit.W001" and "'FAST_PATH' is ignored" in warning.msg
        assert conf.get("RELAY") == "off"
    with override_settings(MIGRATION_KIT={"FAST_PATH": "sometimes"}):
        assert [e.id for e in kit_checks()] == ["migration_kit.W001", "migration_kit.E001"]
        assert "MIGRATION_KIT['FAST_PATH'] is 'sometimes'" in kit_checks()[1].msg
        with pytest.raises(ImproperlyConfigured, match=r"FAST_PATH.*migration_kit\.E001"):
            conf.get("RELAY")


@pytest.mark.s2
@pytest.mark.django_db(databases=["default", "s2"])
def test_cutover_syncs_singlestore_auto_increment(django_capture_on_commit_callbacks) -> None:
    """Ids copied explicitly must not collide with the ones SingleStore generates after cutover."""
    from django.db import connections
    from django.test.utils import CaptureQueriesContext

    with (
        mirrored("default", "s2", phase="shadow"),
        CaptureQueriesContext(connections["s2"]) as queries,
        django_capture_on_commit_callbacks(execute=True),
    ):
        set_phase("syncapp.Author", "cutover", force=True)
    database = connections["s2"].settings_dict["NAME"]
    synced = [q["sql"] for q in queries if q["sql"].startswith("AGGREGATOR SYNC AUTO_INCREMENT")]
    assert synced == [f"AGGREGATOR SYNC AUTO_INCREMENT ON `{database}`.`syncapp_author`"]


def test_status_covers_multi_table_inheritance_models() -> None:
    """Only backfill and verify refuse multi-table inheritance; status reports such a model."""
    with mirrored("default", "mysql", apps_=("syncapp",)):
        report = s2_status("syncapp.Restaurant")
    assert [m["model"] for m in report["models"]] == ["syncapp.Restaurant"]
