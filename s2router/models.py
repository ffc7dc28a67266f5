"""s2router's own tables on ``PHASE_DATABASE``: run-time phase overrides, shadow-read counters.

Both live only on ``PHASE_DATABASE`` (usually PostgreSQL or MySQL, where the design entries are
ignored). When ``PHASE_DATABASE`` is the SingleStore alias they are ROWSTORE REFERENCE tables:
each is unique on its label (enforced, because the writers rely on it), a sharded table cannot
hold that key beside its id, and both are tiny tables that every process reads whole. On a
child aggregator, writes to a reference table inside a transaction fail (2549): set the alias's
``OPTIONS["child_aggregator"]`` there (docs/backend.md).
"""

from django.db import models

from django_singlestore.design import TableStorage
from s2router.phases import Phase


class ModelPhase(models.Model):
    """The current phase of one migrating model; a row here overrides ``S2ROUTER['MIGRATING']``."""

    label = models.CharField(max_length=200, unique=True, help_text="app_label.modelname")
    phase = models.CharField(max_length=20, choices=[(p.value, p.value) for p in Phase])
    previous_phase = models.CharField(max_length=20, blank=True)
    note = models.CharField(max_length=500, blank=True)
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "model phase"
        ordering = ["label"]
        # Unique label (``set_phase`` does get_or_create + select_for_update on it) and read
        # whole by every process every PHASE_CACHE_SECONDS: a reference table, local on every
        # aggregator. Other databases ignore this entry.
        constraints = [TableStorage("ROWSTORE REFERENCE")]

    def __str__(self) -> str:
        return f"{self.label}: {self.phase}"


class ShadowStat(models.Model):
    """Shadow-read counters of one model, summed over every process (``s2router.shadow``)."""

    model_label = models.CharField(max_length=200, unique=True, help_text="app_label.modelname")
    compared = models.BigIntegerField(default=0)
    matched = models.BigIntegerField(default=0)
    mismatched = models.BigIntegerField(default=0)
    errors = models.BigIntegerField(default=0)
    last_mismatch_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "shadow-read counter"
        ordering = ["model_label"]
        # One row per model: concurrent first flushes race to create it and the loser's
        # IntegrityError tells it to add instead, so model_label must stay an enforced unique
        # key, which only a reference table holds beside the id. Other databases ignore this.
        constraints = [TableStorage("ROWSTORE REFERENCE")]

    def __str__(self) -> str:
        return f"{self.model_label}: {self.mismatched}/{self.compared} mismatched"
