"""What the kit's pieces need to know about database vendors, their errors and connections."""

from __future__ import annotations

from django.db import InterfaceError, OperationalError, connections

#: Vendors that speak MySQL's protocol and SQL dialect (LOAD DATA, ON DUPLICATE KEY UPDATE, ...).
MYSQL_FAMILY = frozenset({"mysql", "singlestore"})
TRANSIENT_ERRNOS = frozenset({1205, 1213})  # lock wait timeout, deadlock
TRANSIENT_STATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock (PostgreSQL)


def errno(exc: BaseException) -> int | None:
    """The MySQL-protocol error number behind ``exc`` (Django re-raises driver errors)."""
    cause = exc.__cause__ or exc
    args = getattr(cause, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def is_transient(exc: BaseException) -> bool:
    """A deadlock or lock-wait timeout: retrying the same work can succeed; nothing is down."""
    cause = exc.__cause__ or exc
    return errno(exc) in TRANSIENT_ERRNOS or getattr(cause, "sqlstate", None) in TRANSIENT_STATES


def is_unreachable(exc: Exception) -> bool:
    """A connection failure, as opposed to a deadlock, a lock timeout or a refused row."""
    return isinstance(exc, OperationalError | InterfaceError) and not is_transient(exc)


def forget_broken(alias: str) -> None:
    """Close ``alias``'s connection if an error left it unusable (server restarted or gone), so
    the next attempt reconnects; never inside a transaction someone else opened."""
    connection = connections[alias]
    if (
        connection.connection is not None
        and connection.errors_occurred
        and not connection.in_atomic_block
        and not connection.is_usable()
    ):
        connection.close()
