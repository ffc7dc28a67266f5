"""Every write path the outbox must capture, as two-step scenarios.

Each scenario is a generator taking the primary alias: the code before ``yield`` creates the
starting rows, the code after it is the write path under test. The runner mirrors the first
part, then checks the second leaves outbox entries, a mirror that differs, and — after a
drain — a mirror equal to the primary.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Callable, Iterator

import pytest
from django.db import connections, transaction
from django.db.models import Count, Q

from tests.kit.kitapp.models import Composite, Everything, StrKeyed, UuidKeyed
from tests.kit.rows import everything_rows, keyed_rows
from tests.kit.syncapp.models import Author, Book, Club, Membership, Place, Restaurant, Review, Tag

Scenario = Callable[[str], Iterator[None]]
SCENARIOS: list[Scenario] = []


def scenario(fn: Scenario) -> Scenario:
    SCENARIOS.append(fn)
    return fn


def library(db: str) -> tuple[list[Author], list[Book], list[Tag]]:
    """Authors with books, reviews, tags and an editor: the starting rows of most scenarios."""
    authors = [Author.objects.using(db).create(name=f"author {i}") for i in range(3)]
    tags = Tag.objects.using(db).bulk_create([Tag(name=f"tag {i}") for i in range(4)])
    books = []
    for i, author in enumerate(authors):
        for j in range(2):
            book = Book.objects.using(db).create(
                author=author, editor=authors[(i + 1) % 3], title=f"b{i}{j}", pages=10 * j
            )
            book.tags.add(*tags[j : j + 2])
            Review.objects.using(db).create(book=book, stars=j + 3)
            books.append(book)
    return authors, books, tags


@scenario
def save_create_and_update(db: str) -> Iterator[None]:
    authors, _, _ = library(db)
    yield
    authors[0].name = "renamed"
    authors[0].save()
    authors[1].name = "partly"
    authors[1].save(update_fields=["name"])
    Author.objects.using(db).create(name="new")
    Author(name="plain save").save(using=db)


@scenario
def get_or_create_and_update_or_create(db: str) -> Iterator[None]:
    library(db)
    yield
    Author.objects.using(db).get_or_create(name="author 0")
    Author.objects.using(db).get_or_create(name="fresh")
    Author.objects.using(db).update_or_create(name="author 1", defaults={"name": "updated"})
    Author.objects.using(db).update_or_create(name="brand new", defaults={"name": "created"})


@scenario
def delete_instance(db: str) -> Iterator[None]:
    _, books, tags = library(db)
    yield
    books[0].reviews.get().delete()
    tags[3].delete()


@scenario
def bulk_create_generated_keys(db: str) -> Iterator[None]:
    library(db)
    yield
    Author.objects.using(db).bulk_create([Author(name=f"bulk {i}") for i in range(25)])
    Tag.objects.using(db).bulk_create([Tag(name=f"t{i}") for i in range(5)], batch_size=2)


@scenario
def bulk_create_explicit_keys(db: str) -> Iterator[None]:
    yield
    for model, rows in keyed_rows().items():
        model.objects.using(db).bulk_create(rows)
    Author.objects.using(db).bulk_create([Author(id=1000 + i, name=f"k{i}") for i in range(3)])


@scenario
def bulk_create_on_conflict(db: str) -> Iterator[None]:
    StrKeyed.objects.using(db).bulk_create([StrKeyed(code=f"c{i}", text="old") for i in range(5)])
    yield
    StrKeyed.objects.using(db).bulk_create(
        [StrKeyed(code=f"c{i}", text="ignored") for i in range(3, 8)], ignore_conflicts=True
    )
    # MySQL-family servers cannot name the conflict target; the primary key decides there.
    target = ["code"] if connections[db].features.supports_update_conflicts_with_target else None
    StrKeyed.objects.using(db).bulk_create(
        [StrKeyed(code=f"c{i}", text="upserted") for i in range(0, 10, 2)],
        update_conflicts=True,
        unique_fields=target,
        update_fields=["text"],
    )


@scenario
def bulk_update(db: str) -> Iterator[None]:
    authors, books, _ = library(db)
    yield
    for book in books:
        book.pages += 7
        book.title = book.title.upper()
    Book.objects.using(db).bulk_update(books, ["pages", "title"], batch_size=2)
    for author in authors:
        author.name += "!"
    Author.objects.using(db).bulk_update(authors, ["name"])


@scenario
def queryset_update(db: str) -> Iterator[None]:
    library(db)
    yield
    # The filter matches on the column being changed: keys must be read before the UPDATE.
    Book.objects.using(db).filter(pages=0).update(pages=99)
    Author.objects.using(db).filter(name__endswith="1").update(name="one")
    # Across a nullable relation (an outer join) and over an aggregate.
    Book.objects.using(db).filter(Q(editor__name="one") | Q(editor__isnull=True)).update(pages=5)
    Author.objects.using(db).annotate(n=Count("books")).filter(n__gte=2).update(name="prolific")


@scenario
def queryset_delete(db: str) -> Iterator[None]:
    library(db)
    yield
    Review.objects.using(db).filter(stars=3).delete()
    Tag.objects.using(db).filter(name="tag 0").delete()


@scenario
def m2m_add_remove_clear_set(db: str) -> Iterator[None]:
    _, books, tags = library(db)
    yield
    books[0].tags.add(tags[3])
    books[1].tags.remove(tags[1])
    books[2].tags.clear()
    books[3].tags.set([tags[0], tags[3]])
    tags[2].books.add(books[5])
    tags[0].books.remove(books[3])


@scenario
def m2m_explicit_through(db: str) -> Iterator[None]:
    authors, _, _ = library(db)
    club = Club.objects.using(db).create(name="club")
    club.members.add(authors[0], through_defaults={"role": "founder"})
    yield
    club.members.add(authors[1], authors[2])
    Membership.objects.using(db).filter(author=authors[0]).update(role="chair")
    club.members.remove(authors[1])
    Club.objects.using(db).create(name="other").members.set([authors[2]])


@scenario
def reverse_foreign_key_managers(db: str) -> Iterator[None]:
    authors, books, _ = library(db)
    yield
    authors[2].books.add(books[0])  # UPDATE book SET author = … (bulk)
    authors[0].edited.clear()  # SET editor = NULL on every book they edit
    authors[1].books.create(title="via manager")


@scenario
def cascaded_delete(db: str) -> Iterator[None]:
    authors, _, _ = library(db)
    Club.objects.using(db).create(name="c").members.add(*authors)
    yield
    # Books and reviews cascade, book-tag rows are fast-deleted, other books lose their editor.
    authors[0].delete()
    Author.objects.using(db).filter(name="author 1").delete()


@scenario
def multi_table_inheritance(db: str) -> Iterator[None]:
    Restaurant.objects.using(db).create(name="first", seats=10)
    Restaurant.objects.using(db).create(name="second", seats=20)
    Place.objects.using(db).create(name="just a place")
    yield
    r = Restaurant.objects.using(db).get(name="first")
    r.name, r.seats = "first!", 11
    r.save()
    Restaurant.objects.using(db).create(name="third", seats=30)
    Restaurant.objects.using(db).get(name="second").delete()
    Restaurant.objects.using(db).filter(seats=11).update(seats=12)


@scenario
def every_field_type(db: str) -> Iterator[None]:
    Everything.objects.using(db).bulk_create(everything_rows(24))
    yield
    rows = list(Everything.objects.using(db).order_by("id"))
    for row in rows[::3]:
        row.amount = decimal.Decimal("-12.3456")
        row.data = {"edited": [True, None]}
        row.at = datetime.datetime(2031, 5, 6, 7, 8, 9, 123456, tzinfo=datetime.UTC)
        row.save()
    Everything.objects.using(db).filter(id__in=[r.id for r in rows[1::5]]).delete()
    Everything.objects.using(db).create(name="late", uid=uuid.uuid4(), blob=b"\x00\xff")


@scenario
def every_key_type(db: str) -> Iterator[None]:
    for model, rows in keyed_rows().items():
        model.objects.using(db).bulk_create(rows[:10])
    yield
    UuidKeyed.objects.using(db).create(label="new", payload=[1])
    first = UuidKeyed.objects.using(db).order_by("id").first()
    first.label = "changed"
    first.save()
    StrKeyed.objects.using(db).filter(code__startswith="k00").update(text="edited")
    StrKeyed.objects.using(db).create(code="zz-top", text="x")
    Composite.objects.using(db).filter(tenant=1, seq=2).delete()
    Composite.objects.using(db).create(tenant=9, seq=1, value="new")
    c = Composite.objects.using(db).get(tenant=1, seq=3)
    c.value = "edited"
    c.save()


@scenario
def nested_transaction(db: str) -> Iterator[None]:
    library(db)
    yield
    if not connections[db].features.uses_savepoints:
        pytest.skip(f"{db!r} has no savepoints (SingleStore): nothing inner to roll back")
    with transaction.atomic(using=db):
        Author.objects.using(db).create(name="outer")
        try:
            with transaction.atomic(using=db):
                Author.objects.using(db).create(name="rolled back")
                raise RuntimeError("inner block fails")
        except RuntimeError:
            pass
        Tag.objects.using(db).create(name="kept")
