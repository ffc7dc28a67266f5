"""Cutover: the guard that keeps entering and leaving ``cutover`` safe, and AUTO_INCREMENT.

``cutover_guard`` is registered with ``s2router.phases`` and refuses to enter ``cutover`` unless
the backfill finished, the outbox holds nothing for the model and the last verify was clean; it
refuses to leave ``cutover`` (rollback or ``done``) while mirrored writes are still pending,
since they would otherwise be applied over newer rows or lost. Entering ``cutover``,
``sync_auto_increment_at_cutover`` moves SingleStore's AUTO_INCREMENT past the copied ids.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db import connections

from migration_kit.status import backfill_progress, last_verify, outbox_lag
from s2router.phases import Phase


def cutover_guard(label: str, from_phase: Phase, to_phase: Phase) -> list[str]:
    """Reasons to refuse moving ``label`` into or out of ``cutover`` (see the module docstring)."""
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
