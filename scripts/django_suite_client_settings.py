"""Settings for a third-party app's own test suite on SingleStore (``scripts/client_suites.py``).

The app's settings come from ``CLIENT_SUITE_SETTINGS``: ``module`` (its upper-case names) or
``module:function`` (a function returning a settings dict, as django-simple-history's
runtests.py has). Only the databases change: every alias the app declares becomes a SingleStore
alias at ``CLIENT_SUITE_S2_URL``, in the layout a user deploying the app would choose
(``CLIENT_SUITE_STORAGE``, a JSON ``table_storage_type``, and ``CLIENT_SUITE_NOT_ENFORCED``, the
JSON list for ``not_enforced_unique``); the runner records each outcome.
"""

import importlib
import importlib.util
import json
import os
from pathlib import Path

# The project's tests/dburl.py by path: a client's own ``tests`` package shadows ours.
_spec = importlib.util.spec_from_file_location(
    "s2kit_dburl", Path(__file__).resolve().parent.parent / "tests" / "dburl.py"
)
_dburl = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_dburl)
database_from_url = _dburl.database_from_url

_module, _, _function = os.environ["CLIENT_SUITE_SETTINGS"].partition(":")
_source = importlib.import_module(_module)
_settings = (
    getattr(_source, _function)()
    if _function
    else {name: getattr(_source, name) for name in dir(_source) if name.isupper()}
)
globals().update(_settings)

_url = os.environ["CLIENT_SUITE_S2_URL"]
_storage = json.loads(os.environ["CLIENT_SUITE_STORAGE"])
_not_enforced = json.loads(os.environ.get("CLIENT_SUITE_NOT_ENFORCED", "[]"))
_suffix = os.environ.get("CLIENT_SUITE_DB_SUFFIX", "0")


def _alias(alias: str) -> dict:
    settings = database_from_url(_url)
    settings["OPTIONS"]["table_storage_type"] = dict(_storage)
    settings["OPTIONS"]["not_enforced_unique"] = list(_not_enforced)
    settings["TEST"] = {"NAME": f"test_client_{_suffix}_{alias}"}
    return settings


DATABASES = {alias: _alias(alias) for alias in _settings.get("DATABASES", {"default": {}})}
TEST_RUNNER = "scripts.django_suite_runner.RecordingRunner"
