"""Fixtures for talking to the SingleStore under test (the emulator, or ``S2_TEST_URL``)
through the real ``singlestoredb`` driver, in scratch databases that are dropped afterwards."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from s2emulator.process import EmulatorProcess
from tests.emulator.scratchdb import drop_database, new_database, open_connection

Connect = Callable[..., Any]


@pytest.fixture(scope="session")
def server(_s2emu_process: EmulatorProcess | None) -> dict[str, Any]:
    """Host, port and credentials of the session's SingleStore."""
    url = os.environ.get("S2_TEST_URL")
    if url:
        parts = urlsplit(url)
        return {
            "host": parts.hostname,
            "port": parts.port or 3306,
            "user": unquote(parts.username or "root"),
            "password": unquote(parts.password or ""),
        }
    assert _s2emu_process is not None
    return {
        "host": _s2emu_process.host,
        "port": _s2emu_process.port,
        "user": "s2kit",
        "password": "s2kit",
    }


@pytest.fixture(scope="session")
def admin(server: dict[str, Any]) -> Iterator[Any]:
    """One session-wide connection for creating and dropping scratch databases."""
    connection = open_connection(server)
    yield connection
    connection.close()


@pytest.fixture
def scratch(server: dict[str, Any], admin: Any) -> Iterator[tuple[str, Connect]]:
    """A fresh database (unique name) and a ``connect(**kwargs)`` factory that uses it."""
    name = new_database(admin)
    opened: list[Any] = []

    def connect(**kwargs: Any) -> Any:
        connection = open_connection(server, database=name, **kwargs)
        opened.append(connection)
        return connection

    try:
        yield name, connect
    finally:
        for connection in opened:
            with contextlib.suppress(Exception):  # already closed by the test
                connection.close()
        drop_database(admin, name)
