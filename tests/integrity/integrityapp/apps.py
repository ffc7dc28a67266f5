from django.apps import AppConfig


class IntegrityAppConfig(AppConfig):
    name = "tests.integrity.integrityapp"
    label = "integrityapp"
    default_auto_field = "django.db.models.BigAutoField"
