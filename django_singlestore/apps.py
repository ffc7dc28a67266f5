"""Optional app config: add ``"django_singlestore"`` to INSTALLED_APPS for its commands
(an ``inspectdb`` that also writes each table's storage type, shard key and sort key)."""

from django.apps import AppConfig


class SingleStoreConfig(AppConfig):
    name = "django_singlestore"
    label = "django_singlestore"
    verbose_name = "SingleStore backend"

    def ready(self) -> None:
        """Register the OPTIONS system checks (``django_singlestore.options``)."""
        from django_singlestore import options  # noqa: F401
