"""Optional dependencies: import them, or say which django-s2kit extra installs them.

``pip install django-s2kit`` is the backend alone (Django and singlestoredb). Everything else is
an extra, named in the error when its import fails:

============== ============================ ===================================================
extra          installs                     needed for
============== ============================ ===================================================
``postgresql`` psycopg                      a PostgreSQL database (``default``, a source)
``mysql``      mysqlclient                  a MySQL/MariaDB database on Django's MySQL backend
``tenancy``    django-db-multitenant        ``S2ROUTER['TENANCY']``
``progress``   tqdm                         ``s2_backfill`` (its progress bars)
``celery``     celery, redis                ``migration_kit.tasks``, ``--celery`` runs
``emulator``   sqlglot                      the SingleStore emulator (test infrastructure)
============== ============================ ===================================================
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from django.core.exceptions import ImproperlyConfigured

#: Django's database engines whose driver comes from an extra: (driver modules, extra, package).
ENGINE_DRIVERS = {
    "django.db.backends.postgresql": (("psycopg", "psycopg2"), "postgresql", "psycopg"),
    "django.db.backends.mysql": (("MySQLdb",), "mysql", "mysqlclient"),
}


def missing_extra(extra: str, package: str, needed_for: str, cause: BaseException) -> str:
    """The message for a failed optional import: what needs it and the command that fixes it."""
    return (
        f"{needed_for} needs {package}, which is not importable ({cause}). "
        f"Install it with: pip install 'django-s2kit[{extra}]'"
    )


def optional(module: str, extra: str, needed_for: str, package: str | None = None) -> ModuleType:
    """Import ``module``, or raise ImproperlyConfigured naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImproperlyConfigured(
            missing_extra(extra, package or module, needed_for, exc)
        ) from exc


def check_database_drivers(databases: Mapping[str, Mapping[str, Any]], needed_for: str) -> None:
    """ImproperlyConfigured naming the extra for the first alias whose driver cannot be imported.

    Django's own error ("Error loading psycopg2 or psycopg module") comes only at the first query
    and names no extra; this runs at start-up, before anything is half done.
    """
    for alias, settings_dict in databases.items():
        found = ENGINE_DRIVERS.get(settings_dict.get("ENGINE", ""))
        if found is None:
            continue
        modules, extra, package = found
        failure: ImportError | None = None
        for module in modules:
            try:
                importlib.import_module(module)
                break
            except ImportError as exc:
                failure = failure or exc
        else:
            assert failure is not None
            raise ImproperlyConfigured(
                missing_extra(
                    extra,
                    package,
                    f"{needed_for} (DATABASES[{alias!r}] is {settings_dict['ENGINE']})",
                    failure,
                )
            ) from failure
