"""Child processes of the kit's multi-process tests: ``manage.py`` commands and Celery workers
that use the test's own databases (the names pytest-django gave them, the emulator's port)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

from django.db import connections

ALIASES = ("default", "mysql", "s2")


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a child that must see this test's databases: each alias's test
    database name, and the SingleStore alias's address (the emulator's port is per session)."""
    env = dict(os.environ)
    for alias in ALIASES:
        env[f"S2KIT_DB_{alias.upper()}"] = connections[alias].settings_dict["NAME"]
    s2 = connections["s2"].settings_dict
    if not env.get("S2_TEST_URL"):
        env["S2_TEST_URL"] = (
            f"singlestoredb://{quote(s2['USER'])}:{quote(s2['PASSWORD'])}@"
            f"{s2['HOST']}:{s2['PORT']}/{s2['NAME']}"
        )
    env["DJANGO_SETTINGS_MODULE"] = "tests.kit.subprocess_settings"
    env.update(extra)
    return env


def manage(*args: str, **popen: object) -> subprocess.Popen:
    """``python -m django ARGS --skip-checks`` in its own process group (so ``killpg`` takes its
    workers too), stdout and stderr piped."""
    return subprocess.Popen(
        [sys.executable, "-m", "django", *args, "--skip-checks"],
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        **popen,  # type: ignore[arg-type]
    )


class Workers:
    """``celery worker`` processes (solo pool: the task runs in the worker process itself, whose
    pid is the one in the range's lease), each in its own process group, logging to files."""

    def __init__(self, queue: str, log_dir: Path):
        self.queue, self.log_dir = queue, log_dir
        self.procs: dict[str, subprocess.Popen] = {}
        self.count = 0

    def start(self, n: int, own_hosts: bool = False) -> list[str]:
        """Start ``n`` workers; with ``own_hosts`` each in a UTS namespace with a hostname of
        its own (``unshare --uts``), so leases see them as other hosts."""
        names = []
        for _ in range(n):
            self.count += 1
            name = f"w{self.count}-{self.queue}@localhost"
            log = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 (the worker keeps it)
            command = [sys.executable, "-m", "celery", "-A", "tests.kit.celeryapp.app", "worker",
                       "-Q", self.queue, "-P", "solo", "-n", name, "--without-gossip",
                       "--without-mingle", "--without-heartbeat", "-l", "warning"]  # fmt: skip
            if own_hosts:
                host = f"celery-host-{self.count}"
                command = ["unshare", "--uts", "sh", "-c", f'hostname {host} && exec "$@"',
                           "sh", *command]  # fmt: skip
            self.procs[name] = subprocess.Popen(
                command,
                env=child_env(S2KIT_CELERY_QUEUE=self.queue),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            names.append(name)
        self.wait_ready(names)
        return names

    def wait_ready(self, names: list[str], timeout: float = 60.0) -> None:
        from tests.kit.celeryapp.app import app

        deadline = time.monotonic() + timeout
        waiting = set(names)
        while waiting:
            for name in list(waiting):
                if self.procs[name].poll() is not None:
                    raise RuntimeError(f"worker {name} exited: {self.log(name)}")
            replies = app.control.ping(destination=list(waiting), timeout=0.5)
            waiting -= {name for reply in replies for name in reply}
            if time.monotonic() > deadline:
                raise RuntimeError(f"workers not ready: {sorted(waiting)}")

    def log(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text(errors="replace")[-4000:]

    @staticmethod
    def can_own_hosts() -> bool:
        """Whether ``unshare --uts`` works here (root, or a user namespace)."""
        probe = subprocess.run(["unshare", "--uts", "hostname", "probe"], capture_output=True)
        return probe.returncode == 0

    def by_pid(self, pid: int) -> str | None:
        return next((n for n, p in self.procs.items() if p.pid == pid), None)

    def kill(self, name: str) -> None:
        """``kill -9`` the worker and anything it started: a host lost mid-task."""
        proc = self.procs.pop(name)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def stop(self) -> None:
        for name in list(self.procs):
            proc = self.procs.pop(name)
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
