"""``manage.py check --database <alias>``: judge every model's table before migrate runs.

Each model the routers let migrate on the alias is turned into a TableSpec exactly as the schema
editor would create it, and judged by the rules catalogue; every violation becomes an Error with
a stable id and a hint naming the Django-level fix.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core import checks
from django.db import NotSupportedError, router
from django.db.backends.base.validation import BaseDatabaseValidation
from django.db.backends.mysql.validation import DatabaseValidation as MySQLDatabaseValidation

from django_singlestore import design, rules

#: Check id for each rule of the catalogue (stable: documented in docs/backend.md).
CHECK_IDS = {
    rules.SHARD_UNIQUE.id: "django_singlestore.E001",
    rules.EMPTY_SHARD_KEY_UNIQUE.id: "django_singlestore.E002",
    rules.REFERENCE_WITHOUT_PK.id: "django_singlestore.E003",
    rules.COLUMNSTORE_MULTI_UNIQUE.id: "django_singlestore.E004",
    rules.FLOAT_PRIMARY_KEY.id: "django_singlestore.E005",
    rules.HASH_DUPLICATE.id: "django_singlestore.E006",
    rules.FOREIGN_KEY_SYNTAX.id: "django_singlestore.E007",
}
#: Two TableStorage/ShardKey/SortKey entries of one kind on a model.
DESIGN_CONFLICT_ID = "django_singlestore.E010"
#: SORT KEY on a rowstore table (rules.SORT_KEY_ROWSTORE, judged by rules.check_sort_key).
SORT_KEY_ROWSTORE_ID = "django_singlestore.E011"


class DatabaseValidation(MySQLDatabaseValidation):
    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        """Django's base checks, plus table-design errors for every model migrated on this
        alias. Skips MySQL's strict-mode warning (mysql.W002), which connects to read sql_mode:
        these checks judge model code with the server down, and SingleStore's default sql_mode
        is STRICT_ALL_TABLES."""
        app_configs = kwargs.get("app_configs")
        if app_configs is None:
            models = apps.get_models(include_auto_created=True)
        else:
            models = [
                model
                for config in app_configs
                for model in config.get_models(include_auto_created=True)
            ]
        issues: list[checks.CheckMessage] = BaseDatabaseValidation.check(self, **kwargs)
        for model in models:
            meta = model._meta
            if not meta.managed or meta.proxy or meta.swapped:
                continue
            if not meta.can_migrate(self.connection) or not router.allow_migrate_model(
                self.connection.alias, model
            ):
                continue
            issues.extend(self.check_model(model))
        return issues

    def check_model(self, model: type) -> list[checks.CheckMessage]:
        """The checks for one model's table on this alias."""
        try:
            spec = design.table_spec(model, self.connection)
        except NotSupportedError as exc:
            return [
                checks.Error(
                    str(exc),
                    hint="Keep one entry of each kind in Meta.constraints.",
                    obj=model,
                    id=DESIGN_CONFLICT_ID,
                )
            ]
        issues: list[checks.CheckMessage] = [
            checks.Error(
                f"{model._meta.db_table}: {violation.message} ({violation.rule.id}"
                f"{f', error {violation.errno}' if violation.errno else ''}).",
                hint=design.django_hint(violation),
                obj=model,
                id=CHECK_IDS.get(violation.rule.id, "django_singlestore.E000"),
            )
            for violation in rules.check_table(spec, self.connection.rules_version)
        ]
        issues.extend(
            checks.Error(
                f"{model._meta.db_table}: {violation.message}, but the table is "
                f"{spec.storage.value}.",
                hint=design.django_hint(violation),
                obj=model,
                id=SORT_KEY_ROWSTORE_ID,
            )
            for violation in rules.check_sort_key(spec, self.connection.rules_version)
        )
        return issues
