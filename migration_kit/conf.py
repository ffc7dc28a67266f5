"""The ``MIGRATION_KIT`` settings dict, read lazily and forgotten when the setting changes.

Keys (all optional):

- ``FAST_PATH``: how committed outbox batches reach the mirror right away — ``"thread"``
  (default: a background thread per process, off the request's critical path), ``"inline"``
  (in the ``on_commit`` callback, before the writing call returns), or ``"off"`` (only
  ``s2_sync`` applies them).
- ``RETRY_BASE_SECONDS`` (1) / ``RETRY_MAX_SECONDS`` (300): exponential backoff of outbox
  entries whose apply failed.
- ``LEASE_SECONDS`` (60): how long ``s2_sync`` owns the entries it claimed before another
  drainer may take them over (a crashed drainer's entries come back after this).
- ``MIRROR_DOWN_SECONDS`` (5): after a failed fast-path apply to an alias, leave that alias to
  ``s2_sync`` for this long instead of trying on every write.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

DEFAULTS: dict[str, Any] = {
    "FAST_PATH": "thread",
    "RETRY_BASE_SECONDS": 1.0,
    "RETRY_MAX_SECONDS": 300.0,
    "LEASE_SECONDS": 60.0,
    "MIRROR_DOWN_SECONDS": 5.0,
}
FAST_PATH_MODES = ("thread", "inline", "off")

_values: dict[str, Any] | None = None


def get(key: str) -> Any:
    """The current value of ``MIGRATION_KIT[key]`` (or its default)."""
    global _values
    if _values is None:
        _values = _load()
    return _values[key]


def _load() -> dict[str, Any]:
    raw = getattr(settings, "MIGRATION_KIT", {}) or {}
    unknown = sorted(set(raw) - set(DEFAULTS))
    if unknown:
        raise ImproperlyConfigured(
            f"MIGRATION_KIT has unknown key(s) {', '.join(unknown)}; known: {', '.join(DEFAULTS)}."
        )
    values = {**DEFAULTS, **raw}
    if values["FAST_PATH"] not in FAST_PATH_MODES:
        raise ImproperlyConfigured(
            f"MIGRATION_KIT['FAST_PATH'] is {values['FAST_PATH']!r}; "
            f"use one of {', '.join(FAST_PATH_MODES)}."
        )
    for key in ("RETRY_BASE_SECONDS", "RETRY_MAX_SECONDS", "LEASE_SECONDS", "MIRROR_DOWN_SECONDS"):
        value = values[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ImproperlyConfigured(f"MIGRATION_KIT[{key!r}] must be a number >= 0.")
    return values


def check_settings(**kwargs: Any) -> list[checks.CheckMessage]:
    """System check ``migration_kit.E001``: ``MIGRATION_KIT`` must parse (checked at startup so
    a typo does not first surface inside a commit hook)."""
    try:
        _load()
    except ImproperlyConfigured as exc:
        return [
            checks.Error(
                str(exc),
                hint="Fix MIGRATION_KIT in settings; see docs/migration-kit.md (Dual write).",
                id="migration_kit.E001",
            )
        ]
    return []


def _reset(*, setting: str, **kwargs: Any) -> None:
    global _values
    if setting == "MIGRATION_KIT":
        _values = None


setting_changed.connect(_reset, dispatch_uid="migration_kit.conf.reset")
