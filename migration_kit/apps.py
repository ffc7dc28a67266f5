from typing import Any

from django.apps import AppConfig


class MigrationKitConfig(AppConfig):
    name = "migration_kit"
    verbose_name = "SingleStore migration kit"
    default_auto_field = "django.db.models.BigAutoField"

    def __init__(self, app_name: str, app_module: Any) -> None:
        """Check every database's driver first: the kit reads and writes each database it
        migrates between, and Django loads a connection while it imports the first model, with
        an error that names no extra. App configs are made before any model is imported."""
        from django.conf import settings

        from django_singlestore.extras import check_database_drivers

        check_database_drivers(settings.DATABASES, "The migration kit")
        super().__init__(app_name, app_module)

    def ready(self) -> None:
        """Check MIGRATION_KIT, capture writes to migrating models, guard and prepare cutover,
        keep the capture triggers in step with the phase."""
        from django.core import checks

        from django_singlestore import options  # noqa: F401  (registers the OPTIONS checks)
        from migration_kit import conf, cutover
        from migration_kit.dualwrite import capture, triggers
        from migration_kit.rebuild import capture as rebuild_capture
        from s2router.phases import phase_changed, register_transition_guard

        checks.register(conf.check_settings)
        capture.install()
        rebuild_capture.install()
        register_transition_guard(cutover.cutover_guard)
        phase_changed.connect(cutover.sync_auto_increment_at_cutover)
        phase_changed.connect(triggers.sync_with_phase)
