"""Getting outbox entries to the mirror: the post-commit fast path, the drainer, catch-up.

- ``fast_path``: right after a write commits, its keys are applied to the mirror (in a
  background thread by default, see ``MIGRATION_KIT['FAST_PATH']``); on success its entries are
  deleted, on failure they stay for the drainer. The writer never sees a mirror error. Writes
  whose entries capture triggers wrote only ``poke`` their alias: the fast path then drains it.
- ``drain(alias)``: one pass of ``s2_sync`` over the outbox table on ``alias``. Entries are
  claimed in a short transaction (``FOR UPDATE SKIP LOCKED`` where the database has it) by
  pushing their ``next_attempt_at`` one lease ahead, then applied outside it, then deleted — or
  given back with exponential backoff and the error. Several drainers can run at once.
- ``lag(alias)``: entry count and oldest entry age, the mirror's lag.
- ``catch_up(model, since, field)``: ``--since`` mode, no outbox: apply every row whose
  ``updated_at``-style field is at or after ``since``.
"""

from __future__ import annotations

import atexit
import datetime
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.apps import apps
from django.db import (
    InterfaceError,
    OperationalError,
    close_old_connections,
    connections,
    models,
    transaction,
)
from django.db.models import Count, Min, Q
from django.utils import timezone

from migration_kit import conf
from migration_kit.dualwrite.apply import ApplyResult, apply_keys
from migration_kit.keys import decode_pk
from migration_kit.models import OutboxEntry
from migration_kit.vendors import is_transient

logger = logging.getLogger("migration_kit.sync")

#: How long the fast-path thread gathers a burst of commits at most before applying it...
COALESCE_SECONDS = 0.1
#: ...and how long a quiet gap ends the burst early, so a lone write is applied at once.
QUIET_SECONDS = 0.005
#: How long the fast-path thread waits for work before it closes its connections.
IDLE_SECONDS = 1.0


@contextmanager
def _settling(primary: str) -> Iterator[None]:
    """One transaction on the primary for claiming entries, or applying keys and deleting
    their entries.

    The source rows stay locked until the entries are gone, and neither a claim nor a deletion
    needs a durable commit: if a crash loses it, the entries come back and are applied again,
    which is harmless. On PostgreSQL the commit therefore skips the WAL flush
    (``synchronous_commit`` off for this transaction only), so the fast path does not compete
    with the application's own commits for fsyncs.
    """
    with transaction.atomic(using=primary):
        connection = connections[primary]
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield


def _settle(
    alias: str, label: str, keys: list[Any], source: str, target: str, column: str, values: list
) -> ApplyResult:
    """Apply ``keys`` of ``label`` from ``source`` to ``target``, then delete the entries they
    came from (those whose ``column`` is one of ``values``) in the outbox on ``alias``: both in
    one transaction there."""
    with _settling(alias):
        result = apply_keys(apps.get_model(label), keys, source, target)
        _delete_entries(alias, column, values)
    return result


def _delete_entries(alias: str, column: str, values: list[Any]) -> None:
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


#: A batch the wrappers wrote: (label, primary, mirror, batch id, keys).
_Batch = tuple[str, str, str, str, list[Any]]


class FastPath:
    """Applies committed outbox work to the mirror as soon as it commits, from one thread.

    A commit only appends its batch (or its alias, once) to the pending work under a lock and
    wakes the thread if it is idle: while the thread gathers a burst it sleeps and counts
    arrivals instead of waking for every commit, so writers in a burst pay no thread switch
    and no GIL hand-over for the fast path.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)  # the idle thread waits here
        self._settled = threading.Condition(self._lock)  # flush() waits here
        self._batches: list[_Batch] = []
        self._aliases: set[str] = set()  # outboxes to drain (triggers wrote the entries)
        self._arrivals = 0  # commits handed over, so the thread sees when a burst ends
        self._unfinished = 0  # pending batches and aliases not tried yet
        self._generation = 0  # bumped by stop(): a thread of an older one quits
        self._thread: threading.Thread | None = None
        self._down_until: dict[str, float] = {}  # by mirror alias
        self._drain_paused_until: dict[str, float] = {}  # by outbox alias
        self._stops_at_exit = False

    def submit(self, label: str, primary: str, mirror: str, batch: str, keys: list[Any]) -> None:
        """Called by ``transaction.on_commit``; never raises into the writer."""
        mode = conf.get("FAST_PATH")
        if mode == "off" or time.monotonic() < self._down_until.get(mirror, 0.0):
            return
        if mode == "inline":
            self._apply({(label, primary, mirror): (keys, [batch])})
            return
        with self._lock:
            self._batches.append((label, primary, mirror, batch, keys))
            self._handed_over()

    def poke(self, alias: str) -> None:
        """Called by ``transaction.on_commit`` after a write whose entries triggers recorded on
        ``alias``: drain that outbox now. Never raises into the writer."""
        mode = conf.get("FAST_PATH")
        if mode == "off" or time.monotonic() < self._drain_paused_until.get(alias, 0.0):
            return
        if mode == "inline":
            self._drain(alias, once=True)  # the writer waits: one batch, the rest to s2_sync
            return
        with self._lock:
            if alias in self._aliases:
                # A drain of this outbox is pending and starts after this commit: it will
                # claim this write's entries too.
                self._arrivals += 1
                return
            self._aliases.add(alias)
            self._handed_over()

    def _handed_over(self) -> None:
        """With the lock held: count one more pending item, wake or start the thread."""
        self._arrivals += 1
        self._unfinished += 1
        if not self._stops_at_exit:
            # A short-lived writer (a management command, a script) must not exit while the
            # daemon thread holds entries it claimed: they would wait out LEASE_SECONDS.
            atexit.register(self.stop)
            self._stops_at_exit = True
        thread = self._thread
        if thread is None or not thread.is_alive():
            self._thread = threading.Thread(
                target=self._loop, args=(self._generation,), name="migration_kit-fast-path",
                daemon=True,
            )  # fmt: skip
            self._thread.start()
        else:
            self._work.notify()  # a no-op unless the thread waits for work

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every submitted batch was tried; False on timeout."""
        with self._settled:
            return self._settled.wait_for(lambda: self._unfinished == 0, timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Finish pending work, close the thread's connections and end the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._generation += 1
            self._work.notify_all()
        if thread is not None:
            thread.join(timeout)
        # Whatever was not tried stays in the outbox for s2_sync.
        with self._settled:
            self._batches, self._aliases, self._unfinished = [], set(), 0
            self._settled.notify_all()
        self._down_until.clear()
        self._drain_paused_until.clear()

    def _loop(self, generation: int) -> None:
        try:
            while True:
                with self._lock:
                    if not (self._batches or self._aliases) and generation == self._generation:
                        self._work.wait(IDLE_SECONDS)
                    stopping = generation != self._generation
                    idle = not (self._batches or self._aliases)
                if idle:
                    if stopping:
                        return
                    # Give the connections back so test databases can be dropped and servers
                    # do not keep idle sessions for us.
                    connections.close_all()
                    continue
                if not stopping:
                    self._gather()
                with self._lock:
                    batches, self._batches = self._batches, []
                    aliases, self._aliases = self._aliases, set()
                try:
                    self._work_off(batches, aliases)
                finally:
                    self._done(generation, len(batches) + len(aliases))
        finally:
            connections.close_all()

    def _gather(self) -> None:
        """Let a burst of commits gather into one apply: per apply the work costs a dozen round
        trips and some Python, which would otherwise compete with the writers (for the GIL
        too) once per committed write. Ends at a quiet gap, so a lone write goes at once."""
        deadline = time.monotonic() + COALESCE_SECONDS
        seen = self._arrivals
        while len(self._batches) < 1000:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(QUIET_SECONDS, left))
            if self._arrivals == seen:
                return
            seen = self._arrivals

    def _work_off(self, batches: list[_Batch], aliases: set[str]) -> None:
        groups: dict[tuple[str, str, str], tuple[list[Any], list[str]]] = defaultdict(
            lambda: ([], [])
        )
        for label, primary, mirror, batch, keys in batches:
            group = groups[label, primary, mirror]
            group[0].extend(keys)
            group[1].append(batch)
        self._apply(groups)
        for alias in sorted(aliases):
            self._drain(alias)

    def _done(self, generation: int, count: int) -> None:
        with self._settled:
            if generation == self._generation:
                self._unfinished -= count
            self._settled.notify_all()

    def _drain(self, alias: str, once: bool = False) -> None:
        """Drain ``alias``'s outbox until nothing is due (``once``: one batch). Failed entries
        keep their backoff for s2_sync; when the outbox or a mirror could not be reached,
        draining ``alias`` from here pauses for ``MIRROR_DOWN_SECONDS``, so a mirror that is
        down is not retried on every write."""
        try:
            unreachable = (drain(alias) if once else drain_all([alias])).unreachable
        except Exception as exc:
            forget_broken(alias)
            logger.warning("fast path: cannot drain the outbox on %r: %s", alias, exc)
            unreachable = True
        if unreachable:
            pause = conf.get("MIRROR_DOWN_SECONDS")
            self._drain_paused_until[alias] = time.monotonic() + pause

    def _apply(self, groups: dict[tuple[str, str, str], tuple[list[Any], list[str]]]) -> None:
        now = time.monotonic()
        todo = [g for g in groups if now >= self._down_until.get(g[2], 0.0)]

        def apply_group(group_key: tuple[str, str, str]) -> ApplyResult:
            label, primary, mirror = group_key
            keys, batches = groups[group_key]
            return _settle(primary, label, keys, primary, mirror, "batch", batches)

        _, failed = apply_in_rounds(todo, apply_group)
        for (label, _primary, mirror), exc in failed.items():
            if _unreachable(exc):
                # The mirror is unreachable: stop trying on every write for a while. A deadlock
                # or lock timeout (also OperationalError) only leaves these keys to s2_sync.
                self._down_until[mirror] = time.monotonic() + conf.get("MIRROR_DOWN_SECONDS")
            logger.warning(
                "fast path: %d key(s) of %s not applied to %r, left in the outbox: %s",
                len(groups[label, _primary, mirror][0]),
                label,
                mirror,
                exc,
            )


fast_path = FastPath()


def _unreachable(exc: Exception) -> bool:
    """A connection failure, as opposed to a deadlock, a lock timeout or a refused row."""
    return isinstance(exc, OperationalError | InterfaceError) and not is_transient(exc)


def forget_broken(alias: str) -> None:
    """Close ``alias``'s connection if an error left it unusable (server restarted or gone), so
    the next attempt reconnects; never inside a transaction someone else opened."""
    connection = connections[alias]
    if (
        connection.connection is not None
        and connection.errors_occurred
        and not connection.in_atomic_block
        and not connection.is_usable()
    ):
        connection.close()


# -- draining -------------------------------------------------------------------------------


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


def backoff(attempts: int) -> datetime.timedelta:
    """Delay before retry number ``attempts + 1``: doubling from the base, capped."""
    base, cap = conf.get("RETRY_BASE_SECONDS"), conf.get("RETRY_MAX_SECONDS")
    return datetime.timedelta(seconds=min(cap, base * 2 ** max(attempts - 1, 0)))


class Claimed(NamedTuple):
    """The columns of a claimed outbox entry that draining needs (no model instances: a
    claim of hundreds of entries would cost more than applying them)."""

    id: int
    model_label: str
    object_pk: Any
    source_alias: str
    target_alias: str
    attempts: int


def _due(alias: str, now: datetime.datetime) -> models.QuerySet:
    """The outbox entries on ``alias`` that are due at ``now``, oldest first."""
    return (
        OutboxEntry.objects.using(alias)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("id")
    )


def _claim(alias: str, batch_size: int) -> list[Claimed]:
    """Take up to ``batch_size`` due entries for one lease; other drainers skip them."""
    now = timezone.now()
    features = connections[alias].features
    with _settling(alias):
        qs = _due(alias, now)
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
    with _settling(alias):
        qs = _due(alias, timezone.now()).select_for_update(skip_locked=True)
        entries = [Claimed._make(row) for row in qs.values_list(*Claimed._fields)[:batch_size]]
        result = DrainResult(claimed=len(entries), applied=len(entries))
        for (label, source, target), group in _grouped(entries).items():
            touched.update((source, target))
            applied = apply_keys(apps.get_model(label), _keys(label, group), source, target)
            result.upserted += applied.upserted
            result.deleted += applied.deleted
        if entries:
            _delete_entries(alias, "id", [e.id for e in entries])
    return result


def _drain_leased(alias: str, batch_size: int) -> DrainResult:
    """Lease a batch, apply it group by group (retrying while a round makes progress), give
    failed entries back with their error and backoff."""
    result = DrainResult()
    entries = _claim(alias, batch_size)
    result.claimed = len(entries)
    groups = _grouped(entries)

    def apply_group(group_key: tuple[str, str, str]) -> ApplyResult:
        label, source, target = group_key
        group = groups[group_key]
        keys = _keys(label, group)
        return _settle(alias, label, keys, source, target, "id", [e.id for e in group])

    done, failed = apply_in_rounds(list(groups), apply_group)
    for group_key, applied in done.items():
        result.applied += len(groups[group_key])
        result.upserted += applied.upserted
        result.deleted += applied.deleted
    for (label, _source, target), exc in failed.items():
        group = groups[label, _source, target]
        result.unreachable = result.unreachable or _unreachable(exc)
        message = f"{label} → {target}: {type(exc).__name__}: {exc}"
        result.failed += len(group)
        result.errors.append(message)
        logger.warning("s2_sync: %d entr(ies) failed: %s", len(group), message)
        _give_back(alias, group, message)
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


def _give_back(alias: str, entries: list[Claimed], message: str) -> None:
    """Record a failed attempt on ``entries`` and schedule their retry."""
    now = timezone.now()
    by_attempts: dict[int, list[int]] = defaultdict(list)
    for entry in entries:
        by_attempts[entry.attempts + 1].append(entry.id)
    for attempts, ids in by_attempts.items():
        OutboxEntry.objects.using(alias).filter(id__in=ids).update(
            attempts=attempts, next_attempt_at=now + backoff(attempts), last_error=message[:2000]
        )


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


# -- lag ------------------------------------------------------------------------------------


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
