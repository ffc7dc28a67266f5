"""Capture every write to a migrating model into the outbox, in the write's own transaction.

While a model is in ``dual_write``/``shadow`` (source primary, SingleStore mirror) or ``cutover``
(SingleStore primary, source mirror), each write on the primary alias also inserts one
``OutboxEntry`` per affected primary key, in the same transaction: if the write rolls back, so
do its entries. After commit, the keys go to the relay (``migration_kit.dualwrite.relay``), which
applies them to the mirror at once; whatever it cannot apply stays in the outbox for
``s2_sync``.

Signals cannot see ``QuerySet.update``/``bulk_create``/``bulk_update`` and arrive after the row
committed when ``save()`` runs in autocommit, so ``install()`` (called from the app's
``ready()``) wraps Django's write entry points once, for every model and manager:

- ``Model.save_base`` (``save``, ``create``, ``get_or_create``, ``update_or_create``, loaddata);
- ``QuerySet.update``, ``bulk_create``, ``bulk_update`` (also reverse-FK ``add``/``remove``);
- ``Collector.delete`` (``Model.delete``, ``QuerySet.delete``, cascades, SET_NULL updates,
  M2M ``remove``/``clear``/``set`` and the fast-delete paths that bypass delete signals).

Each wrapper asks the router first and does nothing extra for models that are not mirrored on
that alias. M2M ``add`` inserts through-table rows with ``bulk_create``, so through rows are
captured by their own key like any other row. Raw SQL is not seen: call ``enqueue_keys``.

Where capture triggers (``migration_kit.dualwrite.triggers``) are installed on the primary, the
database writes the entries itself: the wrappers then run the write untouched (no extra
transaction, no key reads) and only poke the relay after commit — and raw SQL is captured too.
"""

from __future__ import annotations

import contextvars
import functools
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connections, models, router, transaction
from django.db.models import Q
from django.db.models.deletion import Collector
from django.db.models.fields import AutoFieldMixin

from migration_kit.dualwrite import triggers
from migration_kit.keys import encode_pk

#: Apps whose models are never mirrored: the kit's and the router's own state.
_INTERNAL_APPS = frozenset({"migration_kit", "s2router"})

#: Models whose ``QuerySet.update()`` calls are already recorded by an enclosing wrapper:
#: ``bulk_update`` runs one UPDATE per batch and sends no signals, so nothing else can write
#: through them. Every other nested write (signal receivers, custom ``save()``) is recorded.
_covered_updates: contextvars.ContextVar[frozenset[type[models.Model]]] = contextvars.ContextVar(
    "outbox_covered_updates", default=frozenset()
)


def _mirrored(model: type[models.Model]) -> Any:
    """The router's placement of ``model`` when its writes are mirrored in its current phase,
    else None: the cheap first test (one placement lookup, shared with :func:`_route`)."""
    if model._meta.app_label in _INTERNAL_APPS:
        return None
    from s2router import conf as router_conf
    from s2router.phases import MIRRORED, phase_of

    placement = router_conf.get_config().placement(model)
    if placement is None or placement.kind is not router_conf.Kind.MIGRATING:
        return None
    return placement if phase_of(placement) in MIRRORED else None


def route(model: type[models.Model], alias: str) -> tuple[str, str] | None:
    """``(primary, mirror)`` when writes of ``model`` on ``alias`` must be recorded, else None."""
    placement = _mirrored(model)
    return None if placement is None else _route(placement, alias)


def _route(placement: Any, alias: str) -> tuple[str, str] | None:
    """:func:`route` for the placement :func:`_mirrored` returned."""
    from s2router.phases import write_aliases_of

    primary, mirror = write_aliases_of(placement)
    if mirror is None or primary is None or alias != primary:
        return None
    return primary, mirror


def enqueue_keys(model: type[models.Model], keys: Iterable[Any], using: str | None = None) -> int:
    """Record ``keys`` of ``model`` as changed on ``using``; for writes the kit cannot see.

    Call it inside the transaction of your raw SQL so the entries commit with it. ``using``
    defaults to the model's primary alias in its current phase. Returns how many entries were
    written (0 when the model is not mirrored from ``using`` right now).
    """
    model = model._meta.concrete_model
    if using is None:
        from s2router.phases import write_aliases

        using = write_aliases(model)[0]
    target = route(model, using)
    if target is None:
        return 0
    return _record(model, keys, *target)


def _record(model: type[models.Model], keys: Iterable[Any], primary: str, mirror: str) -> int:
    """Insert one outbox entry per distinct key and hand the batch to the relay on commit."""
    from migration_kit.dualwrite.outbox import insert_entries
    from migration_kit.dualwrite.relay import relay

    model = model._meta.concrete_model
    distinct = list(dict.fromkeys(k for k in keys if k is not None))
    if not distinct:
        return 0
    label = model._meta.label
    batch = uuid.uuid4().hex
    insert_entries(primary, label, [encode_pk(model, key) for key in distinct], mirror, batch)
    # robust: nothing the relay does may raise into the code that committed the write.
    transaction.on_commit(
        functools.partial(relay.submit, label, primary, mirror, batch, distinct),
        using=primary,
        robust=True,
    )
    return len(distinct)


def _poke(alias: str) -> None:
    """After the write commits, let the relay drain what the triggers recorded on ``alias``."""
    from migration_kit.dualwrite.relay import relay

    connections[alias].on_commit(functools.partial(relay.poke, alias), robust=True)


def _untouched(alias: str, write: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run ``write`` as Django would (the primary's triggers record it), then :func:`_poke`."""
    result = write(*args, **kwargs)
    _poke(alias)
    return result


def _by_triggers(model: type[models.Model], target: tuple[str, str]) -> bool:
    """Whether the primary's triggers record ``model``'s writes (the wrapper then stays out)."""
    return triggers.captures(model, *target)


@contextmanager
def _capturing(alias: str) -> Iterator[None]:
    """The write and its entries in one transaction on ``alias``."""
    with transaction.atomic(using=alias, savepoint=False):
        yield


def _write_alias(qs: models.QuerySet) -> str:
    return qs._db or router.db_for_write(qs.model, **qs._hints)


def _locked_keys(qs: models.QuerySet) -> list[Any]:
    """Primary keys ``qs`` matches now, locked against concurrent writers where supported."""
    features = connections[qs.db].features
    qs = qs.order_by()
    query = qs.query
    aggregated = query.group_by is not None or any(
        getattr(annotation, "contains_aggregate", False)
        for annotation in query.annotations.values()
    )
    # Databases refuse FOR UPDATE with DISTINCT, GROUP BY or aggregates; such keys are read
    # without the lock (the UPDATE itself still locks the rows it changes).
    if features.has_select_for_update and not (query.is_sliced or query.distinct or aggregated):
        # OF self: only the model's own rows (PostgreSQL refuses to lock the nullable side of
        # an outer join, which a filter across a nullable relation produces).
        # (Not for composite keys: Django 5.2 cannot build OF for their column pair.)
        usable = features.has_select_for_update_of and not qs.model._meta.is_composite_pk
        of = ("self",) if usable else ()
        qs = qs.select_for_update(of=of)
    return list(qs.values_list("pk", flat=True))


# -- wrappers -------------------------------------------------------------------------------


def _wrap_save_base(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def save_base(self: models.Model, *args: Any, **kwargs: Any) -> Any:
        cls = type(self)
        placement = _mirrored(cls)
        if placement is None:
            return original(self, *args, **kwargs)
        using = kwargs.get("using") or router.db_for_write(cls, instance=self)
        target = _route(placement, using)
        if target is None:
            return original(self, *args, **kwargs)
        if _by_triggers(cls, target):
            return _untouched(using, original, self, *args, **kwargs)
        with _capturing(using):
            result = original(self, *args, **kwargs)
            _record(cls, [self.pk], *target)
        return result

    return save_base


def _wrap_update(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def update(self: models.QuerySet, **kwargs: Any) -> int:
        if (
            self.query.is_sliced
            or self.model in _covered_updates.get()
            or not _mirrored(self.model)
        ):
            return original(self, **kwargs)
        alias = _write_alias(self)
        target = route(self.model, alias)
        if target is None:
            return original(self, **kwargs)
        if _by_triggers(self.model, target):
            return _untouched(alias, original, self, **kwargs)
        with _capturing(alias):
            keys = _locked_keys(self.using(alias))
            rows = original(self, **kwargs)
            _record(self.model, keys, *target)
        return rows

    return update


def _wrap_bulk_update(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def bulk_update(self: models.QuerySet, objs: Iterable[models.Model], *args: Any, **kw: Any):
        if not _mirrored(self.model):
            return original(self, objs, *args, **kw)
        alias = _write_alias(self)
        target = route(self.model, alias)
        if target is None:
            return original(self, objs, *args, **kw)
        if _by_triggers(self.model, target):
            return _untouched(alias, original, self, objs, *args, **kw)
        objs = list(objs)
        token = _covered_updates.set(_covered_updates.get() | {self.model})
        try:
            with _capturing(alias):
                rows = original(self, objs, *args, **kw)
                _record(self.model, [obj.pk for obj in objs], *target)
        finally:
            _covered_updates.reset(token)
        return rows

    return bulk_update


def _wrap_bulk_create(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def bulk_create(
        self: models.QuerySet,
        objs: Iterable[models.Model],
        batch_size: int | None = None,
        ignore_conflicts: bool = False,
        update_conflicts: bool = False,
        update_fields: list[str] | None = None,
        unique_fields: list[str] | None = None,
    ) -> list[models.Model]:
        options = {
            "batch_size": batch_size,
            "ignore_conflicts": ignore_conflicts,
            "update_conflicts": update_conflicts,
            "update_fields": update_fields,
            "unique_fields": unique_fields,
        }
        if not _mirrored(self.model):
            return original(self, objs, **options)
        alias = _write_alias(self)
        target = route(self.model, alias)
        if target is None:
            return original(self, objs, **options)
        if _by_triggers(self.model, target):
            return _untouched(alias, original, self, objs, **options)
        objs = list(objs)
        with _capturing(alias):
            if not (ignore_conflicts or update_conflicts) and _needs_row_by_row(
                self.model, alias, objs
            ):
                _insert_row_by_row(self.using(alias), objs)
                created = objs
            else:
                created = original(self, objs, **options)
            keys = [obj.pk for obj in created if obj._is_pk_set()]
            unkeyed = [obj for obj in created if not obj._is_pk_set()]
            if unkeyed:
                keys += _keys_by_identity(self.using(alias), unkeyed, unique_fields)
            _record(self.model, keys, *target)
        return created

    return bulk_create


def _wrap_collector_delete(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def delete(self: Collector) -> Any:
        touched, by_triggers = _collector_keys(self)
        if not touched:
            result = original(self)
        else:
            with _capturing(self.using):
                for model, (keys, target) in touched.items():
                    keys.extend(_pending_keys(model, self))
                    _record(model, keys, *target)
                result = original(self)
        if by_triggers:
            _poke(self.using)
        return result

    return delete


# -- helpers for the wrappers ---------------------------------------------------------------


def _needs_row_by_row(model: type[models.Model], alias: str, objs: list[models.Model]) -> bool:
    """True when the database will not return new auto-increment keys and nothing else names
    the rows (MySQL 8, SingleStore): insert them one by one to learn each key."""
    if connections[alias].features.can_return_rows_from_bulk_insert:
        return False
    if not isinstance(model._meta.pk, AutoFieldMixin):
        return False
    return any(not obj._is_pk_set() for obj in objs) and _identity(model, objs) is None


def _insert_row_by_row(qs: models.QuerySet, objs: list[models.Model]) -> None:
    """``bulk_create`` semantics (no signals, pre_save applied), one INSERT per object."""
    opts = qs.model._meta
    for parent in opts.all_parents:
        if parent._meta.concrete_model is not opts.concrete_model:
            raise ValueError("Can't bulk create a multi-table inherited model")
    qs._for_write = True
    qs._prepare_for_bulk_create(objs)
    fields = [f for f in opts.concrete_fields if not f.generated]
    for obj in objs:
        if obj._is_pk_set():
            insert_fields = fields
        else:
            insert_fields = [f for f in fields if not isinstance(f, AutoFieldMixin)]
        rows = qs._insert(
            [obj], fields=insert_fields, using=qs.db, returning_fields=opts.db_returning_fields
        )
        for value, field in zip(rows[0] if rows else (), opts.db_returning_fields, strict=False):
            setattr(obj, field.attname, value)
        obj._state.adding = False
        obj._state.db = qs.db


def _identity(model: type[models.Model], objs: list[models.Model]) -> list[str] | None:
    """Attribute names of a unique key every object has a value for, to find rows again."""
    opts = model._meta
    candidates: list[list[str]] = [[f.attname] for f in opts.local_fields if f.unique]
    candidates += [[opts.get_field(n).attname for n in names] for names in opts.unique_together]
    for constraint in opts.total_unique_constraints:
        candidates.append([opts.get_field(n).attname for n in constraint.fields])
    for attnames in candidates:
        if attnames == [opts.pk.attname]:
            continue
        if all(getattr(obj, a) is not None for obj in objs for a in attnames):
            return attnames
    return None


def _keys_by_identity(
    qs: models.QuerySet, objs: list[models.Model], unique_fields: list[str] | None
) -> list[Any]:
    """Read back the keys of rows inserted without RETURNING, by a unique key they carry."""
    opts = qs.model._meta
    if unique_fields:
        attnames = [opts.get_field(opts.pk.name if n == "pk" else n).attname for n in unique_fields]
    else:
        found = _identity(qs.model, objs)
        if found is None:
            raise ValueError(
                f"{opts.label}: bulk_create on {qs.db!r} returned no primary keys and the "
                "objects carry no unique key to find them again, so the outbox cannot record "
                "them. Give the objects explicit primary keys or use save()."
            )
        attnames = found
    keys: list[Any] = []
    for start in range(0, len(objs), 500):
        condition = Q()
        for obj in objs[start : start + 500]:
            condition |= Q(**{a: getattr(obj, a) for a in attnames})
        keys += qs.model._base_manager.using(qs.db).filter(condition).values_list("pk", flat=True)
    return keys


def _collector_keys(
    collector: Collector,
) -> tuple[dict[type[models.Model], tuple[list[Any], Any]], bool]:
    """Keys of mirrored models the collector has already loaded: ``{model: (keys, target)}``,
    leaving out models the primary's triggers capture; and whether there were any of those."""
    touched: dict[type[models.Model], tuple[list[Any], Any]] = {}
    triggered: set[type[models.Model]] = set()

    def add(model: type[models.Model], keys: Iterable[Any]) -> None:
        model = model._meta.concrete_model
        if model in triggered:
            return
        if model not in touched:
            target = route(model, collector.using)
            if target is None:
                return
            if _by_triggers(model, target):
                triggered.add(model)
                return
            touched[model] = ([], target)
        touched[model][0].extend(keys)

    for model, instances in collector.data.items():
        add(model, (obj.pk for obj in instances))
    for qs in collector.fast_deletes:
        add(qs.model, ())
    for instances_list in collector.field_updates.values():
        for instances in instances_list:
            if isinstance(instances, models.QuerySet):
                add(instances.model, ())
            elif instances:
                add(type(next(iter(instances))), (obj.pk for obj in instances))
    return touched, bool(triggered)


def _pending_keys(model: type[models.Model], collector: Collector) -> list[Any]:
    """Keys of ``model`` that the collector will delete or update through unevaluated querysets
    (fast deletes, SET_NULL on many rows); read inside the deleting transaction."""
    querysets = [qs for qs in collector.fast_deletes if qs.model._meta.concrete_model is model]
    for instances_list in collector.field_updates.values():
        querysets += [
            qs
            for qs in instances_list
            if isinstance(qs, models.QuerySet) and qs.model._meta.concrete_model is model
        ]
    keys: list[Any] = []
    for qs in querysets:
        keys += _locked_keys(qs.using(collector.using))
    return keys


_installed: dict[tuple[type, str], Callable[..., Any]] = {}


def install() -> None:
    """Wrap Django's write entry points (idempotent); called from ``MigrationKitConfig.ready``."""
    targets: list[tuple[type, str, Callable[[Callable[..., Any]], Callable[..., Any]]]] = [
        (models.Model, "save_base", _wrap_save_base),
        (models.QuerySet, "update", _wrap_update),
        (models.QuerySet, "bulk_update", _wrap_bulk_update),
        (models.QuerySet, "bulk_create", _wrap_bulk_create),
        (Collector, "delete", _wrap_collector_delete),
    ]
    for owner, name, wrap in targets:
        if (owner, name) in _installed:
            continue
        original = getattr(owner, name)
        _installed[owner, name] = original
        wrapped = wrap(original)
        if getattr(original, "alters_data", False):
            wrapped.alters_data = True  # type: ignore[attr-defined]
        setattr(owner, name, wrapped)
