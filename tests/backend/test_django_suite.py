"""A fast slice of Django's own test suite, unmodified, on SingleStore, for the installed Django
(``make django-suite`` runs every applicable app and publishes the counts in docs/django-suite.md).
"""

import json
import subprocess
import sys
import unittest
from pathlib import Path

import pytest
from django.db import connections, transaction
from django.test import TestCase
from django.test.runner import DiscoverRunner

from scripts.django_suite import AppResult, share_wall_time, tally, wall_time
from scripts.django_suite_apps import EXCLUDED, FAST_APPS, discover
from scripts.django_suite_runner import RecordingResult, RecordingRunner, close_leaked_transactions

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.s2
def test_fast_django_suite_slice_passes() -> None:
    completed = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "django_suite.py"), "--fast", "--json"],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
    )
    assert completed.stdout, completed.stderr[-3000:]
    results = json.loads(completed.stdout)
    assert [r["app"] for r in results] == FAST_APPS
    for result in results:
        assert not result["crashed"], result
        assert result["ran"] > 0 and result["passed"] > 0, result
        assert (result["failed"], result["errors"]) == (0, 0), result["problems"]
    assert completed.returncode == 0, completed.stderr[-3000:]


def test_tally_counts_each_outcome_and_names_problems() -> None:
    records = [
        {"id": "basic.tests.A.test_ok", "outcome": "passed", "seconds": 0.5},
        {"id": "basic.tests.A.test_skip", "outcome": "skipped", "seconds": 0.0},
        {"id": "basic.tests.A.test_f", "outcome": "failed", "seconds": 0.1, "detail": "boom"},
        {"id": "setUpClass (basic.tests.B)", "outcome": "error", "seconds": 0.2},
        {"id": "basic.tests.A.test_x", "outcome": "expected_failure", "seconds": 0.0},
    ]
    result = tally("basic", records)
    assert (result.ran, result.passed, result.skipped) == (5, 1, 1)
    assert (result.failed, result.errors, result.expected_failures) == (1, 1, 1)
    assert result.problems == [
        "failed: basic.tests.A.test_f: boom",
        "error: setUpClass (basic.tests.B): ",
    ]
    assert result.seconds == 0.8


def test_excluded_apps_exist_in_djangos_tests_and_slice_is_applicable(tmp_path: Path) -> None:
    for name in ("basic", "postgres_tests", "gis_tests", "test_runner_apps", "data.x"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").touch()
    (tmp_path / "no_init").mkdir()
    assert discover(tmp_path) == ["basic", "gis_tests", "postgres_tests"]
    for app, reason in EXCLUDED.items():
        assert any(word in reason for word in ("PostgreSQL", "Oracle", "SQLite", "GIS")), app
    assert not set(FAST_APPS) & set(EXCLUDED)


class _FailingTestData(TestCase):
    """A TestCase whose setUpTestData fails inside an atomic block, as a fixture that does not
    load on SingleStore would: without savepoints, TestCase leaves its atomic block open."""

    __test__ = False  # run by the tests below, inside a suite, not by pytest
    databases = {"s2"}

    @classmethod
    def setUpTestData(cls) -> None:
        with transaction.atomic(using="s2"), connections["s2"].cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table_of_the_suite_runner")

    def test_never_runs(self) -> None:
        raise AssertionError("setUpTestData failed; the test body does not run")


class _QueriesAfterwards(TestCase):
    __test__ = False  # run by the tests below, inside a suite, not by pytest
    databases = {"s2"}

    def test_select(self) -> None:
        with connections["s2"].cursor() as cursor:
            cursor.execute("SELECT 1")
            self.assertEqual(cursor.fetchone(), (1,))


def _run_pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, runner: type) -> list[dict]:
    """Run the two test cases above in one suite with ``runner``; the recorded lines."""
    record = tmp_path / "record.jsonl"
    monkeypatch.setenv("DJANGO_SUITE_RECORD", str(record))
    suite = unittest.TestSuite()
    suite.addTest(_FailingTestData("test_never_runs"))
    suite.addTest(_QueriesAfterwards("test_select"))
    result = runner(verbosity=0).run_suite(suite)
    assert result.testsRun >= 1
    return [json.loads(line) for line in record.read_text().splitlines()]


@pytest.mark.django_db(databases=["s2"], transaction=True)
def test_runner_records_a_leaked_transaction_and_rolls_it_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = _run_pair(tmp_path, monkeypatch, RecordingRunner)
    assert [(r["id"].rsplit(".", 1)[-1], r["outcome"]) for r in records] == [
        ("test_never_runs", "error"),
        ("test_select", "passed"),
    ]
    assert "no_such_table_of_the_suite_runner" in records[0]["detail"]
    assert (
        "TransactionLeak: left open 1 atomic block(s) (marked for rollback) on 's2'"
        in (records[0]["detail"])
    )
    assert not connections["s2"].in_atomic_block
    assert connections["s2"].get_autocommit()


@pytest.mark.django_db(databases=["s2"], transaction=True)
def test_without_the_guard_the_leak_breaks_the_next_test(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The leak is Django's (TestCase without savepoints), not the runner's: a plain
    DiscoverRunner with the recording result spoils the test after the failing one."""

    class Unguarded(DiscoverRunner):
        def get_resultclass(self) -> type[unittest.TextTestResult]:
            return RecordingResult

    try:
        records = _run_pair(tmp_path, monkeypatch, Unguarded)
        assert records[-1]["outcome"] == "error"
        assert "TransactionManagementError" in records[-1]["detail"]
    finally:
        close_leaked_transactions()


def test_wall_time_is_shared_per_app_so_the_header_covers_the_whole_table() -> None:
    batch = {"a": AppResult("a", seconds=3.0), "b": AppResult("b", seconds=1.0)}
    share_wall_time(batch, 100.0)
    assert (batch["a"].wall_seconds, batch["b"].wall_seconds) == (75.0, 25.0)
    untimed = {"c": AppResult("c"), "d": AppResult("d")}
    share_wall_time(untimed, 10.0)
    assert [r.wall_seconds for r in untimed.values()] == [5.0, 5.0]
    # A later rerun of "b" replaces its share, not the table's total.
    rerun = {"b": AppResult("b", seconds=1.0)}
    share_wall_time(rerun, 515.0)
    table = {**batch, **untimed, **rerun}
    assert wall_time(table) == "; their runs took 10 min of wall time (lock waits excluded)."
    table["old"] = AppResult("old")
    assert wall_time(table).startswith("; the 4 apps run since wall time is kept per app took 10")
    assert wall_time({"old": AppResult("old")}) == "."
