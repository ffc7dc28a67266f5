from django.apps import AppConfig


class DualwriteappConfig(AppConfig):
    name = "tests.kit.dualwriteapp"
    label = "dualwriteapp"
    default_auto_field = "django.db.models.BigAutoField"
