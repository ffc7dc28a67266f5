"""A test runner for Django's suite that records every test's outcome, one JSON line each.

``scripts/django_suite.py`` runs several apps per ``runtests.py`` process; this runner (the
settings' ``TEST_RUNNER``) appends ``{"id", "app", "outcome", "seconds", "detail"}`` to the file
named by ``DJANGO_SUITE_RECORD`` as each test ends, so per-app counts survive a crash half-way.
``seconds`` is the time since the previous record, so class set-up counts toward its app.
"""

from __future__ import annotations

import json
import os
import re
import time
import traceback
import unittest
from typing import Any

from django.test.runner import DiscoverRunner

#: Worse outcomes win when a test has several (subtests, an error in tearDown).
_RANK = {
    "passed": 0,
    "skipped": 1,
    "expected_failure": 2,
    "unexpected_success": 3,
    "failed": 4,
    "error": 5,
}
_HOLDER = re.compile(r"\(([\w.]+)\)")


def _app(test_id: str) -> str:
    """The test app a test id belongs to (``basic.tests.X.test_y`` -> ``basic``)."""
    holder = _HOLDER.search(test_id)  # "setUpClass (basic.tests.X)" from an _ErrorHolder
    return (holder.group(1) if holder and " " in test_id else test_id).split(".")[0]


def _summary(err: Any) -> str:
    """The last line of a failure's traceback: the exception and its message."""
    lines = traceback.format_exception(*err)
    return lines[-1].strip()[:300] if lines else ""


class RecordingResult(unittest.TextTestResult):
    """A TextTestResult that also writes each test's final outcome to ``DJANGO_SUITE_RECORD``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._record = open(os.environ["DJANGO_SUITE_RECORD"], "a")  # noqa: SIM115
        self._outcome: dict[str, tuple[str, str]] = {}
        self._started: set[str] = set()
        self._last = time.monotonic()

    def _note(self, test: unittest.TestCase, outcome: str, detail: str = "") -> None:
        key = test.id()
        if key not in self._started:  # an _ErrorHolder: setUpClass/module failures
            self._write(key, outcome, detail)
            return
        previous = self._outcome.get(key)
        if previous is None or _RANK[outcome] > _RANK[previous[0]]:
            self._outcome[key] = (outcome, detail)

    def _write(self, key: str, outcome: str, detail: str) -> None:
        now = time.monotonic()
        seconds, self._last = round(now - self._last, 3), now
        line = {"id": key, "app": _app(key), "outcome": outcome, "seconds": seconds}
        if detail:
            line["detail"] = detail
        self._record.write(json.dumps(line) + "\n")
        self._record.flush()

    def startTest(self, test: unittest.TestCase) -> None:
        self._started.add(test.id())
        super().startTest(test)

    def stopTest(self, test: unittest.TestCase) -> None:
        super().stopTest(test)
        key = test.id()
        self._started.discard(key)
        outcome, detail = self._outcome.pop(key, ("passed", ""))
        self._write(key, outcome, detail)

    def addError(self, test: Any, err: Any) -> None:
        super().addError(test, err)
        self._note(test, "error", _summary(err))

    def addFailure(self, test: Any, err: Any) -> None:
        super().addFailure(test, err)
        self._note(test, "failed", _summary(err))

    def addSkip(self, test: Any, reason: str) -> None:
        super().addSkip(test, reason)
        self._note(test, "skipped", reason[:300])

    def addExpectedFailure(self, test: Any, err: Any) -> None:
        super().addExpectedFailure(test, err)
        self._note(test, "expected_failure")

    def addUnexpectedSuccess(self, test: Any) -> None:
        super().addUnexpectedSuccess(test)
        self._note(test, "unexpected_success")

    def addSubTest(self, test: Any, subtest: Any, err: Any) -> None:
        super().addSubTest(test, subtest, err)
        if err is not None:
            failed = issubclass(err[0], test.failureException)
            self._note(test, "failed" if failed else "error", f"{subtest}: {_summary(err)}")

    def stopTestRun(self) -> None:
        super().stopTestRun()
        self._record.close()


class RecordingRunner(DiscoverRunner):
    """Django's DiscoverRunner with RecordingResult (``--parallel=1`` only)."""

    def get_resultclass(self) -> type[unittest.TextTestResult]:
        return RecordingResult
