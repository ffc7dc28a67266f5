from django.apps import AppConfig


class BackendAppConfig(AppConfig):
    name = "tests.backendapp"
    label = "backendapp"
    default_auto_field = "django.db.models.AutoField"
