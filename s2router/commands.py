"""Reusable ``--tenant T`` / ``--all-tenants`` support for management commands.

Either subclass ``TenantCommand`` and implement ``handle_tenant(active, **options)`` (called once
per selected tenant, inside ``s2router.tenant(...)``; ``active`` is None when neither option is
given), or call ``add_tenant_arguments(parser)`` and iterate ``each_tenant(options)`` yourself.
Bad tenant options raise ``CommandError(returncode=2)``.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from s2router import conf, tenancy


def add_tenant_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the mutually exclusive ``--tenant`` and ``--all-tenants`` options."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--tenant", metavar="T", help="Run for this tenant only.")
    group.add_argument(
        "--all-tenants", action="store_true", help="Run once for every tenant, in name order."
    )


def selected_tenants(options: dict[str, Any]) -> list[tenancy.Tenant | None]:
    """The tenants ``options`` select, resolved through the mapper; ``[None]`` for neither."""
    name, every = options.get("tenant"), options.get("all_tenants")
    if not name and not every:
        return [None]
    if conf.get_config().tenancy is None:
        raise CommandError(
            "--tenant/--all-tenants need S2ROUTER['TENANCY']; see docs/router.md.", returncode=2
        )
    try:
        names = [name] if name else tenancy.tenant_names()
        return [tenancy.resolve(n) for n in names]
    except (ImproperlyConfigured, ValueError, ImportError) as exc:
        raise CommandError(str(exc), returncode=2) from exc


def each_tenant(options: dict[str, Any]) -> Iterator[tenancy.Tenant | None]:
    """Yield each selected tenant with it active (None: no tenant set)."""
    for selected in selected_tenants(options):
        if selected is None:
            yield None
        else:
            with tenancy.tenant(selected):
                yield selected


class TenantCommand(BaseCommand):
    """A command run once per tenant selected with ``--tenant``/``--all-tenants``."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_tenant_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        for selected in each_tenant(options):
            self.handle_tenant(selected, *args, **options)

    def handle_tenant(self, active: tenancy.Tenant | None, *args: Any, **options: Any) -> None:
        """Do the work for one tenant (already active)."""
        raise NotImplementedError("TenantCommand subclasses implement handle_tenant()")
