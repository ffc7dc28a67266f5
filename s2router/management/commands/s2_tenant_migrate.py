"""``manage.py s2_tenant_migrate --all-tenants|--tenant T``: ``migrate`` inside each tenant DB.

Each run happens with the tenant active, so every statement ``migrate`` issues on the tenancy
alias (including ``django_migrations``) goes to that tenant's database. ``--create`` creates
missing tenant databases first. Progress goes to stderr. Exit codes: 0 ok, 2 usage error.
"""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import CommandError, CommandParser
from django.db import connections

from s2router import conf, tenancy
from s2router.commands import TenantCommand


class Command(TenantCommand):
    help = "Run migrate on a tenancy alias once per tenant (--tenant T or --all-tenants)."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        self.add_database_argument(parser, "Tenancy alias (default: the SingleStore alias).")
        parser.add_argument(
            "--create", action="store_true", help="CREATE DATABASE IF NOT EXISTS first."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        cfg = conf.get_config()
        alias = options["database"] or cfg.singlestore
        if cfg.tenancy is None or alias not in cfg.tenancy.databases:
            raise CommandError(
                f"{alias!r} is not a tenancy alias; set S2ROUTER['TENANCY']['DATABASES'].",
                returncode=2,
            )
        if not options["tenant"] and not options["all_tenants"]:
            raise CommandError("Give --tenant T or --all-tenants.", returncode=2)
        options["database"] = alias
        super().handle(*args, **options)

    def handle_tenant(self, active: tenancy.Tenant | None, *args: Any, **options: Any) -> None:
        assert active is not None
        alias = options["database"]
        connection = connections[alias]
        if options["create"]:
            with tenancy.no_tenant(), connection.cursor() as cursor:
                name = connection.ops.quote_name(active.db_name)
                cursor.execute(f"CREATE DATABASE IF NOT EXISTS {name}")
        self.stderr.write(f"migrating tenant {active.name} ({active.db_name}) on {alias}")
        call_command(
            "migrate",
            database=alias,
            interactive=False,
            verbosity=options["verbosity"],
            stdout=self.stderr,
        )
