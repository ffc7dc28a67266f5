"""The outbox table (``OutboxEntry``): writing, claiming, settling and measuring its entries.

Capture writes entries here, the relay and the drain claim, apply and delete them; every
statement that touches the table from those pieces is in this module. Entries are written and
deleted with plain SQL rather than the ORM where the ORM's per-object cost would exceed the
statement's (see each function).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from django.db import connections, models, transaction
from django.db.models import Count, Min, Q
from django.utils import timezone

from migration_kit import conf
from migration_kit.models import ENTRY_FIELDS, OutboxEntry
from migration_kit.vendors import forget_broken


class Claimed(NamedTuple):
    """The columns of a claimed outbox entry that draining needs (no model instances: a
    claim of hundreds of entries would cost more than applying them)."""

    id: int
    model_label: str
    object_pk: Any
    source_alias: str
    target_alias: str
    attempts: int


def insert_entries(alias: str, label: str, keys: list[Any], mirror: str, batch: str) -> None:
    """INSERT the entries directly: through ``bulk_create`` they would cost as much CPU as the
    application's own save. Values still go through each field's adapter for this database."""
    connection = connections[alias]
    opts = OutboxEntry._meta
    fields = [opts.get_field(name) for name in ENTRY_FIELDS]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
    # Every column but the key is the same for the whole call: adapt those once.
    label_field, key_field, *other_fields = fields
    label_prep = label_field.get_db_prep_save(label, connection=connection)
    others = (alias, mirror, timezone.now(), 0, "", batch)
    rest = [
        f.get_db_prep_save(v, connection=connection)
        for f, v in zip(other_fields, others, strict=True)
    ]
    with connection.cursor() as cursor:
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            params = [
                param
                for key in chunk
                for param in (label_prep, key_field.get_db_prep_save(key, connection), *rest)
            ]
            cursor.execute(
                f"INSERT INTO {connection.ops.quote_name(opts.db_table)} ({columns}) "
                f"VALUES {', '.join([row_sql] * len(chunk))}",
                params,
            )


@contextmanager
def settling(primary: str) -> Iterator[None]:
    """One transaction on the primary for claiming entries, or applying keys and deleting
    their entries.

    The source rows stay locked until the entries are gone, and neither a claim nor a deletion
    needs a durable commit: if a crash loses it, the entries come back and are applied again,
    which is harmless. On PostgreSQL the commit therefore skips the WAL flush
    (``synchronous_commit`` off for this transaction only), so the relay does not compete
    with the application's own commits for fsyncs.
    """
    with transaction.atomic(using=primary):
        connection = connections[primary]
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield


def delete_entries(alias: str, column: str, values: list[Any]) -> None:
    """``DELETE … WHERE column IN (values)`` on the outbox: one statement, without the ORM's
    deletion collector, which costs more than the statement for a table nothing refers to."""
    connection = connections[alias]
    qn = connection.ops.quote_name
    table = qn(OutboxEntry._meta.db_table)
    field = OutboxEntry._meta.get_field(column)
    with connection.cursor() as cursor:
        for start in range(0, len(values), 1000):
            chunk = [field.get_db_prep_value(v, connection) for v in values[start : start + 1000]]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(f"DELETE FROM {table} WHERE {qn(field.column)} IN ({marks})", chunk)


def due(alias: str, now: datetime.datetime) -> models.QuerySet:
    """The outbox entries on ``alias`` that are due at ``now``, oldest first."""
    return (
        OutboxEntry.objects.using(alias)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("id")
    )


def claim(alias: str, batch_size: int) -> list[Claimed]:
    """Take up to ``batch_size`` due entries for one lease; other drainers skip them."""
    now = timezone.now()
    features = connections[alias].features
    with settling(alias):
        qs = due(alias, now)
        if features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        elif features.has_select_for_update:
            qs = qs.select_for_update()
        entries = [Claimed._make(row) for row in qs.values_list(*Claimed._fields)[:batch_size]]
        if entries:
            lease = now + datetime.timedelta(seconds=conf.get("LEASE_SECONDS"))
            OutboxEntry.objects.using(alias).filter(id__in=[e.id for e in entries]).update(
                next_attempt_at=lease
            )
    return entries


def backoff(attempts: int) -> datetime.timedelta:
    """Delay before retry number ``attempts + 1``: doubling from the base, capped."""
    base, cap = conf.get("RETRY_BASE_SECONDS"), conf.get("RETRY_MAX_SECONDS")
    return datetime.timedelta(seconds=min(cap, base * 2 ** max(attempts - 1, 0)))


def give_back(alias: str, entries: list[Claimed], message: str) -> None:
    """Record a failed attempt on ``entries`` and schedule their retry."""
    now = timezone.now()
    by_attempts: dict[int, list[int]] = defaultdict(list)
    for entry in entries:
        by_attempts[entry.attempts + 1].append(entry.id)
    for attempts, ids in by_attempts.items():
        OutboxEntry.objects.using(alias).filter(id__in=ids).update(
            attempts=attempts, next_attempt_at=now + backoff(attempts), last_error=message[:2000]
        )


def outbox_aliases(candidates: list[str] | None = None) -> tuple[list[str], list[str]]:
    """The aliases (of ``candidates``, default all) whose database holds the outbox table, and
    errors for those that could not be asked."""
    found, errors = [], []
    for alias in connections if candidates is None else candidates:
        connection = connections[alias]
        if connection.vendor == "dummy":
            continue
        try:
            tables = connection.introspection.table_names()
        except Exception as exc:
            errors.append(f"{alias}: {type(exc).__name__}: {exc}")
            forget_broken(alias)
            continue
        if OutboxEntry._meta.db_table in tables:
            found.append(alias)
    return found, errors


def lag(alias: str, labels: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Per model label on ``alias``: entry count, failing entries, oldest entry age (seconds)."""
    qs = OutboxEntry.objects.using(alias)
    if labels is not None:
        qs = qs.filter(model_label__in=labels)
    now = timezone.now()
    rows = qs.values("model_label").annotate(
        count=Count("id"), failing=Count("id", filter=Q(attempts__gt=0)), oldest=Min("created_at")
    )
    return {
        row["model_label"]: {
            "count": row["count"],
            "failing": row["failing"],
            "oldest_age_seconds": round((now - row["oldest"]).total_seconds(), 3),
        }
        for row in rows.order_by("model_label")
    }
