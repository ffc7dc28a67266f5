"""Range leases: one owner at a time per backfill (or verify) range, on any number of hosts.

A lease is two columns of the range's checkpoint row: ``lease_owner`` (``host:pid:uuid``) and
``lease_expires_at``. Claiming is a compare-and-set ``UPDATE`` on the row (free, expired, or held
by a dead process of this host), so ``s2_backfill`` processes and Celery workers anywhere never
copy one range at once. The holder renews it with every checkpoint save (a fenced ``UPDATE``
that also checks it still owns the row) and from a heartbeat thread between saves; a holder
that finds the row taken gets ``LeaseLost`` and stops the range. A range whose owner died is
taken over after its lease expires and resumes from its ``last_key``: rows past it that reached
the target are skipped by the insert-if-absent load.

Expiry is judged on each host's clock (``django.utils.timezone.now``): keep hosts in NTP sync,
well within the lease time.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, connections, models, transaction
from django.db.models import F
from django.utils import timezone

from migration_kit import conf
from migration_kit.models import BACKFILL, BackfillCheckpoint

#: How often a waiting process looks again at ranges other owners hold (at most).
POLL_SECONDS = 1.0


class LeaseLost(Exception):
    """Another owner took this range's lease (ours had expired): stop working on it."""


_owners = threading.local()


def owner() -> str:
    """This thread's owner id, ``host:pid:uuid``: one per thread, so two tasks of a threaded
    Celery worker never share a lease, and new after a fork (the pid changed)."""
    pid = os.getpid()
    cached = getattr(_owners, "value", None)
    if cached is None or cached[0] != pid:
        cached = _owners.value = (pid, f"{socket.gethostname()}:{pid}:{uuid.uuid4().hex[:12]}")
    return cached[1]


def lease_seconds(seconds: float | None = None) -> float:
    """The lease time: ``seconds`` if given, else ``MIGRATION_KIT['LEASE_SECONDS']``."""
    return float(seconds) if seconds is not None else float(conf.get("LEASE_SECONDS"))


def dead_here(holder: str) -> bool:
    """Whether ``holder`` was a process of this host that no longer runs (taken over at once)."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return _zombie(pid)


def _zombie(pid: int) -> bool:
    """A killed child its parent has not reaped yet still has a pid; it is dead all the same."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rpartition(")")[2].split()[0] == "Z"
    except OSError:
        return False


def claim(pk: int, seconds: float | None = None) -> BackfillCheckpoint | None:
    """Take the lease of checkpoint ``pk``; the row (holding the lease) or None when it is
    finished or another live owner holds it."""
    me, lease = owner(), lease_seconds(seconds)
    rows = BackfillCheckpoint.objects.filter(pk=pk, finished=False)
    current = rows.values_list("lease_owner", "lease_expires_at").first()
    if current is None:
        return None
    holder, expires = current
    now = timezone.now()
    fields: dict[str, Any] = {"lease_owner": me, "lease_expires_at": now + timedelta(seconds=lease)}
    if holder == me:
        pass
    elif not holder:
        rows = rows.filter(lease_owner="")
    elif (expires is not None and expires < now) or dead_here(holder):
        rows = rows.filter(lease_owner=holder)
        fields["takeovers"] = F("takeovers") + 1
    else:
        return None
    if not rows.update(**fields):
        return None  # someone else was quicker
    checkpoint = BackfillCheckpoint.objects.get(pk=pk)
    checkpoint._lease_seconds = lease  # type: ignore[attr-defined]
    return checkpoint


def save_fenced(checkpoint: BackfillCheckpoint, update_fields: list[str]) -> None:
    """Write ``update_fields`` of a leased checkpoint and renew its lease, only if its owner
    still holds it; else ``LeaseLost``."""
    now = timezone.now()
    seconds = getattr(checkpoint, "_lease_seconds", None)
    values = {name: getattr(checkpoint, name) for name in update_fields if name != "updated_at"}
    values["updated_at"] = checkpoint.updated_at = now
    values["lease_expires_at"] = checkpoint.lease_expires_at = now + timedelta(
        seconds=lease_seconds(seconds)
    )
    done = BackfillCheckpoint.objects.filter(
        pk=checkpoint.pk, lease_owner=checkpoint.lease_owner
    ).update(**values)
    if not done:
        raise LeaseLost(f"{checkpoint}: the lease of {checkpoint.lease_owner} was taken over")


def renew(checkpoint: BackfillCheckpoint) -> None:
    """Push the lease's expiry one lease time ahead; ``LeaseLost`` if it is no longer ours."""
    save_fenced(checkpoint, [])


def release(checkpoint: BackfillCheckpoint) -> None:
    """Give the lease up (if still ours), so another process may claim the range at once."""
    BackfillCheckpoint.objects.filter(pk=checkpoint.pk, lease_owner=checkpoint.lease_owner).update(
        lease_owner="", lease_expires_at=None
    )
    checkpoint.lease_owner = ""


class Heartbeat:
    """Renews a lease from a thread (its own connection) every third of the lease time, so a
    batch slower than the lease does not lose it (the next fenced save finds a lost one)."""

    def __init__(self, checkpoint: BackfillCheckpoint):
        self.checkpoint = BackfillCheckpoint(
            pk=checkpoint.pk, lease_owner=checkpoint.lease_owner, updated_at=timezone.now()
        )
        self.checkpoint._lease_seconds = getattr(checkpoint, "_lease_seconds", None)  # type: ignore[attr-defined]
        self.interval = lease_seconds(self.checkpoint._lease_seconds) / 3  # type: ignore[attr-defined]
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name="lease-heartbeat")
        self.thread.start()

    def _run(self) -> None:
        try:
            while not self.stopping.wait(self.interval):
                try:
                    renew(self.checkpoint)
                except LeaseLost:
                    return
                except Exception:  # a blip of ``default``: the next beat or save tries again
                    connections["default"].close()
        finally:
            connections.close_all()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join()


@contextlib.contextmanager
def held(
    checkpoint: BackfillCheckpoint,
    on_lost: Callable[[BackfillCheckpoint, LeaseLost], None] | None = None,
) -> Iterator[BackfillCheckpoint]:
    """Keep ``checkpoint``'s lease alive while the block works on it, then release it. A
    ``LeaseLost`` from the block ends it quietly (after ``on_lost``): the range is the new
    owner's now."""
    beat = Heartbeat(checkpoint)
    try:
        yield checkpoint
    except LeaseLost as exc:
        if on_lost is not None:
            on_lost(checkpoint, exc)
    finally:
        beat.stop()
        release(checkpoint)


def claimed(
    todo: list[int],
    next_range: Callable[[], int | None] | None = None,
    seconds: float | None = None,
) -> Iterator[BackfillCheckpoint]:
    """Checkpoints of ``todo`` whose lease this process took, one at a time (work on each
    inside ``with held(checkpoint):``), until every range of ``todo`` is finished by anyone:
    first in the order given (``next_range``, shared with sibling workers, else ``todo``'s),
    then the ranges others hold, each taken over once its owner's lease expired or it died."""
    first: Iterable[int] = iter(next_range, None) if next_range else todo
    for pk in first:
        checkpoint = claim(pk, seconds)
        if checkpoint is not None:
            yield checkpoint
    while True:
        left = list(
            BackfillCheckpoint.objects.filter(pk__in=todo, finished=False)
            .order_by("range_index")
            .values_list("pk", flat=True)
        )
        if not left:
            return
        progressed = False
        for pk in left:
            checkpoint = claim(pk, seconds)
            if checkpoint is not None:
                progressed = True
                yield checkpoint
        if not progressed:
            time.sleep(min(POLL_SECONDS, lease_seconds(seconds) / 4))


def plan(
    model: type[models.Model], source: str, target: str, workers: int, restart: bool
) -> list[BackfillCheckpoint]:
    """``state.plan``, safe when several processes plan the same model at once: the loser of
    the insert race reads the winner's ranges."""
    from migration_kit.backfill import state

    try:
        with transaction.atomic(using="default"):
            return state.plan(model, source, target, workers, restart)
    except IntegrityError:
        return list(state.checkpoints(model._meta.label, source, target))


def progress(label: str, source: str | None, target: str, kind: str = BACKFILL) -> dict:
    """Who holds which range of a model copy (or verify) now: for ``s2_status``."""
    now = timezone.now()
    rows = BackfillCheckpoint.objects.filter(
        kind=kind, model_label=label, source_alias=source, target_alias=target
    ).order_by("range_index")
    held_by: dict[str, int] = {}
    expired = takeovers = 0
    for holder, expires, finished, taken in rows.values_list(
        "lease_owner", "lease_expires_at", "finished", "takeovers"
    ):
        takeovers += taken
        if finished or not holder:
            continue
        if expires is not None and expires < now:
            expired += 1
        else:
            held_by[holder] = held_by.get(holder, 0) + 1
    return {
        "leased": sum(held_by.values()),
        "expired": expired,
        "owners": sorted(held_by),
        "takeovers": takeovers,
    }
