"""A small dimension table every database can join against."""

from django.db import models

from django_singlestore.design import TableStorage


class Country(models.Model):
    """An ISO 3166 country. On SingleStore a REFERENCE table: a full copy on every node, so
    joins from sharded tables never move data (s2router mirrors it from PostgreSQL)."""

    code = models.CharField(max_length=2, primary_key=True)
    name = models.CharField(max_length=100, unique=True)

    class Meta:
        verbose_name_plural = "countries"
        constraints = [TableStorage("REFERENCE")]

    def __str__(self) -> str:
        return self.name
