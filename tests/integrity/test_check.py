"""The integrity check on real PostgreSQL and MariaDB: same database and across the two."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

from migration_kit.integrity import Report, check, discover, select_models
from tests.integrity.planting import MISSING, plant

ROUTER = "tests.integrity.planting.SplitRouter"


def by_label(report: Report) -> dict[str, Any]:
    return {r.label: r for r in report.relations}


def assert_found(report: Report, broken: dict[str, list[Any]]) -> None:
    """Exactly the planted rows are reported, relation by relation."""
    for result in report.relations:
        expected = broken.get(result.label, [])
        assert result.violations == len(expected), result.label
        assert sorted(map(str, result.sample)) == sorted(map(str, expected)), result.label
    seen = {r.label for r in report.relations}
    assert set(broken) <= seen


def test_discovery_covers_every_relation_kind() -> None:
    relations = {
        (r.label, r.kind, r.target_label) for r in discover(select_models(["integrityapp"]))
    }
    expected = {
        ("integrityapp.Book.author", "fk", "integrityapp.Author.id"),
        ("integrityapp.Book.publisher", "fk", "integrityapp.Author.code"),
        ("integrityapp.Profile.author", "o2o", "integrityapp.Author.id"),
        ("integrityapp.Book_tags.book", "m2m", "integrityapp.Book.id"),
        ("integrityapp.Book_tags.tag", "m2m", "integrityapp.Tag.id"),
        ("integrityapp.Membership.club", "m2m", "integrityapp.Club.id"),
        ("integrityapp.Membership.author", "m2m", "integrityapp.Author.id"),
        ("integrityapp.Comment.target", "generic", "contenttypes.ContentType + object"),
        ("integrityapp.Comment.content_type", "fk", "contenttypes.ContentType.id"),
        ("integrityapp.Bookmark.target", "generic", "contenttypes.ContentType + object"),
        ("integrityapp.Novel.book_ptr", "o2o", "integrityapp.Book.id"),
        ("integrityapp.Stock.author", "fk", "integrityapp.Author.id"),
    }
    assert expected <= relations
    assert len(relations) == 21


def test_named_model_brings_its_through_table() -> None:
    labels = {m._meta.label for m in select_models(["integrityapp.book"])}
    assert labels == {"integrityapp.Book", "integrityapp.Book_tags"}


@pytest.mark.django_db(databases=["default", "mysql"])
@pytest.mark.parametrize("alias", ["default", "mysql"])
@pytest.mark.parametrize("batch_size", [1_000_000, 2])
def test_same_database_finds_every_planted_orphan(alias: str, batch_size: int) -> None:
    broken = plant(alias)
    report = check(["integrityapp"], database=alias, batch_size=batch_size, sample=10)
    assert_found(report, broken)
    results = by_label(report)
    assert results["integrityapp.Book.author"].strategy == "anti-join"
    assert results["integrityapp.Book.author"].rows_checked == 11
    assert results["integrityapp.Bookmark.target"].strategy == "lookup"
    assert results["integrityapp.Comment.target"].by_target == {
        "integrityapp.Author": 1,
        "gone.thing (not installed)": 1,
        "contenttypes.ContentType#1000000007 (missing)": 1,
    }
    assert report.violations == sum(len(v) for v in broken.values())
    assert not report.ok


@pytest.mark.django_db(databases=["default", "mysql"])
@pytest.mark.parametrize(("child", "parent"), [("mysql", "default"), ("default", "mysql")])
def test_cross_database_checks_against_the_parents_database(child: str, parent: str) -> None:
    with override_settings(DATABASE_ROUTERS=[ROUTER]):
        from tests.integrity.planting import SplitRouter

        SplitRouter.child_alias, SplitRouter.parent_alias = child, parent
        try:
            broken = plant(child, parent)
            report = check(["integrityapp"], batch_size=3)
        finally:
            SplitRouter.child_alias, SplitRouter.parent_alias = "mysql", "default"
    assert_found(report, broken)
    results = by_label(report)
    author = results["integrityapp.Book.author"]
    assert (author.database, author.target_database, author.strategy) == (child, parent, "lookup")
    # Book_tags.book points at Book, which lives with its through table: same database.
    assert results["integrityapp.Book_tags.book"].strategy == "anti-join"


@pytest.mark.django_db(databases=["default"])
def test_clean_database_reports_zero() -> None:
    report = check(["integrityapp"], database="default")
    assert report.ok
    assert report.violations == 0
    assert len(report.relations) == 21


@pytest.mark.django_db(databases=["default"])
def test_sample_is_capped_sorted_and_real() -> None:
    from tests.integrity.integrityapp.models import Book

    pks = [Book.objects.create(author_id=10**9 + n).pk for n in range(7)]
    result = by_label(check(["integrityapp.Book"], database="default", sample=3, batch_size=2))[
        "integrityapp.Book.author"
    ]
    assert result.violations == 7
    assert len(result.sample) == 3
    assert result.sample == sorted(result.sample)
    assert set(result.sample) <= set(pks)


@pytest.mark.django_db(databases=["default"])
@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        (["integrityapp.Book.editor"], ["integrityapp.Book.editor"]),
        (["integrityapp.Book.tags"], ["integrityapp.Book_tags.book", "integrityapp.Book_tags.tag"]),
        (["integrityapp.Comment.target"], ["integrityapp.Comment.target"]),
        (
            ["integrityapp.Review", "integrityapp.Profile.author"],
            ["integrityapp.Review.book", "integrityapp.Profile.author"],
        ),
    ],
)
def test_field_labels_select_single_relations(labels: list[str], expected: list[str]) -> None:
    assert [r.label for r in check(labels, database="default").relations] == expected


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (["integrityapp.Book.title"], "integrityapp.Book.title is not a relation"),
        (["integrityapp.Book.nope"], "integrityapp.Book has no field 'nope'"),
        (["integrityapp.Club.members"], "goes through integrityapp.Membership"),
        (["a.b.c.d"], "is not app_label, app_label.Model or app_label.Model.field"),
    ],
)
def test_bad_field_labels_are_config_errors(labels: list[str], message: str) -> None:
    from migration_kit.integrity import IntegrityConfigError

    with pytest.raises(IntegrityConfigError, match=message):
        check(labels, database="default")


@pytest.mark.django_db(databases=["default"])
def test_gaps_in_integer_keys_cost_no_empty_chunks() -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.integrity.integrityapp.models import Review

    for pk in (1, 2, 10**12, 10**12 + 1, 2 * 10**12):
        Review.objects.create(pk=pk, book_id=MISSING)
    with CaptureQueriesContext(connection) as queries:
        result = check(["integrityapp.Review"], database="default", batch_size=2).relations[0]
    assert (result.rows_checked, result.violations) == (5, 5)
    # MIN/MAX, then per chunk (3 of them): the count (on PostgreSQL two statements: the chunk's
    # rows, then the anti-join, which also returns the first broken key), one sample step when
    # the chunk has a second broken row (its read and parent lookup), and the next MIN.
    assert len(queries) == 1 + 3 * 3 + 2 * 2


@pytest.mark.django_db(databases=["default", "mysql"])
def test_cross_database_lookup_respects_the_targets_collation() -> None:
    """MariaDB compares 'GOOD' = 'good' (as Django's own queries there would): not broken."""
    from tests.integrity.integrityapp.models import Author, Book
    from tests.integrity.planting import SplitRouter

    with override_settings(DATABASE_ROUTERS=[ROUTER]):
        SplitRouter.child_alias, SplitRouter.parent_alias = "default", "mysql"
        try:
            Author.objects.using("mysql").create(code="good")
            Author.objects.using("mysql").create(code="house")
            Book.objects.using("default").create(publisher_id="GOOD")
            broken = Book.objects.using("default").create(publisher_id="nobody")
            result = check(["integrityapp.Book.publisher"]).relations[0]
        finally:
            SplitRouter.child_alias, SplitRouter.parent_alias = "mysql", "default"
    assert (result.strategy, result.violations, result.sample) == ("lookup", 1, [broken.pk])


@pytest.mark.django_db(databases=["default", "mysql"])
@pytest.mark.parametrize("alias", ["default", "mysql"])
def test_sample_reads_on_from_the_first_broken_row(alias: str) -> None:
    from tests.integrity.integrityapp.models import Book, Review

    book = Book.objects.using(alias).create()
    base = 10**6
    broken = []
    for n in range(60):
        review = Review.objects.using(alias).create(
            pk=base + n * 7, book_id=MISSING if n % 5 == 2 else book.pk
        )
        if n % 5 == 2:
            broken.append(review.pk)
    result = check(["integrityapp.Review"], database=alias, sample=5).relations[0]
    assert (result.rows_checked, result.violations) == (60, 12)
    assert len(result.sample) == 5
    assert set(result.sample) <= set(broken)
    assert result.sample[0] == broken[0]
