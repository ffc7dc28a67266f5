"""The backend's own keys in ``DATABASES[alias]["OPTIONS"]``, split from the driver's keywords.

Upstream configures table design through environment variables only; these keys give each alias
its own defaults (e.g. contrib apps as REFERENCE tables) without touching the environment. The
environment variables still work and win over OPTIONS, as a deployment-time override.

Settings style (``django_singlestore.problems``): one parser per key records problems instead of
raising; ``check_options`` reports them for every SingleStore alias as system checks, and the
connection's strict accessor (``DatabaseWrapper.s2_options``) raises ``ImproperlyConfigured``
naming the same check id when the alias is used anyway.

=========================== ============================================================
id                          problem
=========================== ============================================================
django_singlestore.E020     ``table_storage_type`` is not a mapping, or names an unknown
                            storage type (also ``$DJANGO_SINGLESTORE_TABLE_STORAGE_TYPE_*``)
django_singlestore.E021     ``not_enforced_unique`` is not a list of app labels
django_singlestore.E022     ``alter_strategy`` is not ``"rebuild"``, ``"offline-rebuild"`` or
                            ``"refuse"``
django_singlestore.E023     ``isolation_level`` is not ``"read committed"`` (or None)
django_singlestore.W020     ``child_aggregator`` is a string that does not read as a boolean
=========================== ============================================================
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from django_singlestore.problems import Problem, raise_for
from django_singlestore.rules import Storage

#: OPTIONS keys this backend consumes; everything else goes to ``singlestoredb``.
BACKEND_KEYS = (
    "table_storage_type",
    "not_enforced_unique",
    "child_aggregator",
    "alter_strategy",
    "isolation_level",
)
ALTER_STRATEGIES = ("rebuild", "offline-rebuild", "refuse")
STORAGE_ENV_PREFIX = "DJANGO_SINGLESTORE_TABLE_STORAGE_TYPE_"
NOT_ENFORCED_UNIQUE_ENV_PREFIX = "DJANGO_SINGLESTORE_NOT_ENFORCED_UNIQUE_"
SKIP_AUTOCOMMIT_ENV = "DJANGO_SINGLESTORE_SKIP_AUTOCOMMIT"
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"", "0", "false", "no", "off"})


def storage_named(value: Any) -> Storage | None:
    """``"rowstore reference"`` → ``Storage.ROWSTORE_REFERENCE``; None for no storage type."""
    try:
        return Storage(" ".join(str(value).upper().split()))
    except ValueError:
        return None


def parse_storage(value: str, where: str) -> Storage:
    """The storage type ``value`` names; ``ImproperlyConfigured`` otherwise (model code)."""
    storage = storage_named(value)
    if storage is None:
        choices = ", ".join(repr(s.value) for s in Storage)
        raise ImproperlyConfigured(
            f"{where}: unknown SingleStore table storage type {value!r}; use one of {choices}."
        )
    return storage


@dataclass(frozen=True, kw_only=True)
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
    #: What the schema editor does with an ALTER SingleStore refuses: ``rebuild`` the table
    #: (online when it has rows, so no write is lost), ``offline-rebuild`` (copy it, losing
    #: writes made meanwhile: maintenance windows only), or ``refuse`` (NotSupportedError).
    alter_strategy: str = "rebuild"
    #: The remaining OPTIONS, passed to ``singlestoredb`` as keywords.
    driver_options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(
        cls, options: Mapping[str, Any], alias: str
    ) -> tuple[SingleStoreOptions, list[Problem]]:
        """The alias's options, each key read by its own parser, and the problems found."""
        where = f"DATABASES[{alias!r}]['OPTIONS']"
        problems: list[Problem] = []
        parsed = cls(
            table_storage_type=_table_storage_type(
                options.get("table_storage_type"), where, problems
            ),
            not_enforced_unique=_not_enforced_unique(
                options.get("not_enforced_unique"), where, problems
            ),
            child_aggregator=_child_aggregator(options.get("child_aggregator"), where, problems)
            or bool(os.environ.get(SKIP_AUTOCOMMIT_ENV)),
            alter_strategy=_alter_strategy(options.get("alter_strategy"), where, problems),
            driver_options={k: v for k, v in options.items() if k not in BACKEND_KEYS},
        )
        _isolation_level(options.get("isolation_level", "read committed"), where, problems)
        return parsed, problems

    @classmethod
    def from_settings(cls, options: Mapping[str, Any], alias: str) -> SingleStoreOptions:
        """The alias's options; ``ImproperlyConfigured`` naming the check id when one is wrong."""
        parsed, problems = cls.parse(options, alias)
        raise_for(problems)
        return parsed

    def storage_for_app(self, app_label: str) -> Storage | None:
        """The app's storage: the upstream environment variable first, then OPTIONS."""
        name = STORAGE_ENV_PREFIX + app_label.upper()
        env = os.environ.get(name)
        if env:
            storage = storage_named(env)
            if storage is None:
                raise_for([_storage_problem(env, f"${name}")])
            return storage
        return self.table_storage_type.get(app_label.lower()) or self.table_storage_type.get("*")

    def unique_unenforced_for_app(self, app_label: str) -> bool:
        """Whether the app's ``unique=True`` fields become UNENFORCED keys (env or OPTIONS)."""
        if os.environ.get(NOT_ENFORCED_UNIQUE_ENV_PREFIX + app_label.upper()) is not None:
            return True
        return app_label.lower() in self.not_enforced_unique


def _storage_problem(value: Any, where: str) -> Problem:
    choices = ", ".join(repr(s.value) for s in Storage)
    return Problem(
        "django_singlestore.E020",
        f"{where}: unknown SingleStore table storage type {value!r}.",
        f"Use one of {choices}.",
    )


def _table_storage_type(value: Any, where: str, problems: list[Problem]) -> dict[str, Storage]:
    """``{app_label: storage}``, labels lowercased; unknown storage types are left out."""
    if not value:
        return {}
    if not isinstance(value, Mapping):
        problems.append(
            Problem(
                "django_singlestore.E020",
                f"{where}['table_storage_type'] must map app labels to storage types, not "
                f"{value!r}.",
                "e.g. {'auth': 'ROWSTORE REFERENCE', '*': 'COLUMNSTORE'}.",
            )
        )
        return {}
    storage = {}
    for label, kind in value.items():
        named = storage_named(kind)
        if named is None:
            problems.append(_storage_problem(kind, f"{where}['table_storage_type'][{label!r}]"))
        else:
            storage[str(label).lower()] = named
    return storage


def _not_enforced_unique(value: Any, where: str, problems: list[Problem]) -> frozenset[str]:
    if not value:
        return frozenset()
    if isinstance(value, str) or not isinstance(value, Iterable):
        problems.append(
            Problem(
                "django_singlestore.E021",
                f"{where}['not_enforced_unique'] must be a list of app labels, not {value!r}.",
                "e.g. ['events']: those apps' unique=True fields become UNENFORCED keys.",
            )
        )
        return frozenset()
    return frozenset(str(label).lower() for label in value)


def _child_aggregator(value: Any, where: str, problems: list[Problem]) -> bool:
    if not isinstance(value, str):
        return bool(value)
    word = value.strip().lower()
    if word not in TRUE_WORDS | FALSE_WORDS:
        problems.append(
            Problem(
                "django_singlestore.W020",
                f"{where}['child_aggregator'] is {value!r}, which is read as False.",
                "Use True or False.",
            )
        )
    return word in TRUE_WORDS


def _alter_strategy(value: Any, where: str, problems: list[Problem]) -> str:
    strategy = "rebuild" if value is None else str(value).lower()
    if strategy in ALTER_STRATEGIES:
        return strategy
    problems.append(
        Problem(
            "django_singlestore.E022",
            f"{where}['alter_strategy'] must be one of {ALTER_STRATEGIES}, not {value!r}.",
            "'rebuild' (default) rebuilds the table for an ALTER SingleStore refuses, online "
            "when it has rows; 'offline-rebuild' copies it offline, losing writes made "
            "meanwhile; 'refuse' raises NotSupportedError instead.",
        )
    )
    return "rebuild"


def _isolation_level(value: Any, where: str, problems: list[Problem]) -> None:
    """Only checked: SingleStore runs one level, so there is nothing to keep."""
    if value is not None and str(value).lower() != "read committed":
        problems.append(
            Problem(
                "django_singlestore.E023",
                f"Invalid transaction isolation level {value!r} in {where}: SingleStore only "
                "runs 'read committed'.",
                "Set 'read committed' or None, or leave isolation_level out.",
            )
        )


def environment_problems() -> list[Problem]:
    """Unknown storage types in ``$DJANGO_SINGLESTORE_TABLE_STORAGE_TYPE_<APP>`` variables."""
    problems = []
    for name, value in sorted(os.environ.items()):
        if name.startswith(STORAGE_ENV_PREFIX) and value and storage_named(value) is None:
            problems.append(_storage_problem(value, f"${name}"))
    return problems


@checks.register("django_singlestore")
def check_options(**kwargs: Any) -> list[checks.CheckMessage]:
    """The OPTIONS problems of every SingleStore alias, and of the storage variables.

    Registered when this module is imported: by the first SingleStore connection, and by the
    ``ready()`` of ``django_singlestore``, ``s2router`` and ``migration_kit``, so plain
    ``manage.py check`` reports them without connecting."""
    from django.conf import settings

    messages = []
    for alias, settings_dict in settings.DATABASES.items():
        if settings_dict.get("ENGINE") != "django_singlestore":
            continue
        _, problems = SingleStoreOptions.parse(settings_dict.get("OPTIONS") or {}, alias)
        messages += [p.as_check(obj=f"DATABASES[{alias!r}]") for p in problems]
    messages += [p.as_check(obj="environment") for p in environment_problems()]
    return messages
