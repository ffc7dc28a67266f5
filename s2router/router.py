"""``SingleStoreRouter``: places each model on PostgreSQL/MySQL or SingleStore from ``S2ROUTER``.

- contrib apps (and ``CONTRIB_APPS``) → ``CONTRIB_DATABASE``, all together;
- ``ANALYTICS`` → SingleStore (columnstore tables);
- ``REFERENCE`` → SingleStore reference tables, written on their source and mirrored;
- ``MIGRATING`` → by phase (``s2router.phases``), tables on both source and SingleStore;
- anything else → None, so later routers and Django's default still decide, except that
  nothing unlisted is ever migrated onto the SingleStore alias.

``allow_relation`` policy: two objects may be related when some database holds both tables, or
when a foreign key between the two models is one Django can follow across databases
(``on_delete=DO_NOTHING`` and ``db_constraint=False``; see ``s2router.checks``). Otherwise the
router refuses (False); pairs it knows nothing about get None.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from s2router import conf
from s2router.conf import Kind
from s2router.phases import phase_of
from s2router.tenancy import NoTenantError, tenant_required

# Per-model answers that never change while the config stands (no phase, no hint, not strict);
# the common case is one dict lookup. Cleared with the config.
_MISSING = object()
_static_read: dict[type, str | None] = {}
_static_write: dict[type, str | None] = {}
conf.on_reset(_static_read.clear)
conf.on_reset(_static_write.clear)


class SingleStoreRouter:
    """The ``DATABASE_ROUTERS`` entry; stateless, all state lives in ``s2router.conf``."""

    def db_for_read(self, model: type[models.Model], **hints: Any) -> str | None:
        alias = _static_read.get(model, _MISSING)
        if alias is not _MISSING:
            return alias  # type: ignore[return-value]
        cfg = conf.get_config()
        placement = cfg.placement(model)
        if placement is None:
            _static_read[model] = None
            return None
        if placement.read_alias_by_phase is not None:  # migrating
            alias = placement.read_alias_by_phase[phase_of(placement)]
        elif placement.kind is Kind.REFERENCE:
            # Follow a related instance onto a database holding the table (joins on s2 stay there).
            instance = hints.get("instance")
            db = None if instance is None else instance._state.db
            alias = db if db in placement.tables else placement.read_alias
        else:
            alias = placement.read_alias
            if alias not in cfg.strict_aliases:
                _static_read[model] = alias
        if alias in cfg.strict_aliases and tenant_required():
            raise NoTenantError(_no_tenant_message(model, alias))
        return alias

    def db_for_write(self, model: type[models.Model], **hints: Any) -> str | None:
        alias = _static_write.get(model, _MISSING)
        if alias is not _MISSING:
            return alias  # type: ignore[return-value]
        cfg = conf.get_config()
        placement = cfg.placement(model)
        if placement is None:
            _static_write[model] = None
            return None
        if placement.write_aliases_by_phase is not None:  # migrating
            alias = placement.write_aliases_by_phase[phase_of(placement)][0]
        else:
            alias = placement.write_alias
            if alias not in cfg.strict_aliases:
                _static_write[model] = alias
        if alias in cfg.strict_aliases and tenant_required():
            raise NoTenantError(_no_tenant_message(model, alias))
        return alias

    def allow_relation(self, obj1: models.Model, obj2: models.Model, **hints: Any) -> bool | None:
        cfg = conf.get_config()
        p1, p2 = cfg.placement(type(obj1)), cfg.placement(type(obj2))
        if p1 is None and p2 is None:
            return None
        return relation_allowed(type(obj1), type(obj2))

    def allow_migrate(
        self, db: str, app_label: str, model_name: str | None = None, **hints: Any
    ) -> bool | None:
        cfg = conf.get_config()
        model = hints.get("model")
        if model_name is None:
            tables = cfg.app_tables(app_label)
        else:
            # Keyed by label, not class: migrations make a new historical class every time.
            label = conf.owner_label(model) if model is not None else f"{app_label}.{model_name}"
            placement = cfg.placement_for_label(label)
            tables = None if placement is None else placement.tables
        if tables is not None:
            return db in tables
        # Unlisted: the SingleStore alias holds only what S2ROUTER puts there.
        if db == cfg.singlestore:
            return False
        return None


def _no_tenant_message(model: type[models.Model], alias: str) -> str:
    return (
        f"{model._meta.label} is on tenant database {alias!r} and no tenant is set (strict "
        "mode); use TenantMiddleware, `with s2router.tenant(name):`, or `s2router.no_tenant()`."
    )


_relations: dict[tuple[type, type], bool] = {}
conf.on_reset(_relations.clear)


def tables_of(model: type[models.Model]) -> frozenset[str]:
    """Aliases holding ``model``'s table; unlisted models are assumed on ``default``."""
    placement = conf.get_config().placement(model)
    return frozenset({"default"}) if placement is None else placement.tables


def relation_allowed(model1: type[models.Model], model2: type[models.Model]) -> bool:
    """The ``allow_relation`` policy for two model classes (cached per pair)."""
    key = (model1, model2)
    try:
        return _relations[key]
    except KeyError:
        pass
    m1, m2 = model1._meta.concrete_model, model2._meta.concrete_model
    allowed = bool(tables_of(m1) & tables_of(m2)) or any(
        crossing_is_safe(f)
        for a, b in ((m1, m2), (m2, m1))
        for f in a._meta.concrete_fields
        if f.remote_field is not None
        and f.related_model is not None
        and f.related_model._meta.concrete_model is b
    )
    _relations[key] = allowed
    return allowed


def crossing_is_safe(field: models.Field) -> bool:
    """A relation Django can follow across databases: nothing cascades, no constraint."""
    return field.remote_field.on_delete is models.DO_NOTHING and not field.db_constraint
