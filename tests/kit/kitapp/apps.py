from django.apps import AppConfig


class KitappConfig(AppConfig):
    name = "tests.kit.kitapp"
    label = "kitapp"
    default_auto_field = "django.db.models.BigAutoField"
