"""Models for the backend tests: one per table-design feature."""

from django.db import models
from django.db.models import F
from django.db.models.functions import Lower

from django_singlestore.design import ShardKey, SortKey, TableStorage, UnenforcedUniqueConstraint
from django_singlestore.schema import ModelStorageManager


class Tag(models.Model):
    """A small lookup table: REFERENCE, so its unique name needs no shard key."""

    name = models.CharField(max_length=50, unique=True)

    class Meta:
        constraints = [TableStorage("REFERENCE")]

    def __str__(self) -> str:
        return self.name


class Article(models.Model):
    """Default columnstore table sharded by its AutoField (BIGINT) with an auto-created M2M."""

    title = models.CharField(max_length=100)
    body = models.TextField(blank=True)
    published = models.DateTimeField(null=True)
    tags = models.ManyToManyField(Tag, related_name="articles")

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.title


class Event(models.Model):
    """An analytic table: sharded on tenant, sorted newest first, with a JSON payload.

    The primary key contains the shard key, as SingleStore requires.
    """

    pk = models.CompositePrimaryKey("tenant_id", "id")
    tenant_id = models.IntegerField()
    id = models.BigIntegerField()
    kind = models.CharField(max_length=30)
    created = models.DateTimeField()
    amount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    payload = models.JSONField(default=dict)

    class Meta:
        constraints = [ShardKey("tenant_id"), SortKey("-created")]

    def __str__(self) -> str:
        return self.kind


class Reading(models.Model):
    """A composite primary key: it is also the default shard key."""

    pk = models.CompositePrimaryKey("sensor", "taken")
    sensor = models.IntegerField()
    taken = models.DateTimeField()
    value = models.FloatField()

    def __str__(self) -> str:
        return f"{self.pk}"


class Account(models.Model):
    """db_default, db_comment and a computed (GeneratedField) column."""

    name = models.CharField(max_length=60, db_comment="display name")
    balance = models.IntegerField(db_default=0)
    doubled = models.GeneratedField(
        expression=F("balance") * 2, output_field=models.BigIntegerField(), db_persist=True
    )
    lowered = models.GeneratedField(
        expression=Lower("name"), output_field=models.CharField(max_length=60), db_persist=True
    )

    class Meta:
        db_table_comment = "accounts for backend tests"

    def __str__(self) -> str:
        return self.name


class Profile(models.Model):
    """A unique e-mail on a sharded columnstore table: recorded, not enforced, by SingleStore."""

    email = models.CharField(max_length=100)
    nickname = models.CharField(max_length=30)

    class Meta:
        constraints = [UnenforcedUniqueConstraint(fields=["email"], name="profile_email_uniq")]

    def __str__(self) -> str:
        return self.email


class LegacyItem(models.Model):
    """Upstream's spelling of the storage type."""

    code = models.CharField(max_length=20, unique=True)

    objects = ModelStorageManager(table_storage_type="ROWSTORE REFERENCE")

    def __str__(self) -> str:
        return self.code


class Doc(models.Model):
    """JSON documents, also created on PostgreSQL to prove its JSON SQL is untouched."""

    data = models.JSONField(null=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.pk}"
