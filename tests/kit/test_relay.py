"""The relay under bursts of commits, and the one-transaction drain (docs/migration-kit.md).

A burst of captured writes is drained in a few passes, not one per commit, and every write still
reaches the mirror. A drain that locks its entries while it applies them blocks no writer — the
capture triggers keep inserting entries — and no other drainer, which skips the locked ones.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connections, transaction

from migration_kit.dualwrite import relay as relay_module
from migration_kit.dualwrite.drain import DrainResult, drain
from migration_kit.dualwrite.relay import relay
from migration_kit.models import OutboxEntry
from tests.kit.syncapp.models import Tag
from tests.kit.syncapp.testing import capture_triggers, differences, mirrored, pending

committing = pytest.mark.django_db(transaction=True, databases=["default", "mysql"])
PAIRS = [
    pytest.param("default", "mysql", id="pg-maria"),
    pytest.param("mysql", "default", id="maria-pg"),
]


@committing
@pytest.mark.parametrize(("source", "target"), PAIRS)
def test_a_burst_of_captured_writes_is_drained_in_few_passes(
    source: str, target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    drains: list[str] = []
    original = relay._drain

    def counting(alias: str, once: bool = False) -> None:
        drains.append(alias)
        original(alias, once)

    monkeypatch.setattr(relay, "_drain", counting)
    # A gap of 50 ms ends a burst: even a slow machine's writes keep this one burst together.
    monkeypatch.setattr(relay_module, "QUIET_SECONDS", 0.05)
    with capture_triggers(source, target), mirrored(source, target, relay="thread"):
        for i in range(100):
            Tag.objects.using(source).create(name=f"burst {i}")
        assert relay.flush(30)
        assert pending(source) == 0
        assert differences(source, target) == {}
    assert 1 <= len(drains) <= 25, f"{len(drains)} drains for 100 commits"


def locked_entries(alias: str) -> int:
    """Outbox entries on ``alias`` that another transaction holds locked."""
    with transaction.atomic(using=alias):
        free = len(OutboxEntry.objects.using(alias).select_for_update(skip_locked=True))
    return OutboxEntry.objects.using(alias).count() - free


@committing
@pytest.mark.parametrize(("source", "target"), PAIRS)
def test_writers_and_other_drainers_go_on_while_a_drain_holds_its_entries(
    source: str, target: str
) -> None:
    with capture_triggers(source, target), mirrored(source, target):
        tag = Tag.objects.using(source).create(name="before")
        drain(source)
        Tag.objects.using(source).filter(pk=tag.pk).update(name="applied while locked")
        held, release = threading.Event(), threading.Event()

        def hold_mirror_row() -> None:
            try:
                with transaction.atomic(using=target):
                    list(Tag.objects.using(target).select_for_update().filter(pk=tag.pk))
                    held.set()
                    release.wait(30)
            finally:
                connections.close_all()

        results: list[DrainResult] = []

        def drain_in_thread() -> None:
            try:
                results.append(drain(source))
            finally:
                connections.close_all()

        holder = threading.Thread(target=hold_mirror_row)
        holder.start()
        drainer = threading.Thread(target=drain_in_thread)
        try:
            assert held.wait(10)
            drainer.start()  # locks the entry, then waits for the mirror row
            for _ in range(200):  # until the drainer holds the entry
                if locked_entries(source) == 1:
                    break
                threading.Event().wait(0.05)
            assert locked_entries(source) == 1
            # A writer is not held up: its trigger inserts the new entry at once.
            writer = threading.Thread(
                target=lambda: (
                    Tag.objects.using(source).create(name="written meanwhile"),
                    connections.close_all(),
                )
            )
            writer.start()
            writer.join(10)
            assert not writer.is_alive(), "the writer waited for the drain's locks"
            # Another drainer skips the locked entry and applies the new one.
            assert drain(source).applied == 1
        finally:
            release.set()
            holder.join(30)
            drainer.join(30)
        assert results and results[0].applied == 1 and results[0].failed == 0
        assert pending(source) == 0
        assert differences(source, target) == {}
