"""System checks for ``S2ROUTER`` and for relations Django cannot follow across databases.

========= ===========================================================================
id        problem
========= ===========================================================================
E001      an alias in S2ROUTER is not in DATABASES
E002      a label in ANALYTICS/REFERENCE/MIGRATING/CONTRIB_APPS/SHARED_APPS is not installed
E003      a model (or its app) is in two of ANALYTICS, REFERENCE, MIGRATING, SHARED_APPS
E004      a contrib app or model is listed on its own: contrib would be split across databases
E005      a MIGRATING or REFERENCE source is the SingleStore alias itself
E006      a MIGRATING entry is invalid (source type, phase)
E007      S2ROUTER or one of its keys has the wrong shape or an unknown key
E008      cross-database ForeignKey with on_delete other than DO_NOTHING (collector crash)
E009      cross-database ForeignKey with db_constraint=True (CREATE TABLE fails)
E010      cross-database ManyToManyField (the join table cannot reach the target)
E011      TENANCY is set but MULTITENANT_MAPPER_CLASS / TENANTS cannot be loaded
E012      a TENANCY alias is not a MySQL-protocol database (``USE`` does not exist there)
E013      a contrib app on SingleStore (CONTRIB_DATABASE) without reference storage; Django's
          own models can get it only from the alias's ``OPTIONS['table_storage_type']``
W001      GenericForeignKey on a model whose table is where contenttypes is not
W002      S2ROUTER is set but s2router.SingleStoreRouter is not in DATABASE_ROUTERS
W003      ForeignKey from a model on SingleStore to a model the router does not place
W004      a REFERENCE model on SingleStore that does not declare reference storage (TableStorage)
========= ===========================================================================

A model's databases are its placement's tables (``s2router.router.tables_of``); models the
router does not list are assumed to live on ``default``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.apps import AppConfig, apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.db import connections, models
from django.utils.module_loading import import_string

from s2router import conf
from s2router.router import tables_of


@register(Tags.models, "s2router")
def check_settings(app_configs: Iterable[AppConfig] | None = None, **kwargs: Any) -> list:
    """Everything about ``S2ROUTER`` itself (aliases, labels, lists, tenancy)."""
    cfg = conf.get_config()
    if not cfg.configured:
        return []
    messages: list[CheckMessage] = [p.as_check(obj="S2ROUTER") for p in cfg.problems]
    messages += _alias_errors(cfg)
    messages += _label_errors(cfg)
    messages += _tenancy_errors(cfg)
    from s2router.router import SingleStoreRouter

    installed = any(
        r in ("s2router.SingleStoreRouter", "s2router.router.SingleStoreRouter")
        or isinstance(r, SingleStoreRouter)
        for r in settings.DATABASE_ROUTERS
    )
    if not installed:
        messages.append(
            Warning(
                "S2ROUTER is set but s2router.SingleStoreRouter is not in DATABASE_ROUTERS.",
                hint="Add 's2router.SingleStoreRouter' to DATABASE_ROUTERS.",
                id="s2router.W002",
                obj="DATABASE_ROUTERS",
            )
        )
    return messages


@register(Tags.models, "s2router")
def check_relations(app_configs: Iterable[AppConfig] | None = None, **kwargs: Any) -> list:
    """Cross-database ForeignKeys, ManyToManyFields and GenericForeignKeys."""
    if not conf.get_config().configured:
        return []
    if app_configs is None:
        models_ = apps.get_models()
    else:
        models_ = [m for ac in app_configs for m in ac.get_models()]
    return relation_messages(models_)


@register(Tags.models, "s2router")
def check_storage(app_configs: Iterable[AppConfig] | None = None, **kwargs: Any) -> list:
    """Contrib and REFERENCE tables on SingleStore must be reference tables there."""
    cfg = conf.get_config()
    if not cfg.configured or cfg.singlestore not in settings.DATABASES:
        return []
    connection = connections[cfg.singlestore]
    if connection.vendor != "singlestore":
        return []
    from django_singlestore.design import model_storage

    messages: list[CheckMessage] = []
    contrib: dict[str, list[str]] = {}  # app label -> models stored otherwise
    for model in apps.get_models(include_auto_created=True):
        placement = cfg.placement(model)
        if placement is None or placement.kind not in (conf.Kind.CONTRIB, conf.Kind.REFERENCE):
            continue
        if cfg.singlestore not in placement.tables:
            continue
        storage = model_storage(model, connection)
        if storage.is_reference:
            continue
        if placement.kind is conf.Kind.CONTRIB:
            contrib.setdefault(model._meta.app_label, []).append(
                f"{model._meta.object_name} ({storage})"
            )
        elif not model._meta.auto_created:
            messages.append(
                Warning(
                    f"{model._meta.label} is a reference table on {cfg.singlestore!r}, but the "
                    f"backend would create it as {storage}: it is not replicated to every node "
                    "and its unique keys must contain the shard key.",
                    hint="Declare TableStorage('REFERENCE') (or 'ROWSTORE REFERENCE') in the "
                    "model's Meta.constraints (django_singlestore.design).",
                    id="s2router.W004",
                    obj=model,
                )
            )
    if contrib:
        # Contrib models are Django's: only the alias's storage setting can make them reference.
        wanted = ", ".join(f"{label!r}: 'ROWSTORE REFERENCE'" for label in sorted(contrib))
        messages.extend(
            Error(
                f"Contrib app {label!r} is on SingleStore ({cfg.singlestore!r} is "
                f"CONTRIB_DATABASE), but its tables would not be reference tables: "
                f"{', '.join(models_)}. Their unique keys and joins need reference storage.",
                hint=f"Add to DATABASES[{cfg.singlestore!r}]['OPTIONS']: "
                f"'table_storage_type': {{{wanted}}}. On a child aggregator also set "
                "'child_aggregator': True (writes to reference tables inside a transaction "
                "fail there, error 2549).",
                id="s2router.E013",
                obj="S2ROUTER",
            )
            for label, models_ in sorted(contrib.items())
        )
    return messages


def _alias_errors(cfg: conf.Config) -> list[CheckMessage]:
    known = set(settings.DATABASES)
    uses = [
        ("SINGLESTORE", cfg.singlestore),
        ("CONTRIB_DATABASE", cfg.contrib_database),
        ("PHASE_DATABASE", cfg.phase_database),
    ]
    uses += [
        (f"MIGRATING[{cfg.spelled.get(('MIGRATING', k), k)!r}]['source']", m.source)
        for k, m in cfg.migrating.items()
    ]
    uses += [
        (f"REFERENCE[{cfg.spelled.get(('REFERENCE', k), k)!r}]['source']", s)
        for k, s in cfg.reference.items()
        if s is not None
    ]
    if cfg.tenancy is not None:
        uses += [("TENANCY['DATABASES']", alias) for alias in sorted(cfg.tenancy.databases)]
    messages: list[CheckMessage] = []
    for key, alias in uses:
        if alias not in known:
            messages.append(
                Error(
                    f"S2ROUTER {key} names the database alias {alias!r}, which is not in "
                    "DATABASES.",
                    hint=f"Use one of: {', '.join(sorted(known))}, or add {alias!r} to DATABASES.",
                    id="s2router.E001",
                    obj="S2ROUTER",
                )
            )
    for key, sources in (("MIGRATING", cfg.migrating), ("REFERENCE", cfg.reference)):
        for norm, value in sources.items():
            source = value.source if isinstance(value, conf.Migrating) else value
            if source == cfg.singlestore:
                messages.append(
                    Error(
                        f"S2ROUTER {key}[{cfg.spelled.get((key, norm), norm)!r}] has the "
                        f"SingleStore alias {source!r} as its source.",
                        hint="The source is the database the model is copied FROM, e.g. "
                        "'default'. A model that only lives on SingleStore belongs in ANALYTICS.",
                        id="s2router.E005",
                        obj="S2ROUTER",
                    )
                )
    return messages


def _exists(label: str) -> bool:
    try:
        if "." in label:
            apps.get_model(label)
        else:
            apps.get_app_config(label)
    except LookupError:
        return False
    return True


def _label_errors(cfg: conf.Config) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    entries: dict[str, list[str]] = {}  # normalized label -> lists it appears in
    for key, values in (
        ("ANALYTICS", cfg.analytics),
        ("REFERENCE", cfg.reference),
        ("MIGRATING", cfg.migrating),
    ):
        for norm in values:
            written = cfg.spelled.get((key, norm), norm)
            entries.setdefault(norm, []).append(key)
            if not _exists(norm):
                kind = "model" if "." in norm else "app label"
                messages.append(
                    Error(
                        f"S2ROUTER[{key!r}] lists {written!r}, which is not an installed {kind}.",
                        hint="Use an app label from INSTALLED_APPS or 'app_label.ModelName'; "
                        "check the spelling.",
                        id="s2router.E002",
                        obj="S2ROUTER",
                    )
                )
            app_label = norm.partition(".")[0]
            if app_label in cfg.contrib_apps:
                messages.append(
                    Error(
                        f"S2ROUTER[{key!r}] lists {written!r}, but contrib apps move together "
                        f"to CONTRIB_DATABASE ({cfg.contrib_database!r}).",
                        hint="Remove it; set CONTRIB_DATABASE to the SingleStore alias to put "
                        "all contrib tables there as reference tables.",
                        id="s2router.E004",
                        obj="S2ROUTER",
                    )
                )
    for norm in sorted(cfg.shared_apps - {"migration_kit"}):
        if not _exists(norm):
            messages.append(
                Error(
                    f"S2ROUTER['SHARED_APPS'] lists {norm!r}, which is not an installed app.",
                    hint="Use app labels from INSTALLED_APPS.",
                    id="s2router.E002",
                    obj="S2ROUTER",
                )
            )
    for norm in sorted(entries):
        if norm.partition(".")[0] in cfg.shared_apps:
            messages.append(
                Error(
                    f"{norm!r} belongs to a SHARED_APPS app and is also in "
                    f"{', '.join(entries[norm])}.",
                    hint="SHARED_APPS tables exist wherever migrations happen; remove the entry.",
                    id="s2router.E003",
                    obj="S2ROUTER",
                )
            )
    for norm in sorted(cfg.contrib_apps - conf.CONTRIB_APPS):
        if not _exists(norm):
            messages.append(
                Error(
                    f"S2ROUTER['CONTRIB_APPS'] lists {norm!r}, which is not an installed app.",
                    hint="Use app labels from INSTALLED_APPS.",
                    id="s2router.E002",
                    obj="S2ROUTER",
                )
            )
    for norm, lists in sorted(entries.items()):
        app_label = norm.partition(".")[0]
        if "." in norm and app_label in entries:
            lists = lists + [f"{k} (as app {app_label!r})" for k in entries[app_label]]
        if len(lists) > 1:
            messages.append(
                Error(
                    f"{norm!r} is in more than one S2ROUTER list: {', '.join(lists)}.",
                    hint="A model has exactly one placement; keep it in one list.",
                    id="s2router.E003",
                    obj="S2ROUTER",
                )
            )
    return messages


def _tenancy_errors(cfg: conf.Config) -> list[CheckMessage]:
    if cfg.tenancy is None:
        return []
    from s2router.tenancy import get_mapper

    messages: list[CheckMessage] = []
    try:
        get_mapper()
    except Exception as exc:
        messages.append(
            Error(
                f"S2ROUTER['TENANCY'] cannot load its mapper: {exc}",
                hint="Set MULTITENANT_MAPPER_CLASS to the dotted path of a "
                "db_multitenant.mapper.TenantMapper subclass.",
                id="s2router.E011",
                obj="MULTITENANT_MAPPER_CLASS",
            )
        )
    if isinstance(cfg.tenancy.tenants, str):
        try:
            import_string(cfg.tenancy.tenants)
        except ImportError as exc:
            messages.append(
                Error(
                    f"S2ROUTER['TENANCY']['TENANTS'] cannot be imported: {exc}",
                    hint="Give a list of names, a callable, or the dotted path of a callable.",
                    id="s2router.E011",
                    obj="S2ROUTER",
                )
            )
    for alias in sorted(cfg.tenancy.databases & set(settings.DATABASES)):
        vendor = connections[alias].vendor
        if vendor not in ("mysql", "singlestore"):
            messages.append(
                Error(
                    f"TENANCY alias {alias!r} is a {vendor} database; tenants are switched "
                    "with USE, which only MySQL-protocol databases have.",
                    hint="List only SingleStore (or MySQL) aliases in TENANCY['DATABASES'].",
                    id="s2router.E012",
                    obj="S2ROUTER",
                )
            )
    return messages


def _where(aliases: Iterable[str]) -> str:
    return ", ".join(repr(a) for a in sorted(aliases))


def relation_messages(models_: Iterable[type[models.Model]]) -> list[CheckMessage]:
    """Errors and warnings for the relations of ``models_`` under the current placement."""
    cfg = conf.get_config()
    messages: list[CheckMessage] = []
    for model in models_:
        opts = model._meta
        if opts.proxy:
            continue
        own = tables_of(model)
        for field in opts.local_fields:
            target = field.related_model
            if field.remote_field is None or not isinstance(target, type):
                continue
            theirs = tables_of(target)
            missing_here = theirs - own
            if field.remote_field.on_delete is not models.DO_NOTHING and missing_here:
                messages.append(
                    Error(
                        f"{opts.label}.{field.name} is a cross-database ForeignKey with "
                        f"on_delete={field.remote_field.on_delete.__name__}: deleting a "
                        f"{target._meta.label} on {_where(missing_here)} makes Django's "
                        f"collector query {opts.db_table}, which has no table there.",
                        hint="Use on_delete=models.DO_NOTHING (and clean up orphans in a job), "
                        "or place both models on the same database.",
                        id="s2router.E008",
                        obj=field,
                    )
                )
            if cfg.singlestore in own and cfg.placement(target) is None:
                messages.append(
                    Warning(
                        f"{opts.label}.{field.name} points from SingleStore at "
                        f"{target._meta.label}, which S2ROUTER does not place: following it "
                        f"from a row read on {cfg.singlestore!r} makes Django look for "
                        f"{target._meta.db_table} there.",
                        hint=f"Place {target._meta.label} (e.g. in REFERENCE so it is copied "
                        "to SingleStore), or read the related row with .using() explicitly.",
                        id="s2router.W003",
                        obj=field,
                    )
                )
            constrained = own - theirs - {cfg.singlestore}
            if field.db_constraint and constrained:
                messages.append(
                    Error(
                        f"{opts.label}.{field.name} is a cross-database ForeignKey with "
                        f"db_constraint=True: {target._meta.db_table} does not exist on "
                        f"{_where(constrained)}, so the constraint cannot be created there.",
                        hint="Add db_constraint=False to the ForeignKey.",
                        id="s2router.E009",
                        obj=field,
                    )
                )
        for field in opts.local_many_to_many:
            target = field.related_model
            if not isinstance(target, type) or not field.remote_field.through._meta.auto_created:
                continue
            missing = own - tables_of(target)
            if missing:
                messages.append(
                    Error(
                        f"{opts.label}.{field.name} is a cross-database ManyToManyField: "
                        f"{target._meta.label} has no table on {_where(missing)}, where the "
                        "join table lives.",
                        hint="Replace it with an explicit through model whose ForeignKeys use "
                        "on_delete=DO_NOTHING and db_constraint=False, or co-locate the models.",
                        id="s2router.E010",
                        obj=field,
                    )
                )
        if apps.is_installed("django.contrib.contenttypes"):
            # Imported here: these modules need contenttypes in INSTALLED_APPS.
            from django.contrib.contenttypes.fields import GenericForeignKey
            from django.contrib.contenttypes.models import ContentType

            away = own - tables_of(ContentType)
            for field in opts.private_fields:
                if isinstance(field, GenericForeignKey) and away:
                    messages.append(
                        Warning(
                            f"{opts.label}.{field.name} is a GenericForeignKey on "
                            f"{_where(away)}, but contenttypes lives on "
                            f"{_where(tables_of(ContentType))}.",
                            hint="Single-object access works (content types are fetched "
                            "from their own database), but filtering or joining through the "
                            "content type and GenericRelation queries cannot cross databases.",
                            id="s2router.W001",
                            obj=model,
                        )
                    )
    return messages
