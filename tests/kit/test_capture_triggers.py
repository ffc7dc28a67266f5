"""Capture triggers: the source database writes the outbox entries (PostgreSQL and MariaDB).

Every write path of the wrapper tests runs again with the triggers installed on the primary;
the triggers alone must record it (the wrappers stay out), raw SQL included. Trigger DDL
commits implicitly on MariaDB, so tests that install there commit for real.
"""

from __future__ import annotations

import datetime

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext, override_settings

from migration_kit.dualwrite import capture as outbox
from migration_kit.dualwrite import triggers
from migration_kit.dualwrite.relay import relay
from migration_kit.keys import decode_pk, encode_pk
from migration_kit.models import OutboxEntry
from s2router.phases import set_phase
from tests.kit.commands import json_result
from tests.kit.kitapp.models import Composite, DateKeyed, StrKeyed, UuidKeyed
from tests.kit.syncapp.models import Author, Book, Restaurant
from tests.kit.syncapp.scenarios import SCENARIOS, Scenario
from tests.kit.syncapp.testing import (
    capture_triggers,
    differences,
    drain,
    mirrored,
    pending,
    run_scenario,
)

pytestmark = pytest.mark.django_db(databases=["default", "mysql"])
committing = pytest.mark.django_db(transaction=True, databases=["default", "mysql"])


PAIRS = [
    pytest.param("default", "mysql", "dual_write", id="pg-maria"),
    pytest.param("mysql", "default", "shadow", id="maria-pg", marks=committing),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__ for s in SCENARIOS])
@pytest.mark.parametrize(("source", "target", "phase"), PAIRS)
def test_write_path_reaches_mirror(
    scenario: Scenario, source: str, target: str, phase: str, monkeypatch: pytest.MonkeyPatch
):
    with capture_triggers(source, target) as left:
        # Multi-table inheritance keeps the wrappers.
        assert sorted(left) == ["kitapp.StrKeyedChild", "syncapp.Restaurant"]
        record = outbox._record

        def only_for_the_uncapturable(model: type, *args: object, **kwargs: object) -> int:
            assert model._meta.label in left, f"the wrappers recorded {model._meta.label}"
            return record(model, *args, **kwargs)

        monkeypatch.setattr(outbox, "_record", only_for_the_uncapturable)
        run_scenario(scenario, source, target, phase)


@pytest.mark.parametrize(
    ("source", "target"), [("default", "mysql"), pytest.param("mysql", "default", marks=committing)]
)
def test_a_save_is_one_statement_and_its_entry_comes_from_the_trigger(source: str, target: str):
    router = {
        "SINGLESTORE": target,
        "MIGRATING": {"syncapp": {"source": source, "phase": "dual_write"}},
        "PHASE_CACHE_SECONDS": 60,
    }
    settings = override_settings(S2ROUTER=router, MIGRATION_KIT={"RELAY": "off"})
    with capture_triggers(source, target), settings:
        Author.objects.using(source).create(name="warm-up")  # phase and triggers now cached
        with CaptureQueriesContext(connections[source]) as queries:
            author = Author.objects.using(source).create(name="one round trip")
        assert len(queries) == 1, [q["sql"] for q in queries]
        entry = OutboxEntry.objects.using(source).latest("id")
        assert (entry.model_label, entry.object_pk) == ("syncapp.Author", author.pk)
        assert (entry.source_alias, entry.target_alias, entry.batch) == (source, target, "")


@pytest.mark.parametrize(
    ("source", "target"), [("default", "mysql"), pytest.param("mysql", "default", marks=committing)]
)
def test_raw_sql_is_captured(source: str, target: str) -> None:
    with capture_triggers(source, target), mirrored(source, target):
        authors = [Author.objects.using(source).create(name=f"a{i}") for i in range(3)]
        drain(source)
        table = connections[source].ops.quote_name(Author._meta.db_table)
        with connections[source].cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET name = 'raw'")
            cursor.execute(f"DELETE FROM {table} WHERE id = %s", [authors[0].pk])
        assert pending(source) == 4  # one entry per updated row, one for the deleted row
        drain(source)
        assert differences(source, target) == {}


@pytest.mark.parametrize(
    ("source", "target"), [("default", "mysql"), pytest.param("mysql", "default", marks=committing)]
)
def test_keys_encode_like_the_wrappers(source: str, target: str) -> None:
    """The trigger's JSON key decodes to the same Python key the wrappers record (dates in ISO
    form even when PostgreSQL's DateStyle would print them otherwise)."""
    with capture_triggers(source, target), mirrored(source, target):
        day = DateKeyed(day=datetime.date(2026, 11, 21), note="another program")
        if connections[source].vendor == "postgresql":
            # Another program's session, writing with its own DateStyle.
            with connections[source].cursor() as cursor:
                cursor.execute("SET DateStyle = 'SQL, DMY'")
                cursor.execute("INSERT INTO kitapp_datekeyed VALUES ('2026-11-21', %s)", [day.note])
                cursor.execute("RESET DateStyle")
        else:
            day.save(using=source)
        rows = [
            day,
            StrKeyed.objects.using(source).create(code="k'ey ü"),
            UuidKeyed.objects.using(source).create(label="u"),
            Composite.objects.using(source).create(tenant=7, seq=3, value="c"),
        ]
        for row in rows:
            entry = OutboxEntry.objects.using(source).get(model_label=row._meta.label)
            assert decode_pk(type(row), entry.object_pk) == row.pk
            assert entry.object_pk == encode_pk(type(row), row.pk)


@committing
@pytest.mark.parametrize(("source", "target"), [("default", "mysql"), ("mysql", "default")])
def test_applier_writes_into_a_source_with_triggers_are_not_echoed(source: str, target: str):
    """During cutover the source is the mirror: what the kit applies there must not come back
    as entries (applied to SingleStore they could overwrite a newer row)."""
    with capture_triggers(source, target), mirrored(source, target, phase="cutover"):
        book_author = Author.objects.using(target).create(name="on the primary")
        Book.objects.using(target).create(author=book_author, editor=book_author, title="t")
        assert pending(target) == 2
        drain(target)
        assert differences(target, source) == {}
        assert pending(source) == 0
        # The session the applier used is not left quiet. (The triggers stay here as they would
        # with phases declared in settings; s2_phase removes them on entering cutover.)
        Author.objects.using(source).create(name="stale writer on the source")
        assert pending(source) == 1


def test_an_apply_inside_an_enclosing_transaction_does_not_keep_the_triggers_quiet() -> None:
    """PostgreSQL's transaction-local flag would outlive the apply when the mirror's connection
    is already in a transaction (here the test's); the apply turns it off again."""
    with capture_triggers("default", "mysql"), mirrored("default", "mysql", phase="cutover"):
        Author.objects.using("mysql").create(name="on the primary")
        drain("mysql")
        assert pending("default") == 0
        Author.objects.using("default").create(name="stale writer on the source")
        assert pending("default") == 1


def test_relay_drains_what_the_triggers_wrote(django_capture_on_commit_callbacks) -> None:
    with capture_triggers("default", "mysql"), mirrored("default", "mysql", relay="inline"):
        with django_capture_on_commit_callbacks(using="default", execute=True) as callbacks:
            Author.objects.using("default").create(name="applied at once")
        assert len(callbacks) == 1  # the poke, nothing else
        assert pending("default") == 0
        assert differences("default", "mysql") == {}


@committing
def test_relay_thread_drains_what_the_triggers_wrote() -> None:
    with capture_triggers("default", "mysql"), mirrored("default", "mysql", relay="thread"):
        for i in range(20):
            Author.objects.using("default").create(name=f"thread {i}")
        assert relay.flush(30)
        assert pending("default") == 0
        assert differences("default", "mysql") == {}


def test_state_missing_installed_stale() -> None:
    assert triggers.state(Author, "default", "mysql") == "missing"
    triggers.install(Author, "default", "mysql")
    assert triggers.state(Author, "default", "mysql") == "installed"
    assert triggers.state(Author, "default", "s2") == "stale"  # entries name another mirror
    triggers.remove(Author, "default")
    assert triggers.state(Author, "default", "mysql") == "missing"


@committing
def test_state_on_mariadb() -> None:
    try:
        triggers.install(Author, "mysql", "default")
        assert triggers.state(Author, "mysql", "default") == "installed"
        assert triggers.install(Author, "mysql", "default") is False  # already there: no DDL
        with connections["mysql"].cursor() as cursor:
            cursor.execute(f"DROP TRIGGER {triggers._name(Author._meta.db_table, '_d')}")
        assert triggers.state(Author, "mysql", "default") == "stale"
        # Replaced in place (CREATE OR REPLACE): the two left never stop capturing.
        assert triggers.install(Author, "mysql", "default") is True
        assert triggers.state(Author, "mysql", "default") == "installed"
    finally:
        triggers.remove(Author, "mysql")
    assert triggers.state(Author, "mysql", "default") == "missing"


def test_what_cannot_be_captured() -> None:
    with pytest.raises(triggers.NotCapturable, match="multi-table inheritance"):
        triggers.plan(Restaurant, "default", "mysql")
    with pytest.raises(triggers.NotCapturable, match="cannot hold"):
        triggers.plan(Author, "default", "my'sql")


@pytest.mark.s2
@pytest.mark.django_db(databases=["default", "s2"])
def test_singlestore_has_no_triggers() -> None:
    with pytest.raises(triggers.NotCapturable, match="SingleStore has no triggers"):
        triggers.plan(Author, "s2", "default")


def test_writes_while_the_triggers_are_unknown_to_the_process_are_still_captured() -> None:
    """Installed behind this process's back (another process ran s2_capture): until its cache
    expires the wrappers capture too — duplicate entries, never a missing one."""
    with mirrored("default", "mysql"):
        Author.objects.using("default").create(name="cached: no triggers")
        triggers.install(Author, "default", "mysql")
        triggers._known[("default", "syncapp.Author")] = (float("inf"), False)
        try:
            Author.objects.using("default").create(name="both capture")
            assert pending("default") == 3
        finally:
            triggers.remove(Author, "default")
        drain("default")
        assert differences("default", "mysql") == {}


ROUTER = {
    "SINGLESTORE": "mysql",
    "MIGRATING": {"syncapp.Book": {"source": "default", "phase": "legacy"}},
    "PHASE_CACHE_SECONDS": 0,
}


@committing
def test_the_triggers_exist_while_the_source_is_the_primary() -> None:
    through = Book.tags.through

    def states() -> set[str]:
        return {triggers.state(m, "default", "mysql") for m in (Book, through)}

    with override_settings(S2ROUTER=ROUTER, MIGRATION_KIT={"RELAY": "off"}):
        set_phase("syncapp.Book", "dual_write")
        assert states() == {"installed"}
        set_phase("syncapp.Book", "shadow")
        assert states() == {"installed"}
        # SingleStore becomes the primary: a write reaching the source now must not be applied
        # over it, so the triggers go (after PHASE_CACHE_SECONDS).
        set_phase("syncapp.Book", "cutover", force=True)
        assert states() == {"missing"}
        set_phase("syncapp.Book", "shadow")  # rollback: the source is the primary again
        assert states() == {"installed"}
        set_phase("syncapp.Book", "legacy", force=True)
        assert states() == {"missing"}


def _command(*args: str) -> tuple[int, dict]:
    return json_result("s2_capture", *args)


def test_s2_capture_command() -> None:
    settings = {**ROUTER, "MIGRATING": {"syncapp.Book": {"source": "default", "phase": "shadow"}}}
    with override_settings(S2ROUTER=settings):
        code, report = _command("install", "syncapp.Book")
        assert code == 0
        states = {row["model"]: row["state"] for row in report["tables"]}
        assert states == {"syncapp.Book": "installed", "syncapp.Book_tags": "installed"}
        assert _command("status", "--target", "s2")[0] == 1  # baked for mysql: stale
        assert _command("remove")[0] == 2  # the source is the primary: refused without --force
        code, report = _command("remove", "--force")
        assert code == 0
        assert {row["state"] for row in report["tables"]} == {"missing"}
        code, report = _command("install", "syncapp.Book", "--database", "mysql")
        assert code == 2  # source and target are both 'mysql'
