"""Apply captured keys from the old table to the new one: re-copy each row as it is now.

A batch of ``RebuildKey`` entries is settled in one transaction on the table's database:
delete those keys from the new table, ``INSERT … SELECT`` them from the old one (a row deleted
meanwhile is simply not there), and delete exactly the entries read. A write that commits after
the read leaves its own entry for the next batch, so repeated passes converge on the old
table's state; the entries are deleted by id, never by range, because ids are not committed in
order.
"""

from __future__ import annotations

from typing import Any

from django.db import connections, transaction

from migration_kit.rebuild.copy import insert_select
from migration_kit.rebuild.models import RebuildKey
from migration_kit.rebuild.plan import Plan

DEFAULT_BATCH = 2000


def backlog(plan: Plan) -> int:
    """Captured keys not applied yet."""
    return RebuildKey.objects.using(plan.alias).filter(table=plan.table).count()


def apply_batch(plan: Plan, source: str | None = None, batch: int = DEFAULT_BATCH) -> int:
    """Apply up to ``batch`` captured keys from ``source`` (default: the table) to the new
    table; returns the entries settled (0: nothing was waiting)."""
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
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {qn(plan.new)} WHERE {qn(plan.key_new)} IN ({marks})", keys
            )
        insert_select(plan, f"{qn(plan.key_old)} IN ({marks})", keys, source=source)
        ids = [entry_id for entry_id, _ in entries]
        RebuildKey.objects.using(plan.alias).filter(id__in=ids)._raw_delete(plan.alias)
    return len(entries)


def drain(plan: Plan, source: str | None = None, until: int = 0) -> int:
    """Apply batches until at most ``until`` entries wait; returns the entries settled."""
    settled = 0
    while True:
        done = apply_batch(plan, source)
        settled += done
        if done == 0 or (until and backlog(plan) <= until):
            return settled


def clear(plan: Plan) -> None:
    """Forget every captured key of the table (a finished or abandoned rebuild)."""
    RebuildKey.objects.using(plan.alias).filter(table=plan.table)._raw_delete(plan.alias)
