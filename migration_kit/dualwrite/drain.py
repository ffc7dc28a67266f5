"""Draining the outbox: what ``s2_sync`` runs, and what the relay runs for triggers' entries.

- ``drain(alias)``: one pass over the outbox table on ``alias``. Entries are claimed in a short
  transaction (``FOR UPDATE SKIP LOCKED`` where the database has it) by pushing their
  ``next_attempt_at`` one lease ahead, then applied outside it, then deleted — or given back
  with exponential backoff and the error. Several drainers can run at once.
- ``drain_all(aliases)``: passes over every alias until nothing is due (``--loop``: forever).
- ``catch_up(model, since, field)``: ``--since`` mode, no outbox: apply every row whose
  ``updated_at``-style field is at or after ``since``.

The outbox table's own statements (claim, give back, delete, lag) are in
``migration_kit.dualwrite.outbox``; applying keys is ``migration_kit.dualwrite.apply``.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import close_old_connections, connections, models
from django.db.models import Q
from django.utils import timezone

from migration_kit.dualwrite.apply import ApplyResult, apply_keys
from migration_kit.dualwrite.outbox import (
    Claimed,
    claim,
    delete_entries,
    due,
    give_back,
    settling,
)
from migration_kit.keys import decode_pk
from migration_kit.vendors import forget_broken, is_unreachable

logger = logging.getLogger("migration_kit.dualwrite.drain")


def settle(
    alias: str, label: str, keys: list[Any], source: str, target: str, column: str, values: list
) -> ApplyResult:
    """Apply ``keys`` of ``label`` from ``source`` to ``target``, then delete the entries they
    came from (those whose ``column`` is one of ``values``) in the outbox on ``alias``: both in
    one transaction there."""
    with settling(alias):
        result = apply_keys(apps.get_model(label), keys, source, target)
        delete_entries(alias, column, values)
    return result


@dataclass
class DrainResult:
    """What one or more drain passes did."""

    claimed: int = 0
    applied: int = 0
    failed: int = 0
    upserted: int = 0
    deleted: int = 0
    errors: list[str] = field(default_factory=list)
    #: Whether a failure was a mirror that could not be reached (not a lock or a bad row).
    unreachable: bool = False

    def merge(self, other: DrainResult) -> None:
        self.unreachable = self.unreachable or other.unreachable
        self.claimed += other.claimed
        self.applied += other.applied
        self.failed += other.failed
        self.upserted += other.upserted
        self.deleted += other.deleted
        self.errors += [e for e in other.errors if e not in self.errors][:20]


def _grouped(entries: list[Claimed]) -> dict[tuple[str, str, str], list[Claimed]]:
    """Entries by ``(model label, source alias, target alias)``: what one apply covers."""
    groups: dict[tuple[str, str, str], list[Claimed]] = defaultdict(list)
    for entry in entries:
        groups[entry.model_label, entry.source_alias, entry.target_alias].append(entry)
    return groups


def _keys(label: str, entries: list[Claimed]) -> list[Any]:
    model = apps.get_model(label)
    return [decode_pk(model, e.object_pk) for e in entries]


def drain(alias: str, batch_size: int = 500) -> DrainResult:
    """Claim and apply one batch of due entries from the outbox on ``alias``.

    Where the outbox's database skips locked rows without locking gaps, the batch is first tried
    in one transaction: its entries are locked (not leased), applied and deleted before that
    transaction commits — about half the round trips of a leased claim, and no UPDATE of every
    entry. Other drainers skip the locked entries meanwhile, and writers keep inserting new ones.
    If any of it fails, the transaction rolls back (the entries stay due) and the batch takes the
    leased path, which retries group by group and records each failure on its entries.
    """
    if _locks_without_gaps(alias):
        touched: set[str] = set()
        try:
            return _drain_in_one_transaction(alias, batch_size, touched)
        except Exception as exc:
            logger.debug("drain of %r: one-transaction pass failed (%s), leasing", alias, exc)
            for other in sorted(touched | {alias}):
                forget_broken(other)
    return _drain_leased(alias, batch_size)


def _locks_without_gaps(alias: str) -> bool:
    """Whether a drain may hold its entries locked while it applies them: the database skips
    locked rows and, on MySQL/MariaDB, the alias runs READ COMMITTED (Django's default there).
    Under REPEATABLE READ, InnoDB's locking read of the outbox would also lock the gap after its
    last entry, and every writer's new entry would wait for the apply."""
    connection = connections[alias]
    if not connection.features.has_select_for_update_skip_locked:
        return False
    if connection.vendor != "mysql":
        return True
    level = connection.settings_dict.get("OPTIONS", {}).get("isolation_level", "read committed")
    return (level or "").lower() == "read committed"


def _drain_in_one_transaction(alias: str, batch_size: int, touched: set[str]) -> DrainResult:
    """Lock up to ``batch_size`` due entries, apply them and delete them, in one transaction
    on ``alias``; raises on any failure (after rolling that transaction back)."""
    with settling(alias):
        qs = due(alias, timezone.now()).select_for_update(skip_locked=True)
        entries = [Claimed._make(row) for row in qs.values_list(*Claimed._fields)[:batch_size]]
        result = DrainResult(claimed=len(entries), applied=len(entries))
        for (label, source, target), group in _grouped(entries).items():
            touched.update((source, target))
            applied = apply_keys(apps.get_model(label), _keys(label, group), source, target)
            result.upserted += applied.upserted
            result.deleted += applied.deleted
        if entries:
            delete_entries(alias, "id", [e.id for e in entries])
    return result


def _drain_leased(alias: str, batch_size: int) -> DrainResult:
    """Lease a batch, apply it group by group (retrying while a round makes progress), give
    failed entries back with their error and backoff."""
    result = DrainResult()
    entries = claim(alias, batch_size)
    result.claimed = len(entries)
    groups = _grouped(entries)

    def apply_group(group_key: tuple[str, str, str]) -> ApplyResult:
        label, source, target = group_key
        group = groups[group_key]
        keys = _keys(label, group)
        return settle(alias, label, keys, source, target, "id", [e.id for e in group])

    done, failed = apply_in_rounds(list(groups), apply_group)
    for group_key, applied in done.items():
        result.applied += len(groups[group_key])
        result.upserted += applied.upserted
        result.deleted += applied.deleted
    for (label, _source, target), exc in failed.items():
        group = groups[label, _source, target]
        result.unreachable = result.unreachable or is_unreachable(exc)
        message = f"{label} → {target}: {type(exc).__name__}: {exc}"
        result.failed += len(group)
        result.errors.append(message)
        logger.warning("s2_sync: %d entr(ies) failed: %s", len(group), message)
        give_back(alias, group, message)
    return result


def apply_in_rounds(
    group_keys: list[tuple[str, str, str]], apply_group: Callable[[Any], ApplyResult]
) -> tuple[dict[Any, ApplyResult], dict[Any, Exception]]:
    """Apply each group; retry the failed ones while a round makes progress.

    Groups of one batch can depend on each other on a target that checks foreign keys at
    commit (PostgreSQL): a tag's delete fails until the delete of the rows pointing at it has
    been applied. Retrying after the others succeeded settles that within the batch.
    """
    done: dict[Any, ApplyResult] = {}
    failed: dict[Any, Exception] = {}
    todo = list(group_keys)
    while todo:
        failed = {}
        for group_key in todo:
            try:
                done[group_key] = apply_group(group_key)
            except Exception as exc:
                failed[group_key] = exc
                _, source, target = group_key
                for alias in (source, target):
                    forget_broken(alias)
        if len(failed) == len(todo):
            break
        todo = list(failed)
    return done, failed


def drain_all(
    aliases: list[str],
    batch_size: int = 500,
    *,
    loop: bool = False,
    interval: float = 1.0,
    should_stop: Callable[[], bool] = lambda: False,
    progress: Callable[[str, DrainResult], None] | None = None,
) -> DrainResult:
    """Drain every alias until nothing is due (or, with ``loop``, until ``should_stop()``)."""
    total = DrainResult()
    while not should_stop():
        busy = False
        for alias in aliases:
            try:
                one = drain(alias, batch_size)
            except Exception as exc:  # the outbox's own database is unreachable
                forget_broken(alias)
                if not loop:
                    raise
                logger.warning("s2_sync: cannot read the outbox on %r: %s", alias, exc)
                continue
            total.merge(one)
            if progress is not None and one.claimed:
                progress(alias, one)
            busy = busy or one.claimed == batch_size
        if busy:
            continue
        if not loop:
            break
        close_old_connections()
        time.sleep(interval)
    return total


# -- catch-up without an outbox -------------------------------------------------------------


def catch_up(
    model: type[models.Model],
    since: Any,
    field_name: str,
    source: str,
    target: str,
    batch_size: int = 500,
    progress: Callable[[int], None] | None = None,
) -> tuple[ApplyResult, Any]:
    """Apply every row of ``model`` whose ``field_name`` ≥ ``since``, keyset-paged by
    (field, pk); returns the result and the highest field value seen (the next ``since``).

    Only rows that still exist are found, so deletions are not mirrored: use it for
    append-mostly tables, or follow with ``s2_verify --repair``.
    """
    total = ApplyResult()
    highest = None
    base = model._base_manager.using(source).filter(**{f"{field_name}__gte": since})
    last: tuple[Any, Any] | None = None
    while True:
        qs = base
        if last is not None:
            value, pk = last
            after = Q(**{f"{field_name}__gt": value}) | Q(**{field_name: value, "pk__gt": pk})
            qs = qs.filter(after)
        page = list(qs.order_by(field_name, "pk").values_list(field_name, "pk")[:batch_size])
        if not page:
            return total, highest
        total += apply_keys(model, [pk for _, pk in page], source, target)
        last = page[-1]
        highest = page[-1][0]
        if progress is not None:
            progress(total.keys)
