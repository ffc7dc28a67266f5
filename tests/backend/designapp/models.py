"""Models whose table design names foreign keys: what ``makemigrations`` must keep in
``CreateModel`` (tests/backend/test_makemigrations.py)."""

from django.db import models

from django_singlestore.design import ShardKey, SortKey, TableStorage, UnenforcedUniqueConstraint


class Region(models.Model):
    """A small lookup table; its unique code needs REFERENCE storage on SingleStore."""

    code = models.CharField(max_length=8, unique=True)

    class Meta:
        constraints = [TableStorage("REFERENCE")]

    def __str__(self) -> str:
        return self.code


class Account(models.Model):
    """REFERENCE with a unique email and a foreign key: created as a columnstore table sharded
    on ``id``, the CREATE would be refused (the unique email lacks the shard key)."""

    region = models.ForeignKey(Region, on_delete=models.DO_NOTHING, related_name="+")
    email = models.EmailField(unique=True)

    class Meta:
        constraints = [TableStorage("REFERENCE")]

    def __str__(self) -> str:
        return self.email


class Visit(models.Model):
    """Columnstore sharded on a foreign key, which must be part of the primary key; one visit
    per account and time, recorded but not enforced on SingleStore."""

    pk = models.CompositePrimaryKey("account", "id")
    account = models.ForeignKey(Account, on_delete=models.DO_NOTHING, related_name="visits")
    id = models.BigIntegerField()
    at = models.DateTimeField()

    class Meta:
        constraints = [
            TableStorage("COLUMNSTORE"),
            ShardKey("account"),
            SortKey("-at"),
            UnenforcedUniqueConstraint(fields=["account", "at"], name="designapp_visit_once"),
        ]

    def __str__(self) -> str:
        return f"visit {self.id} of account {self.account_id} at {self.at}"
