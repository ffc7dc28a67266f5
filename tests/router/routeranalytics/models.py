"""Analytic models for router tests: the whole app is listed in ANALYTICS (SingleStore only)."""

from django.conf import settings
from django.db import models


class PageView(models.Model):
    """Columnstore fact table pointing at contrib and reference rows it cannot cascade from."""

    url = models.CharField(max_length=200)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.DO_NOTHING, null=True, db_constraint=False
    )
    country = models.ForeignKey(
        "routerapp.Country", models.DO_NOTHING, null=True, db_constraint=False
    )
    viewed_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.url


class Event(models.Model):
    """A second analytic model with no relations."""

    name = models.CharField(max_length=100)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return self.name
