"""Where each migrating model stands, and the guard that keeps ``cutover`` safe.

``model_status(model)`` gathers, for ``s2_status``: the phase, backfill progress (checkpoint
rows), outbox lag on every database holding an outbox, the last verify run and the shadow-read
counters every process has flushed (``s2router.ShadowStat``) plus this process's pending ones.
``cutover_guard`` is registered with ``s2router.phases`` and refuses to enter ``cutover`` unless
the backfill finished, the outbox holds nothing for the model and the last verify was clean; it
refuses to leave ``cutover`` (rollback or ``done``) while mirrored writes are still pending,
since they would otherwise be applied over newer rows or lost.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db import connections, models
from django.db.models import Count, Max, Q, Sum

from migration_kit.dualwrite import triggers
from migration_kit.dualwrite.outbox import lag, outbox_aliases
from migration_kit.models import BackfillCheckpoint, VerifyRun
from s2router.phases import Phase


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
        model_label=model._meta.label, source_alias=source, target_alias=target
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


def cutover_guard(label: str, from_phase: Phase, to_phase: Phase) -> list[str]:
    """Reasons to refuse moving ``label`` into or out of ``cutover`` (see module docstring)."""
    if Phase.CUTOVER not in (from_phase, to_phase):
        return []
    from s2router import conf as router_conf
    from s2router.phases import source_alias

    model = apps.get_model(label)
    reasons = []
    pending = outbox_lag(model)
    if pending["errors"]:
        reasons.append("cannot read every outbox: " + "; ".join(pending["errors"]))
    if pending["count"]:
        reasons.append(
            f"{pending['count']} outbox entr(ies) still pending "
            f"({pending['failing']} failing); drain them with `manage.py s2_sync`"
        )
    if to_phase != Phase.CUTOVER or from_phase != Phase.SHADOW:
        return reasons
    target = router_conf.get_config().singlestore
    backfill = backfill_progress(model, source_alias(model), target)
    if not backfill["ranges"]:
        reasons.append(f"no backfill was run to {target!r}; run `manage.py s2_backfill {label}`")
    elif not backfill["finished"]:
        reasons.append(
            f"backfill unfinished: {backfill['finished_ranges']}/{backfill['ranges']} ranges done"
        )
    verify = last_verify(model)
    if verify is None:
        reasons.append(f"never verified; run `manage.py s2_verify {label}`")
    elif not verify["clean"]:
        found = verify["differences"]
        what = verify["error"] or (f"{found} difference(s)" if found is not None else "unfinished")
        reasons.append(f"the last verify was not clean ({what}); rerun `s2_verify --repair`")
    return reasons


def sync_auto_increment_at_cutover(sender: Any, transition: Any, **kwargs: Any) -> None:
    """Entering cutover, SingleStore starts generating ids for rows that were copied with
    explicit ids; move its AUTO_INCREMENT past them first (``phase_changed`` receiver)."""
    if transition.to_phase != Phase.CUTOVER or not transition.changed:
        return
    from s2router import conf as router_conf

    connection = connections[router_conf.get_config().singlestore]
    if connection.vendor == "singlestore":
        connection.ops.sync_auto_increment(apps.get_model(transition.label))
