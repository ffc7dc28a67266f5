"""``manage.py s2_check_integrity``: find rows whose foreign keys point at nothing, and fix them.

Relations come from model metadata (SingleStore keeps no foreign keys to introspect). Output:
one line (or JSON object) per relation, then a total; progress goes to stderr. Exit codes: 0 no
violation (or all repaired by ``--fix --yes``), 1 violations remain, 2 usage or configuration
error.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import CommandError, CommandParser
from django.db import DatabaseError

from migration_kit.integrity.fix import apply, plan
from migration_kit.integrity.report import Report
from migration_kit.integrity.runner import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_SAMPLE,
    IntegrityConfigError,
    Placement,
    check,
    check_relation,
    tenant_context,
)
from s2router.commands import S2Command, add_tenant_arguments, selected_tenants
from s2router.tenancy import NoTenantError


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError(text)
    return value


class Command(S2Command):
    help = (
        "Check that every foreign key, one-to-one, many-to-many row and generic foreign key "
        "points at an existing row; optionally repair what on_delete allows (--fix --yes)."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "labels", nargs="*", metavar="app_label[.Model]", help="What to check (default: all)."
        )
        self.add_database_argument(parser, "Check the tables on this alias.")
        self.add_format_argument(parser)
        parser.add_argument(
            "--sample",
            type=_non_negative,
            default=DEFAULT_SAMPLE,
            help=f"Broken primary keys to show per relation (default {DEFAULT_SAMPLE}).",
        )
        parser.add_argument(
            "--batch-size",
            type=_non_negative,
            default=DEFAULT_BATCH_SIZE,
            help=f"Child rows per checked chunk (default {DEFAULT_BATCH_SIZE:,}).",
        )
        parser.add_argument(
            "--fix", action="store_true", help="Print what on_delete implies for broken rows."
        )
        parser.add_argument("--yes", action="store_true", help="With --fix: apply the plan.")
        add_tenant_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["yes"] and not options["fix"]:
            raise CommandError("--yes only makes sense with --fix.", returncode=2)
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.", returncode=2)
        tenants = selected_tenants(options)
        report = Report()
        try:
            for tenant in tenants:
                report.extend(self._check(options, tenant))
        except (IntegrityConfigError, ImproperlyConfigured, NoTenantError) as exc:
            raise CommandError(str(exc), returncode=2) from exc
        except DatabaseError as exc:
            raise CommandError(f"database error: {exc}", returncode=2) from exc
        document: dict[str, Any] = report.as_dict()
        text = [report.as_text()]
        remaining = report
        if options["fix"] and not report.ok:
            remaining = self._fix(options, report, document, text)
        if options["format"] == "json":
            self.emit_json(document)
        else:
            self.stdout.write("\n".join(text))
        if not remaining.ok:
            raise CommandError(
                f"{remaining.violations:,} broken rows in {len(remaining.broken)} relations.",
                returncode=1,
            )

    def _progress(self, message: str) -> None:
        self.stderr.write(message)

    def _check(self, options: dict[str, Any], tenant: Any) -> Report:
        if tenant is not None:
            self._progress(f"tenant {tenant}")
        return check(
            options["labels"],
            database=options["database"],
            sample=options["sample"],
            batch_size=options["batch_size"],
            tenant=tenant,
            progress=self._progress,
        )

    def _fix(
        self, options: dict[str, Any], report: Report, document: dict[str, Any], text: list[str]
    ) -> Report:
        """Plan (and with --yes apply) repairs, then re-check what was repaired."""
        placement = Placement(options["database"])
        batch_size = options["batch_size"]
        steps = plan(report, placement=placement, batch_size=batch_size, progress=self._progress)
        applied = options["yes"]
        if applied:
            apply(steps, placement=placement, batch_size=batch_size, progress=self._progress)
        text.append("")
        text.append("Fix plan (applied):" if applied else "Fix plan (dry run; add --yes to apply):")
        text.extend(f"  {step.as_text()}" for step in steps)
        document["fix"] = {"applied": applied, "steps": [s.as_dict() for s in steps]}
        if not applied:
            return report
        after = Report()
        for result in report.relations:
            if not result.violations:
                continue
            with tenant_context(result.tenant):
                after.relations.append(
                    check_relation(
                        result.relation,
                        placement=placement,
                        sample=options["sample"],
                        batch_size=batch_size,
                        tenant=result.tenant,
                    )
                )
        document["after_fix"] = after.as_dict()
        text.append("")
        text.append("After the fix:")
        text.append(after.as_text())
        return after
