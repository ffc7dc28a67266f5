"""Settings for Django's own test suite (``tests/runtests.py``) on SingleStore.

``scripts/django_suite.py`` sets ``DJANGO_SUITE_S2_URL`` (the emulator it started, or
``S2_TEST_URL``). Django's test models declare unique keys freely, which sharded tables cannot
hold, so every app's tables are ROWSTORE REFERENCE here; sharded columnstore behaviour is
covered by ``tests/backend``.
"""

import os

from tests.dburl import database_from_url

_url = os.environ["DJANGO_SUITE_S2_URL"]
# Several suite runs may share one server (e.g. `make test` next to `make django-suite`).
_suffix = os.environ.get("DJANGO_SUITE_DB_SUFFIX", "0")


def _alias(test_name: str) -> dict:
    settings = database_from_url(_url)
    settings["OPTIONS"].setdefault("table_storage_type", {"*": "ROWSTORE REFERENCE"})
    settings["TEST"] = {"NAME": test_name}
    return settings


DATABASES = {
    "default": _alias(f"test_djsuite_{_suffix}_default"),
    "other": _alias(f"test_djsuite_{_suffix}_other"),
}
SECRET_KEY = "django-suite-not-secret"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = False
