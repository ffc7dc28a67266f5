"""Every relation kind and every ``on_delete`` the integrity check knows, for its tests.

Most foreign keys use ``db_constraint=False``, as they would pointing across databases or on
SingleStore, so tests can plant broken rows with plain inserts; the few with constraints (the
many-to-many through tables, ``Comment.content_type``) are planted with constraint checks off.
"""

import uuid

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models

from django_singlestore.design import TableStorage


class Author(models.Model):
    """A parent; a REFERENCE table on SingleStore (its unique code needs no shard key there)."""

    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=50, blank=True)

    class Meta:
        constraints = [TableStorage("REFERENCE")]

    def __str__(self) -> str:
        return self.code


class Tag(models.Model):
    name = models.CharField(max_length=30)

    def __str__(self) -> str:
        return self.name


def house_author() -> Author:
    """``on_delete=SET(...)`` target: the house author, created on demand."""
    return Author.objects.get_or_create(code="house")[0]


class Book(models.Model):
    """A child with one foreign key per ``on_delete`` behaviour."""

    title = models.CharField(max_length=50, blank=True)
    author = models.ForeignKey(
        Author, models.CASCADE, null=True, db_constraint=False, related_name="books"
    )
    editor = models.ForeignKey(
        Author, models.SET_NULL, null=True, db_constraint=False, related_name="edited"
    )
    publisher = models.ForeignKey(
        Author,
        models.SET_DEFAULT,
        to_field="code",
        default="house",
        null=True,
        db_constraint=False,
        related_name="published",
    )
    backup = models.ForeignKey(
        Author, models.SET(house_author), null=True, db_constraint=False, related_name="backed"
    )
    sponsor = models.ForeignKey(
        Author, models.PROTECT, null=True, db_constraint=False, related_name="sponsored"
    )
    proofreader = models.ForeignKey(
        Author, models.RESTRICT, null=True, db_constraint=False, related_name="proofread"
    )
    ghost = models.ForeignKey(
        Author, models.DO_NOTHING, null=True, db_constraint=False, related_name="ghosted"
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="books")

    def __str__(self) -> str:
        return self.title


class Review(models.Model):
    """What cascades when a book is deleted."""

    book = models.ForeignKey(Book, models.CASCADE, db_constraint=False, related_name="reviews")

    def __str__(self) -> str:
        return f"review of {self.book_id}"


class Profile(models.Model):
    author = models.OneToOneField(Author, models.CASCADE, db_constraint=False)

    class Meta:
        constraints = [TableStorage("REFERENCE")]  # one-to-one: a unique key without shard key

    def __str__(self) -> str:
        return f"profile of {self.author_id}"


class Club(models.Model):
    name = models.CharField(max_length=30)
    members = models.ManyToManyField(Author, through="Membership", related_name="clubs")

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """An explicit many-to-many through table."""

    club = models.ForeignKey(Club, models.CASCADE, db_constraint=False)
    author = models.ForeignKey(Author, models.CASCADE, db_constraint=False)
    role = models.CharField(max_length=20, blank=True)

    def __str__(self) -> str:
        return f"{self.author_id} in {self.club_id}"


class Comment(models.Model):
    """A generic foreign key with an integer object id."""

    content_type = models.ForeignKey(ContentType, models.CASCADE, null=True)
    object_id = models.PositiveBigIntegerField(null=True)
    target = GenericForeignKey("content_type", "object_id")

    def __str__(self) -> str:
        return f"comment on {self.content_type_id}:{self.object_id}"


class Bookmark(models.Model):
    """A generic foreign key with a text object id (compared through the target's key type)."""

    content_type = models.ForeignKey(ContentType, models.CASCADE, db_constraint=False)
    object_id = models.CharField(max_length=40)
    target = GenericForeignKey("content_type", "object_id")

    def __str__(self) -> str:
        return f"bookmark of {self.content_type_id}:{self.object_id}"


class Sku(models.Model):
    """A string primary key: chunked by keyset, not by range."""

    code = models.CharField(max_length=20, primary_key=True)
    author = models.ForeignKey(Author, models.CASCADE, db_constraint=False)

    def __str__(self) -> str:
        return self.code


class Ticket(models.Model):
    """A UUID primary key."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    author = models.ForeignKey(Author, models.CASCADE, db_constraint=False)

    def __str__(self) -> str:
        return str(self.id)


class Novel(Book):
    """Multi-table inheritance: ``book_ptr`` is a one-to-one parent link."""

    pages = models.PositiveIntegerField(default=0)


class Stock(models.Model):
    """A composite primary key: checked in one statement, never fixed."""

    pk = models.CompositePrimaryKey("shelf", "author")
    shelf = models.CharField(max_length=10)
    author = models.ForeignKey(Author, models.CASCADE, db_constraint=False)
    count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.shelf}/{self.author_id}"
