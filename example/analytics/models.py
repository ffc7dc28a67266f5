"""Analytics: append-mostly, large, scanned by time — SingleStore columnstore tables.

Each model declares its table design in ``Meta.constraints`` (recorded in migrations): a
COLUMNSTORE table, the shard key that spreads rows over partitions (every unique key, the
primary key included, must contain it), and the sort key that orders each segment.
"""

from django.db import models

from django_singlestore.design import ShardKey, SortKey, TableStorage


class PageView(models.Model):
    """One page view; lives only on SingleStore (S2ROUTER["ANALYTICS"])."""

    customer = models.ForeignKey(
        "shop.Customer", null=True, on_delete=models.DO_NOTHING, related_name="+"
    )
    country = models.ForeignKey(
        "catalog.Country", null=True, on_delete=models.DO_NOTHING, related_name="+"
    )
    path = models.CharField(max_length=200)
    viewed_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [TableStorage("COLUMNSTORE"), ShardKey("id"), SortKey("viewed_at")]

    def __str__(self) -> str:
        return f"{self.path} at {self.viewed_at}"


class Event(models.Model):
    """Something a visitor did on a page. SingleStore enforces no foreign keys, so orphans are
    possible; ``manage.py s2_check_integrity`` finds them from this ForeignKey."""

    page_view = models.ForeignKey(PageView, on_delete=models.CASCADE, related_name="events")
    name = models.CharField(max_length=50)
    properties = models.JSONField(default=dict)
    occurred_at = models.DateTimeField()

    class Meta:
        constraints = [TableStorage("COLUMNSTORE"), ShardKey("id"), SortKey("occurred_at")]

    def __str__(self) -> str:
        return f"{self.name} at {self.occurred_at}"


class LegacyEvent(models.Model):
    """The old MySQL ``legacy_events`` table, imported into SingleStore with the migration kit
    (S2ROUTER["MIGRATING"], source ``mysql``)."""

    kind = models.CharField(max_length=50)
    path = models.CharField(max_length=200)
    customer_ref = models.BigIntegerField(null=True)
    payload = models.JSONField(default=dict)
    occurred_at = models.DateTimeField()

    class Meta:
        db_table = "legacy_events"
        constraints = [TableStorage("COLUMNSTORE"), ShardKey("id"), SortKey("occurred_at")]

    def __str__(self) -> str:
        return f"{self.kind} at {self.occurred_at}"
