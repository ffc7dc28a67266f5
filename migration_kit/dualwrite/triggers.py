"""Capture triggers: the source database writes the outbox entries itself.

With triggers installed on a migrating model's source tables, every INSERT, UPDATE and DELETE
there — Django's, raw SQL's, another program's — adds its keys to the outbox inside the same
statement, so a dual-write ``save()`` costs one round trip, as it does without the kit. The
Python wrappers in ``migration_kit.dualwrite.capture`` then only hand the alias to the relay after
commit. Where no trigger is installed (or cannot be: SingleStore has no triggers, so the
``cutover`` primary always uses them) the wrappers write the entries themselves.

- PostgreSQL: one PL/pgSQL function per table and three statement-level triggers reading the
  transition tables, so a 10 000-row UPDATE writes its entries in one ``INSERT … SELECT``.
- MySQL/MariaDB: three row-level triggers per table.

Appliers set ``migration_kit.applying`` (a transaction-local setting on PostgreSQL, the user
variable ``@migration_kit_applying`` elsewhere) while they write into a mirror, so a source that
is the mirror during ``cutover`` does not echo the applied rows back.

Keys are written in ``migration_kit.keys``' JSON form for integer, text, UUID, decimal, date and
binary keys (composites of them too). Datetime, time and float keys, and models with concrete
parents (multi-table inheritance), keep the wrappers' capture. TRUNCATE is never captured.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.db import connections, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from migration_kit.field_types import INTEGER_TYPES, POSTGRESQL_TEXT, TEXT_TYPES, internal_type

#: Key types whose text form on both database families parses back with ``field.to_python``.
_TEXT_KEYS = TEXT_TYPES | {"UUIDField", "DecimalField", "DateField"}
#: Vendors whose servers run triggers (SingleStore's backend has vendor "singlestore").
VENDORS = ("postgresql", "mysql")
#: Seconds a process trusts what it last read about a table's triggers.
CACHE_SECONDS = 10.0
#: How long installing or removing waits for the table lock on PostgreSQL before giving up.
LOCK_TIMEOUT = "5s"
#: The writes each table gets a trigger for.
_EVENTS = ("INSERT", "UPDATE", "DELETE")
#: What labels and aliases may contain, since they are written into trigger bodies as literals.
_SAFE = re.compile(r"^[\w.-]+$")


logger = logging.getLogger("migration_kit.triggers")


class NotCapturable(Exception):
    """The model or database cannot capture writes with triggers; the message says why."""


@dataclass(frozen=True)
class Plan:
    """The statements that install, and those that remove, one table's capture triggers."""

    table: str
    create: list[str]
    drop: list[str]
    #: Expected stored bodies by trigger (MySQL) or function (PostgreSQL) name.
    bodies: dict[str, str]


def reason_not_capturable(model: type[models.Model], connection: BaseDatabaseWrapper) -> str | None:
    """Why ``model`` on ``connection`` must keep the wrappers' capture, or None if it need not."""
    if connection.vendor not in VENDORS:
        return f"{connection.display_name} has no triggers"
    opts = model._meta
    if any(p._meta.concrete_model is not opts.concrete_model for p in opts.all_parents):
        return "multi-table inheritance (a save writes several tables)"
    for field in opts.pk_fields:
        kind = internal_type(field)
        if kind not in INTEGER_TYPES | _TEXT_KEYS | {"BinaryField"}:
            return f"primary key type {kind} has no trigger encoding"
    return None


def plan(model: type[models.Model], alias: str, mirror: str) -> Plan:
    """The capture triggers for ``model``'s table on ``alias``, recording entries for ``mirror``."""
    connection = connections[alias]
    model = model._meta.concrete_model
    reason = reason_not_capturable(model, connection)
    if reason is not None:
        raise NotCapturable(f"{model._meta.label} on {alias!r}: {reason}.")
    for value in (model._meta.label, alias, mirror):
        if not _SAFE.match(value):
            raise NotCapturable(f"{value!r} contains characters a trigger body cannot hold.")
    if connection.vendor == "postgresql":
        return _postgresql_plan(model, connection, mirror)
    return _mysql_plan(model, connection, mirror)


def _name(table: str, suffix: str = "") -> str:
    """A trigger/function name under both servers' 63/64-character limit."""
    name = f"mk_capture_{table}"
    if len(name) > 50:
        name = name[:41] + "_" + hashlib.md5(name.encode()).hexdigest()[:8]
    return name + suffix


def _outbox_columns(connection: BaseDatabaseWrapper) -> tuple[str, str]:
    """The outbox table and its ``ENTRY_FIELDS`` columns, quoted for ``connection``."""
    from migration_kit.models import ENTRY_FIELDS, OutboxEntry

    qn = connection.ops.quote_name
    columns = ", ".join(qn(OutboxEntry._meta.get_field(n).column) for n in ENTRY_FIELDS)
    return qn(OutboxEntry._meta.db_table), columns


def _postgresql_key(model: type[models.Model], row: str) -> str:
    """The jsonb of one transition-table row's key, as ``keys.encode_pk`` would write it."""
    parts = []
    for field in model._meta.pk_fields:
        column = f'{row}."{field.column}"'
        kind = internal_type(field)
        if kind in INTEGER_TYPES:
            parts.append(column)
        elif kind in ("BinaryField", "DateField"):  # hex; ISO dates whatever the DateStyle
            parts.append(POSTGRESQL_TEXT[kind].format(c=column))
        else:
            parts.append(f"{column}::text")
    if model._meta.is_composite_pk:
        return f"jsonb_build_array({', '.join(parts)})"
    return f"to_jsonb({parts[0]})"


def _postgresql_plan(
    model: type[models.Model], connection: BaseDatabaseWrapper, mirror: str
) -> Plan:
    table = model._meta.db_table
    qn = connection.ops.quote_name
    outbox, columns = _outbox_columns(connection)
    function = _name(table)
    label, alias = model._meta.label, connection.alias

    def insert(source: str) -> str:
        return (
            f"INSERT INTO {outbox} ({columns}) SELECT '{label}', k, '{alias}', '{mirror}', "
            f"now(), 0, '', '' FROM ({source}) AS keys;"
        )

    new_keys = f"SELECT {_postgresql_key(model, 'n')} AS k FROM mk_new AS n"
    old_keys = f"SELECT {_postgresql_key(model, 'o')} AS k FROM mk_old AS o"
    body = (
        "\nBEGIN\n"
        "  IF current_setting('migration_kit.applying', true) IS DISTINCT FROM 'on' THEN\n"
        f"    IF TG_OP = 'INSERT' THEN {insert(new_keys)}\n"
        f"    ELSIF TG_OP = 'UPDATE' THEN {insert(f'{new_keys} UNION {old_keys}')}\n"
        f"    ELSE {insert(old_keys)}\n"
        "    END IF;\n"
        "  END IF;\n"
        "  RETURN NULL;\n"
        "END\n"
    )
    create = [
        f"CREATE OR REPLACE FUNCTION {qn(function)}() RETURNS trigger LANGUAGE plpgsql "
        f"AS $mk${body}$mk$"
    ]
    # OR REPLACE (PostgreSQL 14+) takes the lock CREATE takes; DROP would block reads too.
    replace = connection.pg_version >= 140000
    drop = []
    for event, referencing in zip(
        _EVENTS,
        ("NEW TABLE AS mk_new", "OLD TABLE AS mk_old NEW TABLE AS mk_new", "OLD TABLE AS mk_old"),
        strict=True,
    ):
        trigger = qn(_name(table, f"_{event[0].lower()}"))
        drop.append(f"DROP TRIGGER IF EXISTS {trigger} ON {qn(table)}")
        if not replace:
            create.append(drop[-1])
        create.append(
            f"CREATE {'OR REPLACE ' if replace else ''}TRIGGER {trigger} AFTER {event} ON "
            f"{qn(table)} REFERENCING {referencing} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {qn(function)}()"
        )
    drop.append(f"DROP FUNCTION IF EXISTS {qn(function)}()")
    return Plan(table, create, drop, {function: body})


def _mysql_key(model: type[models.Model], row: str) -> str:
    """The JSON text of ``NEW``/``OLD``'s key, as ``keys.encode_pk`` would write it."""
    parts = []
    for field in model._meta.pk_fields:
        column = f"{row}.`{field.column}`"
        kind = internal_type(field)
        if kind in INTEGER_TYPES:
            parts.append(column)
        elif kind == "BinaryField":
            parts.append(f"HEX({column})")
        else:
            parts.append(f"CAST({column} AS CHAR)")
    if model._meta.is_composite_pk:
        return f"JSON_ARRAY({', '.join(parts)})"
    kind = internal_type(model._meta.pk)
    return f"CAST({parts[0]} AS CHAR)" if kind in INTEGER_TYPES else f"JSON_QUOTE({parts[0]})"


def _mysql_plan(model: type[models.Model], connection: BaseDatabaseWrapper, mirror: str) -> Plan:
    table = model._meta.db_table
    qn = connection.ops.quote_name
    outbox, columns = _outbox_columns(connection)
    now = "UTC_TIMESTAMP(6)" if settings.USE_TZ else "NOW(6)"

    label, alias = model._meta.label, connection.alias

    def insert(row: str) -> str:
        return (
            f"INSERT INTO {outbox} ({columns}) VALUES ('{label}', {_mysql_key(model, row)}, "
            f"'{alias}', '{mirror}', {now}, 0, '', '');"
        )

    same_key = " AND ".join(f"OLD.`{f.column}` <=> NEW.`{f.column}`" for f in model._meta.pk_fields)
    statements = {
        "INSERT": insert("NEW"),
        "UPDATE": f"{insert('NEW')} IF NOT ({same_key}) THEN {insert('OLD')} END IF;",
        "DELETE": insert("OLD"),
    }
    # Each statement commits on its own here: MariaDB replaces a trigger in one step, MySQL
    # has no OR REPLACE, so a reinstall there leaves a moment between DROP and CREATE.
    replace = connection.mysql_is_mariadb
    create, drop, bodies = [], [], {}
    for event, statement in statements.items():
        trigger = _name(table, f"_{event[0].lower()}")
        body = f"IF @migration_kit_applying IS NULL THEN {statement} END IF"
        drop.append(f"DROP TRIGGER IF EXISTS {qn(trigger)}")
        if not replace:
            create.append(drop[-1])
        create.append(
            f"CREATE {'OR REPLACE ' if replace else ''}TRIGGER {qn(trigger)} AFTER {event} "
            f"ON {qn(table)} FOR EACH ROW {body}"
        )
        bodies[trigger] = body
    return Plan(table, create, drop, bodies)


def state(model: type[models.Model], alias: str, mirror: str) -> str:
    """``installed`` (exactly our current triggers), ``missing`` (none) or ``stale`` (some, or
    bodies written for other aliases or an older kit: reinstall them)."""
    expected = plan(model, alias, mirror)
    connection = connections[alias]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT p.proname, p.prosrc FROM pg_proc p "
                "JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE n.nspname = current_schema() AND p.proname = ANY(%s)",
                [list(expected.bodies)],
            )
            found = dict(cursor.fetchall())
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = to_regclass(%s) AND tgname LIKE %s",
                [connection.ops.quote_name(expected.table), _name(expected.table) + "%"],
            )
            triggers = {name for (name,) in cursor.fetchall()}
            wanted = len(_EVENTS)
        else:
            cursor.execute(
                "SELECT TRIGGER_NAME, ACTION_STATEMENT FROM information_schema.TRIGGERS "
                "WHERE TRIGGER_SCHEMA = DATABASE() AND EVENT_OBJECT_TABLE = %s "
                "AND TRIGGER_NAME LIKE %s",
                [expected.table, _name(expected.table) + "%"],
            )
            found = dict(cursor.fetchall())
            triggers, wanted = set(found), len(expected.bodies)
    if not found and not triggers:
        return "missing"
    if found == expected.bodies and len(triggers) == wanted:
        return "installed"
    return "stale"


def install(model: type[models.Model], alias: str, mirror: str) -> bool:
    """Create (or replace stale) capture triggers for ``model`` on ``alias``; False when they
    were installed already (left alone: nothing to redo). Raises NotCapturable."""
    if state(model, alias, mirror) == "installed":
        return False
    _run(alias, plan(model, alias, mirror).create)
    return True


def remove(model: type[models.Model], alias: str) -> None:
    """Drop ``model``'s capture triggers on ``alias`` (nothing happens if there are none)."""
    connection = connections[alias]
    if connection.vendor not in VENDORS:
        return
    # The drop statements name only the table, so any mirror alias gives the same plan.
    _run(alias, plan(model, alias, alias).drop)


def _run(alias: str, statements: list[str]) -> None:
    connection = connections[alias]
    # One transaction where DDL is transactional (PostgreSQL): all triggers or none.
    with transaction.atomic(using=alias), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Fail rather than queue behind a long transaction, with every query behind us.
            cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        for statement in statements:
            cursor.execute(statement)
    forget()


# (alias, label) → (expires at, captured by triggers?)
_known: dict[tuple[str, str], tuple[float, bool]] = {}


def captures(model: type[models.Model], alias: str, mirror: str) -> bool:
    """Whether writes of ``model`` on ``alias`` are captured by our installed triggers.

    Read from the catalog at most every ``CACHE_SECONDS`` per process; a lookup that fails
    answers False for that long, so the wrappers capture the writes themselves.
    """
    model = model._meta.concrete_model
    key = (alias, model._meta.label)
    now = time.monotonic()
    known = _known.get(key)
    if known is not None and known[0] > now:
        return known[1]
    if reason_not_capturable(model, connections[alias]) is not None:
        answer = False
    else:
        try:
            # A savepoint when the caller's transaction is open: a failed lookup must not
            # abort it (PostgreSQL).
            with transaction.atomic(using=alias):
                answer = state(model, alias, mirror) == "installed"
        except Exception:
            answer = False
    _known[key] = (now + CACHE_SECONDS, answer)
    return answer


def forget() -> None:
    """Drop what this process knows about installed triggers (after DDL or a settings change)."""
    _known.clear()


def _forget_on_settings(*, setting: str, **kwargs: object) -> None:
    if setting in ("S2ROUTER", "DATABASES"):
        forget()


setting_changed.connect(_forget_on_settings, dispatch_uid="migration_kit.triggers.forget")


def covered_models(model: type[models.Model]) -> list[type[models.Model]]:
    """``model`` and its auto-created M2M through models: the tables its writes touch."""
    found = [model]
    for m2m in model._meta.local_many_to_many:
        through = m2m.remote_field.through
        if through._meta.auto_created:
            found.append(through)
    return found


def sync_with_phase(sender: object, transition: Any, **kwargs: object) -> None:
    """``phase_changed`` receiver: the triggers exist while the source is the primary.

    Installed on entering ``dual_write`` or ``shadow`` (a rollback from ``cutover``), removed on
    ``legacy`` and ``done`` and on entering ``cutover``. There, SingleStore is the primary: a
    write that still reaches the source would be applied over newer rows. The removal waits
    out ``PHASE_CACHE_SECONDS`` first, so writes from processes that have not seen the new phase
    yet are still captured.

    Best effort: a database that refuses (no TRIGGER privilege, binary logging without
    ``log_bin_trust_function_creators``, a lock not granted in ``LOCK_TIMEOUT``) leaves the
    wrappers capturing, with a warning.
    """
    from django.apps import apps

    from s2router import conf as router_conf
    from s2router.phases import MIRRORED_TO_SINGLESTORE, Phase, source_alias

    if not transition.changed:
        return
    phase = str(transition.to_phase)
    model = apps.get_model(transition.label)
    config = router_conf.get_config()
    source, mirror = source_alias(model), config.singlestore
    if source is None:
        return
    adding = phase in MIRRORED_TO_SINGLESTORE
    if phase == Phase.CUTOVER:
        time.sleep(config.phase_cache_seconds + 0.5)
    for table in covered_models(model):
        try:
            if adding:
                install(table, source, mirror)
            else:
                remove(table, source)
        except NotCapturable:
            continue
        except Exception as exc:
            logger.warning(
                "capture triggers for %s on %r not %s: %s",
                table._meta.label,
                source,
                "installed" if adding else "removed",
                exc,
            )
