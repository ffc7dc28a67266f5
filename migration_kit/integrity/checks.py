"""A Django system check that runs the integrity check, for projects' own test suites and CI.

Not registered by default (it reads every table). Register it under the ``database`` tag, which
Django only runs when databases are named (``manage.py check --database default``, the test
runner), or call it directly::

    from django.core import checks
    from migration_kit.integrity.checks import integrity_check

    checks.register(integrity_check, checks.Tags.database)
    assert integrity_check(databases=["default"]) == []
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.apps import AppConfig
from django.core import checks

from migration_kit.integrity.runner import check


def integrity_check(
    app_configs: Sequence[AppConfig] | None = None,
    databases: Iterable[str] | None = None,
    **kwargs: Any,
) -> list[checks.CheckMessage]:
    """One ``migration_kit.E701`` error per relation with broken rows on ``databases``."""
    if not databases:
        return []
    labels = [config.label for config in app_configs] if app_configs else None
    errors: list[checks.CheckMessage] = []
    for alias in databases:
        report = check(labels, database=alias, sample=5)
        for result in report.broken:
            errors.append(
                checks.Error(
                    f"{result.label} -> {result.target}: {result.violations} of "
                    f"{result.rows_checked} rows on {result.database!r} point at nothing "
                    f"(sample primary keys: {result.sample}).",
                    hint=f"Inspect with 'manage.py s2_check_integrity {result.model} "
                    f"--database {alias}'; repair with --fix.",
                    obj=result.relation.model,
                    id="migration_kit.E701",
                )
            )
    return errors
