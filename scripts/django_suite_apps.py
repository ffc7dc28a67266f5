"""Which apps of Django's ``tests/`` the suite runs, in one place, and why the rest are excluded.

Every app directory of Django's ``tests/`` (as ``tests/runtests.py`` discovers them) runs, except
the ones in ``EXCLUDED``, each with the reason it does not apply to SingleStore.
"""

from __future__ import annotations

from pathlib import Path

#: Apps of Django's tests/ that do not apply to this backend, with the reason.
EXCLUDED: dict[str, str] = {
    "postgres_tests": "PostgreSQL-specific (django.contrib.postgres)",
    "gis_tests": "GIS-specific (django.contrib.gis; this backend has no spatial support)",
}

#: Directories runtests.py itself never discovers (not test apps).
_NOT_APPS = {"import_error_package", "test_runner_apps"}

#: Test apps that stay ROWSTORE REFERENCE in the deployment layout, and why: upstream's CI forced
#: the first two; the others' models declare unique keys a sharded table cannot hold (multi-column
#: UniqueConstraint/unique_together, which DJANGO_SINGLESTORE_NOT_ENFORCED_UNIQUE_<APP> does not
#: cover), so not one of their tables can be created sharded.
DEPLOYMENT_REFERENCE_APPS: dict[str, str] = {
    "many_to_many": "upstream: abstract models",
    "delete": "upstream: many-to-many",
    "lookup": "S2-SHARD-UNIQUE: lookup.Season UniqueConstraint(year)",
    "bulk_create": "S2-SHARD-UNIQUE: bulk_create.Country UniqueConstraint(name, iso_two_letter)",
    "model_forms": "S2-SHARD-UNIQUE: model_forms.Price unique_together",
    "inspectdb": "S2-SHARD-UNIQUE: inspectdb.UniqueTogether",
    "introspection": "S2-SHARD-UNIQUE: introspection.Reporter unique_together",
    "serializers": "S2-SHARD-UNIQUE: serializers.CategoryMetaData unique_together",
}

#: The slice ``make test`` runs (tests/backend/test_django_suite.py): one batch, a few seconds.
FAST_APPS = [
    "basic",
    "lookup",
    "update",
    "ordering",
    "many_to_one",
    "one_to_one",
    "custom_pk",
    "null_queries",
]


def discover(tests: Path) -> list[str]:
    """Every test app of Django's ``tests/`` directory, as runtests.py finds them, sorted."""
    return sorted(
        entry.name
        for entry in tests.iterdir()
        if entry.is_dir()
        and "." not in entry.name
        and entry.name not in _NOT_APPS
        and (entry / "__init__.py").exists()
    )


def applicable(tests: Path) -> list[str]:
    """The apps the whole-suite run covers: every discovered app not in ``EXCLUDED``."""
    return [app for app in discover(tests) if app not in EXCLUDED]
