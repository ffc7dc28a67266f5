"""Models for dual-write tests: relations whose writes reach the database without ``save()``.

Cascaded and SET_NULL deletes, auto-created and explicit M2M through tables, multi-table
inheritance, and an ``updated_at`` field for ``s2_sync --since``.
"""

from django.db import models


class Author(models.Model):
    name = models.CharField(max_length=100)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    name = models.CharField(max_length=50)

    def __str__(self) -> str:
        return self.name


class Book(models.Model):
    """Cascades from its author, is SET_NULL'd by its editor, has an auto-created M2M table."""

    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="books")
    editor = models.ForeignKey(
        Author, on_delete=models.SET_NULL, null=True, blank=True, related_name="edited"
    )
    title = models.CharField(max_length=200)
    pages = models.IntegerField(default=0)
    tags = models.ManyToManyField(Tag, blank=True, related_name="books")

    def __str__(self) -> str:
        return self.title


class Review(models.Model):
    """Two cascade levels below ``Author``."""

    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="reviews")
    stars = models.IntegerField()

    def __str__(self) -> str:
        return f"{self.stars}★"


class Club(models.Model):
    name = models.CharField(max_length=100)
    members = models.ManyToManyField(Author, through="Membership", related_name="clubs")

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """An explicit M2M through model with its own column."""

    club = models.ForeignKey(Club, on_delete=models.CASCADE)
    author = models.ForeignKey(Author, on_delete=models.CASCADE)
    role = models.CharField(max_length=20, default="member")

    def __str__(self) -> str:
        return f"{self.author_id}@{self.club_id}"


class Place(models.Model):
    name = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.name


class Restaurant(Place):
    """Multi-table inheritance: one save writes two tables."""

    seats = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} ({self.seats})"
