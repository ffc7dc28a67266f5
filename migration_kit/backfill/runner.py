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
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from django.apps import apps
from django.core.serializers.json import DjangoJSONEncoder
from django.db import OperationalError, connections, models, transaction

from django_singlestore.extras import optional
from migration_kit.backfill import convert, leases, state, transfer
from migration_kit.backfill.keyset import Table
from migration_kit.backfill.load import TRANSIENT_RETRIES, Rejected, Writer
from migration_kit.field_types import INTEGER_TYPES, internal_type
from migration_kit.models import BackfillCheckpoint
from migration_kit.vendors import is_transient

INITIAL_BATCH = 2000
MIN_BATCH = 100
MAX_BATCH = 100_000
# A PostgreSQL batch joined into one value makes no Python object per row: its rows are bounded
# by the joined text's bytes (JOINED_BYTES) instead, so there are fewer, larger loads; each load
# statement costs the target a commit and its own set-up.
MAX_JOINED_BATCH = 1_000_000
JOINED_BYTES = 32 * 1024 * 1024
# The most bytes a MySQL/MariaDB source joins into one batch text (GROUP_CONCAT's bound).
CONCAT_BYTES = 64 * 1024 * 1024
tqdm = optional("tqdm", "progress", "s2_backfill (its progress bars)").tqdm

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
    lease_seconds: float | None = None


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
    load_fallbacks: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def rows_per_second(self) -> float:
        return self.rows_copied / self.seconds if self.seconds else 0.0

    def report(self, kind: str, value: Any) -> None:
        """Take one progress report of a range copier (rows, rejects, notes, method, fallbacks)."""
        if kind == "rows":
            self.rows_copied += value
        elif kind == "rejected":
            self.rejected += value
        elif kind == "note" and value not in self.notes:
            self.notes.append(value)
        elif kind == "method":
            self.method = value
        elif kind == "fallbacks":
            self.load_fallbacks += value

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
    from s2router.phases import MIRRORED_TO_SINGLESTORE, get_phase

    return get_phase(model) in MIRRORED_TO_SINGLESTORE


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
    ranges = leases.plan(model, source, target, options.workers, options.restart)
    result.ranges = len(ranges)
    todo = [cp.pk for cp in ranges if not cp.finished]
    done_before = sum(cp.rows_copied for cp in ranges)
    bar = tqdm(
        total=None,  # set once the source is counted
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
    counter: RowCounter | None = None

    def report(kind: str, value: Any) -> None:
        nonlocal counter
        result.report(kind, value)
        if kind == "rows":
            if counter is None:
                # Counted beside the copy once its first batch is in (worker processes are
                # forked by then): a full scan the first batch need not wait for.
                counter = RowCounter(model, source)
            elif bar.total is None and counter.rows is not None:
                bar.total = max(counter.rows, done_before)
            bar.update(value)

    try:
        if todo:
            workers = max(1, min(options.workers, len(todo)))
            if workers == 1:
                _copy_ranges(model, source, target, options, todo, report, rejects)
            else:
                _copy_parallel(model, source, target, options, todo, workers, report)
    finally:
        if counter is not None:
            counter.thread.join()
        bar.close()
    result.source_rows = (counter or RowCounter(model, source)).wait()
    final = list(state.checkpoints(model._meta.label, source, target))
    result.rows_total = sum(cp.rows_copied for cp in final)
    result.finished = all(cp.finished for cp in final)
    result.method = result.method or "none"
    result.seconds = time.monotonic() - started
    return result


class RowCounter:
    """``COUNT(*)`` of a model's source table, run in a thread on its own connection."""

    def __init__(self, model: type[models.Model], source: str):
        self.rows: int | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(model, source), daemon=True)
        self.thread.start()

    def _run(self, model: type[models.Model], source: str) -> None:
        try:
            with connections[source].cursor() as cursor:
                cursor.execute(f"SELECT COUNT(*) FROM {Table(model, connections[source]).name}")
                (self.rows,) = cursor.fetchone()
        except BaseException as exc:  # re-raised by wait()
            self.error = exc
        finally:
            connections.close_all()

    def wait(self) -> int:
        """The count, once the thread is done (its error, if it failed)."""
        self.thread.join()
        if self.rows is None:
            raise self.error or RuntimeError("the source row count did not run")
        return self.rows


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
        for checkpoint in leases.claimed(todo, next_range, options.lease_seconds):
            with leases.held(checkpoint, lambda cp, exc: report("note", f"{exc}; left to it")):
                copy_range(model, checkpoint, source, writer, options, report, rejects)
        for note in writer.notes:
            report("note", note)
        report("fallbacks", writer.fallbacks)
        report("method", writer.method)  # "insert" if LOAD DATA turned out to be refused
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
    """Copy one range batch by batch, checkpointing after each, until the range is exhausted.

    Without row locks the next batch is read (in a thread, on its own connection) while the
    current one loads; with them, read, load and checkpoint share one source transaction.
    """
    copier = RangeCopier(model, checkpoint, source, writer, options)
    for note in copier.notes():
        report("note", note)
    last = copier.table.decode(checkpoint.last_key)
    inclusive = False
    if last is None and checkpoint.range_start is not None:
        last, inclusive = copier.table.decode(checkpoint.range_start), True
    if copier.lock:
        retries = 0
        while True:
            began = time.monotonic()
            try:
                with transaction.atomic(using=source):
                    batch = copier.read(last, inclusive)
                    if batch is None:
                        copier.finish()
                        return
                    copied = copier.write(batch, rejects, report)
            except OperationalError as exc:
                # Row locks can deadlock with the application's own writers: the batch is
                # rolled back on the source, and what reached the target is insert-if-absent.
                if not is_transient(exc) or retries >= TRANSIENT_RETRIES:
                    raise
                retries += 1
                time.sleep(0.05 * 2**retries)
                continue
            retries = 0
            report("rows", copied)
            last, inclusive = batch.newest, False
            copier.adapt(time.monotonic() - began)
    else:
        batches = Prefetcher(copier, last, inclusive)
        try:
            while True:
                began = time.monotonic()
                batch = batches.next()
                if batch is None:
                    copier.finish()
                    return
                report("rows", copier.write(batch, rejects, report))
                copier.adapt(time.monotonic() - began)
        finally:
            batches.stop()


@dataclass
class Batch:
    """Rows read for one batch: keys ``(low, newest]`` (``[low`` when ``inclusive``)."""

    raw: list[tuple]
    low: Any
    inclusive: bool
    newest: Any
    count: int = 0
    text: bytes | None = None  # the batch's LOAD DATA lines, when the source joined them


class RangeCopier:
    """Reads batches of one range from the source and writes them to the target."""

    def __init__(
        self,
        model: type[models.Model],
        checkpoint: BackfillCheckpoint,
        source: str,
        writer: Writer,
        options: Options,
    ):
        conn = connections[source]
        self.source, self.checkpoint = source, checkpoint
        self.writer, self.options = writer, options
        self.table = table = Table(model, conn, writable=True)
        self.converters = convert.row_converters(table.fields, conn)
        self.lock = should_lock(model, source, options.lock)
        self.end = table.decode(checkpoint.range_end)
        self.size = options.batch_size or INITIAL_BATCH
        self.plan = None
        if writer.method == "load":
            self.plan = transfer.column_plan(table, conn, writer.connection)
        self.fast = self.plan if self.plan and self.plan.select else None
        self.nkeys = len(table.pk_fields)
        columns = ", ".join(table.columns)
        select = columns
        if self.fast:
            # Keys, the SQL-rendered text, then the raw columns Python renders.
            raw = [table.columns[i] for i in self.fast.python_positions]
            select = ", ".join([*table.pk_columns, self.fast.select, *raw])
            python_fields = [table.fields[i] for i in self.fast.python_positions]
            self.python_converters = convert.row_converters(python_fields, conn)
            self.python_texts = convert.text_functions(python_fields, writer.connection)
        self.head = f"SELECT {select} FROM {table.name} WHERE "
        self.tail = f" ORDER BY {table.order_by} LIMIT %s"
        # The source joins a fully SQL-rendered batch itself: one row per batch, so no Python
        # object is made per row (the read shares the GIL with the load). PostgreSQL with
        # string_agg; MySQL/MariaDB with GROUP_CONCAT, for a single integer key (see
        # _read_joined_mysql for its length bound).
        integer_key = self.nkeys == 1 and internal_type(table.pk_fields[0]) in INTEGER_TYPES
        joinable = bool(self.fast and not self.fast.python_positions and not self.lock)
        self.joined = joinable and conn.vendor == "postgresql"
        self.concat = joinable and conn.vendor == "mysql" and integer_key
        self.row_bytes = 0.0  # bytes per line of the last joined batch
        self.concat_bound = 0  # the source session's group_concat_max_len
        if self.concat:
            key = table.pk_columns[0]
            self.concat_head = (
                f"SELECT GROUP_CONCAT(line SEPARATOR '\\n'), COUNT(*), MAX({key}), "
                f"SUM(LENGTH(line)) FROM (SELECT {key}, {self.fast.select} AS line "
                f"FROM {table.name} WHERE "
            )
            self.concat_tail = self.tail + ") AS batch"
        if self.joined:
            if self.nkeys == 1 and internal_type(table.pk_fields[0]) in INTEGER_TYPES:
                last = f"max({table.pk_columns[0]})"  # no sort of the batch's keys
            else:
                desc = ", ".join(f"{c} DESC" for c in table.pk_columns)
                last = ", ".join(f"(array_agg({c} ORDER BY {desc}))[1]" for c in table.pk_columns)
            self.head = (
                f"SELECT string_agg(line, E'\\n'), count(*), {last} FROM (SELECT "
                f"{', '.join(table.pk_columns)}, {self.fast.select} AS line "
                f"FROM {table.name} WHERE "
            )
            self.tail += ") AS batch"
        if self.lock:
            # NO KEY on PostgreSQL: concurrent inserts referencing these rows are not blocked.
            no_key = conn.features.has_select_for_no_key_update
            self.tail += " " + conn.ops.for_update_sql(no_key=no_key)
        self.generic = f"SELECT {columns} FROM {table.name} WHERE "

    def notes(self) -> list[str]:
        """Which columns are rendered in Python rather than in source SQL, and why."""
        label = self.table.model._meta.label
        if self.plan is not None:
            return self.plan.notes(label)
        why = (
            "the target takes INSERT, not LOAD DATA"
            if self.writer.method == "insert"
            else f"no SQL renderings for a {connections[self.source].vendor} source"
        )
        return [f"{label}: every column converted in Python ({why})."]

    def read(self, last: Any, inclusive: bool) -> Batch | None:
        """The next batch after ``last`` on this thread's source connection; None at the end."""
        where, params = self.table.between(last, self.end, inclusive)
        if self.concat:
            batch = self._read_joined_mysql(last, inclusive, where, params)
            if batch is not False:
                return batch
        with connections[self.source].cursor() as cursor:
            for statement in self.fast.setup if self.fast else ():
                cursor.execute(statement)
            if self.joined:
                transfer.text_as_bytes(cursor)
            cursor.execute(self.head + where + self.tail, [*params, self._joined_size()])
            raw = cursor.fetchall()
        if self.joined:
            text, count, *newest = raw[0]
            if not count:
                return None
            if isinstance(text, str):  # a driver without text_as_bytes (psycopg2)
                text = text.encode()
            self.row_bytes = (len(text) + 1) / count
            return Batch([], last, inclusive, self.table.raw_key(newest), count, text)
        if not raw:
            return None
        newest = raw[-1][: self.nkeys] if self.fast else self.table.key_of(raw[-1])
        newest = self.table.raw_key(newest)
        return Batch(raw, last, inclusive, newest, len(raw))

    def _joined_size(self) -> int:
        """Rows to read next: the batch size, and for an adaptive PostgreSQL joined batch no
        more rows than fit ``JOINED_BYTES`` at the bytes per line seen so far."""
        if not (self.joined and self.row_bytes and self.options.batch_size is None):
            return self.size
        return max(MIN_BATCH, min(self.size, int(JOINED_BYTES / self.row_bytes)))

    def _read_joined_mysql(
        self, last: Any, inclusive: bool, where: str, params: list[Any]
    ) -> Batch | bool | None:
        """The next batch joined by MySQL/MariaDB's GROUP_CONCAT; False to read it row by row.

        GROUP_CONCAT cuts its result at ``group_concat_max_len`` (set to the session's
        ``max_allowed_packet``, at most ``CONCAT_BYTES``), with only a warning: a batch whose
        joined text is shorter than its lines' lengths say is read again row by row, and later
        batches hold as many rows as fit the bound (by the bytes per line seen so far).
        """
        size = self.size
        if self.row_bytes:
            size = min(size, int(self.concat_bound * 0.8 / self.row_bytes))
            if size < MIN_BATCH:  # lines too long to join usefully: row by row from now on
                self.concat = False
                return False
        with connections[self.source].cursor() as cursor:
            cursor.execute(
                f"SET SESSION group_concat_max_len = LEAST(@@max_allowed_packet, {CONCAT_BYTES})"
            )
            if not self.concat_bound:
                cursor.execute("SELECT @@group_concat_max_len")
                (self.concat_bound,) = cursor.fetchone()
            cursor.execute(self.concat_head + where + self.concat_tail, [*params, size])
            text, count, newest, total = cursor.fetchone()
        if not count:
            return None
        self.row_bytes = (int(total) + count) / count
        if text is None or len(text) != int(total) + count - 1:
            return False  # cut at the bound
        return Batch([], last, inclusive, self.table.raw_key([newest]), count, bytes(text))

    def _lines(self, raw: list[tuple]) -> bytes:
        """``LOAD DATA`` text of fast-path rows: the SQL part, then the Python-rendered columns."""
        at = self.nkeys
        # MySQL/MariaDB send the SQL part as UTF-8 bytes (transfer.column_plan), others as str.
        text = not isinstance(raw[0][at], bytes)
        if not self.fast.python_positions:
            if text:
                return ("\n".join([r[at] for r in raw]) + "\n").encode("utf-8")
            return b"\n".join([r[at] for r in raw]) + b"\n"
        tail = convert.convert_rows([r[at + 1 :] for r in raw], self.python_converters)
        texts = self.python_texts
        lines = [
            "\t".join(
                [
                    r[at] if text else r[at].decode(),
                    *[f(v) for f, v in zip(texts, values, strict=True)],
                ]
            )
            for r, values in zip(raw, tail, strict=True)
        ]
        return ("\n".join(lines) + "\n").encode("utf-8")

    def _python_rows(self, batch: Batch) -> list[list[Any]]:
        if not self.fast:
            return convert.convert_rows(batch.raw, self.converters)
        # Re-read the same rows as Python values (a strict INSERT needs them).
        where, params = self.table.between(batch.low, batch.newest, batch.inclusive)
        with connections[self.source].cursor() as cursor:
            cursor.execute(self.generic + where + f" ORDER BY {self.table.order_by}", params)
            return convert.convert_rows(cursor.fetchall(), self.converters)

    def write(self, batch: Batch, rejects: RejectLog, report: Report) -> int:
        """Write a batch insert-if-absent, then checkpoint its last key; rows copied."""
        rejected: list[Rejected] = []
        if self.fast:
            data = self._lines(batch.raw) if batch.text is None else [batch.text, b"\n"]
            if self.writer.load_text(data, batch.count, self.fast.order) is None:
                rejected = self.writer.insert(self._python_rows(batch)).rejected
        else:
            rejected = self.writer.write(self._python_rows(batch)).rejected
        if rejected:
            rejects.write(self.table, rejected)
            report("rejected", len(rejected))
        copied = batch.count - len(rejected)
        self.checkpoint.last_key = self.table.encode(batch.newest)
        self.checkpoint.rows_copied += copied
        self.checkpoint.save(update_fields=["last_key", "rows_copied", "updated_at"])
        return copied

    def finish(self) -> None:
        self.checkpoint.finished = True
        self.checkpoint.save(update_fields=["finished", "updated_at"])

    def adapt(self, elapsed: float) -> None:
        if self.options.batch_size is None:
            most = MAX_JOINED_BATCH if self.joined else MAX_BATCH
            self.size = _next_batch(self.size, elapsed, self.options.batch_seconds, most)


class Prefetcher:
    """Reads batches ahead in a thread (its own source connection), one batch in flight."""

    def __init__(self, copier: RangeCopier, last: Any, inclusive: bool):
        self.copier = copier
        self.queue: queue.Queue = queue.Queue(maxsize=1)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(last, inclusive), daemon=True)
        self.thread.start()

    def _run(self, last: Any, inclusive: bool) -> None:
        try:
            while not self.stopping.is_set():
                batch = self.copier.read(last, inclusive)
                self._put(batch)
                if batch is None:
                    return
                last, inclusive = batch.newest, False
        except BaseException as exc:  # handed to the consumer, which re-raises it
            self._put(exc)
        finally:
            connections.close_all()

    def _put(self, item: Any) -> None:
        while not self.stopping.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def next(self) -> Batch | None:
        item = self.queue.get()
        if isinstance(item, BaseException):
            raise item
        return item

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join()


def _next_batch(batch: int, elapsed: float, target: float, most: int = MAX_BATCH) -> int:
    """Move the batch size toward ``target`` seconds per batch, at most 2x per step, within
    ``MIN_BATCH`` and ``most`` rows."""
    factor = target / elapsed if elapsed > 0 else 2.0
    factor = min(2.0, max(0.5, factor))
    return int(min(most, max(MIN_BATCH, batch * factor)))


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
        _copy_ranges(model, source, target, options, todo, report, rejects, next_range)
    except RowsRejected as exc:
        events.put(("refused", str(exc)))
    except Exception:
        events.put(("error", traceback.format_exc()))
    finally:
        connections.close_all()
        events.put(("exit", None))


def copy_one_range(
    model: type[models.Model], pk: int, source: str, target: str, options: Options
) -> Result | None:
    """Copy checkpoint ``pk``'s range under its lease: one distributed worker's unit (a Celery
    task). None when it is finished or another live owner holds it; a lease lost midway ends
    the range with a note (``finished`` False)."""
    checkpoint = leases.claim(pk, options.lease_seconds)
    if checkpoint is None:
        return None
    result = Result(model._meta.label, source, target, ranges=1)
    result.locked = should_lock(model, source, options.lock)
    started = time.monotonic()
    report = result.report
    rejects = RejectLog(options.reject_log, model)
    writer = Writer(model, target, options.method)
    try:
        with leases.held(checkpoint, lambda cp, exc: report("note", f"{exc}; left to it")):
            copy_range(model, checkpoint, source, writer, options, report, rejects)
            result.finished = True
        for note in writer.notes:
            report("note", note)
        result.load_fallbacks = writer.fallbacks
        result.method = writer.method
    finally:
        writer.close()
    result.rows_total = checkpoint.rows_copied
    result.seconds = time.monotonic() - started
    return result
