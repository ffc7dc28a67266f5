from django.apps import AppConfig


class MigrationKitConfig(AppConfig):
    name = "migration_kit"
    verbose_name = "SingleStore migration kit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Start capturing writes to migrating models and guard the moves into cutover."""
        from migration_kit import outbox, status
        from s2router.phases import register_transition_guard

        outbox.install()
        register_transition_guard(status.cutover_guard)
