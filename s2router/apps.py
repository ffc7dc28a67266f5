from django.apps import AppConfig


class S2RouterConfig(AppConfig):
    name = "s2router"
    verbose_name = "SingleStore router"
    default_auto_field = "django.db.models.BigAutoField"
