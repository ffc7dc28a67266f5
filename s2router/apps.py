from django.apps import AppConfig


class S2RouterConfig(AppConfig):
    name = "s2router"
    verbose_name = "SingleStore router"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register the system checks (the backend's OPTIONS checks too) and the tenancy hook on
        new connections."""
        from django_singlestore import options  # noqa: F401
        from s2router import checks, tenancy  # noqa: F401
