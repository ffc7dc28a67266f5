"""Turn relations into strategies on the right databases, run them, and build the report."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import DEFAULT_DB_ALIAS, connections, router
from django.db.models import Model

from migration_kit.field_types import INTEGER_TYPES, TEXT_TYPES, internal_type
from migration_kit.integrity.relations import (
    GENERIC,
    Relation,
    discover,
    keep_fields,
    select_models,
    split_field_labels,
)
from migration_kit.integrity.report import RelationResult, Report
from migration_kit.integrity.scan import (
    AntiJoin,
    ChildTable,
    Chunk,
    Lookup,
    Strategy,
    Unresolvable,
)

DEFAULT_BATCH_SIZE = 10_000_000
DEFAULT_SAMPLE = 10
# Cross-database lookups hold one chunk's distinct keys in memory: keep that chunk modest.
LOOKUP_CHUNK = 50_000

Progress = Callable[[str], None]


class IntegrityConfigError(Exception):
    """The request cannot be run as asked: unknown label, alias or tenant, bad option value."""


@dataclass(frozen=True)
class Placement:
    """Which database holds a model's rows for this check.

    Children are read on ``database`` when one is given (only models with a table there are
    checked), else where the routers read them. A target lives on ``database`` too when its
    table is there, else where the routers read it — so a child on SingleStore pointing at a
    user on PostgreSQL is checked across the two.
    """

    database: str | None = None

    def child(self, model: type[Model]) -> str:
        return self.database or router.db_for_read(model) or DEFAULT_DB_ALIAS

    def target(self, model: type[Model]) -> str:
        if self.database and router.allow_migrate_model(self.database, model):
            return self.database
        return router.db_for_read(model) or DEFAULT_DB_ALIAS


@dataclass
class Part:
    """One strategy of a relation with the label it counts under (generic: per content type)."""

    strategy: Strategy
    width: int
    target: str


def _width(strategy: Strategy, batch_size: int) -> int:
    return min(batch_size, LOOKUP_CHUNK) if isinstance(strategy, Lookup) else batch_size


def _generic_compatible(key_field: Any, pk_field: Any) -> bool:
    """True when the object-id column can be compared to the target key in SQL on any vendor."""
    key_type, pk_type = internal_type(key_field), internal_type(pk_field)
    if key_type in INTEGER_TYPES and pk_type in INTEGER_TYPES:
        return True
    if key_type in TEXT_TYPES and pk_type in TEXT_TYPES:
        return True
    return key_type == pk_type


def _part(strategy: Strategy, batch_size: int, target: str) -> Part:
    return Part(strategy, _width(strategy, batch_size), target)


def _fk_part(relation: Relation, placement: Placement, child: ChildTable, batch_size: int) -> Part:
    field = relation.field
    target_model = field.related_model
    target_alias = placement.target(target_model)
    if target_alias == child.alias:
        strategy: Strategy = AntiJoin(
            child, field.column, target_model._meta.db_table, field.target_field.column
        )
    else:
        strategy = Lookup(child, field.column, target_model, field.target_field, target_alias)
    return _part(strategy, batch_size, relation.target_label)


def generic_groups(relation: Relation, child: ChildTable) -> tuple[int, list[tuple[Any, int]]]:
    """All child rows, and per content type id the rows that name an object."""
    ct_column = child.qn(relation.model._meta.get_field(relation.field.ct_field).column)
    key_column = child.qn(relation.model._meta.get_field(relation.field.fk_field).column)
    with child.connection.cursor() as cursor:
        cursor.execute(
            f"SELECT c.{ct_column}, COUNT(*), COUNT(c.{key_column}) FROM {child.table} c "
            f"GROUP BY c.{ct_column}"
        )
        groups = cursor.fetchall()
    total = sum(int(n) for _, n, _ in groups)
    named = sorted((ct, int(k)) for ct, _, k in groups if ct is not None and k)
    return total, named


def _generic_parts(
    relation: Relation, placement: Placement, child: ChildTable, ct_ids: list[Any], batch_size: int
) -> list[Part]:
    gfk = relation.field
    ct_field = relation.model._meta.get_field(gfk.ct_field)
    key_field = relation.model._meta.get_field(gfk.fk_field)
    ct_alias = placement.target(ContentType)
    content_types = ContentType.objects.using(ct_alias).in_bulk(ct_ids)
    parts = []
    for ct_id in ct_ids:
        extra = Chunk(f"c.{child.qn(ct_field.column)} = %s", (ct_id,))
        content_type = content_types.get(ct_field.target_field.to_python(ct_id))
        model = content_type.model_class() if content_type else None
        if content_type is None:
            strategy: Strategy = Unresolvable(child, key_field.column, extra)
            label = f"contenttypes.ContentType#{ct_id} (missing)"
        elif model is None:
            strategy = Unresolvable(child, key_field.column, extra)
            label = f"{content_type.app_label}.{content_type.model} (not installed)"
        else:
            target_alias = placement.target(model)
            pk = model._meta.pk
            if target_alias == child.alias and _generic_compatible(key_field, pk):
                strategy = AntiJoin(child, key_field.column, model._meta.db_table, pk.column, extra)
            else:
                strategy = Lookup(child, key_field.column, model, pk, target_alias, extra)
            label = model._meta.label
        parts.append(_part(strategy, batch_size, label))
    return parts


def parts_for(
    relation: Relation, placement: Placement, batch_size: int
) -> tuple[ChildTable, list[Part], int | None]:
    """The strategies that check ``relation``, and for generic relations the child's row count."""
    child = ChildTable(relation.model, placement.child(relation.model))
    rows = None
    if relation.kind == GENERIC:
        rows, named = generic_groups(relation, child)
        parts = _generic_parts(relation, placement, child, [ct for ct, _ in named], batch_size)
    else:
        parts = [_fk_part(relation, placement, child, batch_size)]
    return child, parts, rows


def _strategy_name(relation: Relation, parts: list[Part]) -> str:
    names = sorted({p.strategy.name for p in parts})
    if relation.kind == GENERIC:
        return "+".join(names) if names else "none"
    return names[0]


def _target_database(relation: Relation, placement: Placement) -> str | None:
    if relation.kind == GENERIC:
        return placement.target(ContentType)
    return placement.target(relation.field.related_model)


def check_relation(
    relation: Relation,
    *,
    placement: Placement,
    sample: int = DEFAULT_SAMPLE,
    batch_size: int = DEFAULT_BATCH_SIZE,
    tenant: Any = None,
    progress: Progress | None = None,
) -> RelationResult:
    """Count ``relation``'s rows and broken rows, keeping up to ``sample`` broken primary keys."""
    started = time.monotonic()
    child, parts, generic_rows = parts_for(relation, placement, batch_size)
    result = RelationResult(
        model=relation.model._meta.label,
        field=relation.field.name,
        target=relation.target_label,
        kind=relation.kind,
        database=child.alias,
        target_database=_target_database(relation, placement),
        strategy=_strategy_name(relation, parts),
        on_delete=relation.on_delete,
        tenant=None if tenant is None else str(tenant),
        relation=relation,
        broken_chunks=[],
    )
    last_report = started
    for part in parts:
        for chunk in part.strategy.child.chunks(part.width):
            counted = part.strategy.count(chunk)
            if generic_rows is None:
                result.rows_checked += counted.rows
            if counted.violations:
                result.violations += counted.violations
                result.broken_chunks.append((part, chunk))
                if relation.kind == GENERIC:
                    result.by_target[part.target] = (
                        result.by_target.get(part.target, 0) + counted.violations
                    )
                if len(result.sample) < sample:
                    found = part.strategy.orphans(
                        counted, sample - len(result.sample), ordered=False
                    )
                    found = [child.python_pk(pk) for pk in found]
                    result.sample = sorted([*result.sample, *found])
            now = time.monotonic()
            if progress and now - last_report >= 1.0:
                progress(f"  {result.label}: {result.rows_checked:,} rows so far")
                last_report = now
    if generic_rows is not None:
        result.rows_checked = generic_rows
    result.seconds = time.monotonic() - started
    return result


@contextmanager
def tenant_context(tenant: Any) -> Iterator[None]:
    """Run as ``tenant`` (a name or an ``s2router`` Tenant) through s2router's tenancy."""
    if tenant is None:
        yield
        return
    from s2router.tenancy import tenant as activate_tenant

    with activate_tenant(tenant):
        yield


def resolve_relations(
    labels: Iterable[str] | None, database: str | None
) -> tuple[Placement, list[Relation]]:
    """Validate ``labels`` and ``database`` and list the relations to check."""
    if database is not None and database not in settings.DATABASES:
        raise IntegrityConfigError(
            f"unknown database alias {database!r}; configured: {', '.join(settings.DATABASES)}"
        )
    try:
        labels, fields = split_field_labels(labels or [])
        models = select_models(labels)
    except LookupError as exc:
        raise IntegrityConfigError(str(exc)) from None
    if database is not None:
        named = {label.lower() for label in labels if "." in label}
        for model in models:
            if model._meta.label_lower in named and not router.allow_migrate_model(database, model):
                raise IntegrityConfigError(
                    f"{model._meta.label} has no table on database {database!r} (the routers' "
                    "allow_migrate says no); drop --database or name another model."
                )
        models = [m for m in models if router.allow_migrate_model(database, m)]
    if database and connections[database].settings_dict["ENGINE"] == "django.db.backends.dummy":
        raise IntegrityConfigError(f"database {database!r} is not configured (dummy backend)")
    try:
        relations = keep_fields(discover(models), fields)
    except LookupError as exc:
        raise IntegrityConfigError(str(exc)) from None
    return Placement(database), relations


def check(
    labels: Iterable[str] | None = None,
    *,
    database: str | None = None,
    sample: int = DEFAULT_SAMPLE,
    batch_size: int = DEFAULT_BATCH_SIZE,
    tenant: Any = None,
    progress: Progress | None = None,
) -> Report:
    """Check every relation of the models named by ``labels`` (all models when empty).

    ``labels`` are ``app_label``, ``app_label.Model`` or ``app_label.Model.field`` (one
    relation); ``database`` checks the tables on that alias; ``tenant`` runs the whole check as
    that s2router tenant. Raises ``IntegrityConfigError`` for bad input. The report lists every
    relation, clean or not.
    """
    if sample < 0:
        raise IntegrityConfigError(f"sample must be 0 or more, not {sample}")
    if batch_size < 1:
        raise IntegrityConfigError(f"batch size must be at least 1, not {batch_size}")
    placement, relations = resolve_relations(labels, database)
    report = Report()
    with tenant_context(tenant):
        for index, relation in enumerate(relations, 1):
            if progress:
                progress(f"[{index}/{len(relations)}] {relation.label} -> {relation.target_label}")
            report.relations.append(
                check_relation(
                    relation,
                    placement=placement,
                    sample=sample,
                    batch_size=batch_size,
                    tenant=tenant,
                    progress=progress,
                )
            )
    return report
