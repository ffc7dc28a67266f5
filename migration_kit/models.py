"""State the migration kit keeps: backfill checkpoints, the dual-write outbox, verify results.

Checkpoints and verify runs are read and written on ``default`` (Django's routing: the router
leaves ``SHARED_APPS`` to it). Outbox entries live on whichever database receives the primary
write — the source during ``dual_write``/``shadow`` and SingleStore during ``cutover`` — because
an entry must commit in the same transaction as the write it records. ``S2ROUTER['SHARED_APPS']``
creates all three tables on ``PHASE_DATABASE``, SingleStore and every source, so each declares
the SingleStore design that fits how it is written (other databases ignore the entries); no
storage setting is needed for this app.
"""

from typing import Any

from django.db import models

from django_singlestore.design import TableStorage

#: What a checkpoint row tracks: a backfill range (copied) or a verify range (compared).
BACKFILL, VERIFY = "backfill", "verify"


class BackfillCheckpoint(models.Model):
    """How far one primary-key range of one model has been copied from source to target (or,
    ``kind="verify"``, compared), and who holds its lease (``migration_kit.backfill.leases``)."""

    kind = models.CharField(max_length=16, default=BACKFILL)
    model_label = models.CharField(max_length=200)
    source_alias = models.CharField(max_length=100)
    target_alias = models.CharField(max_length=100)
    range_index = models.PositiveIntegerField(default=0)
    range_start = models.JSONField(null=True, help_text="First key of the range (inclusive).")
    range_end = models.JSONField(null=True, help_text="Last key of the range (inclusive).")
    last_key = models.JSONField(null=True, help_text="Last key known copied; resume after it.")
    rows_copied = models.BigIntegerField(default=0)
    finished = models.BooleanField(default=False)
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    lease_owner = models.CharField(
        max_length=200, blank=True, default="", help_text="host:pid:uuid working on it, or ''."
    )
    lease_expires_at = models.DateTimeField(null=True)
    takeovers = models.PositiveIntegerField(
        default=0, help_text="Times the range was taken from an expired or dead owner."
    )
    outcome = models.JSONField(
        null=True, help_text="What the last task on the range reported (verify findings, errors)."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "model_label", "source_alias", "target_alias", "range_index"],
                name="migration_kit_checkpoint_kind_range",
            ),
            # The range key must stay enforced (a second run must never plan a model's ranges
            # twice), and a sharded table cannot hold it beside the id: ROWSTORE REFERENCE. The
            # table is tiny and point-updated (one save per batch) on ``default`` only, never
            # inside the application's transactions; a ``default`` on a SingleStore child
            # aggregator needs OPTIONS["child_aggregator"] for it (2549), like contrib tables.
            TableStorage("ROWSTORE REFERENCE"),
        ]

    def __str__(self) -> str:
        return f"{self.model_label}[{self.range_index}] → {self.last_key}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Saving fields of a leased checkpoint is fenced: it writes only while this owner still
        holds the lease (and renews it), else raises ``LeaseLost``; so a worker whose lease was
        taken over can never move the new owner's checkpoint."""
        if self.lease_owner and self.pk is not None and kwargs.get("update_fields") is not None:
            from migration_kit.backfill.leases import save_fenced

            save_fenced(self, list(kwargs["update_fields"]))
            return
        super().save(*args, **kwargs)


#: The columns an outbox writer fills, in this order: the wrappers (``outbox._insert_entries``)
#: and the capture triggers (``triggers``). The others keep their defaults.
ENTRY_FIELDS = (
    "model_label",
    "object_pk",
    "source_alias",
    "target_alias",
    "created_at",
    "attempts",
    "last_error",
    "batch",
)


class OutboxEntry(models.Model):
    """A key whose current row must be re-applied from ``source_alias`` to ``target_alias``."""

    model_label = models.CharField(max_length=200)
    object_pk = models.JSONField(help_text="The row's primary key, JSON-encoded by field type.")
    source_alias = models.CharField(max_length=100)
    target_alias = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True)
    last_error = models.TextField(blank=True)
    batch = models.CharField(max_length=32, blank=True, help_text="Entries written by one call.")

    class Meta:
        # Every outbox write pays for each index, so only these three (and the primary key):
        # draining claims and deletes entries by id (the primary key); the relay deletes
        # the wrappers' entries by batch; lag and verify look entries up by model label. A
        # plain Index, not db_index, so PostgreSQL builds no varchar_pattern_ops twin for LIKE.
        indexes = [
            models.Index(fields=["model_label", "target_alias"], name="migration_kit_outbox_m"),
            models.Index(fields=["batch"], name="migration_kit_outbox_batch"),
        ]
        # On SingleStore (the primary during cutover) entries are written in the same
        # multi-statement transaction as the application's rows: a sharded rowstore table
        # allows that on child aggregators, where a REFERENCE table would fail (2549).
        # Other databases ignore this entry.
        constraints = [TableStorage("ROWSTORE")]

    def __str__(self) -> str:
        return f"{self.model_label}#{self.object_pk} → {self.target_alias}"


class VerifyRun(models.Model):
    """The outcome of one ``s2_verify`` pass over one model."""

    model_label = models.CharField(max_length=200)
    source_alias = models.CharField(max_length=100)
    target_alias = models.CharField(max_length=100)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True)
    source_rows = models.BigIntegerField(null=True)
    target_rows = models.BigIntegerField(null=True)
    differences = models.BigIntegerField(null=True, help_text="Differing keys; NULL if it failed.")
    repaired = models.BigIntegerField(default=0)
    sample = models.JSONField(default=list, help_text="Some differing keys, for people.")
    error = models.TextField(blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["model_label", "-started_at"], name="migration_kit_verify_m")
        ]
        # One row per s2_verify pass, inserted then updated by id and read newest-first per
        # model: no unique key but the id, so a rowstore table sharded on it (point writes;
        # columnstore is for scans of big tables). Other databases ignore this entry.
        constraints = [TableStorage("ROWSTORE")]

    def __str__(self) -> str:
        return f"{self.model_label} verify {self.started_at:%Y-%m-%d %H:%M}: {self.differences}"

    @property
    def clean(self) -> bool:
        """True when the run finished and found no difference."""
        return self.finished_at is not None and self.differences == 0


# The online rebuild's tables (migration_kit.rebuild): defined beside the code that uses them.
from migration_kit.rebuild.models import RebuildKey, RebuildState  # noqa: E402

__all__ = [
    "ENTRY_FIELDS",
    "BackfillCheckpoint",
    "OutboxEntry",
    "RebuildKey",
    "RebuildState",
    "VerifyRun",
]
