"""Table design in model code: storage type, shard key and sort key as ``Meta.constraints``.

Entries in ``Meta.constraints`` are recorded in migrations (``CreateModel`` options,
``AddConstraint`` / ``RemoveConstraint``) and ignored by every other database backend, so a
model can live on PostgreSQL and on SingleStore at once::

    from django_singlestore.design import ShardKey, SortKey, TableStorage

    class Event(models.Model):
        tenant = models.ForeignKey(Tenant, on_delete=models.DO_NOTHING)
        created = models.DateTimeField()

        class Meta:
            constraints = [
                TableStorage("COLUMNSTORE"),
                ShardKey("tenant"),
                SortKey("-created"),
            ]

:func:`table_spec` turns a model into the rules catalogue's :class:`~.rules.TableSpec`; the
schema editor renders CREATE TABLE from it and the system checks judge it with
:func:`~.rules.check_table`, so a model is judged exactly as its DDL will be.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.core import checks
from django.db import NotSupportedError
from django.db.models import BaseConstraint, Model, UniqueConstraint
from django.db.models.fields.composite import CompositePrimaryKey

from django_singlestore import rules
from django_singlestore.options import parse_storage
from django_singlestore.rules import Storage

__all__ = [
    "ShardKey",
    "SortKey",
    "TableStorage",
    "UnenforcedUniqueConstraint",
    "model_storage",
    "table_spec",
]

VENDOR = "singlestore"


class TableDesign(BaseConstraint):
    """A ``Meta.constraints`` entry that shapes the table instead of restricting its rows.

    SingleStore fixes storage, shard key and sort key at CREATE TABLE, so adding or removing one
    later goes through the schema editor's table rebuild (or is refused, see docs/backend.md).
    Other backends ignore these entries entirely.
    """

    default_name = ""

    def __init__(self, *, name: str | None = None) -> None:
        super().__init__(name=name or f"%(app_label)s_%(class)s_{self.default_name}")

    def constraint_sql(self, model: type[Model], schema_editor: Any) -> None:
        return None

    def create_sql(self, model: type[Model], schema_editor: Any) -> None:
        return None

    def remove_sql(self, model: type[Model], schema_editor: Any) -> None:
        return None

    def validate(self, *args: Any, **kwargs: Any) -> None:
        """Layout, not a rule on rows: nothing to validate per instance."""

    def _check(self, model: type[Model], connection: Any) -> list[checks.CheckMessage]:
        return model._check_local_fields(set(self.field_names()), "constraints")

    def field_names(self) -> tuple[str, ...]:
        return ()

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.deconstruct() == other.deconstruct()

    def __hash__(self) -> int:
        return hash(repr(self.deconstruct()))


class TableStorage(TableDesign):
    """``CREATE [ROWSTORE] [REFERENCE] TABLE``: COLUMNSTORE, ROWSTORE, REFERENCE or ROWSTORE
    REFERENCE. Reference tables are copied to every node and may carry any unique key."""

    default_name = "storage"

    def __init__(self, storage: str, *, name: str | None = None) -> None:
        self.storage = parse_storage(storage, "TableStorage()")
        super().__init__(name=name)

    def deconstruct(self) -> tuple[str, tuple, dict]:
        path, _, kwargs = super().deconstruct()
        return path, (self.storage.value,), kwargs

    def __repr__(self) -> str:
        return f"<TableStorage {self.storage.value!r} name={self.name!r}>"


class ShardKey(TableDesign):
    """``SHARD KEY (fields)``; ``ShardKey()`` with no fields is a keyless (random) table.

    Every enforced unique key, the primary key included, must contain these fields. A keyless
    table can have no unique key at all, so its primary key column is created under a plain KEY
    (Django still uses it as the pk; the database no longer enforces its uniqueness).
    """

    default_name = "shard_key"

    def __init__(self, *fields: str, name: str | None = None) -> None:
        self.fields = tuple(fields)
        super().__init__(name=name)

    def field_names(self) -> tuple[str, ...]:
        return self.fields

    def deconstruct(self) -> tuple[str, tuple, dict]:
        path, _, kwargs = super().deconstruct()
        return path, self.fields, kwargs

    def __repr__(self) -> str:
        return f"<ShardKey {self.fields!r} name={self.name!r}>"


class SortKey(TableDesign):
    """``SORT KEY (fields)`` of a columnstore table; ``"-field"`` sorts descending."""

    default_name = "sort_key"

    def __init__(self, *fields: str, name: str | None = None) -> None:
        if not fields:
            raise ValueError("SortKey() needs at least one field.")
        self.fields = tuple(fields)
        super().__init__(name=name)

    def field_names(self) -> tuple[str, ...]:
        return tuple(f.removeprefix("-") for f in self.fields)

    def deconstruct(self) -> tuple[str, tuple, dict]:
        path, _, kwargs = super().deconstruct()
        return path, self.fields, kwargs

    def __repr__(self) -> str:
        return f"<SortKey {self.fields!r} name={self.name!r}>"


class UnenforcedUniqueConstraint(UniqueConstraint):
    """A unique key SingleStore records but does not enforce (``UNIQUE ... UNENFORCED RELY``).

    It escapes the shard-key rule; Django's model validation still checks it in Python. Other
    backends create an ordinary (enforced) unique constraint.
    """

    def constraint_sql(self, model: type[Model], schema_editor: Any) -> str | None:
        if schema_editor.connection.vendor == VENDOR:
            return None
        return super().constraint_sql(model, schema_editor)


def _declared(model: type[Model], kind: type[TableDesign]) -> TableDesign | None:
    found = [c for c in model._meta.constraints if isinstance(c, kind)]
    if len(found) > 1:
        raise NotSupportedError(
            f"{model._meta.label} declares {len(found)} {kind.__name__} entries in "
            "Meta.constraints; a table has at most one."
        )
    return found[0] if found else None


def _explicit_storage(model: type[Model]) -> Storage | None:
    declared = _declared(model, TableStorage)
    if declared is not None:
        return declared.storage
    # A manager carrying ``table_storage_type`` is schema.ModelStorageManager; read by the
    # attribute, so this module never imports the schema editor that imports it.
    for manager in model._meta.local_managers:
        if storage_type := getattr(manager, "table_storage_type", ""):
            return parse_storage(storage_type, f"{model._meta.label}.objects")
    return None


def model_storage(model: type[Model], connection: Any) -> Storage:
    """Storage for ``model`` on ``connection``: the model's own declaration (TableStorage, or
    upstream's ModelStorageManager), else the declaring model's for an auto-created M2M table,
    else ``$DJANGO_SINGLESTORE_TABLE_STORAGE_TYPE_<APP>``, else OPTIONS, else COLUMNSTORE."""
    explicit = _explicit_storage(model)
    if explicit is not None:
        return explicit
    owner = model._meta.auto_created
    if owner:
        explicit = _explicit_storage(owner)
        if explicit is not None:
            return explicit
    from_settings = connection.s2_options.storage_for_app(model._meta.app_label)
    return from_settings or Storage.COLUMNSTORE


def _column(model: type[Model], name: str) -> str:
    return model._meta.get_field(name).column


def is_auto_m2m(model: type[Model]) -> bool:
    return bool(model._meta.auto_created) and len(model._meta.local_fields) == 3


def _m2m_from_column(model: type[Model]) -> str:
    """The first foreign key of an auto-created through table (Django's ``from_<model>_id``)."""
    return next(f.column for f in model._meta.local_fields if f.is_relation)


def field_db_type(field: Any, connection: Any) -> str | None:
    """The column type, with foreign keys to auto fields widened to BIGINT like their target
    (also through a chain of keys, e.g. to a multi-table child whose pk is its parent link)."""
    db_type = field.db_parameters(connection=connection)["type"]
    if db_type and field.is_relation and (field.many_to_one or field.one_to_one):
        target = getattr(field, "target_field", None)
        while target is not None and target.is_relation:
            target = getattr(target, "target_field", None)
        if target is not None and target.get_internal_type() in ("AutoField", "SmallAutoField"):
            return "bigint"
    return db_type


def _is_auto(field: Any) -> bool:
    return field.get_internal_type() in ("AutoField", "BigAutoField", "SmallAutoField")


def column_spec(field: Any, connection: Any) -> rules.Column | None:
    """The rules catalogue's column for ``field``; ``None`` for a field without a column."""
    db_type = field_db_type(field, connection)
    if db_type is None:
        return None
    return rules.Column(
        name=field.column,
        type=" ".join(db_type.lower().split()),
        nullable=field.null,
        auto_increment=_is_auto(field),
        comment=field.db_comment,
    )


def primary_key_columns(model: type[Model]) -> tuple[str, ...]:
    pk = model._meta.pk
    if isinstance(pk, CompositePrimaryKey):
        return tuple(pk.columns)
    return (pk.column,) if pk is not None else ()


def is_plain_unique(constraint: UniqueConstraint, schema_editor: Any) -> bool:
    """Whether ``constraint`` is an ordinary UNIQUE KEY on columns, the only kind created here
    (the schema editor's own test: no condition, expressions, deferral, INCLUDE or NULLS
    DISTINCT option this backend lacks)."""
    return schema_editor._unique_supported(
        condition=constraint.condition,
        deferrable=constraint.deferrable,
        include=constraint.include,
        expressions=constraint.expressions,
        nulls_distinct=constraint.nulls_distinct,
    )


def _is_limited_type(field: Any, connection: Any) -> bool:
    """TEXT/BLOB/JSON columns get no ``db_index`` key, as on MySQL
    (``features.supports_index_on_text_field`` is False)."""
    db_type = field.db_type(connection)
    return db_type is not None and db_type.lower() in connection._limited_data_types


def table_spec(model: type[Model], connection: Any) -> rules.TableSpec:
    """The table SingleStore would hold for ``model`` on ``connection``."""
    meta = model._meta
    # One schema editor names the keys and judges the unique constraints.
    editor = connection.schema_editor()

    def index_name(columns: Sequence[str], suffix: str) -> str:
        """The key name Django's schema editor would give ``columns`` of the table."""
        return editor._create_index_name(meta.db_table, list(columns), suffix=suffix)

    storage = model_storage(model, connection)
    unenforce_fields = connection.s2_options.unique_unenforced_for_app(meta.app_label)
    columns: list[rules.Column] = []
    keys: list[rules.Key] = []
    auto_m2m = is_auto_m2m(model) and not storage.is_reference
    pk_columns = primary_key_columns(model)

    for field in meta.local_concrete_fields:
        column = column_spec(field, connection)
        if column is not None:
            columns.append(column)
    shard = _declared(model, ShardKey)
    keyless = shard is not None and not shard.fields and not storage.is_reference
    if auto_m2m or keyless:
        # A sharded through table cannot be unique on (from, to) and on id at once, and a
        # keyless table has no unique keys at all: the pk keeps AUTO_INCREMENT under a plain key.
        keys.append(rules.Key(index_name(pk_columns, ""), pk_columns))
    elif pk_columns:
        keys.append(rules.Key(rules.PRIMARY, pk_columns, rules.PRIMARY))
    for field in meta.local_concrete_fields:
        if field.primary_key or field.db_parameters(connection=connection)["type"] is None:
            continue
        if field.unique:
            keys.append(
                rules.Key(
                    field.column,
                    (field.column,),
                    rules.UNIQUE,
                    unenforced=unenforce_fields,
                    rely=unenforce_fields,
                )
            )
        elif field.db_index and not _is_limited_type(field, connection):
            keys.append(rules.Key(index_name((field.column,), ""), (field.column,)))
    for field_names in meta.unique_together:
        cols = tuple(_column(model, name) for name in field_names)
        keys.append(rules.Key(index_name(cols, "_uniq"), cols, rules.UNIQUE))
    for constraint in meta.constraints:
        if isinstance(constraint, UniqueConstraint):
            if not is_plain_unique(constraint, editor):
                # Like every backend without partial/functional/deferrable/covering unique
                # keys: Django's checks warn (models.W036/W038/W039/W044) and it is not created.
                continue
            cols = tuple(_column(model, name) for name in constraint.fields)
            unenforced = isinstance(constraint, UnenforcedUniqueConstraint)
            keys.append(
                rules.Key(
                    constraint.name, cols, rules.UNIQUE, unenforced=unenforced, rely=unenforced
                )
            )
    for index in meta.indexes:
        if index.contains_expressions:
            continue  # not created, as on MySQL (Django's check models.W043 says so)
        cols = tuple(_column(model, name) for name, _ in index.fields_orders)
        keys.append(rules.Key(index.name, cols))

    if storage.is_reference:
        shard_key = None
    elif shard is not None:
        shard_key = tuple(_column(model, name) for name in shard.fields)
    elif auto_m2m:
        shard_key = (_m2m_from_column(model),)
    else:
        shard_key = None
    sort = _declared(model, SortKey)
    sort_key = (
        tuple(
            (_column(model, name.removeprefix("-")), name.startswith("-")) for name in sort.fields
        )
        if sort is not None
        else ()
    )
    return rules.TableSpec(
        name=meta.db_table,
        storage=storage,
        columns=tuple(columns),
        keys=tuple(keys),
        shard_key=shard_key,
        sort_key=sort_key,
        comment=meta.db_table_comment,
    )


#: What to do in Django terms when the rules catalogue refuses a model's table.
DJANGO_HINTS = {
    rules.SHARD_UNIQUE.id: (
        "Declare ShardKey(...) on fields the key contains, add the shard-key fields to the "
        "unique constraint, make the table TableStorage('REFERENCE'), or make the key "
        "UnenforcedUniqueConstraint (DJANGO_SINGLESTORE_NOT_ENFORCED_UNIQUE_<APP> or OPTIONS "
        "'not_enforced_unique' for unique=True fields). For a many-to-many, use a through model "
        "sharded on its first foreign key."
    ),
    rules.EMPTY_SHARD_KEY_UNIQUE.id: (
        "A keyless table (ShardKey()) cannot have unique keys: declare ShardKey on fields of "
        "the primary key, or make the other keys UnenforcedUniqueConstraint."
    ),
    rules.COLUMNSTORE_MULTI_UNIQUE.id: (
        "Keep one enforced unique key: turn the others into UnenforcedUniqueConstraint, or use "
        "TableStorage('ROWSTORE') / TableStorage('REFERENCE')."
    ),
    rules.FLOAT_PRIMARY_KEY.id: (
        "Use a DecimalField or integer primary key, or TableStorage('ROWSTORE')."
    ),
    rules.REFERENCE_WITHOUT_PK.id: "Give the model a primary key.",
    rules.SORT_KEY_ROWSTORE.id: (
        "Remove SortKey, or use TableStorage('COLUMNSTORE') or 'REFERENCE'."
    ),
}


def django_hint(violation: rules.Violation) -> str:
    return DJANGO_HINTS.get(violation.rule.id, violation.hint)


def describe(violations: Iterable[rules.Violation], label: str) -> str:
    return "; ".join(
        f"{label}: {v.message} [{v.rule.id}, error {v.errno}]. Fix: {django_hint(v)}"
        for v in violations
    )
