"""Database-per-tenant on the SingleStore aliases, through django-db-multitenant's mapper API.

The tenant lives in a ``ContextVar`` (correct under WSGI threads, ASGI tasks and
``sync_to_async``). ``TenantMiddleware`` (``s2router.middleware``) sets it per request from the
``MULTITENANT_MAPPER_CLASS`` mapper; scripts, Celery tasks and tests use ``tenant("acme")``.

Applying it: every connection to an alias in ``S2ROUTER['TENANCY']['DATABASES']`` carries an
execute wrapper that, before each statement, compares the database the connection is on with the
one wanted (the tenant's ``get_db_name()``, or the alias's own ``NAME`` when no tenant is set) and
issues ``USE `db``` only when they differ. The connection remembers what it is on, and a new
physical connection (``connection_created``) starts from ``NAME`` again, so persistent
connections (``CONN_MAX_AGE``) never carry one tenant's database into another's request.

Strict mode (``STRICT: True``): the router refuses to route a query for a model on a tenancy
alias when no tenant is set (``NoTenantError``); ``no_tenant()`` opts in to the alias's own
database explicitly. Explicit ``.using()`` queries, raw cursors, test database creation and
``migrate`` are not routed, so they keep working — and they reach the alias's own database,
never another tenant's.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.utils.module_loading import import_string

from django_singlestore.extras import optional
from s2router import conf

if TYPE_CHECKING:
    from db_multitenant.mapper import TenantMapper

# Letters, digits, _ $ - ; SingleStore database names are at most 60 characters long.
DB_NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_$-]{0,59}")


class NoTenantError(RuntimeError):
    """Strict mode: a query for a tenant database was routed with no tenant set."""


@dataclass(frozen=True, slots=True)
class Tenant:
    """One tenant as the mapper describes it."""

    name: str
    db_name: str
    cache_prefix: str | None = None

    def __str__(self) -> str:
        return self.name


class _Shared:
    """Marker for ``no_tenant()``: the alias's own database, on purpose."""

    def __repr__(self) -> str:
        return "<no tenant>"


SHARED = _Shared()
_current: ContextVar[Tenant | _Shared | None] = ContextVar("s2router_tenant", default=None)


def current_tenant() -> Tenant | None:
    """The active tenant, or None (also inside ``no_tenant()``)."""
    value = _current.get()
    return value if isinstance(value, Tenant) else None


def tenant_required() -> bool:
    """True when strict mode must refuse a routed query right now (no tenant, no opt-out)."""
    return _current.get() is None


_mapper: TenantMapper | None = None


def _forget_mapper() -> None:
    global _mapper
    _mapper = None


conf.on_reset(_forget_mapper)


def get_mapper() -> TenantMapper:
    """The ``MULTITENANT_MAPPER_CLASS`` instance (must subclass ``TenantMapper``)."""
    global _mapper
    if _mapper is None:
        path = getattr(settings, "MULTITENANT_MAPPER_CLASS", None)
        if not path:
            raise ImproperlyConfigured(
                "S2ROUTER['TENANCY'] needs MULTITENANT_MAPPER_CLASS: the dotted path of a "
                "db_multitenant.mapper.TenantMapper subclass."
            )
        mapper_base = optional(
            "db_multitenant.mapper", "tenancy", "S2ROUTER['TENANCY']", "django-db-multitenant"
        ).TenantMapper
        cls = import_string(path)
        if not (isinstance(cls, type) and issubclass(cls, mapper_base)):
            raise ImproperlyConfigured(
                f"MULTITENANT_MAPPER_CLASS {path!r} is not a db_multitenant.mapper.TenantMapper "
                "subclass."
            )
        _mapper = cls()
    return _mapper


def validate_db_name(db_name: Any) -> str:
    """``db_name`` if it is a safe database identifier, else ValueError (never quoted blindly)."""
    if not isinstance(db_name, str) or not DB_NAME_RE.fullmatch(db_name):
        raise ValueError(
            f"tenant database name {db_name!r} is not allowed: use 1-60 letters, digits, "
            "'_', '$' or '-' (not starting with '$' or '-')."
        )
    return db_name


def resolve(name: str, request: Any = None) -> Tenant:
    """Ask the mapper for ``name``'s database and cache prefix (``request`` may be None)."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"tenant name must be a non-empty string, not {name!r}")
    mapper = get_mapper()
    db_name = validate_db_name(mapper.get_db_name(request, name))
    return Tenant(name, db_name, mapper.get_cache_prefix(request, name, db_name))


def activate(value: Tenant | _Shared | None) -> Token:
    """Set the current tenant (low level: pair with ``deactivate(token)``)."""
    _hook_current_connections()
    return _current.set(value)


def deactivate(token: Token) -> None:
    """Restore the tenant that was current before ``activate``."""
    _current.reset(token)


@contextmanager
def tenant(name: str | Tenant) -> Iterator[Tenant]:
    """Run the block as tenant ``name``: its queries go to the tenant's database."""
    value = name if isinstance(name, Tenant) else resolve(name)
    token = activate(value)
    try:
        yield value
    finally:
        deactivate(token)


@contextmanager
def no_tenant() -> Iterator[None]:
    """Run the block on the tenancy aliases' own databases, allowed even in strict mode."""
    token = activate(SHARED)
    try:
        yield
    finally:
        deactivate(token)


def tenant_names() -> list[str]:
    """Every tenant, for ``--all-tenants``: ``TENANCY['TENANTS']`` or ``mapper.get_tenant_names()``.

    ``TENANTS`` may be a list of names, a callable, or the dotted path of a callable.
    """
    cfg = conf.get_config()
    source = cfg.tenancy.tenants if cfg.tenancy else None
    if source is None:
        method = getattr(get_mapper(), "get_tenant_names", None)
        if method is None:
            raise ImproperlyConfigured(
                "Cannot list tenants: set S2ROUTER['TENANCY']['TENANTS'] (a list, a callable or "
                "its dotted path) or give the mapper a get_tenant_names() method."
            )
        source = method
    if isinstance(source, str):
        source = import_string(source)
    names = source() if callable(source) else source
    return sorted({str(n) for n in names})


# --- applying the tenant to connections -------------------------------------------------------


def _use_database(execute: Callable, sql: Any, params: Any, many: bool, context: dict) -> Any:
    """Execute wrapper: switch the connection to the wanted database first, when it differs."""
    connection = context["connection"]
    value = _current.get()
    cfg = conf.get_config()
    tenanted = cfg.tenancy is not None and connection.alias in cfg.tenancy.databases
    wanted = value.db_name if tenanted and isinstance(value, Tenant) else None
    wanted = wanted or connection.settings_dict["NAME"]
    if wanted and connection.__dict__.get("_s2router_db") != wanted:
        context["cursor"].cursor.execute(f"USE {connection.ops.quote_name(wanted)}")
        connection._s2router_db = wanted
    if not tenanted:
        # Tenancy no longer covers this alias (settings changed): back on NAME, step aside.
        connection.execute_wrappers.remove(_use_database)
    return execute(sql, params, many, context)


def install(connection: BaseDatabaseWrapper) -> None:
    """Give ``connection`` the tenant switch (idempotent)."""
    if _use_database not in connection.execute_wrappers:
        connection.execute_wrappers.insert(0, _use_database)
        connection._s2router_db = connection.settings_dict["NAME"]


def _on_connection_created(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """A new physical connection is on its configured database, whatever the last one was on."""
    connection._s2router_db = connection.settings_dict["NAME"]
    cfg = conf.get_config()
    if cfg.tenancy is not None and connection.alias in cfg.tenancy.databases:
        install(connection)


connection_created.connect(_on_connection_created, dispatch_uid="s2router.tenancy")


def _hook_current_connections() -> None:
    """Hook this context's connections of the tenancy aliases (opened before tenancy was set)."""
    cfg = conf.get_config()
    if cfg.tenancy is None:
        return
    for alias in cfg.tenancy.databases:
        if alias in settings.DATABASES:
            install(connections[alias])


# --- streaming responses and cache keys -------------------------------------------------------


def iterate_as(value: Tenant | _Shared | None, iterable: Iterable) -> Iterator:
    """Yield from ``iterable`` with ``value`` as the tenant while each item is produced."""
    iterator = iter(iterable)
    while True:
        token = _current.set(value)
        try:
            item = next(iterator)
        except StopIteration:
            return
        finally:
            _current.reset(token)
        yield item


async def aiterate_as(value: Tenant | _Shared | None, iterable: Any) -> AsyncIterator:
    """Async twin of ``iterate_as``."""
    iterator = aiter(iterable)
    while True:
        token = _current.set(value)
        try:
            item = await anext(iterator)
        except StopAsyncIteration:
            return
        finally:
            _current.reset(token)
        yield item


def make_cache_key(key: str, key_prefix: str, version: int) -> str:
    """``CACHES[...]['KEY_FUNCTION']`` that prefixes keys with the tenant's cache prefix."""
    value = _current.get()
    if isinstance(value, Tenant) and value.cache_prefix:
        key_prefix = value.cache_prefix
    return f"{key_prefix}:{version}:{key}"
