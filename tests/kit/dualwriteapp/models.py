"""A user-shaped table for the dual-write latency tests and ``bench/dual_write.py``.

``Order`` has the columns of the order tables users migrate (issue 13): a big auto key, a big
integer, a decimal, non-ASCII text, a timestamp, a boolean and a JSON document, some nullable.
"""

from django.db import models


class Order(models.Model):
    """An order row as applications write it: every common field kind, nulls allowed."""

    id = models.BigAutoField(primary_key=True)
    customer_id = models.BigIntegerField(db_index=True)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    note = models.TextField(blank=True)
    placed_at = models.DateTimeField()
    paid = models.BooleanField(default=False)
    attrs = models.JSONField(null=True)
    shipped_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"Order {self.pk}"
