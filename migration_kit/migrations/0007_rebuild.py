"""The online rebuild's tables: ``RebuildState`` (one row per table being rebuilt, read by
every writer) and ``RebuildKey`` (keys written meanwhile)."""

from django.db import migrations, models

import django_singlestore.design


class Migration(migrations.Migration):
    dependencies = [
        ("migration_kit", "0006_checkpoint_leases"),
    ]

    operations = [
        migrations.CreateModel(
            name="RebuildKey",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("table", models.CharField(max_length=200)),
                (
                    "object_pk",
                    models.JSONField(
                        help_text="The key as the database takes it (prepared value)."
                    ),
                ),
            ],
            options={
                "constraints": [
                    django_singlestore.design.TableStorage(
                        "ROWSTORE", name="migration_kit_rebuildkey_storage"
                    )
                ],
                "indexes": [
                    models.Index(fields=["table", "id"], name="migration_kit_rebuildkey_t")
                ],
            },
        ),
        migrations.CreateModel(
            name="RebuildState",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "alias",
                    models.CharField(help_text="The database alias of the table.", max_length=100),
                ),
                ("table", models.CharField(max_length=200)),
                (
                    "step",
                    models.CharField(
                        choices=[
                            ("planned", "planned"),
                            ("capturing", "capturing"),
                            ("copying", "copying"),
                            ("applying", "applying"),
                            ("fenced", "fenced"),
                            ("swapped", "swapped"),
                            ("done", "done"),
                            ("failed", "failed"),
                        ],
                        max_length=20,
                    ),
                ),
                (
                    "plan",
                    models.JSONField(
                        help_text="What to create and copy (migration_kit.rebuild.plan)."
                    ),
                ),
                (
                    "last_key",
                    models.JSONField(
                        help_text="The copy's checkpoint: copied up to here.", null=True
                    ),
                ),
                ("rows_copied", models.BigIntegerField(default=0)),
                ("keys_applied", models.BigIntegerField(default=0)),
                (
                    "fences",
                    models.PositiveIntegerField(default=0, help_text="Fences tried so far."),
                ),
                (
                    "fence_seconds",
                    models.FloatField(help_text="How long the last fence lasted.", null=True),
                ),
                ("error", models.TextField(blank=True)),
                ("started_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "constraints": [
                    django_singlestore.design.TableStorage(
                        "ROWSTORE REFERENCE", name="migration_kit_rebuildstate_storage"
                    ),
                    models.UniqueConstraint(
                        fields=("alias", "table"), name="migration_kit_rebuild_table"
                    ),
                ],
            },
        ),
    ]
