"""Argument handling shared by the migration-kit commands: which models, which databases, and
the opt-in ``--celery`` option group of ``s2_backfill`` and ``s2_verify``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from django.apps import apps
from django.core.management.base import CommandError
from django.db import connections, models


def resolve_models(labels: list[str]) -> list[type[models.Model]]:
    """``app.Model`` labels as model classes; none given → every migrating model (s2router)."""
    if not labels:
        from s2router.phases import migrating_models

        labels = list(migrating_models())
        if not labels:
            raise CommandError(
                "No model given and S2ROUTER['MIGRATING'] lists none: name models as app.Model.",
                returncode=2,
            )
    found = []
    for label in labels:
        try:
            model = apps.get_model(label)
        except (LookupError, ValueError):
            raise CommandError(
                f"Unknown model {label!r}: use app_label.ModelName.", returncode=2
            ) from None
        found.append(model)
    return found


def refuse_multi_table(models_: list[type[models.Model]]) -> None:
    """Backfill and verify read one table per model; dual write and sync handle the rest."""
    for model in models_:
        if model._meta.parents:
            raise CommandError(
                f"{model._meta.label} uses multi-table inheritance, which the backfill and "
                "verify do not support (its fields span several tables).",
                returncode=2,
            )


def resolve_aliases(
    model: type[models.Model], source: str | None, target: str | None
) -> tuple[str, str]:
    """The source and target aliases: given ones, else the router's (MIGRATING, SINGLESTORE)."""
    from s2router import conf, phases

    if source is None:
        source = phases.source_alias(model)
    if target is None:
        config = conf.get_config()
        target = config.singlestore if config.configured else None
    label = model._meta.label
    if source is None or target is None:
        raise CommandError(
            f"{label} is not in S2ROUTER['MIGRATING']: pass --source and --target.",
            returncode=2,
        )
    for alias in (source, target):
        if alias not in connections:
            raise CommandError(
                f"Unknown database alias {alias!r}; DATABASES has {', '.join(connections)}.",
                returncode=2,
            )
    if source == target:
        raise CommandError(f"{label}: source and target are both {source!r}.", returncode=2)
    return source, target


#: Ranges ``--celery`` plans without ``--ranges``: enough to keep a few workers busy.
DEFAULT_RANGES = 8


def add_celery_arguments(
    parser: argparse.ArgumentParser, *, celery_help: str, no_wait_help: str, lease_seconds_help: str
) -> None:
    """The range-task options, as one group: ``--celery``, ``--ranges``, ``--no-wait`` and
    ``--lease-seconds`` (the help differs per command; ``check_celery_arguments`` validates)."""
    group = parser.add_argument_group("key ranges and Celery")
    group.add_argument("--celery", action="store_true", help=celery_help)
    group.add_argument("--ranges", type=int, help="With --celery: key ranges to plan (default 8).")
    group.add_argument("--no-wait", action="store_true", help=no_wait_help)
    group.add_argument("--lease-seconds", type=float, help=lease_seconds_help)


def check_celery_arguments(
    opts: dict[str, Any], *, celery_only: Sequence[str] = ("ranges", "no_wait")
) -> None:
    """Usage errors of the group (exit 2): ``celery_only`` options (dests) without ``--celery``,
    ``--ranges`` below 1, a ``--lease-seconds`` that is not positive."""
    if not opts["celery"] and any(opts[k] not in (None, False) for k in celery_only):
        flags = ["--" + k.replace("_", "-") for k in celery_only]
        listed = flags[0] if len(flags) == 1 else ", ".join(flags[:-1]) + " and " + flags[-1]
        raise CommandError(f"{listed} go with --celery.", returncode=2)
    if opts["ranges"] is not None and opts["ranges"] < 1:
        raise CommandError("--ranges must be at least 1.", returncode=2)
    if opts["lease_seconds"] is not None and opts["lease_seconds"] <= 0:
        raise CommandError("--lease-seconds must be positive.", returncode=2)
