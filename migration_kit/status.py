"""Where each migrating model stands: what ``s2_status`` shows, and what cutover checks.

``model_status(model)`` gathers the phase, how writes are captured, backfill progress
(checkpoint rows), outbox lag on every database holding an outbox, the last verify run and the
shadow-read counters every process has flushed (``s2router.ShadowStat``) plus this process's
pending ones. ``migration_kit.cutover`` judges a phase change from the same figures.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Count, Max, Q, Sum

from migration_kit.dualwrite import triggers
from migration_kit.dualwrite.outbox import lag, outbox_aliases
from migration_kit.models import BACKFILL, BackfillCheckpoint, VerifyRun


def mirrored_labels(model: type[models.Model]) -> list[str]:
    """``model``'s label plus the labels of its auto-created M2M through tables."""
    return [table._meta.label for table in triggers.covered_models(model)]


def capture(model: type[models.Model], source: str | None, mirror: str) -> dict[str, Any]:
    """How writes of ``model`` (and its M2M tables) on ``source`` reach the outbox: per table
    ``installed``/``missing``/``stale`` triggers, ``not capturable`` or ``error``; ``mode`` is
    ``triggers`` when all are installed, ``wrappers`` when none is, else ``mixed``."""
    tables: dict[str, str] = {}
    for table in triggers.covered_models(model):
        if source is None:
            tables[table._meta.label] = "not capturable"
            continue
        try:
            tables[table._meta.label] = triggers.state(table, source, mirror)
        except triggers.NotCapturable:
            tables[table._meta.label] = "not capturable"
        except Exception as exc:
            tables[table._meta.label] = f"error: {type(exc).__name__}: {exc}"
    states = set(tables.values())
    if states == {"installed"}:
        mode = "triggers"
    elif "installed" in states:
        mode = "mixed"
    else:
        mode = "wrappers"
    return {"mode": mode, "tables": tables}


def outbox_lag(model: type[models.Model]) -> dict[str, Any]:
    """Pending entries for ``model`` (and its through tables) on the two databases that hold
    its outbox entries in some phase: its source and SingleStore."""
    from s2router import conf as router_conf
    from s2router.phases import source_alias

    labels = mirrored_labels(model)
    total: dict[str, Any] = {"count": 0, "failing": 0, "oldest_age_seconds": None, "errors": []}
    candidates = {source_alias(model), router_conf.get_config().singlestore} - {None}
    aliases, errors = outbox_aliases(sorted(candidates))
    total["errors"] = errors
    for alias in aliases:
        try:
            per_label = lag(alias, labels)
        except Exception as exc:
            total["errors"].append(f"{alias}: {type(exc).__name__}: {exc}")
            continue
        for row in per_label.values():
            total["count"] += row["count"]
            total["failing"] += row["failing"]
            oldest = total["oldest_age_seconds"]
            total["oldest_age_seconds"] = max(oldest or 0.0, row["oldest_age_seconds"])
    return total


def backfill_progress(model: type[models.Model], source: str | None, target: str) -> dict:
    """Checkpoint totals for copying ``model`` from ``source`` to ``target``."""
    qs = BackfillCheckpoint.objects.filter(
        kind=BACKFILL, model_label=model._meta.label, source_alias=source, target_alias=target
    )
    agg = qs.aggregate(
        rows=Sum("rows_copied"),
        updated=Max("updated_at"),
        ranges=Count("id"),
        finished=Count("id", filter=Q(finished=True)),
    )
    ranges, finished = agg["ranges"], agg["finished"]
    return {
        "ranges": ranges,
        "finished_ranges": finished,
        "rows_copied": agg["rows"] or 0,
        "finished": ranges > 0 and finished == ranges,
        "updated_at": agg["updated"].isoformat() if agg["updated"] else None,
    }


def last_verify(model: type[models.Model]) -> dict[str, Any] | None:
    """The newest ``VerifyRun`` of ``model``, or None if it was never verified."""
    run = VerifyRun.objects.filter(model_label=model._meta.label).order_by("-started_at").first()
    if run is None:
        return None
    return {
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "clean": run.clean,
        "differences": run.differences,
        "repaired": run.repaired,
        "error": run.error,
    }


def model_status(model: type[models.Model]) -> dict[str, Any]:
    """Everything ``s2_status`` shows for one migrating model."""
    from s2router import conf as router_conf
    from s2router import shadow
    from s2router.phases import get_phase, source_alias, write_aliases

    primary, mirror = write_aliases(model)
    source = source_alias(model)
    label = model._meta.label
    counters = shadow.report(label).get(model._meta.label_lower, {})
    mismatch_at = counters.get("last_mismatch_at")
    return {
        "model": label,
        "phase": str(get_phase(model)),
        "source": source,
        "primary": primary,
        "mirror": mirror,
        "capture": capture(model, source, router_conf.get_config().singlestore),
        "backfill": backfill_progress(model, source, router_conf.get_config().singlestore),
        "outbox": outbox_lag(model),
        "verify": last_verify(model),
        "shadow": {
            **{key: counters.get(key, 0) for key in shadow.COUNTERS},
            "last_mismatch_at": mismatch_at.isoformat() if mismatch_at else None,
        },
    }
