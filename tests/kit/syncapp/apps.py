from django.apps import AppConfig


class SyncappConfig(AppConfig):
    name = "tests.kit.syncapp"
    label = "syncapp"
    default_auto_field = "django.db.models.BigAutoField"
