"""Source-side models for router tests: a migrating model, a reference model, an unlisted one."""

from django.db import models

from django_singlestore.design import TableStorage
from s2router.shadow import ShadowReadManager


class Country(models.Model):
    """A small dimension table: listed in REFERENCE (source ``default``, copy on SingleStore)."""

    code = models.CharField(max_length=2)
    name = models.CharField(max_length=100)

    class Meta:
        constraints = [TableStorage("REFERENCE")]

    def __str__(self) -> str:
        return self.code


class Order(models.Model):
    """Listed in MIGRATING: moves from its source to SingleStore phase by phase."""

    number = models.CharField(max_length=20)
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    country = models.ForeignKey(Country, models.PROTECT, null=True, blank=True)

    objects = ShadowReadManager()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.number


class Customer(models.Model):
    """Not listed anywhere: the router must leave it to Django (None)."""

    name = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.name


class TenantNote(models.Model):
    """A row per tenant database, read back by the tenancy isolation tests."""

    tenant = models.CharField(max_length=60)
    body = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return self.tenant
