"""The base of the router's and the kit's management commands, and ``--tenant`` support.

``S2Command`` (every ``s2_*`` command subclasses it) gives them one shape:

- shared options, added by name: ``add_models_argument`` (``app.Model`` labels),
  ``add_database_argument`` (one alias, or repeatable), ``add_source_target_arguments``
  (``--source``/``--target``, and ``--database`` as ``--target``), ``add_format_argument``
  (``--format text|json``);
- one JSON style on stdout (``emit_json``: one document, indented, in the command's key order);
- exit codes 0 ok, 1 problems found (``CommandError(returncode=1)``), 2 usage or configuration
  error: a broken ``S2ROUTER`` (the strict ``conf.checked_config``) and any
  ``ImproperlyConfigured`` become ``CommandError(returncode=2)`` naming the check id;
- progress on stderr through ``progress_stream`` (the stream ``stderr=`` or the terminal gave,
  for tqdm), never ``self.stderr._out``.

It lives here, not in the kit, because the router's commands use it too and the kit already
depends on the router (never the other way round).

For tenants: either subclass ``TenantCommand`` and implement ``handle_tenant(active,
**options)`` (called once per selected tenant, inside ``s2router.tenant(...)``; ``active`` is
None when neither option is given), or call ``add_tenant_arguments(parser)`` and iterate
``each_tenant(options)`` yourself. Bad tenant options raise ``CommandError(returncode=2)``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import Any, TextIO

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from s2router import conf, tenancy


class S2Command(BaseCommand):
    """A router or kit command: shared options, one JSON style, exit codes 0/1/2, progress."""

    _progress_stream: TextIO | None = None

    @staticmethod
    def add_models_argument(parser: argparse.ArgumentParser, **kwargs: Any) -> None:
        """Positional ``app.Model`` labels (none: every migrating model, where the command says
        so)."""
        parser.add_argument("models", nargs="*", metavar="app.Model", **kwargs)

    @staticmethod
    def add_database_argument(
        parser: argparse.ArgumentParser, help: str, *, many: bool = False, dest: str = "database"
    ) -> None:
        """``--database ALIAS`` (``many``: repeatable, a list or None)."""
        extra: dict[str, Any] = {"action": "append", "metavar": "ALIAS"} if many else {}
        parser.add_argument("--database", dest=dest, help=help, **extra)

    @staticmethod
    def add_source_target_arguments(
        parser: argparse.ArgumentParser, *, database_help: str = "Same as --target."
    ) -> None:
        """``--source``/``--target`` (default: the router's source and SINGLESTORE), with
        ``--database`` as a synonym of ``--target``."""
        parser.add_argument("--source", help="Source alias (default: the model's MIGRATING one).")
        parser.add_argument("--target", help="Target alias (default: S2ROUTER['SINGLESTORE']).")
        parser.add_argument("--database", dest="target", help=database_help)

    @staticmethod
    def add_format_argument(parser: argparse.ArgumentParser) -> None:
        """``--format text|json``: human lines, or one JSON document on stdout."""
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def emit_json(self, document: Any) -> None:
        """The command's one JSON document on stdout, in the one style every command uses."""
        self.stdout.write(json.dumps(document, indent=2, default=str))

    @property
    def progress_stream(self) -> TextIO:
        """Where progress bars (tqdm) draw: the stream behind ``self.stderr``."""
        return self._progress_stream or sys.stderr

    def execute(self, *args: Any, **options: Any) -> Any:
        """Run with the strict S2ROUTER config; configuration errors exit 2."""
        self._progress_stream = options.get("stderr") or sys.stderr
        try:
            conf.checked_config()
            return super().execute(*args, **options)
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc), returncode=2) from exc


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


class TenantCommand(S2Command):
    """A command run once per tenant selected with ``--tenant``/``--all-tenants``."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_tenant_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        for selected in each_tenant(options):
            self.handle_tenant(selected, *args, **options)

    def handle_tenant(self, active: tenancy.Tenant | None, *args: Any, **options: Any) -> None:
        """Do the work for one tenant (already active)."""
        raise NotImplementedError("TenantCommand subclasses implement handle_tenant()")
