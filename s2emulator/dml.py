"""SingleStore's limits on writes and transactions, as pure checks over a table's layout.

Only the emulator judges DML (the backend never sends these shapes on its own), so the checks
live here; the rules they report (``UPDATE_SHARD_KEY``, ``UPDATE_LIMIT``, ``SAVEPOINT``,
``REFERENCE_WRITE_CHILD_AGGREGATOR``) stay in :mod:`django_singlestore.rules`, the one catalogue.
"""

from __future__ import annotations

from collections.abc import Iterable

from django_singlestore.rules import (
    REFERENCE_WRITE_CHILD_AGGREGATOR,
    SAVEPOINT,
    UPDATE_LIMIT,
    UPDATE_SHARD_KEY,
    TableSpec,
    Version,
    Violation,
)


def check_update(
    spec: TableSpec,
    assigned_columns: Iterable[str],
    has_limit: bool = False,
    version: Version | None = None,
) -> list[Violation]:
    """An ``UPDATE spec SET <assigned_columns> [LIMIT n]`` against the distributed-SQL limits."""
    found = []
    if not spec.is_sharded:
        return found
    # Column names compare case-insensitively, as in MySQL.
    shard = {c.lower() for c in spec.effective_shard_key()}
    hit = next((c for c in assigned_columns if c.lower() in shard), None)
    if hit is not None and UPDATE_SHARD_KEY.applies_to(version):
        found.append(Violation(UPDATE_SHARD_KEY, UPDATE_SHARD_KEY.format()))
    if has_limit and UPDATE_LIMIT.applies_to(version):
        found.append(Violation(UPDATE_LIMIT, UPDATE_LIMIT.format()))
    return found


def check_savepoint() -> Violation:
    """SAVEPOINT, ROLLBACK TO [SAVEPOINT] and RELEASE SAVEPOINT are always refused."""
    return Violation(SAVEPOINT, SAVEPOINT.format())


def check_reference_write(
    spec: TableSpec, in_transaction: bool, child_aggregator: bool
) -> list[Violation]:
    """A write to ``spec`` inside an explicit transaction, on a child aggregator (error 2549)."""
    if spec.storage.is_reference and in_transaction and child_aggregator:
        rule = REFERENCE_WRITE_CHILD_AGGREGATOR
        return [Violation(rule, rule.format())]
    return []
