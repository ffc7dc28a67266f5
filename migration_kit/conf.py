"""The ``MIGRATION_KIT`` settings dict, read lazily and forgotten when the setting changes.

Keys (all optional):

- ``RELAY``: how the relay (``migration_kit.dualwrite.relay``) gets committed outbox batches to
  the mirror right away — ``"thread"`` (default: a background thread per process, off the
  request's critical path), ``"inline"`` (in the ``on_commit`` callback, before the writing call
  returns), or ``"off"`` (only ``s2_sync`` applies them). Formerly ``FAST_PATH``: that name
  still works, with the warning ``migration_kit.W001``.
- ``RETRY_BASE_SECONDS`` (1) / ``RETRY_MAX_SECONDS`` (300): exponential backoff of outbox
  entries whose apply failed.
- ``LEASE_SECONDS`` (60): how long ``s2_sync`` owns the entries it claimed before another
  drainer may take them over (a crashed drainer's entries come back after this); also the
  default lease of a backfill or verify range (``migration_kit.backfill.leases``).
- ``MIRROR_DOWN_SECONDS`` (5): after a failed relay apply to an alias, leave that alias to
  ``s2_sync`` for this long instead of trying on every write.
- ``REBUILD_PAUSE_AFTER_SECONDS`` (10) / ``REBUILD_STOP_AFTER_SECONDS`` (300) /
  ``REBUILD_APPLY_RATE`` (None): the online rebuild's throttle (``migration_kit.rebuild.throttle``,
  docs/rebuild.md): pause the copy when the captured-key backlog has not shrunk for the first,
  stop for a resume after the second (which must be longer), and at most this many captured
  keys applied per second (None: as fast as the database takes them).
- ``VERIFY_STREAMS`` (2): how many chunk checksum queries ``s2_verify`` keeps in flight on each
  side, one connection each (1 to 64; ``--streams`` overrides it for one run).

Settings style (``django_singlestore.problems``, as ``S2ROUTER`` and the backend's OPTIONS): one
parser per key, none raising; every problem is the system check ``migration_kit.E001`` with a
hint (the one id for this dict, like ``s2router.E007`` for ``S2ROUTER``), and :func:`get`, the
strict accessor every reader uses, raises ``ImproperlyConfigured`` naming it. A renamed key is
the warning ``migration_kit.W001``: its value is still used under the new name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.core import checks
from django.core.signals import setting_changed

from django_singlestore.problems import Problem, raise_for

CHECK_ID = "migration_kit.E001"
RENAMED_ID = "migration_kit.W001"
DEFAULTS: dict[str, Any] = {
    "RELAY": "thread",
    "RETRY_BASE_SECONDS": 1.0,
    "RETRY_MAX_SECONDS": 300.0,
    "LEASE_SECONDS": 60.0,
    "MIRROR_DOWN_SECONDS": 5.0,
    "REBUILD_PAUSE_AFTER_SECONDS": 10.0,
    "REBUILD_STOP_AFTER_SECONDS": 300.0,
    "REBUILD_APPLY_RATE": None,
    "VERIFY_STREAMS": 2,
}
RELAY_MODES = ("thread", "inline", "off")
MAX_STREAMS = 64
#: Keys that were renamed (old: new); the old name still works, with ``migration_kit.W001``.
RENAMED = {"FAST_PATH": "RELAY"}

Parser = Callable[[str, Any, list[Problem]], Any]


def _relay(key: str, value: Any, problems: list[Problem]) -> str:
    if value in RELAY_MODES:
        return value
    problems.append(
        Problem(
            CHECK_ID,
            f"MIGRATION_KIT[{key!r}] is {value!r}; use one of {', '.join(RELAY_MODES)}.",
            "'thread' applies committed batches in the background, 'inline' before the write "
            "returns, 'off' leaves them to s2_sync; see docs/migration-kit.md (The relay).",
        )
    )
    return DEFAULTS["RELAY"]


def _renamed(raw: Mapping[str, Any], problems: list[Problem]) -> dict[str, str]:
    """For each renamed key ``raw`` still uses, its new name -> the name it was given under
    (which is what a parser's message must name); a W001 problem for each."""
    given_as: dict[str, str] = {}
    for old, new in RENAMED.items():
        if old not in raw:
            continue
        if new in raw:
            problems.append(
                Problem(
                    RENAMED_ID,
                    f"MIGRATION_KIT has both {old!r} and its new name {new!r}; {old!r} is ignored.",
                    f"Remove {old!r}.",
                )
            )
            continue
        given_as[new] = old
        problems.append(
            Problem(
                RENAMED_ID,
                f"MIGRATION_KIT[{old!r}] is deprecated: the key is now called {new!r}.",
                f"Rename it: MIGRATION_KIT = {{{new!r}: {raw[old]!r}, ...}}; until then its "
                "value is used as the new key's.",
            )
        )
    return given_as


def _seconds(key: str, value: Any, problems: list[Problem]) -> float:
    if not isinstance(value, bool) and isinstance(value, int | float) and value >= 0:
        return float(value)
    problems.append(
        Problem(
            CHECK_ID,
            f"MIGRATION_KIT[{key!r}] must be a number >= 0, not {value!r}.",
            f"Give seconds as a number (default {DEFAULTS[key]:g}).",
        )
    )
    return DEFAULTS[key]


def _positive(key: str, value: Any, problems: list[Problem]) -> float:
    if not isinstance(value, bool) and isinstance(value, int | float) and value > 0:
        return float(value)
    problems.append(
        Problem(
            CHECK_ID,
            f"MIGRATION_KIT[{key!r}] must be a number > 0, not {value!r}.",
            f"Give seconds as a positive number (default {DEFAULTS[key]:g}); see docs/rebuild.md "
            "(The throttle).",
        )
    )
    return DEFAULTS[key]


def _rate(key: str, value: Any, problems: list[Problem]) -> float | None:
    if value is None:
        return None
    if not isinstance(value, bool) and isinstance(value, int | float) and value > 0:
        return float(value)
    problems.append(
        Problem(
            CHECK_ID,
            f"MIGRATION_KIT[{key!r}] must be None or a number of keys per second > 0, not "
            f"{value!r}.",
            "None (the default) applies captured keys as fast as the database takes them; a "
            "number caps the rebuild's apply load; see docs/rebuild.md (The throttle).",
        )
    )
    return None


def _streams(key: str, value: Any, problems: list[Problem]) -> int:
    if not isinstance(value, bool) and isinstance(value, int) and 1 <= value <= MAX_STREAMS:
        return value
    problems.append(
        Problem(
            CHECK_ID,
            f"MIGRATION_KIT[{key!r}] must be a whole number from 1 to {MAX_STREAMS}, not "
            f"{value!r}.",
            f"The chunk checksum queries s2_verify keeps in flight on each side, one "
            f"connection each (default {DEFAULTS[key]}); see docs/migration-kit.md (Verify).",
        )
    )
    return DEFAULTS[key]


def _rebuild_windows(values: dict[str, Any], problems: list[Problem]) -> None:
    """The stop window must be longer than the pause window, or the copy never pauses first."""
    pause, stop = values["REBUILD_PAUSE_AFTER_SECONDS"], values["REBUILD_STOP_AFTER_SECONDS"]
    if stop <= pause:
        problems.append(
            Problem(
                CHECK_ID,
                f"MIGRATION_KIT['REBUILD_STOP_AFTER_SECONDS'] ({stop:g}) must be longer than "
                f"'REBUILD_PAUSE_AFTER_SECONDS' ({pause:g}).",
                "The rebuild first pauses its copy, then stops for a resume: e.g. 10 and 300 "
                "(the defaults).",
            )
        )


PARSERS: dict[str, Parser] = {
    "RELAY": _relay,
    "RETRY_BASE_SECONDS": _seconds,
    "RETRY_MAX_SECONDS": _seconds,
    "LEASE_SECONDS": _seconds,
    "MIRROR_DOWN_SECONDS": _seconds,
    "REBUILD_PAUSE_AFTER_SECONDS": _positive,
    "REBUILD_STOP_AFTER_SECONDS": _positive,
    "REBUILD_APPLY_RATE": _rate,
    "VERIFY_STREAMS": _streams,
}


def parse(raw: Any) -> tuple[dict[str, Any], list[Problem]]:
    """Every key's value (its default where the setting is wrong) and the problems found."""
    problems: list[Problem] = []
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        problems.append(
            Problem(
                CHECK_ID,
                f"MIGRATION_KIT must be a dict, not {type(raw).__name__}.",
                "e.g. MIGRATION_KIT = {'RELAY': 'thread'}; see docs/migration-kit.md.",
            )
        )
        raw = {}
    unknown = sorted(set(raw) - set(DEFAULTS) - set(RENAMED), key=str)
    if unknown:
        problems.append(
            Problem(
                CHECK_ID,
                f"MIGRATION_KIT has unknown key(s) {', '.join(map(str, unknown))}.",
                f"Known keys: {', '.join(DEFAULTS)}.",
            )
        )
    given_as = _renamed(raw, problems)
    values = {}
    for key, default in DEFAULTS.items():
        name = given_as.get(key, key)  # a parser's message names the key the user wrote
        values[key] = PARSERS[key](name, raw.get(name, default), problems)
    _rebuild_windows(values, problems)
    return values, problems


_values: dict[str, Any] | None = None


def get(key: str) -> Any:
    """The strict accessor: ``MIGRATION_KIT[key]`` (or its default), or ``ImproperlyConfigured``
    naming ``migration_kit.E001`` and its hint when the dict has a problem."""
    global _values
    if _values is None:
        values, problems = parse(getattr(settings, "MIGRATION_KIT", None))
        raise_for(problems)
        _values = values
    return _values[key]


def check_settings(**kwargs: Any) -> list[checks.CheckMessage]:
    """System checks ``migration_kit.E001`` and ``W001``, one message per problem: checked at
    startup so a typo does not first surface inside a commit hook."""
    _, problems = parse(getattr(settings, "MIGRATION_KIT", None))
    return [p.as_check(obj="MIGRATION_KIT") for p in problems]


def _reset(*, setting: str, **kwargs: Any) -> None:
    global _values
    if setting == "MIGRATION_KIT":
        _values = None


setting_changed.connect(_reset, dispatch_uid="migration_kit.conf.reset")
