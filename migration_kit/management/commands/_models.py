"""Argument handling shared by the migration-kit commands: which models, which databases."""

from __future__ import annotations

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
