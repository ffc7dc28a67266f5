"""``manage.py s2_tenants``: list tenants and their databases; ``--check`` that each exists.

Exit codes: 0 ok, 1 a tenant database is missing (``--check``), 2 usage or configuration error.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import connections

from s2router import conf, tenancy
from s2router.commands import S2Command, add_tenant_arguments, selected_tenants


class Command(S2Command):
    help = "List tenants (all, or --tenant T) with their databases; --check that they exist."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        add_tenant_arguments(parser)
        parser.add_argument(
            "--check", action="store_true", help="Verify each tenant database exists."
        )
        self.add_database_argument(
            parser, "Tenancy alias to check (repeatable; default: every TENANCY alias).", many=True
        )
        self.add_format_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        cfg = conf.get_config()
        if cfg.tenancy is None:
            raise CommandError("S2ROUTER['TENANCY'] is not configured.", returncode=2)
        if not options["tenant"]:
            options["all_tenants"] = True
        aliases = sorted(options["database"] or cfg.tenancy.databases)
        unknown = [a for a in aliases if a not in cfg.tenancy.databases]
        if unknown:
            raise CommandError(
                f"{', '.join(unknown)} is not a TENANCY alias "
                f"({', '.join(sorted(cfg.tenancy.databases))}).",
                returncode=2,
            )
        rows = []
        missing = 0
        for selected in selected_tenants(options):
            assert selected is not None
            row: dict[str, Any] = {
                "tenant": selected.name,
                "database": selected.db_name,
                "cache_prefix": selected.cache_prefix,
            }
            if options["check"]:
                row["exists"] = {alias: _exists(alias, selected.db_name) for alias in aliases}
                missing += sum(not ok for ok in row["exists"].values())
            rows.append(row)
        if options["format"] == "json":
            self.emit_json({"tenants": rows})
        else:
            for row in rows:
                state = ""
                if "exists" in row:
                    state = "\t" + " ".join(
                        f"{a}:{'ok' if ok else 'MISSING'}" for a, ok in row["exists"].items()
                    )
                self.stdout.write(f"{row['tenant']}\t{row['database']}{state}")
        if missing:
            raise CommandError(f"{missing} tenant database(s) missing.", returncode=1)


def _exists(alias: str, db_name: str) -> bool:
    with tenancy.no_tenant(), connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", [db_name]
        )
        return cursor.fetchone() is not None
