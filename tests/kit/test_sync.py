"""Draining the outbox (``s2_sync``), backoff, concurrent drainers, ``--since``, apply_keys."""

from __future__ import annotations

import datetime
import threading

import pytest
from django.core.management import CommandError
from django.db import connections
from django.test import override_settings
from django.utils import timezone

from migration_kit.dualwrite.apply import apply_keys
from migration_kit.dualwrite.drain import DrainResult, drain, drain_all
from migration_kit.dualwrite.outbox import claim
from migration_kit.models import OutboxEntry
from tests.kit.commands import json_output
from tests.kit.syncapp.models import Author, Book, Tag
from tests.kit.syncapp.testing import differences, mirrored, pending

# Rolled-back transactions by default; real commits where DDL (which commits on MariaDB) or
# several connections (concurrent drainers) are involved.
pytestmark = pytest.mark.django_db(databases=["default", "mysql"])
committing = pytest.mark.django_db(transaction=True, databases=["default", "mysql"])


def s2_sync(*args: str, **opts: object) -> dict:
    return json_output("s2_sync", *args, **opts)


def rename(alias: str, old: str, new: str) -> None:
    with connections[alias].cursor() as cursor:
        cursor.execute(f"ALTER TABLE {old} RENAME TO {new}")


@pytest.mark.parametrize(("source", "target"), [("default", "mysql"), ("mysql", "default")])
def test_s2_sync_drains_and_reports_lag(source: str, target: str) -> None:
    with mirrored(source, target):
        authors = Author.objects.using(source).bulk_create([Author(name=f"a{i}") for i in range(7)])
        Book.objects.using(source).create(author=authors[0], title="b")
        report = s2_sync(database=[source], batch_size=3)
        assert report["claimed"] == report["applied"] == 8
        assert report["failed"] == 0 and report["lag"] == {source: {}}
        assert differences(source, target) == {}


@committing
def test_failed_entries_back_off_and_retry() -> None:
    with (
        mirrored("default", "mysql"),
        override_settings(MIGRATION_KIT={"RELAY": "off", "RETRY_BASE_SECONDS": 30}),
    ):
        Tag.objects.using("default").create(name="t")
        rename("mysql", "syncapp_tag", "syncapp_tag_away")
        try:
            with pytest.raises(CommandError) as failed:
                s2_sync(database=["default"])
            assert failed.value.returncode == 1
            [entry] = OutboxEntry.objects.using("default")
            assert entry.attempts == 1 and "syncapp_tag" in entry.last_error
            wait = (entry.next_attempt_at - timezone.now()).total_seconds()
            assert 20 < wait <= 30
            # Not due yet: nothing to claim, the lag shows one failing entry.
            report = s2_sync(database=["default"])
            assert report["claimed"] == 0
            assert report["lag"]["default"]["syncapp.Tag"]["failing"] == 1
        finally:
            rename("mysql", "syncapp_tag_away", "syncapp_tag")
        OutboxEntry.objects.using("default").update(next_attempt_at=timezone.now())
        assert s2_sync(database=["default"])["applied"] == 1
        assert differences("default", "mysql") == {}


@committing
def test_second_failure_doubles_the_delay() -> None:
    with (
        mirrored("default", "mysql"),
        override_settings(MIGRATION_KIT={"RELAY": "off", "RETRY_BASE_SECONDS": 10}),
    ):
        Tag.objects.using("default").create(name="t")
        rename("mysql", "syncapp_tag", "syncapp_tag_away")
        try:
            drain("default")
            OutboxEntry.objects.using("default").update(next_attempt_at=timezone.now())
            drain("default")
        finally:
            rename("mysql", "syncapp_tag_away", "syncapp_tag")
        [entry] = OutboxEntry.objects.using("default")
        assert entry.attempts == 2
        assert 15 < (entry.next_attempt_at - timezone.now()).total_seconds() <= 20


def test_claimed_entries_are_leased_until_they_expire() -> None:
    """A drainer that dies after claiming blocks nobody for longer than the lease."""
    with mirrored("default", "mysql"):
        Tag.objects.using("default").bulk_create([Tag(name=str(i)) for i in range(3)])
        assert len(claim("default", 10)) == 3  # and then the drainer "crashes"
        assert drain("default").claimed == 0
        with override_settings(MIGRATION_KIT={"RELAY": "off", "LEASE_SECONDS": 0}):
            OutboxEntry.objects.using("default").update(next_attempt_at=timezone.now())
            assert drain("default").applied == 3
        assert differences("default", "mysql") == {}


@committing
@pytest.mark.parametrize("source", ["default", "mysql"])
def test_concurrent_drainers_share_the_work(source: str) -> None:
    """SKIP LOCKED claims: two drainers never apply the same entry, and together apply all."""
    target = "mysql" if source == "default" else "default"
    with mirrored(source, target):
        Author.objects.using(source).bulk_create([Author(name=f"a{i}") for i in range(400)])
        results: list[DrainResult] = []
        barrier = threading.Barrier(2)

        def worker() -> None:
            try:
                barrier.wait()
                results.append(drain_all([source], batch_size=25))
            finally:
                connections.close_all()

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert sum(r.claimed for r in results) == sum(r.applied for r in results) == 400
        assert all(r.claimed for r in results), "one drainer did all the work"
        assert pending(source) == 0
        assert differences(source, target) == {}


def test_entry_for_an_unknown_model_fails_with_its_error() -> None:
    with mirrored("default", "mysql"):
        OutboxEntry.objects.using("default").create(
            model_label="syncapp.Gone", object_pk=1, source_alias="default", target_alias="mysql"
        )
        result = drain("default")
        assert result.failed == 1 and "Gone" in result.errors[0]


def test_since_catches_up_without_an_outbox() -> None:
    with mirrored("default", "mysql", phase="legacy"):
        old = Author.objects.using("default").create(name="old")
        Author.objects.using("default").filter(pk=old.pk).update(
            updated_at=timezone.now() - datetime.timedelta(days=2)
        )
        since = timezone.now() - datetime.timedelta(hours=1)
        fresh = Author.objects.using("default").bulk_create(
            [Author(name=f"n{i}") for i in range(5)]
        )
        assert pending("default") == 0  # legacy: no outbox
        report = s2_sync(
            "syncapp.Author",
            since=since.isoformat(),
            source="default",
            target="mysql",
            batch_size=2,
        )
        [model] = report["models"]
        assert model["rows"] == 5
        assert set(Author.objects.using("mysql").values_list("pk", flat=True)) == {
            a.pk for a in fresh
        }
        highest = max(a.updated_at for a in Author.objects.using("default").filter(name="n4"))
        assert model["next_since"] == str(highest)


def test_since_defaults_to_the_routers_aliases() -> None:
    with mirrored("default", "mysql", phase="dual_write"):
        Author.objects.using("default").create(name="a")
        report = s2_sync("syncapp.Author", since="2000-01-01")
        assert report["models"][0]["target"] == "mysql"
        assert Author.objects.using("mysql").count() == 1


@pytest.mark.parametrize(
    ("args", "opts", "message"),
    [
        ((), {"since": "2020-01-01"}, "needs the models"),
        (("syncapp.Author",), {}, "only used with --since"),
        (("syncapp.Author",), {"since": "2020-01-01", "field": "name"}, "CharField"),
        (("syncapp.Author",), {"since": "2020-01-01", "field": "nope"}, "no field"),
        (("syncapp.Author",), {"since": "yesterday-ish"}, "yesterday-ish"),
        ((), {"database": ["nowhere"]}, "Unknown database alias"),
        ((), {"batch_size": 0}, "at least 1"),
    ],
)
def test_usage_errors_exit_2(args: tuple, opts: dict, message: str) -> None:
    with mirrored("default", "mysql"), pytest.raises(CommandError, match=message) as error:
        s2_sync(*args, **opts)
    assert error.value.returncode == 2


def test_apply_keys_is_idempotent_and_order_insensitive() -> None:
    authors = Author.objects.using("default").bulk_create([Author(name=f"a{i}") for i in range(5)])
    keys = [a.pk for a in authors]
    first = apply_keys(Author, keys, "default", "mysql")
    assert (first.keys, first.upserted, first.deleted) == (5, 5, 0)
    Author.objects.using("default").filter(pk=keys[0]).update(name="changed")
    Author.objects.using("default").filter(pk=keys[1]).delete()
    # Reversed, repeated, with a key that never existed anywhere.
    again = apply_keys(Author, [*reversed(keys), *keys, 10**9], "default", "mysql")
    assert (again.keys, again.upserted, again.deleted) == (6, 4, 1)
    assert apply_keys(Author, keys, "default", "mysql").deleted == 0
    assert differences("default", "mysql") == {}


def test_apply_keys_moves_a_postgresql_sequence_past_copied_keys() -> None:
    """PostgreSQL as the mirror (cutover) must not later hand out keys the primary used."""
    Tag.objects.using("mysql").create(id=5000, name="from the primary")
    apply_keys(Tag, [5000], "mysql", "default")
    assert Tag.objects.using("default").create(name="after rollback").pk > 5000


def test_apply_keys_refuses_one_alias_for_both_sides() -> None:
    with pytest.raises(ValueError, match="both"):
        apply_keys(Tag, [1], "default", "default")
