"""A test runner for Django's suite that records every test's outcome, one JSON line each.

``scripts/django_suite.py`` runs several apps per ``runtests.py`` process; this runner (the
settings' ``TEST_RUNNER``) appends ``{"id", "app", "outcome", "seconds", "detail"}`` to the file
named by ``DJANGO_SUITE_RECORD`` as each test ends, so per-app counts survive a crash half-way.
``seconds`` is the time since the previous record, so class set-up counts toward its app.

It also keeps one test's broken transaction from spoiling the tests after it. Every test ends
outside any atomic block here (without savepoints, TestCase opens its atomic blocks per test, not
per class), but Django's ``TestCase._fixture_setup`` leaves them open when ``setUpTestData`` or a
fixture fails on a backend without savepoints, and every later test of the process then fails
with ``TransactionManagementError``. After each test the runner looks at every connection: a
test that left an atomic block or a transaction open is recorded as an error naming the leak,
and the runner rolls the connection back, so the tests after it are measured truthfully.
"""

from __future__ import annotations

import json
import os
import re
import time
import traceback
import unittest
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connections, transaction
from django.test import SimpleTestCase
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


def close_leaked_transactions() -> list[str]:
    """Roll back what was left open on each connection between tests; describe each leak.

    An open atomic block is exited as Django would on an error (marked for rollback, innermost
    first); a transaction opened with autocommit off is rolled back and autocommit restored.
    """
    leaks = []
    for conn in connections.all(initialized_only=True):
        if conn.in_atomic_block:
            blocks = len(conn.atomic_blocks)
            broken = " (marked for rollback)" if conn.needs_rollback else ""
            while conn.atomic_blocks:
                transaction.set_rollback(True, using=conn.alias)
                conn.atomic_blocks[-1].__exit__(None, None, None)
            if conn.in_atomic_block:  # flags set by hand, without an Atomic to exit
                conn.in_atomic_block, conn.needs_rollback, conn.savepoint_ids = False, False, []
                conn.rollback()
                conn.set_autocommit(True)
            leaks.append(f"{blocks} atomic block(s){broken} on {conn.alias!r}")
        elif conn.connection is not None and not conn.get_autocommit():
            conn.rollback()
            conn.set_autocommit(True)
            leaks.append(f"a transaction (autocommit off) on {conn.alias!r}")
    return leaks


class RecordingResult(unittest.TextTestResult):
    """A TextTestResult that also writes each test's final outcome to ``DJANGO_SUITE_RECORD``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._record = open(os.environ["DJANGO_SUITE_RECORD"], "a")  # noqa: SIM115
        self._outcome: dict[str, tuple[str, str]] = {}
        self._started: set[str] = set()
        #: Tests inside ``guarded``: their record waits until the connections are checked.
        self._guarded: set[str] = set()
        self._last = time.monotonic()

    def _note(self, test: unittest.TestCase, outcome: str, detail: str = "") -> None:
        key = test.id()
        if key not in self._started and key not in self._guarded:
            self._write(key, outcome, detail)  # an _ErrorHolder: setUpClass/module failures
            return
        previous = self._outcome.get(key)
        if previous is None or _RANK[outcome] > _RANK[previous[0]]:
            self._outcome[key] = (outcome, detail)
        elif outcome == "error" and previous[0] == "error":
            self._outcome[key] = (outcome, f"{previous[1]}; {detail}")

    def _write(self, key: str, outcome: str, detail: str) -> None:
        now = time.monotonic()
        seconds, self._last = round(now - self._last, 3), now
        line = {"id": key, "app": _app(key), "outcome": outcome, "seconds": seconds}
        if detail:
            line["detail"] = detail
        self._record.write(json.dumps(line) + "\n")
        self._record.flush()

    def _finish(self, key: str) -> None:
        outcome, detail = self._outcome.pop(key, ("passed", ""))
        self._write(key, outcome, detail)

    @contextmanager
    def guarded(self, test: unittest.TestCase) -> Iterator[None]:
        """Run one test (set-up and tear-down included), then record it, as an error if it
        left a transaction open; a leak found before it (class set-up, a plain unittest test)
        is recorded on its own line."""
        key = test.id()
        leaks = close_leaked_transactions()
        if leaks:
            self._write(f"transaction left open before ({key})", "error", _leak(leaks))
        self._guarded.add(key)
        try:
            yield
        finally:
            leaks = close_leaked_transactions()
            if leaks:
                self._note(test, "error", _leak(leaks))
                self.stream.writeln(f"{key}: {_leak(leaks)}")
            self._guarded.discard(key)
            self._finish(key)

    def startTest(self, test: unittest.TestCase) -> None:
        self._started.add(test.id())
        super().startTest(test)

    def stopTest(self, test: unittest.TestCase) -> None:
        super().stopTest(test)
        key = test.id()
        self._started.discard(key)
        if key not in self._guarded:
            self._finish(key)

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


def _leak(leaks: list[str]) -> str:
    return "TransactionLeak: left open " + ", ".join(leaks) + "; rolled back by the runner"


class RecordingRunner(DiscoverRunner):
    """Django's DiscoverRunner with RecordingResult (``--parallel=1`` only), each Django test
    run inside ``RecordingResult.guarded``."""

    def get_resultclass(self) -> type[unittest.TextTestResult]:
        return RecordingResult

    def run_suite(self, suite: unittest.TestSuite, **kwargs: Any) -> unittest.TestResult:
        plain_call = SimpleTestCase.__call__

        def guarded_call(test: SimpleTestCase, result: unittest.TestResult | None = None) -> None:
            # Nested runs (the test_runner app's) bring their own result: leave those alone.
            if not isinstance(result, RecordingResult):
                return plain_call(test, result)
            with result.guarded(test):
                plain_call(test, result)

        SimpleTestCase.__call__ = guarded_call  # type: ignore[method-assign]
        try:
            return super().run_suite(suite, **kwargs)
        finally:
            SimpleTestCase.__call__ = plain_call  # type: ignore[method-assign]
