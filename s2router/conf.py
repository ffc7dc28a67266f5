"""The ``S2ROUTER`` settings dict: defaults, parsing into one frozen config, reset on change.

The config is built lazily on first use and thrown away whenever ``S2ROUTER``, ``DATABASES``,
``INSTALLED_APPS`` or ``MULTITENANT_MAPPER_CLASS`` change (``setting_changed``), so tests can
``override_settings`` freely. The settings style is the toolkit's one
(``django_singlestore.problems``): one parser per key, none raising; problems are collected in
``Config.problems`` and reported by the system checks (``s2router.checks``) with ids and hints.
The router keeps routing whatever it could understand (``get_config``); phase changes and the
management commands read the strict accessor ``checked_config``, which raises
``ImproperlyConfigured`` naming the check id.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.db.models import Model

from django_singlestore.problems import Problem, raise_for

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


@dataclass(frozen=True, slots=True, kw_only=True)
class Migrating:
    """One ``MIGRATING`` entry: the source alias and the phase settings start it in."""

    source: str
    phase: Phase
    shadow_sample_rate: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Placement:
    """Where one model's table lives and where its reads and writes go.

    ``tables`` is every alias holding the table (``allow_migrate``). A migrating model's aliases
    depend on its phase (``read_alias_by_phase``/``write_aliases_by_phase``, from the table in
    ``s2router.phases``); every other model's are fixed (``read_alias``/``write_alias``/
    ``mirror_alias``). ``None`` aliases: the router leaves the choice to Django (SHARED_APPS).
    """

    label: str
    kind: Kind
    tables: frozenset[str]
    read_alias: str | None = None
    write_alias: str | None = None
    mirror_alias: str | None = None  # writes are mirrored there (REFERENCE with a source)
    source: str | None = None  # where the data is copied from (MIGRATING, REFERENCE)
    migrating: Migrating | None = None
    read_alias_by_phase: dict[Phase, str] | None = None
    write_aliases_by_phase: dict[Phase, tuple[str, str | None]] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
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
            return _on_one(label, Kind.INTERNAL, self.phase_database)
        if app_label in self.contrib_apps:
            return _on_one(label, Kind.CONTRIB, self.contrib_database)
        s2 = self.singlestore
        if app_label in self.shared_apps:
            sources = {m.source for m in self.migrating.values()}
            sources |= {s for s in self.reference.values() if s is not None}
            tables = frozenset({self.phase_database, s2, *sources})
            return Placement(label=label, kind=Kind.SHARED, tables=tables)
        for key in keys:
            entry = self.migrating.get(key)
            if entry is not None:
                from s2router.phases import phase_routes  # phases imports this module

                # The phase table of s2router.phases, precomputed for this model.
                reads, writes = phase_routes(entry.source, s2)
                return Placement(
                    label=label,
                    kind=Kind.MIGRATING,
                    tables=frozenset({entry.source, s2}),
                    source=entry.source,
                    migrating=entry,
                    read_alias_by_phase=reads,
                    write_aliases_by_phase=writes,
                )
            if key in self.reference:
                source = self.reference[key]
                if source is None:
                    return _on_one(label, Kind.REFERENCE, s2)
                return Placement(
                    label=label,
                    kind=Kind.REFERENCE,
                    tables=frozenset({source, s2}),
                    read_alias=source,
                    write_alias=source,
                    mirror_alias=s2,
                    source=source,
                )
            if key in self.analytics:
                return _on_one(label, Kind.ANALYTICS, s2)
        return None


def _on_one(label: str, kind: Kind, alias: str) -> Placement:
    """A placement whose table, reads and writes are all on ``alias``."""
    return Placement(
        label=label, kind=kind, tables=frozenset({alias}), read_alias=alias, write_alias=alias
    )


def normalize(label: str) -> str:
    """``"metrics.PageView"`` -> ``"metrics.pageview"``; app labels are kept as written."""
    app_label, dot, model = label.partition(".")
    return f"{app_label}.{model.lower()}" if dot else app_label


_config: Config | None = None


def get_config() -> Config:
    """The current config, parsed on first use after a (re)start or a settings change.

    Lenient: the router and the checks route and judge whatever parsed (a router that raised
    would fail every query over one typo; the checks already stop ``migrate``/``runserver``).
    Anything that changes state reads :func:`checked_config` instead.
    """
    global _config
    if _config is None:
        _config = _parse(getattr(settings, "S2ROUTER", None))
    return _config


def checked_config() -> Config:
    """The strict accessor: the config, or ``ImproperlyConfigured`` naming the check id (and
    hint) of the first problem ``S2ROUTER`` has."""
    config = get_config()
    raise_for(config.problems)
    return config


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
    """The config ``raw`` describes; each key is read by its own parser, problems collected.

    Keys are read in a fixed order, so the checks report problems in the same order each run.
    """
    parser = _Parser()
    configured = raw is not None
    values = parser.top_level({} if raw is None else raw)
    singlestore = parser.alias("SINGLESTORE", values["SINGLESTORE"])
    contrib_database = parser.alias("CONTRIB_DATABASE", values["CONTRIB_DATABASE"])
    phase_database = parser.alias("PHASE_DATABASE", values["PHASE_DATABASE"])
    contrib_apps = parser.labels("CONTRIB_APPS", values["CONTRIB_APPS"])
    shared_apps = parser.labels("SHARED_APPS", values["SHARED_APPS"])
    analytics = parser.analytics(values["ANALYTICS"])
    reference = parser.reference(values["REFERENCE"])
    default_rate = parser.number("SHADOW_SAMPLE_RATE", values["SHADOW_SAMPLE_RATE"], 0.0, 1.0)
    migrating = parser.migrating(values["MIGRATING"], default_rate)
    tenancy = parser.tenancy(values["TENANCY"], singlestore)
    cache_seconds = parser.number("PHASE_CACHE_SECONDS", values["PHASE_CACHE_SECONDS"], 0, None)
    return Config(
        configured=configured,
        singlestore=singlestore,
        contrib_database=contrib_database,
        contrib_apps=CONTRIB_APPS | frozenset(contrib_apps),
        shared_apps=frozenset(shared_apps),
        analytics=analytics,
        reference=reference,
        migrating=migrating,
        phase_database=phase_database,
        phase_cache_seconds=cache_seconds,
        shadow_sample_rate=default_rate,
        tenancy=tenancy,
        problems=parser.problems,
        strict_aliases=tenancy.databases if tenancy and tenancy.strict else frozenset(),
        spelled=parser.spelled,
    )


class _Parser:
    """One parser per ``S2ROUTER`` key. Each returns a usable value (the default when the
    setting is wrong) and records what was wrong in ``problems``; none raises."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.spelled: dict[tuple[str, str], str] = {}  # (list, normalized label) -> as written

    def shape(self, msg: str, hint: str) -> None:
        """Record an ``s2router.E007`` (a value of the wrong shape, or an unknown key)."""
        self.problems.append(Problem("s2router.E007", msg, hint))

    def top_level(self, raw: Any) -> dict[str, Any]:
        """The known keys of ``S2ROUTER`` over ``DEFAULTS``."""
        if not isinstance(raw, Mapping):
            self.shape(
                f"S2ROUTER must be a dict, not {type(raw).__name__}.",
                "Set S2ROUTER = {'SINGLESTORE': 's2', ...}; see docs/router.md.",
            )
            raw = {}
        self.unknown_keys(raw, list(DEFAULTS), "S2ROUTER")
        return {**DEFAULTS, **{k: v for k, v in raw.items() if k in DEFAULTS}}

    def unknown_keys(self, given: Iterable[Any], known: list[str], where: str) -> None:
        """One E007 per key of ``given`` that is not in ``known`` (listed in the hint, in order)."""
        for key in sorted(set(given) - set(known), key=str):
            self.shape(f"{where} has an unknown key {key!r}.", f"Known keys: {', '.join(known)}.")

    def alias(self, key: str, value: Any) -> str:
        """``SINGLESTORE``, ``CONTRIB_DATABASE``, ``PHASE_DATABASE``: an alias (``DATABASES``
        membership is checked later, as s2router.E001, against the live setting)."""
        if isinstance(value, str):
            return value
        self.shape(
            f"S2ROUTER[{key!r}] must be a database alias (str), not {value!r}.",
            f"Use one of the DATABASES aliases, e.g. {DEFAULTS[key]!r}.",
        )
        return DEFAULTS[key]

    def number(self, key: str, value: Any, low: float, high: float | None) -> float:
        """A number in ``[low, high]``; the default (or ``low``) when it is not one."""
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok and value >= low and (high is None or value <= high):
            return float(value)
        bound = f"between {low} and {high}" if high is not None else f">= {low}"
        self.shape(f"{key} must be a number {bound}, not {value!r}.", f"Fix {key} in S2ROUTER.")
        return float(DEFAULTS.get(key, low))

    def labels(self, key: str, value: Any) -> list[str]:
        """A list of app or model labels (strings); an empty list when it is not one."""
        if isinstance(value, str) or not isinstance(value, Iterable):
            self.shape(
                f"S2ROUTER[{key!r}] must be a list of strings, not {value!r}.",
                f"Write {key} as a list, e.g. ['events', 'metrics.PageView'].",
            )
            return []
        out = []
        for item in value:
            if isinstance(item, str) and item:
                out.append(item)
            else:
                self.shape(
                    f"S2ROUTER[{key!r}] contains {item!r}, which is not a label.",
                    "Use app labels ('events') or model labels ('metrics.PageView').",
                )
        return out

    def analytics(self, value: Any) -> dict[str, str]:
        """``ANALYTICS``: normalized label -> label as written."""
        analytics = {}
        for written in self.labels("ANALYTICS", value):
            analytics[normalize(written)] = written
            self.spelled["ANALYTICS", normalize(written)] = written
        return analytics

    def reference(self, value: Any) -> dict[str, str | None]:
        """``REFERENCE``: normalized label -> source alias (None: on SingleStore only)."""
        if isinstance(value, Mapping):
            items: Iterable[tuple[Any, Any]] = value.items()
        else:
            items = ((label, {}) for label in self.labels("REFERENCE", value))
        reference: dict[str, str | None] = {}
        for written, options in items:
            if not isinstance(written, str) or not isinstance(options, Mapping):
                self.shape(
                    f"REFERENCE entry {written!r}: {options!r} is not 'app.Model': {{...}}.",
                    "Write REFERENCE as a list of labels or {'app.Model': {'source': alias}}.",
                )
                continue
            self.unknown_keys(options, sorted(REFERENCE_KEYS), f"REFERENCE[{written!r}]")
            source = options.get("source", "default")
            if source is not None and not isinstance(source, str):
                self.shape(
                    f"REFERENCE[{written!r}]['source'] must be an alias or None.",
                    "Use the alias the reference data is maintained on, or None for S2 only.",
                )
                source = "default"
            reference[normalize(written)] = source
            self.spelled["REFERENCE", normalize(written)] = written
        return reference

    def migrating(self, value: Any, default_rate: float) -> dict[str, Migrating]:
        """``MIGRATING``: normalized label -> its entry; bad entries are left out (E006)."""
        if not isinstance(value, Mapping):
            self.shape(
                "S2ROUTER['MIGRATING'] must be a dict of 'app.Model': {'source': ..., ...}.",
                "e.g. {'shop.Order': {'source': 'default', 'phase': 'legacy'}}.",
            )
            return {}
        migrating: dict[str, Migrating] = {}
        for written, options in value.items():
            if not isinstance(written, str) or not isinstance(options, Mapping):
                self.shape(
                    f"MIGRATING entry {written!r}: {options!r} is not 'app.Model': {{...}}.",
                    "e.g. {'shop.Order': {'source': 'default', 'phase': 'legacy'}}.",
                )
                continue
            self.unknown_keys(options, sorted(MIGRATING_KEYS), f"MIGRATING[{written!r}]")
            source = options.get("source", "default")
            if not isinstance(source, str):
                self.problems.append(
                    Problem(
                        "s2router.E006",
                        f"MIGRATING[{written!r}]['source'] must be a database alias, not "
                        f"{source!r}.",
                        "Name the alias the model lives on today, e.g. 'default'.",
                    )
                )
                continue
            try:
                phase = Phase(options.get("phase", Phase.LEGACY))
            except ValueError:
                self.problems.append(
                    Problem(
                        "s2router.E006",
                        f"MIGRATING[{written!r}] has an unknown phase {options.get('phase')!r}.",
                        f"Use one of: {', '.join(Phase)}.",
                    )
                )
                phase = Phase.LEGACY
            rate = options.get("shadow_sample_rate", default_rate)
            rate = self.number(f"MIGRATING[{written!r}]['shadow_sample_rate']", rate, 0.0, 1.0)
            migrating[normalize(written)] = Migrating(
                source=source, phase=phase, shadow_sample_rate=rate
            )
            self.spelled["MIGRATING", normalize(written)] = written
        return migrating

    def tenancy(self, value: Any, singlestore: str) -> Tenancy | None:
        """``TENANCY`` (None: no tenancy); ``DATABASES`` defaults to the SingleStore alias."""
        if value is None:
            return None
        if not isinstance(value, Mapping):
            self.shape(
                "S2ROUTER['TENANCY'] must be a dict or None.",
                "e.g. {'DATABASES': ['s2'], 'STRICT': True}; see docs/router.md.",
            )
            value = {}
        self.unknown_keys(value, list(TENANCY_DEFAULTS), "S2ROUTER['TENANCY']")
        values = {**TENANCY_DEFAULTS, **value}
        databases = values["DATABASES"]
        if databases is None:
            databases = [singlestore]
        return Tenancy(
            databases=frozenset(self.labels("TENANCY['DATABASES']", databases)),
            strict=bool(values["STRICT"]),
            tenants=values["TENANTS"],
        )
