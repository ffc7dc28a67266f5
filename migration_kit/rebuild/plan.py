"""What one online rebuild creates and copies, fixed before it starts and kept in its state row.

A plan is plain data (JSON in ``RebuildState.plan``), so a rebuild resumed after a crash does
not need the model it was planned from: the ``CREATE TABLE`` of ``<table>__s2new``, the columns
to fill and the expressions that fill them from the old table, and the primary key that the
copy, the captured keys and the verify walk.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import NotSupportedError, models

from django_singlestore.design import field_db_type
from migration_kit import field_types

#: Suffixes of the new table (filled, then swapped in) and of the old one while fenced.
NEW_SUFFIX = "__s2new"
OLD_SUFFIX = "__s2old"
#: Primary-key types whose prepared value is an int or a string (what a captured key stores).
KEY_TYPES = field_types.INTEGER_TYPES | {"CharField", "SlugField", "UUIDField"}


@dataclass
class Plan:
    """One table's rebuild: names, DDL and the copy's column mapping."""

    alias: str
    table: str
    new: str
    old: str
    #: Primary-key column in the old table and in the new one (a rename may change it).
    key_old: str
    key_new: str
    create_sql: str
    create_params: list[Any] = field(default_factory=list)
    #: Quoted target columns of the new table and, in the same order, SQL over the old one.
    targets: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    source_params: list[Any] = field(default_factory=list)
    #: The new table is sharded with an AUTO_INCREMENT column: sync its counter before the swap.
    sync_auto_increment: bool = False
    label: str = ""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        return cls(**data)

    def describe(self) -> list[str]:
        """The steps as a person reads them (``s2_rebuild --dry-run``)."""
        columns = ", ".join(f"{t} <- {s}" for t, s in zip(self.targets, self.sources, strict=True))
        return [
            f"capture ORM writes to {self.table} on {self.alias!r} (keys into RebuildKey)",
            f"create {self.new}: {self.create_sql}",
            f"copy {self.table} -> {self.new} in key order of {self.key_old}: {columns}",
            f"apply captured keys {self.table} -> {self.new} until the backlog is small",
            f"fence: rename {self.table} -> {self.old} (writers wait), drain, verify",
            f"swap: rename {self.new} -> {self.table}, drop {self.old}",
        ]


def build(
    editor: Any,
    model: type[models.Model],
    renamed: dict[str, str] | None = None,
    defaults: dict[str, Any] | None = None,
) -> Plan:
    """The plan for rebuilding ``model``'s table into ``model``'s current state.

    ``editor`` is a SingleStore schema editor (it renders the CREATE TABLE); ``renamed`` maps
    new column → old column, ``defaults`` gives new columns (and columns becoming NOT NULL)
    their value. Raises ``NotSupportedError`` for what the online rebuild cannot do.
    """
    renamed, defaults = renamed or {}, defaults or {}
    connection = editor.connection
    if connection.vendor != "singlestore":
        raise NotSupportedError(f"the online rebuild runs on SingleStore, not {connection.vendor}")
    opts = model._meta
    if opts.is_composite_pk or opts.pk.get_internal_type() not in KEY_TYPES:
        raise NotSupportedError(
            f"{opts.label}: the online rebuild needs a single-column integer, string or UUID "
            "primary key"
        )
    qn = connection.ops.quote_name
    table = opts.db_table
    new, old = editor._temp_name(table, "new"), editor._temp_name(table, "old")
    with connection.cursor() as cursor:
        existing = {
            info.name: info
            for info in connection.introspection.get_table_description(cursor, table)
        }
    create_sql, create_params = editor.table_sql(model, table_name=new)
    plan = Plan(
        alias=connection.alias,
        table=table,
        new=new,
        old=old,
        key_old=renamed.get(opts.pk.column, opts.pk.column),
        key_new=opts.pk.column,
        create_sql=create_sql,
        create_params=list(create_params or []),
        label=opts.label,
        sync_auto_increment=_sharded_auto_increment(model, connection),
    )
    for f in opts.local_concrete_fields:
        if f.generated or field_db_type(f, connection) is None:
            continue
        source = renamed.get(f.column, f.column)
        if source in existing:
            expression = qn(source)
            if not f.null and existing[source].null_ok and f.column in defaults:
                expression = f"COALESCE({expression}, %s)"
                plan.source_params.append(defaults[f.column])
        elif f.column in defaults:
            expression = "%s"
            plan.source_params.append(defaults[f.column])
        else:
            continue
        plan.targets.append(qn(f.column))
        plan.sources.append(expression)
    return plan


def _sharded_auto_increment(model: type[models.Model], connection: Any) -> bool:
    """Whether copied ids leave the new table's AUTO_INCREMENT counter behind (SingleStore)."""
    from django_singlestore.design import table_spec

    spec = table_spec(model, connection)
    return spec.is_sharded and any(c.auto_increment for c in spec.columns)
