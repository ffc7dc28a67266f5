from django.apps import AppConfig


class MigrationKitConfig(AppConfig):
    name = "migration_kit"
    verbose_name = "SingleStore migration kit"
    default_auto_field = "django.db.models.BigAutoField"
