"""Settings for the test suite: three real databases.

- ``default``: PostgreSQL (``PG_TEST_URL``), where Django's contrib apps live by default;
- ``mysql``: MariaDB standing in for a MySQL source database (``MYSQL_TEST_URL``);
- ``s2``: SingleStore — a real server when ``S2_TEST_URL`` is set, else the emulator the
  ``s2emulator`` pytest plugin starts for the session.
"""

import os

from tests.dburl import database_from_url

PG_TEST_URL = os.environ.get("PG_TEST_URL", "postgresql://s2kit:s2kit@127.0.0.1:5432/s2kit")
MYSQL_TEST_URL = os.environ.get("MYSQL_TEST_URL", "mysql://s2kit:s2kit@127.0.0.1:3306/s2kit")
S2_TEST_URL = os.environ.get("S2_TEST_URL", "")

DATABASES = {
    "default": database_from_url(PG_TEST_URL),
    "mysql": database_from_url(MYSQL_TEST_URL),
    "s2": database_from_url(S2_TEST_URL or "singlestoredb://s2kit:s2kit@127.0.0.1:0/s2kit"),
}
DATABASES["mysql"]["OPTIONS"].setdefault("charset", "utf8mb4")
# Each test database can be created on its own: Django would otherwise make every alias depend
# on ``default`` and refuse a test that uses only ``s2`` or ``mysql``.
for _alias in ("mysql", "s2"):
    DATABASES[_alias].setdefault("TEST", {}).setdefault("DEPENDENCIES", [])
# The emulator keeps its tables on the same MariaDB as ``mysql``: give its test database its own
# name so the two aliases never share (and drop) one database.
DATABASES["s2"].setdefault("TEST", {}).setdefault("NAME", f"test_s2_{DATABASES['s2']['NAME']}")
# No router here: every app's tables are created on every alias, Django's contrib apps on
# SingleStore too. Their unique keys need reference tables there, which only a setting can say
# (their models are Django's): the setting a user writes for contrib on SingleStore
# (s2router.E013 asks for it). The kit's own models declare their design in Meta.
DATABASES["s2"]["OPTIONS"].setdefault(
    "table_storage_type",
    dict.fromkeys(("auth", "contenttypes", "sessions", "admin", "sites"), "ROWSTORE REFERENCE"),
)

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.admin",
    "django.contrib.messages",
    "django.contrib.sites",
    "s2router",
    "migration_kit",
    "tests.backend.testapp",
    "tests.backend.backendapp",
    "django_singlestore",
    "tests.router.routerapp",
    "tests.router.routeranalytics",
    "tests.kit.kitapp",
    "tests.kit.syncapp",
    "tests.kit.dualwriteapp",
    "tests.integrity.integrityapp",
    "tests.backend.designapp",
]

SECRET_KEY = "tests-only-not-secret"
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ROOT_URLCONF = "tests.urls"
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.request",
            ]
        },
    }
]
SITE_ID = 1
