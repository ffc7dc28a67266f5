"""The ``S2ROUTER`` settings dict: defaults, parsing into one frozen config, reset on change.

The config is built lazily on first use and thrown away whenever ``S2ROUTER``, ``DATABASES``,
``INSTALLED_APPS`` or ``MULTITENANT_MAPPER_CLASS`` change (``setting_changed``), so tests can
``override_settings`` freely. Parsing never raises: shape problems are collected in
``Config.problems`` and reported by the system checks (``s2router.checks``) with ids and hints,
while the router keeps routing whatever it could understand.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.db.models import Model

# Django's contrib apps that own tables, plus the contrib apps that depend on them (flatpages and
# redirects point at sites). They move together: splitting them breaks their foreign keys.
CONTRIB_APPS = frozenset(
    {"admin", "auth", "contenttypes", "sessions", "sites", "flatpages", "redirects"}
)


class Phase(enum.StrEnum):
    """Where a migrating model's reads and writes go; see ``s2router.phases``."""

    LEGACY = "legacy"
    DUAL_WRITE = "dual_write"
    SHADOW = "shadow"
    CUTOVER = "cutover"
    DONE = "done"


class Kind(enum.StrEnum):
    """Why the router knows a model."""

    CONTRIB = "contrib"
    ANALYTICS = "analytics"
    REFERENCE = "reference"
    MIGRATING = "migrating"
    INTERNAL = "internal"  # s2router's own phase table
    SHARED = "shared"  # SHARED_APPS: tables wherever migrations happen, routing left to the app


DEFAULTS: dict[str, Any] = {
    "SINGLESTORE": "s2",
    "CONTRIB_DATABASE": "default",
    "CONTRIB_APPS": [],
    "SHARED_APPS": ["migration_kit"],
    "ANALYTICS": [],
    "REFERENCE": [],
    "MIGRATING": {},
    "PHASE_DATABASE": "default",
    "PHASE_CACHE_SECONDS": 1.0,
    "SHADOW_SAMPLE_RATE": 0.01,
    "TENANCY": None,
}
TENANCY_DEFAULTS: dict[str, Any] = {"DATABASES": None, "STRICT": False, "TENANTS": None}
MIGRATING_KEYS = frozenset({"source", "phase", "shadow_sample_rate"})
REFERENCE_KEYS = frozenset({"source"})


@dataclass(frozen=True, slots=True)
class Problem:
    """A configuration mistake, reported as a system check error."""

    id: str
    msg: str
    hint: str


@dataclass(frozen=True, slots=True)
class Migrating:
    """One ``MIGRATING`` entry: the source alias and the phase settings start it in."""

    source: str
    phase: Phase
    shadow_sample_rate: float


@dataclass(frozen=True, slots=True)
class Placement:
    """Where one model's table lives and where its static reads and writes go.

    ``tables`` is every alias holding the table (``allow_migrate``); migrating models take their
    read and write aliases from their phase instead of ``read``/``write``.
    """

    label: str
    kind: Kind
    tables: frozenset[str]
    read: str | None
    write: str | None
    mirror: str | None = None
    source: str | None = None
    migrating: Migrating | None = None
    reads: dict[Phase, str] | None = None  # migrating: read alias per phase
    writes: dict[Phase, tuple[str, str | None]] | None = None  # migrating: (primary, mirror)


@dataclass(frozen=True, slots=True)
class Tenancy:
    """The parsed ``TENANCY`` entry."""

    databases: frozenset[str]
    strict: bool
    tenants: Any


def owner_label(model: type[Model]) -> str:
    """``app.model`` of the model whose placement ``model`` follows: an auto-created
    many-to-many table follows the model that declares the field, a proxy its concrete model."""
    opts = model._meta
    owner = opts.auto_created if opts.auto_created else opts.concrete_model
    return owner._meta.label_lower


@dataclass
class Config:
    """The parsed ``S2ROUTER`` dict plus per-model caches (rebuilt with the config)."""

    configured: bool
    singlestore: str
    contrib_database: str
    contrib_apps: frozenset[str]
    shared_apps: frozenset[str]
    analytics: dict[str, str]  # normalized label -> label as written
    reference: dict[str, str | None]  # normalized label -> source alias (None: S2 only)
    migrating: dict[str, Migrating]
    phase_database: str
    phase_cache_seconds: float
    shadow_sample_rate: float
    tenancy: Tenancy | None
    problems: list[Problem] = field(default_factory=list)
    strict_aliases: frozenset[str] = frozenset()  # tenancy aliases under STRICT
    spelled: dict[tuple[str, str], str] = field(default_factory=dict)  # (list, norm) -> written
    _placements: dict[Any, Placement | None] = field(default_factory=dict)

    def placement(self, model: type[Model]) -> Placement | None:
        """The placement of ``model`` (a class), cached per class; None when not ours."""
        try:
            return self._placements[model]
        except KeyError:
            found = self.placement_for_label(owner_label(model))
            self._placements[model] = found
            return found

    def placement_for_label(self, label: str) -> Placement | None:
        """The placement of ``app_label.model_name`` (lowercase), or None when not ours."""
        app_label = label.partition(".")[0]
        return self._resolve(label, app_label, (label, app_label))

    def app_tables(self, app_label: str) -> frozenset[str] | None:
        """Aliases holding every table of an app that is placed as a whole, else None."""
        placement = self._resolve(app_label, app_label, (app_label,))
        return None if placement is None else placement.tables

    def _resolve(self, label: str, app_label: str, keys: tuple[str, ...]) -> Placement | None:
        if app_label == "s2router":
            db = self.phase_database
            return Placement(label, Kind.INTERNAL, frozenset({db}), db, db)
        if app_label in self.contrib_apps:
            db = self.contrib_database
            return Placement(label, Kind.CONTRIB, frozenset({db}), db, db)
        s2 = self.singlestore
        if app_label in self.shared_apps:
            sources = {m.source for m in self.migrating.values()}
            sources |= {s for s in self.reference.values() if s is not None}
            tables = frozenset({self.phase_database, s2, *sources})
            return Placement(label, Kind.SHARED, tables, None, None)
        for key in keys:
            entry = self.migrating.get(key)
            if entry is not None:
                from s2router.phases import phase_routes  # phases imports this module

                src = entry.source
                # The phase table of s2router.phases, precomputed for this model.
                reads, writes = phase_routes(src, s2)
                return Placement(
                    label,
                    Kind.MIGRATING,
                    frozenset({src, s2}),
                    src,
                    src,
                    s2,
                    src,
                    entry,
                    reads=reads,
                    writes=writes,
                )
            if key in self.reference:
                source = self.reference[key]
                if source is None:
                    return Placement(label, Kind.REFERENCE, frozenset({s2}), s2, s2)
                return Placement(
                    label, Kind.REFERENCE, frozenset({source, s2}), source, source, s2, source
                )
            if key in self.analytics:
                return Placement(label, Kind.ANALYTICS, frozenset({s2}), s2, s2)
        return None


def normalize(label: str) -> str:
    """``"metrics.PageView"`` -> ``"metrics.pageview"``; app labels are kept as written."""
    app_label, dot, model = label.partition(".")
    return f"{app_label}.{model.lower()}" if dot else app_label


_config: Config | None = None


def get_config() -> Config:
    """The current config, parsed on first use after a (re)start or a settings change."""
    global _config
    if _config is None:
        _config = _parse(getattr(settings, "S2ROUTER", None))
    return _config


def reset(**kwargs: Any) -> None:
    """Forget the parsed config (and every cache hanging off it)."""
    global _config
    _config = None
    for hook in _reset_hooks:
        hook()


_reset_hooks: list[Any] = []


def on_reset(hook: Any) -> Any:
    """Register ``hook()`` to run whenever the config is reset (other modules' caches)."""
    _reset_hooks.append(hook)
    return hook


def _setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in {"S2ROUTER", "DATABASES", "INSTALLED_APPS", "MULTITENANT_MAPPER_CLASS"}:
        reset()


setting_changed.connect(_setting_changed, dispatch_uid="s2router.conf.reset")


def _parse(raw: Any) -> Config:
    problems: list[Problem] = []
    configured = raw is not None
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        problems.append(
            Problem(
                "s2router.E007",
                f"S2ROUTER must be a dict, not {type(raw).__name__}.",
                "Set S2ROUTER = {'SINGLESTORE': 's2', ...}; see docs/router.md.",
            )
        )
        raw = {}
    _unknown_keys(raw, list(DEFAULTS), "S2ROUTER", problems)
    values = {**DEFAULTS, **{k: v for k, v in raw.items() if k in DEFAULTS}}

    def alias(key: str) -> str:
        value = values[key]
        if not isinstance(value, str):
            problems.append(
                Problem(
                    "s2router.E007",
                    f"S2ROUTER[{key!r}] must be a database alias (str), not {value!r}.",
                    f"Use one of the DATABASES aliases, e.g. {DEFAULTS[key]!r}.",
                )
            )
            return DEFAULTS[key]
        return value

    def number(key: str, value: Any, low: float, high: float | None) -> float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok and value >= low and (high is None or value <= high):
            return float(value)
        bound = f"between {low} and {high}" if high is not None else f">= {low}"
        problems.append(
            Problem(
                "s2router.E007",
                f"{key} must be a number {bound}, not {value!r}.",
                f"Fix {key} in S2ROUTER.",
            )
        )
        return float(DEFAULTS.get(key, low))

    singlestore = alias("SINGLESTORE")
    contrib_database = alias("CONTRIB_DATABASE")
    phase_database = alias("PHASE_DATABASE")
    contrib_extra = _labels(values["CONTRIB_APPS"], "CONTRIB_APPS", problems)
    shared_apps = _labels(values["SHARED_APPS"], "SHARED_APPS", problems)
    spelled: dict[tuple[str, str], str] = {}
    analytics: dict[str, str] = {}
    for written in _labels(values["ANALYTICS"], "ANALYTICS", problems):
        analytics[normalize(written)] = written
        spelled["ANALYTICS", normalize(written)] = written

    reference: dict[str, str | None] = {}
    raw_reference = values["REFERENCE"]
    if isinstance(raw_reference, Mapping):
        items: Iterable[tuple[Any, Any]] = raw_reference.items()
    else:
        items = ((label, {}) for label in _labels(raw_reference, "REFERENCE", problems))
    for written, options in items:
        if not isinstance(written, str) or not isinstance(options, Mapping):
            problems.append(
                Problem(
                    "s2router.E007",
                    f"REFERENCE entry {written!r}: {options!r} is not 'app.Model': {{...}}.",
                    "Write REFERENCE as a list of labels or {'app.Model': {'source': alias}}.",
                )
            )
            continue
        _unknown_keys(options, sorted(REFERENCE_KEYS), f"REFERENCE[{written!r}]", problems)
        source = options.get("source", "default")
        if source is not None and not isinstance(source, str):
            problems.append(
                Problem(
                    "s2router.E007",
                    f"REFERENCE[{written!r}]['source'] must be an alias or None.",
                    "Use the alias the reference data is maintained on, or None for S2 only.",
                )
            )
            source = "default"
        reference[normalize(written)] = source
        spelled["REFERENCE", normalize(written)] = written

    migrating: dict[str, Migrating] = {}
    raw_migrating = values["MIGRATING"]
    if not isinstance(raw_migrating, Mapping):
        problems.append(
            Problem(
                "s2router.E007",
                "S2ROUTER['MIGRATING'] must be a dict of 'app.Model': {'source': ..., ...}.",
                "e.g. {'shop.Order': {'source': 'default', 'phase': 'legacy'}}.",
            )
        )
        raw_migrating = {}
    default_rate = number("SHADOW_SAMPLE_RATE", values["SHADOW_SAMPLE_RATE"], 0.0, 1.0)
    for written, options in raw_migrating.items():
        if not isinstance(written, str) or not isinstance(options, Mapping):
            problems.append(
                Problem(
                    "s2router.E007",
                    f"MIGRATING entry {written!r}: {options!r} is not 'app.Model': {{...}}.",
                    "e.g. {'shop.Order': {'source': 'default', 'phase': 'legacy'}}.",
                )
            )
            continue
        _unknown_keys(options, sorted(MIGRATING_KEYS), f"MIGRATING[{written!r}]", problems)
        source = options.get("source", "default")
        if not isinstance(source, str):
            problems.append(
                Problem(
                    "s2router.E006",
                    f"MIGRATING[{written!r}]['source'] must be a database alias, not {source!r}.",
                    "Name the alias the model lives on today, e.g. 'default'.",
                )
            )
            continue
        try:
            phase = Phase(options.get("phase", Phase.LEGACY))
        except ValueError:
            problems.append(
                Problem(
                    "s2router.E006",
                    f"MIGRATING[{written!r}] has an unknown phase {options.get('phase')!r}.",
                    f"Use one of: {', '.join(Phase)}.",
                )
            )
            phase = Phase.LEGACY
        rate = options.get("shadow_sample_rate", default_rate)
        rate = number(f"MIGRATING[{written!r}]['shadow_sample_rate']", rate, 0.0, 1.0)
        migrating[normalize(written)] = Migrating(source, phase, rate)
        spelled["MIGRATING", normalize(written)] = written

    tenancy = None
    raw_tenancy = values["TENANCY"]
    if raw_tenancy is not None:
        if not isinstance(raw_tenancy, Mapping):
            problems.append(
                Problem(
                    "s2router.E007",
                    "S2ROUTER['TENANCY'] must be a dict or None.",
                    "e.g. {'DATABASES': ['s2'], 'STRICT': True}; see docs/router.md.",
                )
            )
            raw_tenancy = {}
        _unknown_keys(raw_tenancy, list(TENANCY_DEFAULTS), "S2ROUTER['TENANCY']", problems)
        tvalues = {**TENANCY_DEFAULTS, **raw_tenancy}
        databases = tvalues["DATABASES"]
        if databases is None:
            databases = [singlestore]
        databases = _labels(databases, "TENANCY['DATABASES']", problems)
        tenancy = Tenancy(frozenset(databases), bool(tvalues["STRICT"]), tvalues["TENANTS"])

    return Config(
        configured=configured,
        singlestore=singlestore,
        contrib_database=contrib_database,
        contrib_apps=CONTRIB_APPS | frozenset(contrib_extra),
        shared_apps=frozenset(shared_apps),
        analytics=analytics,
        reference=reference,
        migrating=migrating,
        phase_database=phase_database,
        phase_cache_seconds=number("PHASE_CACHE_SECONDS", values["PHASE_CACHE_SECONDS"], 0, None),
        shadow_sample_rate=default_rate,
        tenancy=tenancy,
        problems=problems,
        strict_aliases=tenancy.databases if tenancy and tenancy.strict else frozenset(),
        spelled=spelled,
    )


def _unknown_keys(
    given: Iterable[Any], known: list[str], where: str, problems: list[Problem]
) -> None:
    """One E007 per key of ``given`` that is not in ``known`` (listed in the hint, in order)."""
    for key in sorted(set(given) - set(known), key=str):
        problems.append(
            Problem(
                "s2router.E007",
                f"{where} has an unknown key {key!r}.",
                f"Known keys: {', '.join(known)}.",
            )
        )


def _labels(value: Any, key: str, problems: list[Problem]) -> list[str]:
    """A list of strings, or a problem and an empty list."""
    if isinstance(value, str) or not isinstance(value, Iterable):
        problems.append(
            Problem(
                "s2router.E007",
                f"S2ROUTER[{key!r}] must be a list of strings, not {value!r}.",
                f"Write {key} as a list, e.g. ['events', 'metrics.PageView'].",
            )
        )
        return []
    out = []
    for item in value:
        if isinstance(item, str) and item:
            out.append(item)
        else:
            problems.append(
                Problem(
                    "s2router.E007",
                    f"S2ROUTER[{key!r}] contains {item!r}, which is not a label.",
                    "Use app labels ('events') or model labels ('metrics.PageView').",
                )
            )
    return out
