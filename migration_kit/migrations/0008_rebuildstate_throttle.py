"""The online rebuild's throttle state (backlog, apply rate, paused or stopped) in its row, for
``s2_status`` and a resume."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("migration_kit", "0007_rebuild"),
    ]

    operations = [
        migrations.AddField(
            model_name="rebuildstate",
            name="throttle",
            field=models.JSONField(
                help_text="The apply throttle's last round (migration_kit.rebuild.throttle).",
                null=True,
            ),
        ),
    ]
