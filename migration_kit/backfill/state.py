"""Backfill checkpoints: the key ranges of a model and how far each has been copied.

One ``BackfillCheckpoint`` row per (model, source, target, range). ``last_key`` is written only
after the rows up to it are committed on the target, so a rerun after a crash resumes right
after it: rows past it may already be on the target, and insert-if-absent skips them.
"""

from __future__ import annotations

from typing import Any

from django.db import connections, models

from migration_kit.backfill.keyset import Key, Table
from migration_kit.models import BACKFILL, BackfillCheckpoint

SAMPLES_PER_RANGE = 200
RANDOM_FUNCTION = {"postgresql": "random()", "mysql": "RAND()", "singlestore": "RAND()"}


def checkpoints(label: str, source: str, target: str) -> Any:
    """The checkpoint rows of one model copy, as a queryset."""
    return BackfillCheckpoint.objects.filter(
        kind=BACKFILL, model_label=label, source_alias=source, target_alias=target
    ).order_by("range_index")


def plan(
    model: type[models.Model], source: str, target: str, workers: int, restart: bool
) -> list[BackfillCheckpoint]:
    """The checkpoints to work on: the existing ones, or new ranges split for ``workers``."""
    label = model._meta.label
    existing = checkpoints(label, source, target)
    if restart:
        existing.delete()
    found = list(existing)
    if found:
        return found
    table = Table(model, connections[source])
    bounds = split(table, workers) if workers > 1 else []
    # Range i > 0 covers (bounds[i-1], bounds[i]]: its ``last_key`` starts at the previous
    # bound, so keys inserted later between ranges still fall in one; ``range_start`` is the
    # first key that existed when the range was planned.
    lows: list[Key | None] = [None, *bounds]
    highs: list[Key | None] = [*bounds, None]
    rows = [
        BackfillCheckpoint(
            model_label=label,
            source_alias=source,
            target_alias=target,
            range_index=i,
            range_start=table.encode(None if low is None else first_key_after(table, low)),
            range_end=table.encode(high),
            last_key=table.encode(low),
        )
        for i, (low, high) in enumerate(zip(lows, highs, strict=True))
    ]
    return BackfillCheckpoint.objects.bulk_create(rows)


def split(table: Table, parts: int) -> list[Key]:
    """Up to ``parts - 1`` boundary keys at sampled key quantiles, in the source's key order."""
    conn = table.connection
    with conn.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {table.name}")
        (count,) = cursor.fetchone()
        if count < parts * 2:
            return []
        wanted = parts * SAMPLES_PER_RANGE
        cols = ", ".join(table.pk_columns)
        random = RANDOM_FUNCTION.get(conn.vendor)
        if random is None or count <= wanted:
            cursor.execute(f"SELECT {cols} FROM {table.name} ORDER BY {table.order_by}")
        else:
            cursor.execute(
                f"SELECT {cols} FROM {table.name} WHERE {random} < %s ORDER BY {table.order_by}",
                [wanted / count],
            )
        sample = [table.raw_key(r) for r in cursor.fetchall()]
    bounds: list[Key] = []
    for i in range(1, parts):
        if not sample:
            break
        key = sample[min(len(sample) - 1, i * len(sample) // parts)]
        if not bounds or key != bounds[-1]:
            bounds.append(key)
    return bounds


def first_key_after(table: Table, key: Key) -> Key | None:
    """The first key greater than ``key``, or None when there is none."""
    where, params = table.after(key)
    cols = ", ".join(table.pk_columns)
    with table.connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {cols} FROM {table.name} WHERE {where} ORDER BY {table.order_by} LIMIT 1",
            params,
        )
        row = cursor.fetchone()
    return None if row is None else table.raw_key(row)
