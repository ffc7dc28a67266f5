"""Models for migration-kit tests: one per primary-key type, and every field type we convert.

Shared by the backfill/verify tests and the dual-write tests; keep the models general.
"""

import uuid

from django.db import models


class Everything(models.Model):
    """Integer primary key and one column of every field type the kit converts and digests."""

    name = models.CharField(max_length=100, blank=True)
    text = models.TextField(null=True, blank=True)  # noqa: DJ001 (NULL vs "" is tested)
    uid = models.UUIDField(null=True)
    data = models.JSONField(null=True)
    amount = models.DecimalField(max_digits=14, decimal_places=4, null=True)
    at = models.DateTimeField(null=True)
    day = models.DateField(null=True)
    clock = models.TimeField(null=True)
    flag = models.BooleanField(default=False)
    maybe = models.BooleanField(null=True)
    blob = models.BinaryField(null=True)
    ratio = models.FloatField(null=True)
    small = models.SmallIntegerField(null=True)
    big = models.BigIntegerField(null=True)
    span = models.DurationField(null=True)

    def __str__(self) -> str:
        return f"Everything {self.pk}"


class UuidKeyed(models.Model):
    """UUID primary key."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    label = models.CharField(max_length=50)
    payload = models.JSONField(null=True)

    def __str__(self) -> str:
        return self.label


class StrKeyed(models.Model):
    """String primary key (keys must not differ only by case: MySQL collations ignore it)."""

    code = models.CharField(max_length=64, primary_key=True)
    text = models.TextField(blank=True)
    at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return self.code


class Composite(models.Model):
    """Composite primary key (Django 5.2 ``CompositePrimaryKey``)."""

    pk = models.CompositePrimaryKey("tenant", "seq")
    tenant = models.IntegerField()
    seq = models.IntegerField()
    value = models.TextField(blank=True)
    amount = models.DecimalField(max_digits=10, decimal_places=2, null=True)

    def __str__(self) -> str:
        return f"{self.tenant}/{self.seq}"


class BenchRow(models.Model):
    """A typical analytic row, used by ``bench/backfill.py`` and ``bench/verify.py``."""

    account = models.IntegerField()
    kind = models.CharField(max_length=32)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    at = models.DateTimeField()
    done = models.BooleanField(default=False)
    note = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"BenchRow {self.pk}"


class StrKeyedChild(StrKeyed):
    """Multi-table inheritance, which the backfill and verify refuse."""

    extra = models.CharField(max_length=20, blank=True)


class DateKeyed(models.Model):
    """A date primary key (capture triggers write it as an ISO date whatever the DateStyle)."""

    day = models.DateField(primary_key=True)
    note = models.CharField(max_length=50, blank=True)

    def __str__(self) -> str:
        return self.day.isoformat()
