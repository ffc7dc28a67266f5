"""Planting broken rows of every relation kind, and a router that splits parents from children."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import connections

from tests.integrity.integrityapp.models import (
    Author,
    Book,
    Bookmark,
    Club,
    Comment,
    Membership,
    Novel,
    Profile,
    Review,
    Sku,
    Stock,
    Tag,
    Ticket,
)

MISSING = 10**9 + 7
PARENT_APPS = {"contenttypes", "auth"}
PARENT_MODELS = {"integrityapp.author", "integrityapp.tag", "integrityapp.club"}


class SplitRouter:
    """Parents (Author, Tag, Club, content types) on ``default``; every other test model on
    ``mysql``: each relation of the test app then crosses databases."""

    parent_alias = "default"
    child_alias = "mysql"

    def _alias(self, model: Any) -> str | None:
        if model._meta.app_label in PARENT_APPS or model._meta.label_lower in PARENT_MODELS:
            return self.parent_alias
        if model._meta.app_label == "integrityapp":
            return self.child_alias
        return None

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        return self._alias(model)

    db_for_write = db_for_read

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True

    def allow_migrate(
        self, db: str, app_label: str, model_name: str | None = None, **hints: Any
    ) -> bool | None:
        model = hints.get("model")
        if model is None:
            return None
        return db == self._alias(model)


@contextmanager
def unchecked(alias: str) -> Iterator[None]:
    """Let this connection write rows that break enforced foreign keys (PostgreSQL, MariaDB)."""
    connection = connections[alias]
    on, off = {
        "postgresql": (
            "SET session_replication_role = replica",
            "SET session_replication_role = origin",
        ),
        "mysql": ("SET FOREIGN_KEY_CHECKS = 0", "SET FOREIGN_KEY_CHECKS = 1"),
    }.get(connection.vendor, (None, None))
    if not connection.features.supports_foreign_keys or on is None:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(on)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(off)


def plant(child: str, parent: str | None = None) -> dict[str, list[Any]]:
    """Good and broken rows of every relation kind: children on ``child``, parents on ``parent``.

    Returns the expected broken primary keys per relation label. Each parent row also exists on
    the child's database when the two differ, except the ones that must be missing, and a
    decoy Author exists only on the child's database: a cross-database check must ignore it.
    """
    parent = parent or child
    authors = Author.objects.using(parent)
    good = authors.create(code="good")
    house = authors.create(code="house")
    tag = Tag.objects.using(parent).create(name="t")
    club = Club.objects.using(parent).create(name="c")
    author_ct = ContentType.objects.db_manager(parent).get_for_model(Author)
    tag_ct = ContentType.objects.db_manager(parent).get_for_model(Tag)
    stale_ct = ContentType.objects.using(parent).create(app_label="gone", model="thing")
    if child != parent:
        Author.objects.using(child).create(pk=MISSING + 1, code="decoy")
        for obj in (good, house, tag, club):
            obj.save(using=child, force_insert=True)

    books = Book.objects.using(child)
    ok = books.create(
        author=good,
        editor=good,
        publisher_id="good",
        backup=good,
        sponsor=good,
        proofreader=good,
        ghost=good,
    )
    books.create(author=None, editor=None, publisher=None, backup=None)  # NULLs are fine
    broken: dict[str, list[Any]] = {}

    def add(label: str, pk: Any) -> None:
        broken.setdefault(f"integrityapp.{label}", []).append(pk)

    by_author = books.create(author_id=MISSING)
    by_decoy = books.create(author_id=MISSING + 1)
    add("Book.author", by_author.pk)
    add("Book.author", by_decoy.pk)
    Review.objects.using(child).create(book=by_author)
    Review.objects.using(child).create(book=ok)
    add("Review.book", Review.objects.using(child).create(book_id=MISSING).pk)
    for field in ("editor", "backup", "sponsor", "proofreader", "ghost"):
        add(f"Book.{field}", books.create(**{f"{field}_id": MISSING}).pk)
    add("Book.publisher", books.create(publisher_id="nobody").pk)

    through = Book.tags.through.objects.using(child)
    ok_link = through.create(book=ok, tag=tag)
    through.create(book=by_author, tag=tag)
    with unchecked(child):
        add("Book_tags.tag", through.create(book=ok, tag_id=MISSING).pk)
        add("Book_tags.book", through.create(book_id=MISSING, tag=tag).pk)
    assert ok_link.pk

    Profile.objects.using(child).create(author=good)
    add("Profile.author", Profile.objects.using(child).create(author_id=MISSING).pk)
    memberships = Membership.objects.using(child)
    memberships.create(club=club, author=good)
    add("Membership.club", memberships.create(club_id=MISSING, author=good).pk)
    add("Membership.author", memberships.create(club=club, author_id=MISSING).pk)

    # Content type ids are the parent database's: on another database they may mean nothing.
    comments = Comment.objects.using(child)
    marks = Bookmark.objects.using(child)
    with unchecked(child):
        comments.create(content_type_id=author_ct.pk, object_id=good.pk)
        comments.create(content_type=None, object_id=None)
        add("Comment.target", comments.create(content_type_id=author_ct.pk, object_id=MISSING).pk)
        add("Comment.target", comments.create(content_type_id=stale_ct.pk, object_id=1).pk)
        lost = comments.create(content_type_id=MISSING, object_id=good.pk).pk
        add("Comment.target", lost)
        add("Comment.content_type", lost)
        marks.create(content_type_id=author_ct.pk, object_id=str(good.pk))
        marks.create(content_type_id=tag_ct.pk, object_id=str(tag.pk))
        add("Bookmark.target", marks.create(content_type_id=author_ct.pk, object_id="x1").pk)
        add("Bookmark.target", marks.create(content_type_id=tag_ct.pk, object_id=str(MISSING)).pk)

    skus = Sku.objects.using(child)
    for code in ("a", "b", "c", "d", "e"):
        skus.create(code=code, author=good)
    add("Sku.author", skus.create(code="bb", author_id=MISSING).pk)
    add("Sku.author", skus.create(code="z", author_id=MISSING).pk)
    Novel.objects.using(child).create(pages=1, author=good)
    novel_table = connections[child].ops.quote_name(Novel._meta.db_table)
    with unchecked(child), connections[child].cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {novel_table} (book_ptr_id, pages) VALUES (%s, %s)", (MISSING, 2)
        )
    add("Novel.book_ptr", MISSING)
    stock = Stock.objects.using(child)
    stock.create(shelf="s1", author=good)
    add("Stock.author", stock.create(shelf="s2", author_id=MISSING).pk)
    tickets = Ticket.objects.using(child)
    for _ in range(4):
        tickets.create(author=good)
    add("Ticket.author", tickets.create(author_id=MISSING).pk)
    return broken
