"""Verify the new table against the old one, chunk by chunk, before the swap.

Both sides are summarised per key range in SQL (row count and the sum of a CRC32 over each
row's columns, rendered as text with NULLs marked); the old side through the copy's own
expressions, so a column that gained a default compares as the copy wrote it. A range whose
summaries differ is read row by row to name the differing keys. Run inside the fence, where
no ORM write reaches either table: any difference is a write the capture did not see (raw
SQL), and the swap does not happen.
"""

from __future__ import annotations

from typing import Any

from django.db import connections

from migration_kit.rebuild.plan import Plan

DEFAULT_CHUNK = 20000
SAMPLE = 20


def _row_text(expressions: list[str]) -> str:
    parts = ", ".join(f"IFNULL(CAST({e} AS CHAR), '<null>')" for e in expressions)
    return f"CONCAT_WS('|', {parts})"


def differences(plan: Plan, old: str, chunk: int = DEFAULT_CHUNK) -> tuple[int, list[Any], int]:
    """(differing keys, a sample of them, rows compared) between ``old`` and the new table."""
    connection = connections[plan.alias]
    qn = connection.ops.quote_name
    key_old, key_new = qn(plan.key_old), qn(plan.key_new)
    sides = (
        (qn(old), key_old, _row_text(plan.sources), list(plan.source_params)),
        (qn(plan.new), key_new, _row_text(plan.targets), []),
    )
    differing, sample, compared = 0, [], 0
    last: Any = None
    with connection.cursor() as cursor:
        while True:
            where, params = (f"{key_old} > %s", [last]) if last is not None else ("1 = 1", [])
            cursor.execute(
                f"SELECT {key_old} FROM {qn(old)} WHERE {where} "
                f"ORDER BY {key_old} LIMIT 1 OFFSET {chunk - 1}",
                params,
            )
            found = cursor.fetchone()
            upper = found[0] if found else None
            summaries = []
            for table, key, text, text_params in sides:
                conditions, bounds = [], []
                if last is not None:
                    conditions.append(f"{key} > %s")
                    bounds.append(last)
                if upper is not None:
                    conditions.append(f"{key} <= %s")
                    bounds.append(upper)
                cursor.execute(
                    f"SELECT COUNT(*), SUM(CRC32({text})) FROM {table} "
                    f"WHERE {' AND '.join(conditions) or '1 = 1'}",
                    [*text_params, *bounds],
                )
                summaries.append((tuple(cursor.fetchone()), conditions, bounds))
            compared += summaries[0][0][0]
            if summaries[0][0] != summaries[1][0]:
                rows = []
                for (table, key, text, text_params), (_, conditions, bounds) in zip(
                    sides, summaries, strict=True
                ):
                    cursor.execute(
                        f"SELECT {key}, {text} FROM {table} "
                        f"WHERE {' AND '.join(conditions) or '1 = 1'}",
                        [*text_params, *bounds],
                    )
                    rows.append(dict(cursor.fetchall()))
                for k in sorted(set(rows[0]) | set(rows[1]), key=str):
                    if rows[0].get(k) != rows[1].get(k):
                        differing += 1
                        if len(sample) < SAMPLE:
                            sample.append(k)
            if upper is None:
                return differing, sample, compared
            last = upper
