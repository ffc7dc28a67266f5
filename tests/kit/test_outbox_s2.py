"""Dual write into SingleStore (the emulator, or ``S2_TEST_URL``): every write path, from
PostgreSQL and from MariaDB, and back out of SingleStore as the primary during ``cutover``."""

from __future__ import annotations

import pytest

from tests.kit.syncapp.models import Author, Tag
from tests.kit.syncapp.scenarios import SCENARIOS, Scenario
from tests.kit.syncapp.testing import differences, drain, mirrored, pending, run_scenario

pytestmark = [pytest.mark.s2, pytest.mark.django_db(databases=["default", "mysql", "s2"])]

PAIRS = [
    ("default", "s2", "dual_write"),
    ("mysql", "s2", "shadow"),
    ("default", "s2", "cutover"),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__ for s in SCENARIOS])
@pytest.mark.parametrize(("source", "target", "phase"), PAIRS, ids=["pg-s2", "maria-s2", "s2-pg"])
def test_write_path_reaches_mirror(scenario: Scenario, source: str, target: str, phase: str):
    run_scenario(scenario, source, target, phase)


def test_bulk_create_without_returned_keys_inserts_row_by_row() -> None:
    """SingleStore returns no keys from a multi-row INSERT: the kit learns each row's key."""
    with mirrored("default", "s2", phase="cutover"):
        tags = Tag.objects.using("s2").bulk_create([Tag(name=f"t{i}") for i in range(6)])
        assert all(tag.pk for tag in tags)
        assert pending("s2") == 6
        drain("s2")
        assert differences("s2", "default") == {}


def test_outbox_entry_lives_on_singlestore_during_cutover() -> None:
    with mirrored("mysql", "s2", phase="cutover"):
        Author.objects.using("s2").create(name="primary is s2")
        assert (pending("s2"), pending("mysql")) == (1, 0)
        drain("s2")
        assert Author.objects.using("mysql").get().name == "primary is s2"
