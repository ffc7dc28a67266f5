"""The shop: customers stay on PostgreSQL; orders move to SingleStore phase by phase."""

from django.db import models
from django.utils import timezone

from django_singlestore.design import ShardKey, SortKey, TableStorage


class Customer(models.Model):
    """A customer, also mirrored to SingleStore as a reference table (S2ROUTER["REFERENCE"])."""

    name = models.CharField(max_length=200)
    email = models.EmailField(unique=True)
    country = models.ForeignKey("catalog.Country", on_delete=models.PROTECT)
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [TableStorage("REFERENCE")]

    def __str__(self) -> str:
        return self.email


class Order(models.Model):
    """An order: the model this project migrates from PostgreSQL to SingleStore.

    On SingleStore it is a columnstore table sharded on ``id`` and sorted by time, so recent
    orders are read from few segments. PostgreSQL ignores the three design entries.
    """

    class Status(models.TextChoices):
        NEW = "new"
        PAID = "paid"
        SHIPPED = "shipped"
        CANCELLED = "cancelled"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(max_length=10, choices=Status, default=Status.NEW)
    total = models.DecimalField(max_digits=10, decimal_places=2)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [TableStorage("COLUMNSTORE"), ShardKey("id"), SortKey("created_at")]

    def __str__(self) -> str:
        return f"order {self.pk} ({self.status})"
