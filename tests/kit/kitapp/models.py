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


class CommaList(models.Field):
    """A list of integers stored as ``"1,2,3"``: a custom field the backfill's fast path cannot
    render."""

    description = "comma-separated integers"

    def get_internal_type(self) -> str:
        return "CommaList"

    def db_type(self, connection) -> str:
        return "text" if connection.vendor == "postgresql" else "longtext"

    def from_db_value(self, value, expression, connection) -> list[int] | None:
        return None if value is None else [int(v) for v in value.split(",") if v]

    def to_python(self, value) -> list[int] | None:
        if value is None or isinstance(value, list):
            return value
        return [int(v) for v in str(value).split(",") if v]

    def get_prep_value(self, value) -> str | None:
        return None if value is None else ",".join(str(int(v)) for v in value)


class AllFields(models.Model):
    """One column of every concrete field type Django ships (ImageField stores what FileField
    does and needs Pillow), plus a generated column and a foreign key: the backfill's fast-path
    tests."""

    small = models.SmallIntegerField(null=True)
    integer = models.IntegerField(null=True)
    big = models.BigIntegerField(null=True)
    pos_small = models.PositiveSmallIntegerField(null=True)
    pos = models.PositiveIntegerField(null=True)
    pos_big = models.PositiveBigIntegerField(null=True)
    amount = models.DecimalField(max_digits=20, decimal_places=6, null=True)
    ratio = models.FloatField(null=True)
    flag = models.BooleanField(default=False)
    maybe = models.BooleanField(null=True)
    name = models.CharField(max_length=200, blank=True)
    text = models.TextField(null=True)  # noqa: DJ001 (NULL vs "" is tested)
    slug = models.SlugField(max_length=100, blank=True)
    email = models.EmailField(blank=True)
    url = models.URLField(max_length=300, blank=True)
    upload = models.FileField(upload_to="up/", max_length=200, blank=True)
    path = models.FilePathField(path="/tmp", max_length=200, blank=True)
    day = models.DateField(null=True)
    clock = models.TimeField(null=True)
    at = models.DateTimeField(null=True)
    span = models.DurationField(null=True)
    uid = models.UUIDField(null=True)
    data = models.JSONField(null=True)
    blob = models.BinaryField(null=True)
    ip = models.GenericIPAddressField(null=True)
    ipv6 = models.GenericIPAddressField(protocol="IPv6", null=True)
    parent = models.ForeignKey(
        Everything, null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    doubled = models.GeneratedField(
        expression=models.F("pos_small") * 2, output_field=models.BigIntegerField(), db_persist=True
    )

    def __str__(self) -> str:
        return f"AllFields {self.pk}"


class CustomColumn(models.Model):
    """A model with one custom field (``CommaList``) among common ones: per-column fallback."""

    name = models.CharField(max_length=50)
    at = models.DateTimeField()
    ratio = models.FloatField(null=True)
    numbers = CommaList(null=True)

    def __str__(self) -> str:
        return self.name


class BenchWide(models.Model):
    """The wide benchmark row: every common field, NULLs, non-ASCII text, JSON, a datetime."""

    account = models.BigIntegerField()
    kind = models.CharField(max_length=32)
    title = models.CharField(max_length=200)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    ratio = models.FloatField(null=True)
    created = models.DateTimeField()
    day = models.DateField(null=True)
    active = models.BooleanField(default=True)
    note = models.TextField(null=True)  # noqa: DJ001 (NULL vs "" is realistic)
    ref = models.UUIDField(null=True)
    data = models.JSONField(null=True)
    ip = models.GenericIPAddressField(null=True)

    def __str__(self) -> str:
        return self.title
