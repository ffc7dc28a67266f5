"""Settings for Django's own test suite (``tests/runtests.py``) on SingleStore.

``scripts/django_suite.py`` sets ``DJANGO_SUITE_S2_URL`` (the emulator it started, or
``S2_TEST_URL``) and ``DJANGO_SUITE_LAYOUT``:

- ``reference`` (default): every app's tables are ROWSTORE REFERENCE, where Django's freely
  declared unique keys are valid;
- ``deployment``: the layout a deployment uses, as upstream's CI ran it — contrib apps ROWSTORE
  REFERENCE, every other app on the default sharded columnstore, with
  ``DJANGO_SINGLESTORE_NOT_ENFORCED_UNIQUE_<APP>`` set for the apps under test (by the runner).

``TEST_RUNNER`` records each test's outcome (``scripts/django_suite_runner.py``), so one
``runtests.py`` process can run a batch of apps and still yield per-app counts.
"""

import os

import django

from scripts.django_suite_apps import DEPLOYMENT_REFERENCE_APPS
from tests.dburl import database_from_url

_url = os.environ["DJANGO_SUITE_S2_URL"]
# Several suite runs may share one server (e.g. `make test` next to `make django-suite`).
_suffix = os.environ.get("DJANGO_SUITE_DB_SUFFIX", "0")


_layout = os.environ.get("DJANGO_SUITE_LAYOUT", "reference")
#: Django's contrib apps the test runner installs (and a few more): reference tables.
CONTRIB_APPS = (
    "auth", "contenttypes", "sessions", "sites", "admin", "messages", "flatpages", "redirects",
    "staticfiles", "humanize", "sitemaps", "syndication", "admindocs",
)  # fmt: skip
if _layout == "reference":
    _storage = {"*": "ROWSTORE REFERENCE"}
elif _layout == "deployment":
    _storage = dict.fromkeys((*CONTRIB_APPS, *DEPLOYMENT_REFERENCE_APPS), "ROWSTORE REFERENCE")
else:
    raise ValueError(f"DJANGO_SUITE_LAYOUT must be 'reference' or 'deployment', not {_layout!r}")


def _alias(test_name: str) -> dict:
    settings = database_from_url(_url)
    settings["OPTIONS"].setdefault("table_storage_type", dict(_storage))
    settings["TEST"] = {"NAME": test_name}
    return settings


DATABASES = {
    "default": _alias(f"test_djsuite_{_suffix}_default"),
    "other": _alias(f"test_djsuite_{_suffix}_other"),
}
SECRET_KEY = "django_tests_secret_key"  # the value Django's own test settings use (admin_scripts)
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if django.VERSION < (6, 0):
    # As Django's own test settings for the version: 6.0 dropped the line (BigAutoField default),
    # and its migrations tests (makemigrations --check) expect that default.
    DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = False
TEST_RUNNER = "scripts.django_suite_runner.RecordingRunner"
