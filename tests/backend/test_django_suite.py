"""A fast slice of Django's own test suite, unmodified, on SingleStore (``make django-suite``
runs the whole list and publishes the counts in docs/django-suite.md)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.s2
def test_fast_django_suite_subset_passes() -> None:
    completed = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "django_suite.py"), "--fast", "--json"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    results = json.loads(completed.stdout)
    assert [r["app"] for r in results] == ["basic", "lookup", "update"]
    for result in results:
        assert not result["crashed"], result
        assert result["ran"] > 0 and result["passed"] > 0, result
        assert (result["failed"], result["errors"]) == (0, 0), result["problems"]
    assert completed.returncode == 0, completed.stderr[-2000:]
