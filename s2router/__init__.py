"""Database router that places Django models on PostgreSQL/MySQL or SingleStore.

Public API (imported lazily so ``DATABASE_ROUTERS = ["s2router.SingleStoreRouter"]`` stays
cheap): ``SingleStoreRouter``, ``Phase``, ``get_phase``, ``set_phase``, ``write_aliases``,
``read_alias``, ``source_alias``, ``register_transition_guard``, ``ShadowReadManager``,
``ShadowQuerySet``, ``tenant``, ``current_tenant``, ``no_tenant``. See docs/router.md.
"""

from importlib import import_module
from typing import Any

_EXPORTS = {
    "SingleStoreRouter": "s2router.router",
    "Phase": "s2router.phases",
    "get_phase": "s2router.phases",
    "set_phase": "s2router.phases",
    "write_aliases": "s2router.phases",
    "read_alias": "s2router.phases",
    "source_alias": "s2router.phases",
    "register_transition_guard": "s2router.phases",
    "ShadowReadManager": "s2router.shadow",
    "ShadowQuerySet": "s2router.shadow",
    "tenant": "s2router.tenancy",
    "current_tenant": "s2router.tenancy",
    "no_tenant": "s2router.tenancy",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 's2router' has no attribute {name!r}") from None
    return getattr(import_module(module), name)
