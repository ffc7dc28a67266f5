"""Repairing broken rows the way each field's ``on_delete`` would have, had the parent been deleted.

``plan()`` decides per broken relation (CASCADE: delete the orphans and what cascades from them;
SET_NULL / SET_DEFAULT / SET(...): update the column; PROTECT / RESTRICT / DO_NOTHING and generic
foreign keys: report only) and counts what would change, running Django's deletion collector
without deleting. ``apply()`` then works in batches of at most ``FIX_BATCH`` broken rows, each
batch found and changed inside one transaction on the child's database, so a parent that appears
meanwhile is seen before its children are touched.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, models, transaction
from django.db.models.deletion import Collector, ProtectedError, RestrictedError

from migration_kit.integrity.relations import GENERIC, Relation
from migration_kit.integrity.report import RelationResult, Report, json_key
from migration_kit.integrity.runner import Part, Placement, Progress, parts_for, tenant_context
from migration_kit.integrity.scan import ChildTable

DELETE = "delete"
UPDATE = "update"
REPORT_ONLY = "none"
# Broken rows changed per transaction (fewer when --batch-size is smaller).
FIX_BATCH = 1_000


@dataclass
class FixStep:
    """What fixing one broken relation means, what it would change, and what it changed."""

    result: RelationResult
    action: str
    detail: str
    value: Any = None
    planned: dict[str, int] = field(default_factory=dict)
    applied: dict[str, int] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.result.model,
            "field": self.result.field,
            "tenant": self.result.tenant,
            "on_delete": self.result.on_delete,
            "violations": self.result.violations,
            "action": self.action,
            "detail": self.detail,
            "value": json_key(self.value),
            "planned": dict(sorted(self.planned.items())),
            "applied": None if self.applied is None else dict(sorted(self.applied.items())),
        }

    def as_text(self) -> str:
        head = f"{self.result.label}"
        if self.result.tenant:
            head += f" (tenant {self.result.tenant})"
        line = f"{head}: {self.detail}"
        if self.planned:
            line += " — would change " + _counts(self.planned)
        if self.applied is not None:
            line += " — changed " + (_counts(self.applied) if self.applied else "nothing")
        return line


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n:,} {label}" for label, n in sorted(counts.items()))


def _set_value(relation: Relation) -> Any:
    """The value ``models.SET(...)`` assigns, as a raw column value."""
    (value,) = relation.field.remote_field.on_delete.deconstruct()[1]
    if callable(value):
        value = value()
    if isinstance(value, models.Model):
        value = getattr(value, relation.field.target_field.attname)
    return value


def decide(result: RelationResult, placement: Placement) -> FixStep:
    """The action ``result``'s relation calls for, or REPORT_ONLY with the reason."""
    relation: Relation = result.relation
    if relation.kind == GENERIC:
        return FixStep(result, REPORT_ONLY, "generic foreign keys have no on_delete; report only")
    field_ = relation.field
    if field_.remote_field.parent_link:
        return FixStep(
            result, REPORT_ONLY, "multi-table inheritance parent row missing; report only"
        )
    if not ChildTable(relation.model, result.database).single_pk:
        return FixStep(result, REPORT_ONLY, "composite primary key; report only")
    on_delete = relation.on_delete
    if on_delete == "CASCADE":
        return FixStep(result, DELETE, "CASCADE: delete the broken rows and what cascades")
    if on_delete in {"SET_NULL", "SET_DEFAULT", "SET"}:
        if on_delete == "SET_NULL":
            value = None
        elif on_delete == "SET_DEFAULT":
            value = field_.get_default()
        else:
            value = _set_value(relation)
        if value is None and not field_.null:
            return FixStep(
                result,
                REPORT_ONLY,
                f"{on_delete}: the value is NULL but the column is NOT NULL; report only",
            )
        if value is not None and not _target_exists(relation, placement, value):
            return FixStep(
                result,
                REPORT_ONLY,
                f"{on_delete}: the value {value!r} has no target row either; report only",
                value,
            )
        shown = "NULL" if value is None else repr(value)
        return FixStep(result, UPDATE, f"{on_delete}: set {field_.attname} = {shown}", value)
    return FixStep(result, REPORT_ONLY, f"{on_delete}: report only")


def _target_exists(relation: Relation, placement: Placement, value: Any) -> bool:
    target = relation.field.related_model
    attname = relation.field.target_field.attname
    manager = target._base_manager.using(placement.target(target))
    return manager.filter(**{attname: value}).exists()


def _batches(
    result: RelationResult,
    placement: Placement,
    batch_size: int,
) -> Iterator[tuple[ChildTable, Part, Any, int]]:
    """The chunks that hold broken rows, counted again now, with the strategy to list them.

    Only the chunks the check found broken are looked at again (every chunk when the result
    does not say which): a fix repairs what the check reported.
    """
    if result.broken_chunks is not None:
        todo: Iterable[tuple[Part, Any]] = result.broken_chunks
    else:
        child, parts, _ = parts_for(result.relation, placement, batch_size)
        todo = ((part, chunk) for part in parts for chunk in child.chunks(part.width))
    for part, chunk in todo:
        counted = part.strategy.count(chunk)
        if counted.violations:
            yield part.strategy.child, part, counted, min(batch_size, FIX_BATCH)


def _orphan_querysets(
    child: ChildTable, part: Part, counted: Any, size: int
) -> Iterator[models.QuerySet]:
    """Querysets of at most ``size`` broken rows, each fetched when the caller asks for it."""
    after = None
    while True:
        pks = part.strategy.orphans(counted, size, after)
        if not pks:
            return
        yield child.model._base_manager.using(child.alias).filter(pk__in=pks)
        if len(pks) < size:
            return
        after = pks[-1]


def _preview_delete(queryset: models.QuerySet, alias: str) -> Counter:
    collector = Collector(using=alias, origin=None)
    collector.collect(queryset)
    counts: Counter = Counter()
    for model, instances in collector.data.items():
        counts[model._meta.label] += len(instances)
    for fast in collector.fast_deletes:
        counts[fast.model._meta.label] += fast.count()
    return counts


def plan(
    report: Report, *, placement: Placement, batch_size: int, progress: Progress | None = None
) -> list[FixStep]:
    """One step per broken relation in ``report``, with the rows each would change."""
    steps = []
    for result in report.broken:
        with tenant_context(result.tenant):
            step = decide(result, placement)
            if progress:
                progress(f"planning {result.label}: {step.action}")
            counts: Counter = Counter()
            try:
                for child, part, counted, size in _batches(result, placement, batch_size):
                    for queryset in _orphan_querysets(child, part, counted, size):
                        if step.action == DELETE:
                            counts.update(_preview_delete(queryset, child.alias))
                        elif step.action == UPDATE:
                            counts[result.model] += queryset.count()
            except (ProtectedError, RestrictedError) as exc:
                step = FixStep(result, REPORT_ONLY, f"{result.on_delete}: blocked, {exc.args[0]}")
                counts = Counter()
            except DatabaseError as exc:
                step = FixStep(
                    result,
                    REPORT_ONLY,
                    f"{result.on_delete}: cannot collect cascades on {result.database}: {exc}",
                )
                counts = Counter()
            step.planned = dict(counts) if step.action != REPORT_ONLY else {}
            steps.append(step)
    return steps


def apply(
    steps: list[FixStep], *, placement: Placement, batch_size: int, progress: Progress | None = None
) -> None:
    """Carry out every step that is not report-only; ``step.applied`` records the changes."""
    for step in steps:
        if step.action == REPORT_ONLY:
            continue
        counts: Counter = Counter()
        result = step.result
        with tenant_context(result.tenant):
            for child, part, counted, size in _batches(result, placement, batch_size):
                querysets = _orphan_querysets(child, part, counted, size)
                while True:
                    with transaction.atomic(using=child.alias):
                        queryset = next(querysets, None)
                        if queryset is None:
                            break
                        if step.action == DELETE:
                            _, per_model = queryset.delete()
                            counts.update({k: v for k, v in per_model.items() if v})
                        else:
                            attname = result.relation.field.attname
                            counts[result.model] += queryset.update(**{attname: step.value})
                    if progress:
                        progress(f"fixing {result.label}: {_counts(counts)}")
        step.applied = dict(counts)
