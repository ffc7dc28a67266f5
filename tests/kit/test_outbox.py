"""Dual write through the outbox, PostgreSQL ⇄ MariaDB: every write path reaches the mirror.

The ``mysql`` alias stands in for SingleStore here (the code is target-agnostic); the same
scenarios run against the emulator in ``test_outbox_s2.py``.
"""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connections, transaction
from django.db.models.signals import post_save, pre_delete

from migration_kit.dualwrite.capture import enqueue_keys
from migration_kit.models import OutboxEntry
from s2router.phases import write_aliases
from tests.kit.syncapp.models import Author, Book, Tag
from tests.kit.syncapp.scenarios import SCENARIOS, Scenario
from tests.kit.syncapp.testing import differences, drain, mirrored, pending, run_scenario

# Most tests run inside one rolled-back transaction per database (fast); those that need real
# commits (autocommit behaviour, the relay after commit, DDL) ask for transaction=True.
pytestmark = pytest.mark.django_db(databases=["default", "mysql"])
committing = pytest.mark.django_db(transaction=True, databases=["default", "mysql"])

# (source, SingleStore stand-in, phase): the primary is the source before cutover, else the target.
PAIRS = [
    ("default", "mysql", "dual_write"),
    ("mysql", "default", "shadow"),
    ("default", "mysql", "cutover"),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__ for s in SCENARIOS])
@pytest.mark.parametrize(("source", "target", "phase"), PAIRS, ids=["pg-maria", "maria-pg", "cut"])
def test_write_path_reaches_mirror(scenario: Scenario, source: str, target: str, phase: str):
    run_scenario(scenario, source, target, phase)


@committing
def test_entry_commits_with_the_write_and_rolls_back_with_it() -> None:
    with mirrored("default", "mysql"):
        with pytest.raises(RuntimeError), transaction.atomic(using="default"):
            Author.objects.using("default").create(name="never")
            assert pending("default") == 1  # visible inside the writing transaction
            raise RuntimeError
        assert pending("default") == 0
        author = Author.objects.using("default").create(name="kept")
        [entry] = OutboxEntry.objects.using("default")
        assert (entry.model_label, entry.object_pk) == ("syncapp.Author", author.pk)
        assert (entry.source_alias, entry.target_alias) == ("default", "mysql")


@committing
def test_autocommit_save_is_made_atomic() -> None:
    """Outside atomic(), a failure after the INSERT (here a post_save receiver) must take the
    row and its entry back together; plain Django would have committed the row already."""

    def boom(**kwargs: object) -> None:
        raise RuntimeError("receiver failed")

    post_save.connect(boom, sender=Author)
    try:
        with mirrored("mysql", "default"), pytest.raises(RuntimeError):
            Author.objects.using("mysql").create(name="half")
    finally:
        post_save.disconnect(boom, sender=Author)
    assert not Author.objects.using("mysql").exists()
    assert pending("mysql") == 0


def test_writes_made_inside_another_write_are_recorded() -> None:
    """A post_save or pre_delete receiver that writes migrating rows is part of the same
    transaction; its writes need their own entries."""

    def tag_on_save(instance: Author, **kwargs: object) -> None:
        Tag.objects.using("default").create(name=f"saved {instance.name}")

    def untag_on_delete(instance: Author, **kwargs: object) -> None:
        Tag.objects.using("default").filter(name=f"saved {instance.name}").delete()

    post_save.connect(tag_on_save, sender=Author)
    pre_delete.connect(untag_on_delete, sender=Author)
    try:
        with mirrored("default", "mysql"):
            kept = Author.objects.using("default").create(name="kept")
            Author.objects.using("default").create(name="gone").delete()
            kept.name = "renamed"
            kept.save()
            labels = OutboxEntry.objects.using("default").values_list("model_label", flat=True)
            assert set(labels) == {"syncapp.Author", "syncapp.Tag"}
            assert Tag.objects.using("default").count() == 2
            drain("default")
            assert differences("default", "mysql") == {}
    finally:
        post_save.disconnect(tag_on_save, sender=Author)
        pre_delete.disconnect(untag_on_delete, sender=Author)


@committing
def test_failed_write_leaves_no_entry() -> None:
    with mirrored("default", "mysql"):
        author = Author.objects.using("default").create(name="a")
        drain("default")
        with pytest.raises(IntegrityError):
            Author.objects.using("default").create(id=author.id, name="dup")
        assert pending("default") == 0


@pytest.mark.parametrize("phase", ["legacy", "done"])
def test_nothing_recorded_without_a_mirror(phase: str) -> None:
    with mirrored("default", "mysql", phase=phase):
        primary, _ = write_aliases(Author)
        Author.objects.using(primary).create(name="a")
        Author.objects.using(primary).update(name="b")
        assert pending(primary) == 0


def test_writes_on_the_mirror_alias_are_not_recorded() -> None:
    """Only the primary's writes are mirrored; a write sent to the mirror itself is not echoed."""
    with mirrored("default", "mysql"):
        Author.objects.using("mysql").create(name="direct")
        assert pending("mysql") == pending("default") == 0


def test_models_outside_migrating_are_untouched() -> None:
    with mirrored("default", "mysql", apps_=("kitapp",)):
        Author.objects.using("default").create(name="a")
        assert pending("default") == 0


def test_enqueue_keys_covers_raw_sql() -> None:
    with mirrored("default", "mysql"):
        with transaction.atomic(using="default"):
            with connections["default"].cursor() as cursor:
                cursor.execute(
                    "INSERT INTO syncapp_tag (name) VALUES ('raw 1'), ('raw 2') RETURNING id"
                )
                keys = [row[0] for row in cursor.fetchall()]
            assert enqueue_keys(Tag, keys) == 2
        assert differences("default", "mysql")
        drain("default")
        assert differences("default", "mysql") == {}
        assert enqueue_keys(Tag, keys, using="mysql") == 0  # not the primary


@committing
@pytest.mark.parametrize("mode", ["thread", "inline"])
def test_relay_applies_after_commit(mode: str) -> None:
    from migration_kit.dualwrite.relay import relay

    with mirrored("default", "mysql", relay=mode):
        author = Author.objects.using("default").create(name="quick")
        Book.objects.using("default").create(author=author, title="t")
        assert relay.flush()
        assert differences("default", "mysql") == {}
        with transaction.atomic(using="default"):
            Author.objects.using("default").filter(pk=author.pk).update(name="quicker")
            assert relay.flush()
            # Not committed yet: the relay has nothing to apply.
            assert Author.objects.using("mysql").get().name == "quick"
        assert relay.flush()
        assert differences("default", "mysql") == {}
        assert pending("default") == 0


@committing
def test_relay_failure_leaves_entries_for_the_drainer() -> None:
    """The mirror refuses the row (its table is gone): the write succeeds, the entry stays."""
    with mirrored("default", "mysql", relay="inline"):
        with connections["mysql"].cursor() as cursor:
            cursor.execute("RENAME TABLE syncapp_tag TO syncapp_tag_away")
        try:
            Tag.objects.using("default").create(name="kept")
            assert pending("default") == 1
        finally:
            with connections["mysql"].cursor() as cursor:
                cursor.execute("RENAME TABLE syncapp_tag_away TO syncapp_tag")
        drain("default")
        assert differences("default", "mysql") == {}


@committing
def test_relay_lock_timeout_does_not_mark_the_mirror_down() -> None:
    """A lock wait timeout on the mirror leaves that key to the drainer; the next write still
    goes through the relay (only an unreachable mirror pauses it)."""
    import threading

    from django.test import override_settings

    with (
        mirrored("default", "mysql", relay="inline"),
        override_settings(MIGRATION_KIT={"RELAY": "inline", "MIRROR_DOWN_SECONDS": 60}),
    ):
        tag = Tag.objects.using("default").create(name="first")
        assert Tag.objects.using("mysql").get(pk=tag.pk).name == "first"
        held, release = threading.Event(), threading.Event()

        def hold_mirror_row() -> None:
            try:
                with transaction.atomic(using="mysql"):
                    list(Tag.objects.using("mysql").select_for_update().filter(pk=tag.pk))
                    held.set()
                    release.wait(10)
            finally:
                connections.close_all()

        holder = threading.Thread(target=hold_mirror_row)
        holder.start()
        try:
            assert held.wait(10)
            with connections["mysql"].cursor() as cursor:
                cursor.execute("SET SESSION innodb_lock_wait_timeout = 1")
            Tag.objects.using("default").filter(pk=tag.pk).update(name="while locked")
            assert pending("default") == 1
        finally:
            release.set()
            holder.join()
        Tag.objects.using("default").filter(pk=tag.pk).update(name="after")
        assert Tag.objects.using("mysql").get(pk=tag.pk).name == "after"
