"""The online rebuild's two tables: one state row per table being rebuilt, and captured keys.

``RebuildState`` lives on the phase database (``S2ROUTER['PHASE_DATABASE']``, ``default``
unless set), where every process already reads the phase table: writers read it whole every
``PHASE_CACHE_SECONDS``. ``RebuildKey`` lives on the database of the rebuilt table, because a
key must commit in the same transaction as the write it records. Imported by
``migration_kit.models`` so they are the app's models; other databases ignore the designs.
"""

from __future__ import annotations

from django.db import models

from django_singlestore.design import TableStorage

#: The steps of one rebuild, in order (docs/rebuild.md draws them).
PLANNED = "planned"
CAPTURING = "capturing"
COPYING = "copying"
APPLYING = "applying"
FENCED = "fenced"
SWAPPED = "swapped"
DONE = "done"
FAILED = "failed"
STEPS = (PLANNED, CAPTURING, COPYING, APPLYING, FENCED, SWAPPED, DONE, FAILED)
#: Steps during which writers record the keys they write.
CAPTURED = frozenset({CAPTURING, COPYING, APPLYING, FENCED, SWAPPED})
#: Steps after which nothing is left to do.
FINISHED = frozenset({DONE, FAILED})


class RebuildState(models.Model):
    """Where the rebuild of one table on one database stands; the row every writer reads."""

    alias = models.CharField(max_length=100, help_text="The database alias of the table.")
    table = models.CharField(max_length=200)
    step = models.CharField(max_length=20, choices=[(s, s) for s in STEPS])
    plan = models.JSONField(help_text="What to create and copy (migration_kit.rebuild.plan).")
    last_key = models.JSONField(null=True, help_text="The copy's checkpoint: copied up to here.")
    rows_copied = models.BigIntegerField(default=0)
    keys_applied = models.BigIntegerField(default=0)
    fences = models.PositiveIntegerField(default=0, help_text="Fences tried so far.")
    fence_seconds = models.FloatField(null=True, help_text="How long the last fence lasted.")
    error = models.TextField(blank=True)
    throttle = models.JSONField(
        null=True, help_text="The apply throttle's last round (migration_kit.rebuild.throttle)."
    )
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["alias", "table"], name="migration_kit_rebuild_table"),
            # Unique per table (a second rebuild of a table must find the first), tiny, and
            # read whole by every process: a reference table, like the phase table.
            TableStorage("ROWSTORE REFERENCE"),
        ]

    def __str__(self) -> str:
        return f"{self.alias}.{self.table}: {self.step}"


class RebuildKey(models.Model):
    """A key of ``table`` written while it is rebuilt: re-copy that row from old to new."""

    table = models.CharField(max_length=200)
    object_pk = models.JSONField(help_text="The key as the database takes it (prepared value).")

    class Meta:
        indexes = [models.Index(fields=["table", "id"], name="migration_kit_rebuildkey_t")]
        # Written in the application's own write transactions, like the outbox: a sharded
        # rowstore table (a reference table would refuse that on child aggregators, 2549).
        constraints = [TableStorage("ROWSTORE")]

    def __str__(self) -> str:
        return f"{self.table}#{self.object_pk}"
