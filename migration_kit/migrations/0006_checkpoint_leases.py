"""Range leases on checkpoint rows (``migration_kit.backfill.leases``), and verify ranges.

``lease_owner``/``lease_expires_at`` say who works on a range until when, ``takeovers`` how often
it was taken from a dead or expired owner, and ``kind``/``outcome`` let a verify split into
leased ranges in the same table. The range key gains ``kind``: the new unique key is created
before the old one goes, so no moment is left without one where DDL is not transactional. The
table stays ROWSTORE REFERENCE on SingleStore (0001), where a unique key need not hold a shard
key and rowstore ALTERs add columns and keys in place; other databases ignore the design.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("migration_kit", "0005_outbox_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="backfillcheckpoint",
            name="kind",
            field=models.CharField(default="backfill", max_length=16),
        ),
        migrations.AddField(
            model_name="backfillcheckpoint",
            name="lease_owner",
            field=models.CharField(
                blank=True,
                default="",
                help_text="host:pid:uuid working on it, or ''.",
                max_length=200,
            ),
        ),
        migrations.AddField(
            model_name="backfillcheckpoint",
            name="lease_expires_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.AddField(
            model_name="backfillcheckpoint",
            name="takeovers",
            field=models.PositiveIntegerField(
                default=0, help_text="Times the range was taken from an expired or dead owner."
            ),
        ),
        migrations.AddField(
            model_name="backfillcheckpoint",
            name="outcome",
            field=models.JSONField(
                help_text="What the last task on the range reported (verify findings, errors).",
                null=True,
            ),
        ),
        migrations.AddConstraint(
            model_name="backfillcheckpoint",
            constraint=models.UniqueConstraint(
                fields=("kind", "model_label", "source_alias", "target_alias", "range_index"),
                name="migration_kit_checkpoint_kind_range",
            ),
        ),
        migrations.RemoveConstraint(
            model_name="backfillcheckpoint",
            name="migration_kit_checkpoint_range",
        ),
    ]
