"""The emulator as a child process: start on a port (or 0: any free one), wait until it accepts
connections, restart on the same port, stop cleanly or kill like a crashed server.

One helper for every caller that needs a running emulator — the pytest plugin, ``scripts/demo.py``,
``scripts/drills.py``, ``scripts/django_suite.py``, the benches and the fault tests — so none of
them needs pytest to start one::

    with EmulatorProcess("mysql://s2kit:s2kit@127.0.0.1:3306") as emulator:
        url = emulator.url("s2kit", "s2kit", "mydb")

The process writes its log to a temporary file (no pipe to drain); :meth:`log` reads it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

#: Seconds to wait for the ``listening on`` line before giving up.
START_TIMEOUT = 20.0
_LISTENING = re.compile(r"listening on ([\d.]+):(\d+)")


class EmulatorStartError(RuntimeError):
    """The emulator exited or stayed silent instead of listening; the message carries its log."""


class EmulatorProcess:
    """One ``python -m s2emulator`` process; after :meth:`stop` or :meth:`kill`, :meth:`start`
    brings it back on the port it had (clients reconnect to the same address)."""

    def __init__(
        self,
        backend: str = "mysql://root@127.0.0.1:3306",
        args: Sequence[str] = (),
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.backend = backend  # the MariaDB URL it proxies to
        self.args = list(args)
        self.host = host
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None
        handle, name = tempfile.mkstemp(prefix="s2emu-", suffix=".log")
        os.close(handle)
        self.log_path = Path(name)

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def url(self, user: str, password: str, database: str = "") -> str:
        """A ``singlestoredb://`` URL for this emulator."""
        return f"singlestoredb://{user}:{password}@{self.host}:{self.port}/{database}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def start(self, timeout: float = START_TIMEOUT) -> EmulatorProcess:
        """Start it and return once it listens. On a fixed port (a restart), a port still held by
        the previous process is retried until ``timeout``."""
        if self.running:
            raise RuntimeError(f"the emulator already runs on port {self.port}")
        deadline = time.monotonic() + timeout
        output = ""
        while True:
            offset = self.log_path.stat().st_size
            with self.log_path.open("ab") as log:
                self.process = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "s2emulator",
                        "--listen",
                        f"{self.host}:{self.port}",
                        "--backend",
                        self.backend,
                        *self.args,
                    ],
                    stdout=log,
                    stderr=log,
                )
            port = self._wait_listening(offset, deadline)
            if port is not None:
                self.port = port
                return self
            self.kill()  # exited already, or still silent at the deadline
            output = self._log_from(offset) or output  # a silent last try keeps the one before
            if self.port and "in use" in output and time.monotonic() < deadline:
                time.sleep(0.2)
                continue
            raise EmulatorStartError(
                f"the SingleStore emulator did not start (backend {self.backend}); "
                f"its log:\n{output or 'no output'}"
            )

    def _log_from(self, offset: int) -> str:
        with self.log_path.open("rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")

    def _wait_listening(self, offset: int, deadline: float) -> int | None:
        assert self.process is not None
        while time.monotonic() < deadline:
            match = _LISTENING.search(self._log_from(offset))
            if match:
                return int(match.group(2))
            if self.process.poll() is not None:
                return None
            time.sleep(0.02)
        return None

    def restart(self, timeout: float = START_TIMEOUT) -> EmulatorProcess:
        """Stop it (if it runs) and start it again on the same port."""
        self.stop()
        return self.start(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, a clean stop; SIGKILL if it has not exited after ``timeout`` seconds."""
        if not self.running:
            return
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL, like a crashed server: no clean shutdown, clients see the connection drop."""
        if not self.running:
            return
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def close(self) -> None:
        """Stop it and remove its log."""
        self.stop()
        self.log_path.unlink(missing_ok=True)
