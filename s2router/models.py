"""s2router's own tables on ``PHASE_DATABASE``: run-time phase overrides, shadow-read counters."""

from django.db import models

from s2router.conf import Phase


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

    def __str__(self) -> str:
        return f"{self.model_label}: {self.mismatched}/{self.compared} mismatched"
