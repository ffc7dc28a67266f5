from django.apps import AppConfig


class DesignAppConfig(AppConfig):
    name = "tests.backend.designapp"
    label = "designapp"
    default_auto_field = "django.db.models.BigAutoField"
