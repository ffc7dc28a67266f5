from django.apps import AppConfig


class BackendAppConfig(AppConfig):
    name = "tests.backend.backendapp"
    label = "backendapp"
    default_auto_field = "django.db.models.AutoField"
