"""Apply captured keys from the old table to the new one: re-copy each row as it is now.

A batch of ``RebuildKey`` entries is settled in one transaction on the table's database:
delete those keys from the new table, ``INSERT … SELECT`` them from the old one (a row deleted
meanwhile is simply not there), and delete exactly the entries read. A write that commits after
the read leaves its own entry for the next batch, so repeated passes converge on the old
table's state; the entries are deleted by id, never by range, because ids are not committed in
order.

While the copy still runs, a batch settles only keys the copy already passed (``upto``, its
checkpoint); the entries of keys beyond it are simply deleted, since the copy will read those
rows as they are when it gets there. :func:`apply_for` runs one throttle round
(``migration_kit.rebuild.throttle``), optionally capped at a rate.
"""

from __future__ import annotations

import time
from typing import Any

from django.db import connections, transaction

from migration_kit.rebuild.copy import insert_select
from migration_kit.rebuild.models import RebuildKey
from migration_kit.rebuild.plan import Plan

DEFAULT_BATCH = 2000
#: ``upto`` for "the copy is finished": every captured key is applied.
ALL: Any = object()
#: With a rate cap, one batch holds this many seconds' worth of keys.
RATE_SLICE_SECONDS = 0.1


def backlog(plan: Plan) -> int:
    """Captured keys not applied yet."""
    return RebuildKey.objects.using(plan.alias).filter(table=plan.table).count()


def apply_batch(
    plan: Plan, source: str | None = None, batch: int = DEFAULT_BATCH, upto: Any = ALL
) -> int:
    """Apply up to ``batch`` captured keys from ``source`` (default: the table) to the new
    table, only those up to ``upto`` (the copy's checkpoint; None: nothing copied yet); returns
    the entries settled (0: nothing was waiting)."""
    connection = connections[plan.alias]
    qn = connection.ops.quote_name
    with transaction.atomic(using=plan.alias):
        entries = list(
            RebuildKey.objects.using(plan.alias)
            .filter(table=plan.table)
            .order_by("id")
            .values_list("id", "object_pk")[:batch]
        )
        if not entries:
            return 0
        keys: list[Any] = list(dict.fromkeys(key for _, key in entries))
        marks = ", ".join(["%s"] * len(keys))
        if upto is not None:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"DELETE FROM {qn(plan.new)} WHERE {qn(plan.key_new)} IN ({marks})", keys
                )
            where, params = f"{qn(plan.key_old)} IN ({marks})", keys
            if upto is not ALL:
                # Compared by the database, as the copy's key ranges are (collations).
                where, params = f"{where} AND {qn(plan.key_old)} <= %s", [*keys, upto]
            insert_select(plan, where, params, source=source)
        ids = [entry_id for entry_id, _ in entries]
        RebuildKey.objects.using(plan.alias).filter(id__in=ids)._raw_delete(plan.alias)
    return len(entries)


def drain(plan: Plan, source: str | None = None) -> int:
    """Apply batches until none waits (the fence's final drain); returns the entries settled."""
    settled = 0
    while True:
        done = apply_batch(plan, source)
        settled += done
        if done == 0:
            return settled


def apply_for(
    plan: Plan, seconds: float, until: int, upto: Any = ALL, rate: float | None = None
) -> tuple[int, int]:
    """Apply batches until at most ``until`` entries wait or ``seconds`` passed, at most
    ``rate`` keys per second; returns (entries settled, entries waiting)."""
    began = time.monotonic()
    batch = DEFAULT_BATCH if rate is None else max(1, int(rate * RATE_SLICE_SECONDS))
    settled, waiting = 0, backlog(plan)
    while waiting > until:
        done = apply_batch(plan, batch=batch, upto=upto)
        settled += done
        waiting = backlog(plan)
        if done == 0:
            break
        if rate is not None:
            ahead = settled / rate - (time.monotonic() - began)
            time.sleep(max(0.0, min(ahead, began + seconds - time.monotonic())))
        if time.monotonic() - began >= seconds:
            break
    return settled, waiting


def clear(plan: Plan) -> None:
    """Forget every captured key of the table (a finished or abandoned rebuild)."""
    RebuildKey.objects.using(plan.alias).filter(table=plan.table)._raw_delete(plan.alias)
