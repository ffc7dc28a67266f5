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
#: the first two; the others' models (created for the whole run) declare unique keys a sharded
#: table cannot hold (multi-column or named UniqueConstraint/unique_together, which
#: DJANGO_SINGLESTORE_NOT_ENFORCED_UNIQUE_<APP> does not cover), and storage is chosen per app.
DEPLOYMENT_REFERENCE_APPS: dict[str, str] = {
    "many_to_many": "upstream: abstract models",
    "delete": "upstream: many-to-many",
    "lookup": "S2-SHARD-UNIQUE: lookup.Season UniqueConstraint(year)",
    "bulk_create": "S2-SHARD-UNIQUE: bulk_create.Country UniqueConstraint(name, iso_two_letter)",
    "model_forms": "S2-SHARD-UNIQUE: model_forms.Price unique_together",
    "inspectdb": "S2-SHARD-UNIQUE: inspectdb.UniqueTogether",
    "introspection": "S2-SHARD-UNIQUE: introspection.Reporter unique_together",
    "serializers": "S2-SHARD-UNIQUE: serializers.CategoryMetaData unique_together",
    "admin_inlines": "S2-SHARD-UNIQUE: admin_inlines.Inner4Stacked UniqueConstraint(dummy, holder)",
    "admin_views": "S2-SHARD-UNIQUE: admin_views.FoodDelivery unique_together",
    "auth_tests": "S2-SHARD-UNIQUE: auth_tests.CustomUserWithUniqueConstraint UniqueConstraint",
    "constraints": "S2-SHARD-UNIQUE: constraints.UniqueConstraintProduct UniqueConstraint",
    "fixtures_regress": "S2-SHARD-UNIQUE: fixtures_regress.NaturalKeyWithFKDependency "
    "unique_together",
    "foreign_object": "S2-SHARD-UNIQUE: foreign_object.ArticleTranslation unique_together",
    "generic_inline_admin": "S2-SHARD-UNIQUE: generic_inline_admin.Media unique_together",
    "inline_formsets": "S2-SHARD-UNIQUE: inline_formsets.Poem unique_together",
    "model_formsets": "S2-SHARD-UNIQUE: model_formsets.Book unique_together",
    "model_inheritance": "S2-SHARD-UNIQUE: model_inheritance.GrandParent unique_together",
    "validation": "S2-SHARD-UNIQUE: validation.UniqueTogetherModel unique_together",
    "migrations": "S2-SHARD-UNIQUE: migrations.Author unique_together (name, slug), which most "
    "test migration modules create under the app's own label",
    "schema": "S2-SHARD-UNIQUE: schema.UniqueTest unique_together, schema.Book's named "
    "UniqueConstraint; and its tests alter column types and nullability, which a columnstore "
    "table refuses (S2-ALTER-TYPE, S2-ALTER-NOT-NULL)",
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
