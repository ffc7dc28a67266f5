"""Fault test: the mirror goes away under concurrent writers, then comes back.

A private emulator (its own process and port, same MariaDB behind it) is the mirror, so
killing it does not disturb the session's ``s2`` alias. While it is down every source write
must succeed and leave its keys in the outbox; after a restart on the same port the outbox
drains and both sides hold the same rows. Bounded: every wait has a deadline.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from django.db import connections
from django.test import override_settings

from migration_kit.dualwrite.drain import drain_all
from migration_kit.dualwrite.relay import relay
from migration_kit.models import OutboxEntry
from s2emulator.process import EmulatorProcess
from tests.kit.syncapp.models import Author, Book, Tag
from tests.kit.syncapp.testing import capture_triggers, differences, mirrored, pending

pytestmark = [
    pytest.mark.s2,
    pytest.mark.django_db(transaction=True, databases=["default", "s2"]),
]

ALIAS = "s2"
WRITERS = 4
WRITES_PER_WRITER = 40


@pytest.fixture
def private_mirror(pytestconfig: pytest.Config) -> Iterator[dict]:
    """An emulator of our own behind the ``s2`` alias for this test (same test database, same
    MariaDB; the session's emulator is left alone). Django blocks aliases a test did not
    declare, so the alias is repointed rather than added."""
    if os.environ.get("S2_TEST_URL"):
        pytest.skip("stopping the server is only possible with the emulator")
    backend = os.environ.get("S2EMU_BACKEND") or pytestconfig.getini("s2emu_backend")
    settings = connections.settings[ALIAS]
    saved = settings["HOST"], settings["PORT"]
    emulator = EmulatorProcess(backend).start()
    state = {"emulator": emulator}
    relay.stop()
    connections[ALIAS].close()
    settings["HOST"], settings["PORT"] = emulator.host, str(emulator.port)
    try:
        yield state
    finally:
        relay.stop()
        connections[ALIAS].close()
        settings["HOST"], settings["PORT"] = saved
        emulator.close()


def kill(state: dict) -> None:
    state["emulator"].kill()


def restart(state: dict) -> None:
    """A new emulator process on the port the old one had (clients reconnect to it)."""
    state["emulator"].start()


def writer(seed: int, errors: list[BaseException]) -> None:
    """Creates, updates, relates and deletes rows on the source, like an application would."""
    rng = random.Random(seed)
    try:
        for i in range(WRITES_PER_WRITER):
            author = Author.objects.using("default").create(name=f"w{seed}-{i}")
            book = Book.objects.using("default").create(author=author, title=f"b{i}")
            if rng.random() < 0.5:
                book.tags.add(Tag.objects.using("default").create(name=f"t{seed}-{i}"))
            if rng.random() < 0.3:
                Author.objects.using("default").filter(pk=author.pk).update(name="renamed")
            if rng.random() < 0.2:
                author.delete()
    except BaseException as exc:
        errors.append(exc)
    finally:
        connections.close_all()


@pytest.mark.parametrize("capture", ["wrappers", "triggers"])
def test_mirror_outage_loses_no_write(private_mirror: dict, capture: str) -> None:
    settings = {"RELAY": "thread", "RETRY_BASE_SECONDS": 0.2, "MIRROR_DOWN_SECONDS": 0.5}
    with ExitStack() as stack:
        if capture == "triggers":
            stack.enter_context(capture_triggers("default", ALIAS))
        stack.enter_context(mirrored("default", ALIAS, relay="thread"))
        stack.enter_context(override_settings(MIGRATION_KIT=settings))
        outage(private_mirror, capture)


def outage(private_mirror: dict, capture: str) -> None:
    """Kill the mirror under concurrent writers, restart it, and check nothing was lost."""
    Author.objects.using("default").create(name="before the outage")
    assert relay.flush(20)
    assert pending("default") == 0 and differences("default", ALIAS) == {}

    kill(private_mirror)
    errors: list[BaseException] = []
    threads = [threading.Thread(target=writer, args=(n, errors)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == [], "a source write failed while the mirror was down"
    assert relay.flush(30)
    left = pending("default")
    assert left >= WRITERS * WRITES_PER_WRITER * 2  # at least each author and book
    # A drain during the outage fails softly: entries stay, with their error and a retry time.
    # (Entries the triggers wrote were already tried by the relay: some wait out their
    # backoff, so this drain may find none due.)
    during = drain_all(["default"], batch_size=100)
    assert not during.applied
    assert during.failed or capture == "triggers"
    assert pending("default") == left
    # Every failed attempt was recorded on its entries (with triggers, by the relay's drains).
    tried = OutboxEntry.objects.using("default").exclude(last_error="")
    assert tried.exists() and not tried.filter(attempts=0).exists()

    restart(private_mirror)
    deadline = time.monotonic() + 60
    while pending("default") and time.monotonic() < deadline:
        drain_all(["default"], batch_size=200)
        time.sleep(0.2)
    assert pending("default") == 0
    assert differences("default", ALIAS) == {}
