"""Trim the outbox's indexes to those its queries use: every entry written pays for each one.

The ``created_at`` index served no query, and ``batch``'s ``db_index`` built a second,
``varchar_pattern_ops`` index on PostgreSQL for LIKE lookups nobody makes. The plain ``batch``
index is created before the old ones go, so the relay's delete by batch is never left
without one on databases whose DDL is not transactional.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("migration_kit", "0004_verifyrun_rowstore"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="outboxentry",
            index=models.Index(fields=["batch"], name="migration_kit_outbox_batch"),
        ),
        migrations.AlterField(
            model_name="outboxentry",
            name="batch",
            field=models.CharField(
                blank=True, help_text="Entries written by one call.", max_length=32
            ),
        ),
        migrations.AlterField(
            model_name="outboxentry",
            name="created_at",
            field=models.DateTimeField(auto_now_add=True),
        ),
    ]
