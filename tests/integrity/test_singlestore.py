"""The integrity check on SingleStore (the emulator, or a real server with ``S2_TEST_URL``).

SingleStore enforces no foreign key, so every broken row is planted with plain inserts. The
cross-database case is the one the command exists for: children on SingleStore, their parents
and the content types on PostgreSQL.
"""

from __future__ import annotations

import json

import pytest
from django.test import override_settings

from migration_kit.integrity import check
from tests.integrity.integrityapp.models import Book, Review
from tests.integrity.planting import MISSING, SplitRouter, plant
from tests.integrity.test_check import ROUTER, assert_found, by_label
from tests.integrity.test_command import plant_books, run

pytestmark = pytest.mark.s2


@pytest.mark.django_db(databases=["default", "s2"])
@pytest.mark.parametrize("batch_size", [1_000_000, 2])
def test_same_database_on_singlestore(batch_size: int) -> None:
    broken = plant("s2")
    report = check(["integrityapp"], database="s2", batch_size=batch_size)
    assert_found(report, broken)
    results = by_label(report)
    assert results["integrityapp.Book.author"].strategy == "anti-join"
    assert results["integrityapp.Bookmark.target"].strategy == "lookup"
    assert results["integrityapp.Ticket.author"].sample == broken["integrityapp.Ticket.author"]


@pytest.mark.django_db(databases=["default", "s2"])
def test_singlestore_children_postgresql_parents_and_content_types() -> None:
    with override_settings(DATABASE_ROUTERS=[ROUTER]):
        SplitRouter.child_alias = "s2"
        try:
            broken = plant("s2", "default")
            report = check(["integrityapp"], batch_size=3)
        finally:
            SplitRouter.child_alias = "mysql"
    assert_found(report, broken)
    results = by_label(report)
    comment = results["integrityapp.Comment.target"]
    assert (comment.database, comment.target_database) == ("s2", "default")
    assert results["integrityapp.Comment.content_type"].strategy == "lookup"
    assert results["integrityapp.Book.author"].strategy == "lookup"


@pytest.mark.django_db(databases=["default", "s2"])
def test_fix_each_on_delete_on_singlestore() -> None:
    planted = plant_books("s2")
    rows = planted["rows"]
    code, out, _ = run("integrityapp.Book", "--fix", "--yes", "--batch-size", "2",
                       database="s2", format="json")  # fmt: skip
    assert code == 1
    document = json.loads(out)
    actions = {s["field"]: (s["action"], s["applied"]) for s in document["fix"]["steps"]}
    assert actions["author"] == (
        "delete",
        {"integrityapp.Book": 1, "integrityapp.Book_tags": 1, "integrityapp.Review": 1},
    )
    assert actions["editor"] == ("update", {"integrityapp.Book": 1})
    assert actions["publisher"] == ("update", {"integrityapp.Book": 1})
    assert actions["backup"][0] == "none"  # SET(house_author) names default's author: no row here
    assert {actions[f] for f in ("sponsor", "proofreader", "ghost")} == {("none", None)}
    books = Book.objects.using("s2")
    assert not books.filter(pk=rows["author"].pk).exists()
    assert Review.objects.using("s2").count() == 1
    assert books.get(pk=rows["editor"].pk).editor_id is None
    assert books.get(pk=rows["publisher"].pk).publisher_id == "house"
    assert books.get(pk=rows["sponsor"].pk).sponsor_id == MISSING
    assert document["after_fix"]["total"]["violations"] == 4
