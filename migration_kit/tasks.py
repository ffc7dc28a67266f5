"""Celery tasks (``pip install django-s2kit[celery]``): one backfill range, one verify range, one
outbox drain pass; and what ``s2_backfill --celery`` / ``s2_verify --celery`` run to plan the
ranges, enqueue one task each on the project's Celery app and wait for them.

The tasks are ``shared_task``s, so the project's own app finds them with
``app.autodiscover_tasks()``. Each is ``acks_late`` (a worker killed with -9 leaves its message
to be delivered again) and idempotent under redelivery: a range is worked on only under its
lease (``migration_kit.backfill.leases``), a finished range is skipped, and a range another
live owner holds is retried later (``self.retry``) until it is finished by someone. Waiting
commands also re-enqueue a range whose owner died (lease expired, or a dead pid on the waiting
host), so recovery does not wait for the broker's redelivery (Redis: ``visibility_timeout``).
"""

# ruff: noqa: E402 (the celery check comes before the imports that need other extras)
from __future__ import annotations

from django_singlestore.extras import optional

celery = optional("celery", "celery", "migration_kit.tasks (Celery backfill, verify and drain)")
shared_task, current_app = celery.shared_task, celery.current_app

import time
import traceback
from collections.abc import Callable
from dataclasses import asdict
from datetime import timedelta
from typing import IO, Any

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connections, models, transaction
from django.utils import timezone

from migration_kit.backfill import leases, state
from migration_kit.backfill.keyset import Table
from migration_kit.backfill.runner import (
    Options,
    Result,
    RowsRejected,
    copy_one_range,
    should_lock,
    tqdm,
)
from migration_kit.dualwrite.drain import drain_all
from migration_kit.dualwrite.outbox import outbox_aliases
from migration_kit.models import VERIFY, BackfillCheckpoint, VerifyRun
from migration_kit.verify import runner as verify_runner

#: ``Options`` fields a backfill task takes (the rest are the coordinating command's).
TASK_OPTIONS = ("batch_size", "batch_seconds", "method", "lock", "reject_log", "lease_seconds")
POLL_SECONDS = 0.5


def _record(pk: int, outcome: dict[str, Any]) -> None:
    BackfillCheckpoint.objects.filter(pk=pk).update(outcome=outcome)


def _held_elsewhere(task: Any, pk: int, lease: float | None) -> dict[str, Any]:
    """Finished meanwhile: done. Else another live owner has it: come back after its lease
    could have expired (if it dies, the retry takes the range over)."""
    if BackfillCheckpoint.objects.filter(pk=pk, finished=False).exists():
        raise task.retry(countdown=leases.lease_seconds(lease), max_retries=None)
    return {"range": pk, "state": "finished"}


@shared_task(
    bind=True, acks_late=True, reject_on_worker_lost=True, name="migration_kit.backfill_range"
)
def backfill_range(self: Any, pk: int, options: dict[str, Any]) -> dict[str, Any]:
    """Copy backfill range ``pk`` (a ``BackfillCheckpoint`` id) from its checkpoint on."""
    checkpoint = BackfillCheckpoint.objects.filter(pk=pk).first()
    if checkpoint is None or checkpoint.finished:
        return {"range": pk, "state": "finished"}
    opts = Options(**options)
    model = apps.get_model(checkpoint.model_label)
    try:
        result = copy_one_range(model, pk, checkpoint.source_alias, checkpoint.target_alias, opts)
    except RowsRejected as exc:
        _record(pk, {"refused": str(exc)})
        return {"range": pk, "state": "refused"}
    except Exception as exc:
        _record(pk, {"error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()})
        raise
    if result is None:
        return _held_elsewhere(self, pk, opts.lease_seconds)
    outcome = {
        key: getattr(result, key)
        for key in ("rows_copied", "rejected", "method", "load_fallbacks", "notes", "finished")
    }
    _record(pk, outcome)
    return {"range": pk, "state": "copied" if result.finished else "lost", **outcome}


@shared_task(
    bind=True, acks_late=True, reject_on_worker_lost=True, name="migration_kit.verify_range"
)
def verify_range(self: Any, pk: int, options: dict[str, Any]) -> dict[str, Any]:
    """Compare (``options["repair"]``: and repair) verify range ``pk``; the last range of a
    pass to finish records the pass's ``VerifyRun``."""
    lease = options.get("lease_seconds")
    checkpoint = leases.claim(pk, lease)
    if checkpoint is None:
        return _held_elsewhere(self, pk, lease)
    model = apps.get_model(checkpoint.model_label)
    with leases.held(checkpoint):
        try:
            findings = verify_runner.verify_range(
                model,
                checkpoint.source_alias,
                checkpoint.target_alias,
                checkpoint.range_start,
                checkpoint.range_end,
                repair=options.get("repair", False),
                lag_wait=options.get("lag_wait", 5.0),
                chunk_rows=options.get("chunk_rows", 50_000),
            )
        except DatabaseError as exc:
            findings = {"error": f"{type(exc).__name__}: {exc}"}
        checkpoint.outcome = {**(checkpoint.outcome or {}), **findings}
        checkpoint.finished = True
        checkpoint.save(update_fields=["outcome", "finished", "updated_at"])
    finish_verify(checkpoint.model_label, checkpoint.source_alias, checkpoint.target_alias)
    return {"range": pk, "state": "error" if "error" in findings else "compared"}


@shared_task(acks_late=True, name="migration_kit.drain_outbox")
def drain_outbox(aliases: list[str] | None = None, batch_size: int = 500) -> dict[str, Any]:
    """One ``s2_sync`` pass: drain the outbox on ``aliases`` (default: every alias holding one)
    until nothing is due. Safe beside other drainers: entries are claimed with the outbox's own
    locks and leases (``migration_kit.dualwrite.drain``). For a Celery beat entry."""
    if aliases is None:
        aliases, _errors = outbox_aliases()
    result = drain_all(aliases, batch_size)
    return {
        "databases": aliases,
        **{key: getattr(result, key) for key in ("claimed", "applied", "failed", "errors")},
    }


# -- coordinating: what the --celery commands run ---------------------------------------------


def celery_app() -> Any:
    """The project's Celery app, or ``ImproperlyConfigured`` when none is set up (tasks would go
    to Celery's default app and its guessed broker)."""
    app = current_app._get_current_object()
    if not app.conf.broker_url:
        raise ImproperlyConfigured(
            "--celery needs the project's Celery app: create it with a broker_url (e.g. "
            "CELERY_BROKER_URL and app.config_from_object('django.conf:settings', "
            "namespace='CELERY')) and import it in the project package's __init__.py, as "
            "Celery's 'First steps with Django' shows; see docs/migration-kit.md (Celery)."
        )
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as exc:
        raise ImproperlyConfigured(f"cannot reach the Celery broker: {exc}") from exc
    return app


def plan_backfill(
    model: type[models.Model], source: str, target: str, ranges: int, restart: bool
) -> list[BackfillCheckpoint]:
    """The model's backfill ranges (the existing plan, or ``ranges`` new ones)."""
    return leases.plan(model, source, target, ranges, restart)


def plan_verify(
    model: type[models.Model], source: str, target: str, ranges: int
) -> tuple[VerifyRun, list[int]]:
    """A new verify pass: its ``VerifyRun`` and ``ranges`` verify ranges (``kind="verify"``
    rows; ``range_start`` is the exclusive low key, ``range_end`` the inclusive high, None
    open), replacing the model's previous verify ranges."""
    table = Table(model, connections[source])
    bounds = state.split(table, ranges) if ranges > 1 else []
    lows, highs = [None, *bounds], [*bounds, None]
    label = model._meta.label
    with transaction.atomic(using="default"):
        BackfillCheckpoint.objects.filter(
            kind=VERIFY, model_label=label, source_alias=source, target_alias=target
        ).delete()
        run = VerifyRun.objects.create(
            model_label=label, source_alias=source, target_alias=target, started_at=timezone.now()
        )
        rows = BackfillCheckpoint.objects.bulk_create(
            BackfillCheckpoint(
                kind=VERIFY,
                model_label=label,
                source_alias=source,
                target_alias=target,
                range_index=i,
                range_start=table.encode(low),
                range_end=table.encode(high),
                outcome={"run": run.pk},
            )
            for i, (low, high) in enumerate(zip(lows, highs, strict=True))
        )
    return run, [row.pk for row in rows]


def verify_totals(rows: list[BackfillCheckpoint]) -> dict[str, Any]:
    """A verify pass's findings, summed over its ranges' outcomes."""
    outcomes = [row.outcome or {} for row in rows]
    errors = [o["error"] for o in outcomes if o.get("error")]
    differing = [key for o in outcomes for key in o.get("differing", [])]
    return {
        "source_rows": sum(o.get("source_rows", 0) for o in outcomes),
        "target_rows": sum(o.get("target_rows", 0) for o in outcomes),
        "differing": differing,
        "repaired": sum(o.get("repaired", 0) for o in outcomes),
        "lagging": [key for o in outcomes for key in o.get("lagging", [])],
        "chunks": sum(o.get("chunks", 0) for o in outcomes),
        "python_columns": next(
            (o["python_columns"] for o in outcomes if "python_columns" in o), []
        ),
        "error": "; ".join(dict.fromkeys(errors)),
    }


def finish_verify(label: str, source: str, target: str) -> VerifyRun | None:
    """Record the pass's ``VerifyRun`` once all its ranges are finished (the first caller to
    see that wins; later ones change nothing); the run, or None while ranges remain."""
    rows = list(
        BackfillCheckpoint.objects.filter(
            kind=VERIFY, model_label=label, source_alias=source, target_alias=target
        )
    )
    if not rows or not all(row.finished for row in rows):
        return None
    run_ids = {(row.outcome or {}).get("run") for row in rows}
    if len(run_ids) != 1:
        return None
    (run_id,) = run_ids
    totals = verify_totals(rows)
    fields: dict[str, Any] = {
        "source_rows": totals["source_rows"],
        "target_rows": totals["target_rows"],
        "repaired": totals["repaired"],
        "sample": totals["differing"][: verify_runner.SAMPLE_SIZE],
    }
    if totals["error"]:
        fields.update(error=totals["error"], differences=None)
    else:
        fields.update(differences=len(totals["differing"]), finished_at=timezone.now())
    VerifyRun.objects.filter(pk=run_id, finished_at__isnull=True, error="").update(**fields)
    return VerifyRun.objects.filter(pk=run_id).first()


def _orphaned(row: BackfillCheckpoint, now: Any) -> bool:
    """Claimed once, unfinished, and its owner is gone (lease expired, or a dead pid here)."""
    if row.finished or not row.lease_owner:
        return False
    expired = row.lease_expires_at is not None and row.lease_expires_at < now
    return expired or leases.dead_here(row.lease_owner)


def wait(
    pks: list[int],
    resend: Callable[[int], None],
    lease_seconds: float | None,
    on_poll: Callable[[list[BackfillCheckpoint]], None],
    done: Callable[[list[BackfillCheckpoint]], bool],
) -> list[BackfillCheckpoint]:
    """Poll ranges ``pks`` until ``done(rows)``; re-enqueue (``resend``) each range whose owner
    died, at most once per lease time."""
    lease = leases.lease_seconds(lease_seconds)
    sent: dict[int, float] = {}
    while True:
        rows = list(BackfillCheckpoint.objects.filter(pk__in=pks).order_by("range_index"))
        on_poll(rows)
        if done(rows):
            return rows
        now, clock = timezone.now(), time.monotonic()
        for row in rows:
            if _orphaned(row, now) and clock - sent.get(row.pk, -lease) >= lease:
                sent[row.pk] = clock
                resend(row.pk)
        time.sleep(POLL_SECONDS)


class TaskFailed(Exception):
    """A range task failed; the message holds its error."""


def run_backfill(
    model: type[models.Model],
    source: str,
    target: str,
    options: Options,
    ranges: int,
    *,
    no_wait: bool = False,
    progress_file: IO[str] | None = None,
) -> Result:
    """``s2_backfill --celery``: plan ``ranges`` ranges, enqueue a ``backfill_range`` task for
    each unfinished one, and (unless ``no_wait``) wait for all with the progress bar."""
    started = time.monotonic()
    result = Result(model._meta.label, source, target)
    result.locked = should_lock(model, source, options.lock)
    planned = plan_backfill(model, source, target, ranges, options.restart)
    result.ranges = len(planned)
    with connections[source].cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {Table(model, connections[source]).name}")
        (result.source_rows,) = cursor.fetchone()
    task_options = {k: v for k, v in asdict(options).items() if k in TASK_OPTIONS}
    todo = [cp.pk for cp in planned if not cp.finished]
    before = sum(cp.rows_copied for cp in planned)

    def send(pk: int) -> None:
        backfill_range.apply_async(args=(pk, task_options))

    BackfillCheckpoint.objects.filter(pk__in=todo).update(outcome=None)  # an earlier run's
    for pk in todo:
        send(pk)
    result.notes.append(f"{len(todo)} range task(s) enqueued")
    if no_wait:
        result.rows_total = before
        result.finished = not todo
        result.method = "celery"
        result.seconds = time.monotonic() - started
        return result
    bar = tqdm(
        total=max(result.source_rows, before),
        initial=before,
        unit="rows",
        unit_scale=True,
        desc=model._meta.label,
        file=progress_file,
        disable={True: False, False: True, None: None}[options.progress],
        dynamic_ncols=True,
    )
    shown = before

    def on_poll(rows: list[BackfillCheckpoint]) -> None:
        nonlocal shown
        total = sum(row.rows_copied for row in rows)
        bar.update(total - shown)
        shown = total

    def done(rows: list[BackfillCheckpoint]) -> bool:
        if any("error" in (r.outcome or {}) or "refused" in (r.outcome or {}) for r in rows):
            return True
        # A task records its outcome just after finishing; a range another kind of run (plain
        # s2_backfill) finished has none.
        settled = timezone.now() - timedelta(seconds=2)
        return all(r.finished and (r.outcome or r.updated_at < settled) for r in rows)

    try:
        rows = wait(todo, send, options.lease_seconds, on_poll, done) if todo else []
    finally:
        bar.close()
    outcomes = [row.outcome or {} for row in rows]
    refused = [o["refused"] for o in outcomes if "refused" in o]
    errors = [o["error"] for o in outcomes if "error" in o]
    if errors:
        raise TaskFailed("; ".join(dict.fromkeys(errors)))
    if refused:
        raise RowsRejected(refused[0])
    final = list(state.checkpoints(model._meta.label, source, target))
    result.rows_total = sum(cp.rows_copied for cp in final)
    result.rows_copied = result.rows_total - before
    result.finished = all(cp.finished for cp in final)
    result.rejected = sum(o.get("rejected", 0) for o in outcomes)
    result.load_fallbacks = sum(o.get("load_fallbacks", 0) for o in outcomes)
    result.method = next((o["method"] for o in outcomes if o.get("method")), "none")
    for note in (n for o in outcomes for n in o.get("notes", [])):
        if note not in result.notes:
            result.notes.append(note)
    result.seconds = time.monotonic() - started
    return result


def run_verify(
    model: type[models.Model],
    source: str,
    target: str,
    options: dict[str, Any],
    ranges: int,
    *,
    no_wait: bool = False,
    progress_file: IO[str] | None = None,
    progress: bool | None = None,
) -> tuple[VerifyRun, dict[str, Any]]:
    """``s2_verify --celery``: plan a pass of ``ranges`` ranges, enqueue a ``verify_range``
    task each and (unless ``no_wait``) wait; the pass's run and its summed findings."""
    run, pks = plan_verify(model, source, target, ranges)

    def send(pk: int) -> None:
        verify_range.apply_async(args=(pk, options))

    for pk in pks:
        send(pk)
    if no_wait:
        return run, {"ranges": len(pks), "enqueued": len(pks)}
    bar = tqdm(
        total=len(pks),
        unit="ranges",
        desc=f"verify {model._meta.label}",
        file=progress_file,
        disable={True: False, False: True, None: None}[progress],
        dynamic_ncols=True,
    )
    shown = 0

    def on_poll(rows: list[BackfillCheckpoint]) -> None:
        nonlocal shown
        finished = sum(row.finished for row in rows)
        bar.update(finished - shown)
        shown = finished

    try:
        rows = wait(
            pks,
            send,
            options.get("lease_seconds"),
            on_poll,
            lambda rows: all(r.finished for r in rows),
        )
    finally:
        bar.close()
    finish_verify(model._meta.label, source, target)
    run.refresh_from_db()
    return run, {"ranges": len(pks), "enqueued": len(pks), **verify_totals(rows)}
