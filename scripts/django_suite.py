"""Run Django's whole applicable test suite, unmodified, on SingleStore; publish per-app counts.

Usage: ``python scripts/django_suite.py [--layout reference|deployment] [--lock] [--resume]``
(``make django-suite``), ``--fast`` for the slice ``make test`` runs, ``--render`` (after a run) or
``--render-only`` to rewrite the tables of docs/django-suite.md from ``docs/django-suite/*.json``.

It fetches the sdist of the installed Django into ``.django-suite/`` (once), starts the emulator
on a free port unless ``S2_TEST_URL`` names a real SingleStore, and runs ``tests/runtests.py``
with ``scripts/django_suite_settings.py`` on batches of apps (one process per batch: the test
databases are created once per batch, not once per app). The settings' test runner records each
test's outcome; after each batch the per-app counts go to
``docs/django-suite/<django-version>-<layout>.json``. A batch that dies before recording an app
is rerun one app at a time. Progress goes to stderr, ``--json`` output to stdout. Exit code 1 if
any test failed or erred or an app crashed, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import django

if TYPE_CHECKING:
    from s2emulator.process import EmulatorProcess

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.django_suite_apps import (  # noqa: E402 (needs ROOT on sys.path)
    DEPLOYMENT_REFERENCE_APPS,
    EXCLUDED,
    FAST_APPS,
    applicable,
)

if TYPE_CHECKING:
    from s2emulator.process import EmulatorProcess

WORK = ROOT / ".django-suite"
DOCS = ROOT / "docs" / "django-suite.md"
RESULTS = ROOT / "docs" / "django-suite"
LOCK = Path("/tmp/s2kit-heavy.lock")
EMULATOR_BACKEND = os.environ.get("S2EMU_BACKEND", "mysql://s2kit:s2kit@127.0.0.1:3306")
LAYOUTS = ("reference", "deployment")
#: A batch that runs longer than this is killed and its unrecorded apps rerun one by one.
BATCH_TIMEOUT = 3600
#: unittest's summary line: the batch ran to its end.
_FINISHED = re.compile(r"^Ran \d+ tests? in [\d.]+s$", re.MULTILINE)


@dataclass
class AppResult:
    """One app's counts; ``problems`` names each test that failed or erred, with its message.
    ``wall_seconds`` is the app's share of its batch's wall time (database set-up included, lock
    waits not), shared out by test time; None in results recorded before it was kept."""

    app: str
    ran: int = 0
    passed: int = 0
    skipped: int = 0
    failed: int = 0
    errors: int = 0
    expected_failures: int = 0
    unexpected_successes: int = 0
    seconds: float = 0.0
    wall_seconds: float | None = None
    problems: list[str] = field(default_factory=list)
    crashed: str = ""


def suite_dir() -> Path:
    """Django's ``tests/`` directory for the installed version, downloading the sdist once."""
    version = django.get_version()
    tests = WORK / f"django-{version}" / "tests"
    if tests.is_dir():
        return tests
    WORK.mkdir(exist_ok=True)
    print(f"fetching the Django {version} sdist into {WORK}", file=sys.stderr)
    pip = [sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps"]
    subprocess.run(
        [*pip, "-d", str(WORK), f"django=={version}"],
        check=True,
        stdout=sys.stderr,
    )
    with tarfile.open(WORK / f"django-{version}.tar.gz") as archive:
        archive.extractall(WORK, filter="data")
    return tests


def results_path(layout: str) -> Path:
    return RESULTS / f"{django.get_version()}-{layout}.json"


def tally(app: str, records: list[dict]) -> AppResult:
    """Per-app counts from the runner's records (one per test, or per setUpClass failure)."""
    result = AppResult(app=app, ran=len(records))
    for record in records:
        outcome = record["outcome"]
        if outcome == "skipped":
            result.skipped += 1
        elif outcome == "failed":
            result.failed += 1
        elif outcome == "error":
            result.errors += 1
        elif outcome == "expected_failure":
            result.expected_failures += 1
        elif outcome == "unexpected_success":
            result.unexpected_successes += 1
        if outcome in ("failed", "error"):
            result.problems.append(f"{outcome}: {record['id']}: {record.get('detail', '')}")
        result.seconds += record["seconds"]
    result.passed = (
        result.ran
        - result.skipped
        - result.failed
        - result.errors
        - result.expected_failures
        - result.unexpected_successes
    )
    result.seconds = round(result.seconds, 1)
    return result


@contextlib.contextmanager
def heavy_lock(enabled: bool) -> Iterator[None]:
    """Hold the team's heavy lock (``/tmp/s2kit-heavy.lock``) for one batch, if asked."""
    if not enabled:
        yield
        return
    with LOCK.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_batch(
    tests: Path, apps: list[str], url: str, layout: str
) -> tuple[dict[str, AppResult], str]:
    """Run ``apps`` in one runtests.py process; per-app results and the process's last lines."""
    handle, record_name = tempfile.mkstemp(prefix="djsuite-", suffix=".jsonl")
    os.close(handle)
    env = {
        **os.environ,
        "DJANGO_SUITE_S2_URL": url,
        "DJANGO_SUITE_DB_SUFFIX": str(os.getpid()),
        "DJANGO_SUITE_LAYOUT": layout,
        "DJANGO_SUITE_RECORD": record_name,
        "PYTHONPATH": str(ROOT),
    }
    if layout == "deployment":
        # As upstream's CI: each sharded app under test gets its unique=True keys unenforced.
        for app in apps:
            if app not in DEPLOYMENT_REFERENCE_APPS:
                env[f"DJANGO_SINGLESTORE_NOT_ENFORCED_UNIQUE_{app.upper()}"] = "1"
    command = [sys.executable, "runtests.py", "--settings=scripts.django_suite_settings"]
    command += ["--parallel=1", "--noinput", *apps]
    logs = WORK / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"{django.get_version()}-{layout}-{apps[0]}-{len(apps)}.log"
    with log_path.open("w") as log:
        try:
            subprocess.run(
                command,
                cwd=tests,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=BATCH_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            log.write(f"\nkilled after {BATCH_TIMEOUT} s\n")
    record = Path(record_name)
    records = [json.loads(line) for line in record.read_text().splitlines() if line.strip()]
    record.unlink()
    by_app: dict[str, list[dict]] = {}
    for item in records:
        by_app.setdefault(item["app"], []).append(item)
    output = log_path.read_text(errors="replace")
    tail = " | ".join(output.strip().splitlines()[-3:])
    results = {app: tally(app, by_app[app]) for app in apps if app in by_app}
    if _FINISHED.search(output):
        # The run ended normally: an app without records has no tests (e.g. ``base``, a helper).
        results.update({app: AppResult(app=app) for app in apps if app not in results})
    return results, tail


def load(path: Path) -> dict:
    if path.exists():
        return json.loads(path.read_text())
    return {}


def save(path: Path, layout: str, target: str, results: dict[str, AppResult]) -> None:
    """Write a version's results file (sorted by app), after every batch."""
    path.parent.mkdir(parents=True, exist_ok=True)
    as_dicts = {app: asdict(result) for app, result in results.items()}
    document = {
        "django": django.get_version(),
        "python": ".".join(map(str, sys.version_info[:3])),
        "layout": layout,
        "target": target,
        "date": time.strftime("%Y-%m-%d"),
        "excluded": EXCLUDED,
        # Re-read: another process (``--apps`` reruns) may have written apps in the meantime.
        "apps": dict(sorted({**load(path).get("apps", {}), **as_dicts}.items())),
    }
    path.write_text(json.dumps(document, indent=1) + "\n")


def report(result: AppResult) -> str:
    return (
        f"  {result.app}: ran {result.ran}, passed {result.passed}, skipped {result.skipped}, "
        f"failed {result.failed}, errors {result.errors}"
        + (f" (crashed: {result.crashed})" if result.crashed else "")
    )


def run(
    apps: list[str], layout: str, url: str, batch_size: int, lock: bool, done: dict
) -> dict[str, AppResult]:
    """Run ``apps`` in batches (each holding the heavy lock if ``lock``), calling ``done`` with
    the results so far after each batch."""
    tests = suite_dir()
    results: dict[str, AppResult] = {}
    batches = [apps[i : i + batch_size] for i in range(0, len(apps), batch_size)]
    for number, batch in enumerate(batches, 1):
        print(f"batch {number}/{len(batches)}: {' '.join(batch)}", file=sys.stderr, flush=True)
        started = time.monotonic()
        with heavy_lock(lock):  # the reruns too: a lost app does not wait for the lock again
            started = time.monotonic()
            got, tail = run_batch(tests, batch, url, layout)
            missing = [app for app in batch if app not in got]
            if missing and len(batch) > 1:
                print(f"  batch lost {missing} ({tail}); one by one", file=sys.stderr, flush=True)
                for app in missing:
                    alone, alone_tail = run_batch(tests, [app], url, layout)
                    crash = AppResult(app=app, crashed=alone_tail or "no output")
                    got[app] = alone.get(app) or crash
            share_wall_time(got, time.monotonic() - started)
        for app in batch:
            result = got.get(app) or AppResult(app=app, crashed=tail or "no output")
            results[app] = result
            print(report(result), file=sys.stderr, flush=True)
        print(f"  {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
        done["callback"](results)
    return results


def share_wall_time(results: dict[str, AppResult], wall: float) -> None:
    """Give each app of a batch its share of the batch's wall time, in proportion to its test
    time (evenly when no test took measurable time), so a table's total is its runs' wall time
    however its apps were batched or rerun."""
    tested = sum(r.seconds for r in results.values())
    for r in results.values():
        weight = r.seconds / tested if tested else 1 / len(results)
        r.wall_seconds = round(wall * weight, 1)


def from_json(data: dict) -> dict[str, AppResult]:
    return {app: AppResult(**values) for app, values in data.get("apps", {}).items()}


def totals(results: dict[str, AppResult]) -> AppResult:
    total = AppResult(app="**total**")
    for r in results.values():
        for name in ("ran", "passed", "skipped", "failed", "errors", "seconds"):
            setattr(total, name, getattr(total, name) + getattr(r, name))
    total.seconds = round(total.seconds, 1)
    return total


def table(data: dict) -> str:
    """One Markdown table of a results file, with a totals line and the failure percentage."""
    results = from_json(data)
    lines = [
        f"#### Django {data['django']} (Python {data['python']}), {data['layout']} layout",
        "",
        f"Against {data['target']}, {data['date']}; {len(results)} apps{wall_time(results)}",
        "",
        "| app | ran | passed | skipped | failed | errors | seconds |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results.values():
        failed = f"{r.failed} (crashed)" if r.crashed else str(r.failed)
        lines.append(
            f"| {r.app} | {r.ran} | {r.passed} | {r.skipped} | {failed} | {r.errors} "
            f"| {r.seconds} |"
        )
    t = totals(results)
    share = 100 * (t.failed + t.errors) / t.ran if t.ran else 0.0
    lines.append(
        f"| {t.app} ({len(results)} apps) | {t.ran} | {t.passed} | {t.skipped} | {t.failed} "
        f"| {t.errors} | {t.seconds} |"
    )
    lines += [
        "",
        f"Failures and errors: {t.failed + t.errors} of {t.ran} tests run = **{share:.2f} %**.",
    ]
    return "\n".join(lines)


def wall_time(results: dict[str, AppResult]) -> str:
    """The header's wall-time clause: the sum of the apps' shares of their batches."""
    timed = [r.wall_seconds for r in results.values() if r.wall_seconds is not None]
    if not timed:
        return "."
    minutes = f"{sum(timed) / 60:.0f} min of wall time (lock waits excluded)"
    if len(timed) == len(results):
        return f"; their runs took {minutes}."
    return (
        f"; the {len(timed)} apps run since wall time is kept per app took {minutes}; "
        f"the other {len(results) - len(timed)} apps' results predate it."
    )


def _version_key(path: Path) -> tuple:
    version, _, layout = path.stem.rpartition("-")
    parts = tuple(int(p) if p.isdigit() else 0 for p in version.split("."))
    return (parts, LAYOUTS.index(layout) if layout in LAYOUTS else 9)


def render() -> None:
    """Rewrite the tables between the suite-tables markers of docs/django-suite.md."""
    files = sorted(RESULTS.glob("*.json"), key=_version_key)
    blocks = [table(json.loads(path.read_text())) for path in files]
    start, end = "<!-- suite-tables -->", "<!-- /suite-tables -->"
    text = DOCS.read_text()
    head, found, rest = text.partition(start)
    if not found:
        raise SystemExit(f"{DOCS} has no {start} marker")
    _, _, tail = rest.partition(end)
    DOCS.write_text(head + start + "\n" + "\n\n".join(blocks) + "\n" + end + tail)


def start_target() -> tuple[str, str, EmulatorProcess | None]:
    """The server URL, its description, and the emulator handle to stop (None for a real one)."""
    url = os.environ.get("S2_TEST_URL")
    if url:
        return url, "a real SingleStore (S2_TEST_URL)", None
    from s2emulator.process import EmulatorProcess

    emulator = EmulatorProcess(EMULATOR_BACKEND).start()
    credentials = EMULATOR_BACKEND.split("://", 1)[1].rsplit("@", 1)[0]
    url = f"singlestoredb://{credentials}@{emulator.host}:{emulator.port}/djsuite"
    return url, "the emulator (in front of MariaDB 10.11)", emulator


def stop_target(emulator: EmulatorProcess | None) -> None:
    """Stop the emulator ``start_target`` started (nothing for a real SingleStore)."""
    if emulator is not None:
        emulator.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", nargs="+", help="apps to run (default: every applicable app)")
    parser.add_argument("--fast", action="store_true", help=f"only {' '.join(FAST_APPS)}")
    parser.add_argument("--layout", choices=LAYOUTS, default="reference")
    parser.add_argument("--batch-size", type=int, default=12, help="apps per runtests.py")
    parser.add_argument("--lock", action="store_true", help=f"hold {LOCK} during each batch")
    parser.add_argument("--resume", action="store_true", help="skip apps already recorded")
    parser.add_argument("--no-save", action="store_true", help="do not write the results file")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--render", action="store_true", help=f"then rewrite {DOCS.name}'s tables")
    parser.add_argument("--render-only", action="store_true", help="rewrite them, run nothing")
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    if args.render_only:
        render()
        return 0
    tests = suite_dir()
    known = applicable(tests)
    apps = FAST_APPS if args.fast else (args.apps or known)
    unknown = [app for app in apps if app not in known]
    if unknown:
        parser.error(f"not applicable apps of Django {django.get_version()}: {unknown}")
    save_to = None if (args.fast or args.no_save) else results_path(args.layout)
    # A whole run starts the file afresh; --resume and --apps add to it.
    if save_to and not (args.resume or args.apps):
        save_to.unlink(missing_ok=True)
    earlier_file = load(save_to) if save_to else {}
    previous = from_json(earlier_file)
    if args.resume:
        apps = [app for app in apps if app not in previous]
    url, target, emulator = start_target()

    def checkpoint(results: dict[str, AppResult]) -> None:
        if save_to:
            save(save_to, args.layout, target, {**previous, **results})

    try:
        results = run(apps, args.layout, url, args.batch_size, args.lock, {"callback": checkpoint})
    finally:
        stop_target(emulator)
    if args.json:
        print(json.dumps([asdict(r) for r in results.values()], indent=1))
    if args.render:
        render()
    t = totals(results)
    print(
        f"{len(results)} apps: ran {t.ran}, passed {t.passed}, skipped {t.skipped}, "
        f"failed {t.failed}, errors {t.errors}",
        file=sys.stderr,
    )
    return 1 if any(r.failed or r.errors or r.crashed for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
