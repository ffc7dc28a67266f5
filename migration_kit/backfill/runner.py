"""Copying one model: ranges in parallel worker processes, batches sized to a target time.

Each range is read with keyset pagination; each batch is converted, written insert-if-absent,
and then its last key is checkpointed. With ``lock`` the batch's source rows are read
``FOR UPDATE`` and held until the batch is on the target, so a concurrent source write (and the
outbox apply that follows its commit) always lands after the backfilled copy, never before it.
"""

from __future__ import annotations

import json
import multiprocessing
import queue
import sys
import time
import traceback
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import IO, Any

from django.apps import apps
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, models, transaction
from tqdm import tqdm

from migration_kit.backfill import convert, state
from migration_kit.backfill.keyset import Table
from migration_kit.backfill.load import Rejected, Writer
from migration_kit.models import BackfillCheckpoint

INITIAL_BATCH = 1000
MIN_BATCH = 100
MAX_BATCH = 100_000
LIVE_PHASES = frozenset({"dual_write", "shadow"})

Report = Callable[[str, Any], None]


class RowsRejected(Exception):
    """The target refused rows and no reject log was given."""


@dataclass
class Options:
    """How to copy: see ``manage.py s2_backfill --help`` for each option."""

    workers: int = 1
    batch_size: int | None = None
    batch_seconds: float = 1.0
    method: str = "auto"
    lock: str = "auto"
    restart: bool = False
    reject_log: str | None = None
    progress: bool | None = None


@dataclass
class Result:
    """The outcome of copying one model."""

    model: str
    source: str
    target: str
    rows_copied: int = 0
    rows_total: int = 0
    source_rows: int = 0
    rejected: int = 0
    ranges: int = 0
    finished: bool = False
    seconds: float = 0.0
    method: str = ""
    locked: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def rows_per_second(self) -> float:
        return self.rows_copied / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["rows_per_second"] = round(self.rows_per_second, 1)
        data["seconds"] = round(self.seconds, 3)
        return data


def should_lock(model: type[models.Model], source: str, lock: str) -> bool:
    """Whether to hold source row locks per batch (``auto``: while writes are mirrored)."""
    if lock == "off" or not connections[source].features.has_select_for_update:
        return False
    if lock == "on":
        return True
    from s2router.phases import get_phase

    phase = get_phase(model)
    return phase is not None and str(phase) in LIVE_PHASES


def backfill(
    model: type[models.Model],
    source: str,
    target: str,
    options: Options,
    progress_file: IO[str] | None = None,
) -> Result:
    """Copy ``model`` from ``source`` to ``target``, resuming from its checkpoints."""
    started = time.monotonic()
    result = Result(model._meta.label, source, target)
    result.locked = should_lock(model, source, options.lock)
    ranges = state.plan(model, source, target, options.workers, options.restart)
    result.ranges = len(ranges)
    with connections[source].cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {Table(model, connections[source]).name}")
        (result.source_rows,) = cursor.fetchone()
    todo = [cp.pk for cp in ranges if not cp.finished]
    done_before = sum(cp.rows_copied for cp in ranges)
    bar = tqdm(
        total=max(result.source_rows, done_before),
        initial=done_before,
        unit="rows",
        unit_scale=True,
        desc=model._meta.label,
        file=progress_file or sys.stderr,
        # None: tqdm shows the bar only when stderr is a terminal.
        disable={True: False, False: True, None: None}[options.progress],
        dynamic_ncols=True,
    )
    rejects = RejectLog(options.reject_log, model)

    def report(kind: str, value: Any) -> None:
        if kind == "rows":
            result.rows_copied += value
            bar.update(value)
        elif kind == "rejected":
            result.rejected += value
        elif kind == "note" and value not in result.notes:
            result.notes.append(value)
        elif kind == "method":
            result.method = value

    try:
        if todo:
            workers = max(1, min(options.workers, len(todo)))
            if workers == 1:
                _copy_ranges(model, source, target, options, todo, report, rejects)
            else:
                _copy_parallel(model, source, target, options, todo, workers, report)
    finally:
        bar.close()
    final = list(state.checkpoints(model._meta.label, source, target))
    result.rows_total = sum(cp.rows_copied for cp in final)
    result.finished = all(cp.finished for cp in final)
    result.method = result.method or "none"
    result.seconds = time.monotonic() - started
    return result


class RejectLog:
    """Refused rows as JSON lines (appends, so several workers can share one file)."""

    def __init__(self, path: str | None, model: type[models.Model]):
        self.path = path
        self.model = model

    def write(self, table: Table, rejected: list[Rejected]) -> None:
        if not self.path:
            first = rejected[0]
            raise RowsRejected(
                f"{self.model._meta.label}: the target refused the row with key "
                f"{json.dumps(table.encode(table.key_of(first.row)))}: {first.error} "
                "(pass --reject-log FILE to set such rows aside and continue)."
            )
        lines = []
        for item in rejected:
            values = {
                f.attname: bytes(v).hex() if isinstance(v, bytes | memoryview) else v
                for f, v in zip(table.fields, item.row, strict=True)
            }
            entry = {
                "model": self.model._meta.label,
                "pk": table.encode(table.key_of(item.row)),
                "error": item.error,
                "row": values,
            }
            lines.append(json.dumps(entry, cls=DjangoJSONEncoder, ensure_ascii=False) + "\n")
        with open(self.path, "a", encoding="utf-8") as log:
            log.write("".join(lines))


def _copy_ranges(
    model: type[models.Model],
    source: str,
    target: str,
    options: Options,
    todo: list[int],
    report: Report,
    rejects: RejectLog,
    next_range: Callable[[], int | None] | None = None,
) -> None:
    writer = Writer(model, target, options.method)
    report("method", writer.method)
    try:
        pending = iter(todo)
        while True:
            pk = next_range() if next_range else next(pending, None)
            if pk is None:
                break
            checkpoint = BackfillCheckpoint.objects.get(pk=pk)
            copy_range(model, checkpoint, source, writer, options, report, rejects)
        for note in writer.notes:
            report("note", note)
    finally:
        writer.close()


def copy_range(
    model: type[models.Model],
    checkpoint: BackfillCheckpoint,
    source: str,
    writer: Writer,
    options: Options,
    report: Report,
    rejects: RejectLog,
) -> None:
    """Copy one range batch by batch, checkpointing after each, until the range is exhausted."""
    conn = connections[source]
    table = Table(model, conn)
    converters = convert.row_converters(table.fields, conn)
    lock = should_lock(model, source, options.lock)
    end = table.decode(checkpoint.range_end)
    last = table.decode(checkpoint.last_key)
    inclusive = False
    if last is None and checkpoint.range_start is not None:
        last, inclusive = table.decode(checkpoint.range_start), True
    batch = options.batch_size or INITIAL_BATCH
    head = f"SELECT {', '.join(table.columns)} FROM {table.name} WHERE "
    tail = f" ORDER BY {table.order_by} LIMIT %s"
    if lock:
        # NO KEY on PostgreSQL: concurrent inserts referencing these rows are not blocked.
        no_key = conn.features.has_select_for_no_key_update
        tail += " " + conn.ops.for_update_sql(no_key=no_key)
    while True:
        began = time.monotonic()
        with transaction.atomic(using=source) if lock else nullcontext():
            where, params = table.between(last, end, inclusive)
            with conn.cursor() as cursor:
                cursor.execute(head + where + tail, [*params, batch])
                raw = cursor.fetchall()
            if not raw:
                checkpoint.finished = True
                checkpoint.save(update_fields=["finished", "updated_at"])
                return
            rows = convert.convert_rows(raw, converters)
            written = writer.write(rows)
            if written.rejected:
                rejects.write(table, written.rejected)
                report("rejected", len(written.rejected))
            last, inclusive = table.key_of(rows[-1]), False
            copied = len(rows) - len(written.rejected)
            checkpoint.last_key = table.encode(last)
            checkpoint.rows_copied += copied
            checkpoint.save(update_fields=["last_key", "rows_copied", "updated_at"])
        report("rows", copied)
        if options.batch_size is None:
            batch = _next_batch(batch, time.monotonic() - began, options.batch_seconds)


def _next_batch(batch: int, elapsed: float, target: float) -> int:
    """Move the batch size toward ``target`` seconds per batch, at most 2x per step."""
    factor = target / elapsed if elapsed > 0 else 2.0
    factor = min(2.0, max(0.5, factor))
    return int(min(MAX_BATCH, max(MIN_BATCH, batch * factor)))


def _copy_parallel(
    model: type[models.Model],
    source: str,
    target: str,
    options: Options,
    todo: list[int],
    workers: int,
    report: Report,
) -> None:
    ctx = multiprocessing.get_context("fork")
    taken = ctx.Value("i", 0)
    events = ctx.Queue()
    # Children must open their own connections; never share a socket across a fork.
    connections.close_all()
    procs = [
        ctx.Process(
            target=_worker,
            args=(model._meta.label, source, target, options, todo, taken, events),
            daemon=True,
        )
        for _ in range(workers)
    ]
    for proc in procs:
        proc.start()
    errors: list[str] = []
    refused: list[str] = []
    finished = 0
    while finished < workers:
        try:
            kind, value = events.get(timeout=0.5)
        except queue.Empty:
            if not any(p.is_alive() for p in procs) and events.empty():
                errors.append("a worker process died without reporting")
                break
            continue
        if kind == "exit":
            finished += 1
        elif kind == "error":
            errors.append(value)
        elif kind == "refused":
            refused.append(value)
        else:
            report(kind, value)
    for proc in procs:
        proc.join()
    if errors:
        raise WorkerFailed("\n".join(errors))
    if refused:
        raise RowsRejected(refused[0])


class WorkerFailed(Exception):
    """A backfill worker process failed; the message holds its traceback."""


def _worker(
    label: str,
    source: str,
    target: str,
    options: Options,
    todo: list[int],
    taken: Any,
    events: Any,
) -> None:
    model = apps.get_model(label)

    def next_range() -> int | None:
        with taken.get_lock():
            index = taken.value
            taken.value += 1
        return todo[index] if index < len(todo) else None

    def report(kind: str, value: Any) -> None:
        events.put((kind, value))

    try:
        rejects = RejectLog(options.reject_log, model)
        _copy_ranges(model, source, target, options, [], report, rejects, next_range)
    except RowsRejected as exc:
        events.put(("refused", str(exc)))
    except Exception:
        events.put(("error", traceback.format_exc()))
    finally:
        connections.close_all()
        events.put(("exit", None))
