"""The run-time phase override table (on ``PHASE_DATABASE``, ``default`` unless configured)."""

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
