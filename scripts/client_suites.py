"""Run third-party Django apps' own test suites against django_singlestore; publish the counts.

Usage: ``python scripts/client_suites.py [--clients NAME ...] [--lock] [--render]``.

Each client's sdist (its tests ship in it) is downloaded from PyPI into ``.django-suite/clients/``
once; its suite runs through ``django-admin test`` with ``scripts/django_suite_client_settings.py``,
which keeps the app's own settings and swaps its databases for SingleStore aliases (the emulator
unless ``S2_TEST_URL`` is set). Storage is what a user deploying the app would choose: Django's
contrib apps ROWSTORE REFERENCE (small tables whose unique keys must hold), the app's own tables
on the default sharded columnstore with ``OPTIONS["not_enforced_unique"]`` for its labels (a
sharded table can only enforce a unique key that contains its shard key). Results go to
``docs/django-suite/clients/<client>-<django-version>.json``; ``--render`` rewrites the table in
docs/compatibility.md. Adding an app is one line in ``CLIENTS``. Exit code 1 if a test failed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.django_suite import (  # noqa: E402 (needs ROOT on sys.path)
    WORK,
    heavy_lock,
    start_target,
    stop_target,
    tally,
)


@dataclass(frozen=True)
class Client:
    """A PyPI project whose sdist ships its tests: how to run them and which labels are its own."""

    project: str
    settings: str  # "module" or "module:function" inside the sdist
    labels: tuple[str, ...]  # test labels for `django-admin test`
    app_labels: tuple[str, ...]  # its models' app labels: sharded, unique keys unenforced
    requires: tuple[str, ...] = ()  # extra packages its tests import


#: One line per app.
CLIENTS = [
    Client("django-filter", "tests.settings", ("tests",), ("tests", "drf_test_app"), ("djangorestframework", "pytz")),  # noqa: E501
    Client("django-simple-history", "runtests:get_default_settings", ("simple_history.tests", "simple_history.registry_tests"), ("tests", "custom_user", "external", "migration_test_app", "simple_history")),  # noqa: E501
]  # fmt: skip
CONTRIB = ("auth", "contenttypes", "sessions", "sites", "admin", "messages", "staticfiles")
OUT = ROOT / "docs" / "django-suite" / "clients"
DOCS = ROOT / "docs" / "compatibility.md"


@dataclass
class ClientResult:
    """One client's counts on one Django version."""

    project: str
    version: str
    django: str
    ran: int
    passed: int
    skipped: int
    failed: int
    errors: int
    seconds: float
    problems: list[str]


def sdist(client: Client) -> Path:
    """The client's unpacked sdist (the newest release pip picks for this Python and Django)."""
    target = WORK / "clients"
    target.mkdir(parents=True, exist_ok=True)
    found = sorted(p for p in target.glob("*/") if p.name.lower().startswith(_stem(client)))
    if found:
        return found[-1]
    pip = [sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps"]
    subprocess.run([*pip, "-d", str(target), client.project], check=True, stdout=sys.stderr)
    archive = max(target.glob(f"{_stem(client)}-*.tar.gz"), key=lambda p: p.stat().st_mtime)
    with tarfile.open(archive) as tar:
        tar.extractall(target, filter="data")
    return target / archive.name.removesuffix(".tar.gz")


def _stem(client: Client) -> str:
    return client.project.replace("-", "_").lower()


def run_client(client: Client, url: str, lock: bool) -> ClientResult:
    source = sdist(client)
    # Installed from its sdist too: some apps read their own version from the package metadata.
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", str(source)]
    subprocess.run(pip, check=True, stdout=sys.stderr)
    if client.requires:
        pip = [sys.executable, "-m", "pip", "install", "-q", *client.requires]
        subprocess.run(pip, check=True, stdout=sys.stderr)
    handle, record_name = tempfile.mkstemp(prefix="clientsuite-", suffix=".jsonl")
    os.close(handle)
    storage = {**dict.fromkeys(CONTRIB, "ROWSTORE REFERENCE")}
    env = {
        **os.environ,
        "CLIENT_SUITE_SETTINGS": client.settings,
        "CLIENT_SUITE_S2_URL": url,
        "CLIENT_SUITE_STORAGE": json.dumps(storage),
        "CLIENT_SUITE_NOT_ENFORCED": json.dumps(client.app_labels),
        "CLIENT_SUITE_DB_SUFFIX": str(os.getpid()),
        "DJANGO_SUITE_RECORD": record_name,
        "DJANGO_SETTINGS_MODULE": "scripts.django_suite_client_settings",
        "PYTHONPATH": os.pathsep.join([str(source), str(ROOT)]),
    }
    command = [sys.executable, "-m", "django", "test", "--noinput", "--parallel=1"]
    log_path = WORK / "logs" / f"client-{client.project}-{django.get_version()}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with heavy_lock(lock), log_path.open("w") as log:
        started = time.monotonic()  # the run, not the wait for the lock
        subprocess.run([*command, *client.labels], cwd=source, env=env, stdout=log, stderr=log)
        seconds = round(time.monotonic() - started, 1)
    record = Path(record_name)
    records = [json.loads(line) for line in record.read_text().splitlines() if line.strip()]
    record.unlink()
    counts = tally(client.project, records)
    if not records:
        tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
        counts.problems = [f"crashed: {' | '.join(tail)}"]
    return ClientResult(
        project=client.project,
        version=source.name.rpartition("-")[2],
        django=django.get_version(),
        ran=counts.ran,
        passed=counts.passed,
        skipped=counts.skipped,
        failed=counts.failed,
        errors=counts.errors + (0 if records else 1),
        seconds=seconds,
        problems=counts.problems,
    )


def render() -> None:
    """Rewrite the client-suites table of docs/compatibility.md from the results files."""
    rows = [json.loads(p.read_text()) for p in sorted(OUT.glob("*.json"))]
    lines = [
        "| app | version | Django | ran | passed | skipped | failed | errors | seconds |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in sorted(rows, key=lambda r: (r["project"], r["django"])):
        lines.append(
            f"| {r['project']} | {r['version']} | {r['django']} | {r['ran']} | {r['passed']} "
            f"| {r['skipped']} | {r['failed']} | {r['errors']} | {r['seconds']} |"
        )
    start, end = "<!-- client-suites -->", "<!-- /client-suites -->"
    head, found, rest = DOCS.read_text().partition(start)
    if not found:
        raise SystemExit(f"{DOCS} has no {start} marker")
    _, _, tail = rest.partition(end)
    DOCS.write_text(head + start + "\n" + "\n".join(lines) + "\n" + end + tail)


def main(argv: list[str] | None = None) -> int:
    names = [c.project for c in CLIENTS]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", nargs="+", choices=names, default=names)
    parser.add_argument("--lock", action="store_true", help="hold the heavy lock per client")
    parser.add_argument("--render", action="store_true", help=f"then rewrite {DOCS.name}")
    args = parser.parse_args(argv)
    url, _target, emulator = start_target()
    results = []
    try:
        for client in (c for c in CLIENTS if c.project in args.clients):
            print(f"running {client.project} ...", file=sys.stderr, flush=True)
            result = run_client(client, url, args.lock)
            print(
                f"  ran {result.ran}, passed {result.passed}, skipped {result.skipped}, "
                f"failed {result.failed}, errors {result.errors}",
                file=sys.stderr,
                flush=True,
            )
            OUT.mkdir(parents=True, exist_ok=True)
            path = OUT / f"{client.project}-{result.django}.json"
            path.write_text(json.dumps(asdict(result), indent=1) + "\n")
            results.append(result)
    finally:
        stop_target(emulator)
    if args.render:
        render()
    return 1 if any(r.failed or r.errors for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
