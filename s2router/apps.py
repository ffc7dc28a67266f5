from django.apps import AppConfig


class S2RouterConfig(AppConfig):
    name = "s2router"
    verbose_name = "SingleStore router"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register the system checks and the tenancy hook on new connections."""
        from s2router import checks, tenancy  # noqa: F401
