"""The backend's own keys in ``DATABASES[alias]["OPTIONS"]``, split from the driver's keywords.

Upstream configures table design through environment variables only; these keys give each alias
its own defaults (e.g. contrib apps as REFERENCE tables) without touching the environment. The
environment variables still work and win over OPTIONS, as a deployment-time override.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from django_singlestore.rules import Storage

#: OPTIONS keys this backend consumes; everything else goes to ``singlestoredb``.
BACKEND_KEYS = (
    "table_storage_type",
    "not_enforced_unique",
    "child_aggregator",
    "alter_strategy",
    "isolation_level",
)
ALTER_STRATEGIES = ("rebuild", "refuse")
STORAGE_ENV_PREFIX = "DJANGO_SINGLESTORE_TABLE_STORAGE_TYPE_"
NOT_ENFORCED_UNIQUE_ENV_PREFIX = "DJANGO_SINGLESTORE_NOT_ENFORCED_UNIQUE_"
SKIP_AUTOCOMMIT_ENV = "DJANGO_SINGLESTORE_SKIP_AUTOCOMMIT"


def parse_storage(value: str, where: str) -> Storage:
    """``"rowstore reference"`` → ``Storage.ROWSTORE_REFERENCE``; a clear error otherwise."""
    words = " ".join(str(value).upper().split())
    try:
        return Storage(words)
    except ValueError:
        choices = ", ".join(repr(s.value) for s in Storage)
        raise ImproperlyConfigured(
            f"{where}: unknown SingleStore table storage type {value!r}; use one of {choices}."
        ) from None


@dataclass(frozen=True)
class SingleStoreOptions:
    """Table-design defaults and connection behaviour for one alias."""

    #: app label → storage type for that app's tables (unless the model says otherwise);
    #: the key ``"*"`` applies to every app without an entry of its own.
    table_storage_type: Mapping[str, Storage] = field(default_factory=dict)
    #: app labels whose single-column ``unique=True`` keys are created UNENFORCED.
    not_enforced_unique: frozenset[str] = frozenset()
    #: The alias connects to a child aggregator: keep autocommit on (reference writes, 2549).
    #: Upstream's ``DJANGO_SINGLESTORE_SKIP_AUTOCOMMIT`` turns it on for every alias; both are
    #: read once, so transactions and ``features.supports_transactions`` always agree.
    child_aggregator: bool = False
    #: What the schema editor does with an ALTER SingleStore refuses: rebuild the table, or
    #: raise NotSupportedError naming the rule and the workaround.
    alter_strategy: str = "rebuild"
    #: The remaining OPTIONS, passed to ``singlestoredb`` as keywords.
    driver_options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, options: Mapping[str, Any], alias: str) -> SingleStoreOptions:
        where = f"DATABASES[{alias!r}]['OPTIONS']"
        driver = {k: v for k, v in options.items() if k not in BACKEND_KEYS}
        storage_setting = options.get("table_storage_type") or {}
        if not isinstance(storage_setting, Mapping):
            raise ImproperlyConfigured(
                f"{where}['table_storage_type'] must map app labels to storage types, e.g. "
                "{'auth': 'ROWSTORE REFERENCE'}."
            )
        storage = {
            str(label).lower(): parse_storage(value, f"{where}['table_storage_type'][{label!r}]")
            for label, value in storage_setting.items()
        }
        unenforced = options.get("not_enforced_unique") or ()
        if isinstance(unenforced, str) or not isinstance(unenforced, Iterable):
            raise ImproperlyConfigured(
                f"{where}['not_enforced_unique'] must be a list of app labels."
            )
        alter_strategy = str(options.get("alter_strategy", "rebuild")).lower()
        if alter_strategy not in ALTER_STRATEGIES:
            raise ImproperlyConfigured(
                f"{where}['alter_strategy'] must be one of {ALTER_STRATEGIES}, not "
                f"{options['alter_strategy']!r}."
            )
        isolation_level = options.get("isolation_level", "read committed")
        if isolation_level is not None and str(isolation_level).lower() != "read committed":
            raise ImproperlyConfigured(
                f"Invalid transaction isolation level {isolation_level!r} in {where}: "
                "SingleStore only runs 'read committed' (or set None)."
            )
        return cls(
            table_storage_type=storage,
            alter_strategy=alter_strategy,
            not_enforced_unique=frozenset(str(label).lower() for label in unenforced),
            child_aggregator=_as_bool(options.get("child_aggregator", False))
            or bool(os.environ.get(SKIP_AUTOCOMMIT_ENV)),
            driver_options=driver,
        )

    def storage_for_app(self, app_label: str) -> Storage | None:
        """The app's storage: the upstream environment variable first, then OPTIONS."""
        env = os.environ.get(STORAGE_ENV_PREFIX + app_label.upper())
        if env:
            return parse_storage(env, f"${STORAGE_ENV_PREFIX}{app_label.upper()}")
        return self.table_storage_type.get(app_label.lower()) or self.table_storage_type.get("*")

    def unique_unenforced_for_app(self, app_label: str) -> bool:
        """Whether the app's ``unique=True`` fields become UNENFORCED keys (env or OPTIONS)."""
        if os.environ.get(NOT_ENFORCED_UNIQUE_ENV_PREFIX + app_label.upper()) is not None:
            return True
        return app_label.lower() in self.not_enforced_unique


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)
