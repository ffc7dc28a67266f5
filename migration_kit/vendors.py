"""What the kit's pieces need to know about database vendors and their errors."""

from __future__ import annotations

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
