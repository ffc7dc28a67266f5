"""A fast slice of Django's own test suite, unmodified, on SingleStore, for the installed Django
(``make django-suite`` runs every applicable app and publishes the counts in docs/django-suite.md).
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.django_suite import tally
from scripts.django_suite_apps import EXCLUDED, FAST_APPS, discover

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
