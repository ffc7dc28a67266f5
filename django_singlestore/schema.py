"""DDL for SingleStore: CREATE TABLE from the table design, and ALTERs SingleStore refuses
performed by rebuilding the table (or refused with the rule and the workaround)."""

from __future__ import annotations

from typing import Any

from django.db import NotSupportedError
from django.db.backends.mysql.schema import DatabaseSchemaEditor as MySQLDatabaseSchemaEditor
from django.db.models import Manager, Model, UniqueConstraint
from django.db.models.sql import Query

from django_singlestore import rules
from django_singlestore.design import (
    TableDesign,
    column_spec,
    describe,
    field_db_type,
    is_plain_unique,
    table_spec,
)
from django_singlestore.options import parse_storage


class ModelStorageManager(Manager):
    """Upstream-compatible per-model storage: ``objects = ModelStorageManager("REFERENCE")``.

    Recorded in migrations (``use_in_migrations``). ``TableStorage`` in ``Meta.constraints`` is
    the preferred spelling; both are read by :func:`django_singlestore.design.model_storage`.
    """

    use_in_migrations = True

    def __init__(self, table_storage_type: str = "", *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if table_storage_type:
            parse_storage(table_storage_type, "ModelStorageManager(table_storage_type=...)")
        self.table_storage_type = table_storage_type


class DatabaseSchemaEditor(MySQLDatabaseSchemaEditor):
    sql_create_table = "CREATE TABLE %(table)s (%(definition)s)"
    # No foreign keys, no CHECK constraints.
    sql_create_fk = None
    sql_create_inline_fk = None
    sql_create_column_inline_fk = None
    sql_create_check = None
    sql_delete_check = None
    sql_rename_table = "ALTER TABLE %(old_table)s RENAME TO %(new_table)s"
    sql_rename_column = "ALTER TABLE %(table)s CHANGE %(old_column)s %(new_column)s"

    # --- CREATE TABLE ---------------------------------------------------------------------

    def _rules_version(self) -> rules.Version | None:
        return self.connection.rules_version

    def table_sql(self, model: type[Model], table_name: str | None = None) -> tuple[str, list]:
        """CREATE TABLE for ``model``, rendered from the same TableSpec the checks judge."""
        spec = table_spec(model, self.connection)
        violations = rules.check_table(spec, self._rules_version())
        if violations:
            raise NotSupportedError(describe(violations, model._meta.label))
        for violation in rules.check_sort_key(spec, self._rules_version()):
            raise NotSupportedError(
                f"{model._meta.label}: {violation.message}; the table is "
                f"{spec.storage.value}. {violation.hint}"
            )
        params: list[Any] = []
        definitions = []
        for field in model._meta.local_concrete_fields:
            definition, extra = self._column_definition(model, field, inline_keys=False)
            if definition is None:
                continue
            definitions.append(f"{self.quote_name(field.column)} {definition}")
            params.extend(extra)
        definitions.extend(self._key_sql(key) for key in spec.keys)
        if spec.shard_key is not None:
            definitions.append(f"SHARD KEY ({self._columns(spec.shard_key)})")
        if spec.sort_key:
            sort = ", ".join(
                self.quote_name(col) + (" DESC" if desc else "") for col, desc in spec.sort_key
            )
            definitions.append(f"SORT KEY ({sort})")
        sql = self.sql_create_table % {
            "table": self.quote_name(table_name or model._meta.db_table),
            "definition": ", ".join(definitions),
        }
        if words := spec.storage.create_words:
            sql = f"CREATE {words} {sql.removeprefix('CREATE ')}"
        if comment := model._meta.db_table_comment:
            sql += f" COMMENT {self.quote_value(comment)}"
        return sql, params

    def _columns(self, columns: tuple[str, ...]) -> str:
        return ", ".join(self.quote_name(c) for c in columns)

    def _key_sql(self, key: rules.Key) -> str:
        columns = self._columns(key.columns)
        if key.kind == rules.PRIMARY:
            return f"PRIMARY KEY ({columns})"
        if key.kind == rules.UNIQUE:
            suffix = " UNENFORCED RELY" if key.unenforced else ""
            return f"UNIQUE KEY {self.quote_name(key.name)} ({columns}){suffix}"
        return f"KEY {self.quote_name(key.name)} ({columns})"

    def _column_definition(
        self,
        model: type[Model],
        field: Any,
        include_default: bool = False,
        inline_keys: bool = True,
    ) -> tuple[str | None, list]:
        db_params = field.db_parameters(connection=self.connection)
        db_type = field_db_type(field, self.connection)
        if db_type is None:
            return None, []
        if field.generated:
            return self._generated_column_sql(model, field, db_type)
        params: list[Any] = []
        parts = list(
            self._iter_column_sql(db_type, params, model, field, db_params, include_default)
        )
        if not inline_keys:
            parts = [part for part in parts if part not in ("PRIMARY KEY", "UNIQUE")]
        return " ".join(parts), params

    def column_sql(
        self, model: type[Model], field: Any, include_default: bool = False
    ) -> tuple[str | None, list | None]:
        definition, params = self._column_definition(model, field, include_default)
        if definition is None:
            return None, None
        return definition, params

    def _generated_column_sql(
        self, model: type[Model], field: Any, db_type: str
    ) -> tuple[str, list]:
        """SingleStore's persisted computed column: ``AS (expr) PERSISTED type``.

        Compiled against ``model``, not ``field.model``: a field passed to ``add_field`` before
        it is attached to a model class (as migrations' and Django's schema tests do) has none.
        """
        if not field.db_persist:
            raise NotSupportedError(
                f"{model._meta.label}.{field.name}: SingleStore computed columns are always "
                "PERSISTED; use GeneratedField(db_persist=True)."
            )
        compiler = Query(model=model, alias_cols=False).get_compiler(connection=self.connection)
        resolved = field.expression.resolve_expression(compiler.query, allow_joins=False)
        sql, params = compiler.compile(resolved)
        sql = sql % tuple(self.quote_value(p) for p in params)
        definition = f"AS ({sql}) PERSISTED {db_type}"
        if field.db_comment:
            definition += f" COMMENT {self.quote_value(field.db_comment)}"
        return definition, []

    def create_model(self, model: type[Model]) -> None:
        """One CREATE TABLE holding every key (SingleStore refuses most keys added later)."""
        sql, params = self.table_sql(model)
        self.execute(sql, params or None)
        for field in model._meta.local_many_to_many:
            if field.remote_field.through._meta.auto_created:
                self.create_model(field.remote_field.through)

    def _model_indexes_sql(self, model: type[Model]) -> list:
        """Indexes are part of CREATE TABLE (see :meth:`table_sql`)."""
        return []

    # --- ALTERs SingleStore refuses: rebuild, or explain ------------------------------------

    @property
    def _alter_strategy(self) -> str:
        return self.connection.s2_options.alter_strategy

    def _refused(self, model: type[Model], ops: list) -> list[rules.Violation]:
        spec = table_spec(model, self.connection)
        return rules.check_alter(spec, ops, self._rules_version())

    def _rebuild_or_refuse(
        self,
        old_model: type[Model],
        new_model: type[Model] | None,
        violations: list[rules.Violation],
        renamed: dict[str, str] | None = None,
        defaults: dict[str, Any] | None = None,
    ) -> None:
        label = old_model._meta.label
        strategy = self._alter_strategy
        if new_model is None or strategy == "refuse":
            why = (
                "the new model state is not available to rebuild from"
                if new_model is None
                else "OPTIONS['alter_strategy'] is 'refuse'"
            )
            raise NotSupportedError(
                f"{describe(violations, label)}. The backend did not rebuild the table because "
                f"{why}; rebuild it by hand (CREATE the new table, INSERT ... SELECT, RENAME), "
                "online with manage.py s2_rebuild, or allow rebuilds with "
                "OPTIONS['alter_strategy'] = 'rebuild'."
            )
        # Nothing can be lost copying an empty table; a table with rows is only copied offline
        # (losing writes made meanwhile) when the alias opts in.
        if strategy == "offline-rebuild" or not self._has_rows(old_model._meta.db_table):
            self.rebuild_table(new_model, renamed=renamed or {}, defaults=defaults or {})
            return
        from django.apps import apps

        if not apps.is_installed("migration_kit"):
            raise NotSupportedError(
                f"{describe(violations, label)}. The table has rows, and copying it while the "
                "application writes would lose those writes: add 'migration_kit' to "
                "INSTALLED_APPS for the online rebuild (docs/rebuild.md), or opt in to the "
                "offline one for a maintenance window with "
                "OPTIONS['alter_strategy'] = 'offline-rebuild'."
            )
        from migration_kit.rebuild import rebuild_model

        rebuild_model(self, new_model, renamed=renamed, defaults=defaults)

    def _has_rows(self, table: str) -> bool:
        if table not in self.connection.introspection.table_names():
            return True  # renamed away by an online rebuild killed in its fence: resume it
        with self.connection.cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {self.quote_name(table)} LIMIT 1")
            return cursor.fetchone() is not None

    def rebuild_table(
        self,
        model: type[Model],
        renamed: dict[str, str] | None = None,
        defaults: dict[str, Any] | None = None,
    ) -> None:
        """Recreate ``model``'s table with its current design and copy every row across.

        The copy goes into a new table first; if it fails, the new table is dropped and the
        original is untouched. Not online: writes made during the copy are not carried over.
        """
        renamed = renamed or {}
        defaults = defaults or {}
        table = model._meta.db_table
        temp = self._temp_name(table, "new")
        retired = self._temp_name(table, "old")
        with self.connection.cursor() as cursor:
            existing = {
                info.name
                for info in self.connection.introspection.get_table_description(cursor, table)
            }
        sql, params = self.table_sql(model, table_name=temp)
        self.execute(sql, params or None)
        targets, sources, copy_params = [], [], []
        for field in model._meta.local_concrete_fields:
            if field.generated or field_db_type(field, self.connection) is None:
                continue
            source = renamed.get(field.column, field.column)
            if source in existing:
                targets.append(self.quote_name(field.column))
                sources.append(self.quote_name(source))
            elif field.column in defaults:
                targets.append(self.quote_name(field.column))
                sources.append("%s")
                copy_params.append(defaults[field.column])
        try:
            self.execute(
                f"INSERT INTO {self.quote_name(temp)} ({', '.join(targets)}) "
                f"SELECT {', '.join(sources)} FROM {self.quote_name(table)}",
                copy_params,
            )
        except Exception:
            self.execute(f"DROP TABLE {self.quote_name(temp)}")
            raise
        self.execute(self._rename_table_sql(table, retired))
        self.execute(self._rename_table_sql(temp, table))
        self.execute(f"DROP TABLE {self.quote_name(retired)}")
        self.connection.ops.sync_auto_increment(model)

    def _rename_table_sql(self, old: str, new: str) -> str:
        return self.sql_rename_table % {
            "old_table": self.quote_name(old),
            "new_table": self.quote_name(new),
        }

    def _temp_name(self, table: str, tag: str) -> str:
        suffix = f"__s2{tag}"
        return table[: self.connection.ops.max_name_length() - len(suffix)] + suffix

    @staticmethod
    def _model_holding(field: Any) -> type[Model] | None:
        """The (new-state) model ``field`` belongs to, if it really is one of its fields."""
        model = getattr(field, "model", None)
        if model is None or not hasattr(model, "_meta"):
            return None
        try:
            return model if model._meta.get_field(field.name) is field else None
        except Exception:
            return None

    def add_field(self, model: type[Model], field: Any) -> None:
        if (
            field.many_to_many
            or field.generated
            or (column := column_spec(field, self.connection)) is None
        ):
            return super().add_field(model, field)
        ops = [rules.AddColumn(column, primary_key=field.primary_key, unique=field.unique)]
        violations = self._refused(model, ops)
        if violations:
            default = self.effective_default(field)
            self._rebuild_or_refuse(
                model,
                self._model_holding(field),
                violations,
                defaults={field.column: default} if default is not None else {},
            )
            return
        super().add_field(model, field)

    def _alter_field(
        self,
        model: type[Model],
        old_field: Any,
        new_field: Any,
        old_type: str,
        new_type: str,
        old_db_params: dict,
        new_db_params: dict,
        strict: bool = False,
    ) -> None:
        ops: list = []
        if old_field.column != new_field.column:
            ops.append(rules.RenameColumn(old_field.column, new_field.column))
        # Both have a column: Django's alter_field() only calls this when both types are set.
        new_column = column_spec(new_field, self.connection)
        old_column = column_spec(old_field, self.connection)
        assert new_column is not None and old_column is not None
        if (old_column.type, old_column.nullable, old_column.auto_increment) != (
            new_column.type,
            new_column.nullable,
            new_column.auto_increment,
        ):
            ops.append(rules.ModifyColumn(new_field.column, new_column))
        if new_field.unique and not old_field.unique and not new_field.primary_key:
            ops.append(rules.AddKey(rules.Key(new_field.column, (new_field.column,), rules.UNIQUE)))
        if new_field.primary_key and not old_field.primary_key:
            ops.append(rules.AddKey(rules.Key(rules.PRIMARY, (new_field.column,), rules.PRIMARY)))
        violations = self._refused(model, ops) if ops else []
        if violations:
            default = self.effective_default(new_field)
            self._rebuild_or_refuse(
                model,
                self._model_holding(new_field),
                violations,
                renamed={new_field.column: old_field.column},
                # NULL → NOT NULL: existing NULLs take the default, as Django's ALTER does.
                defaults={new_field.column: default}
                if old_field.null and not new_field.null and default is not None
                else {},
            )
            return
        super()._alter_field(
            model, old_field, new_field, old_type, new_type, old_db_params, new_db_params, strict
        )

    def add_constraint(self, model: type[Model], constraint: Any) -> None:
        plain_unique = isinstance(constraint, UniqueConstraint) and is_plain_unique(
            constraint, self
        )
        if isinstance(constraint, TableDesign) or plain_unique:
            self._redesign(model, constraint, added=True)
            return
        super().add_constraint(model, constraint)

    def remove_constraint(self, model: type[Model], constraint: Any) -> None:
        if isinstance(constraint, TableDesign):
            self._redesign(model, constraint, added=False)
            return
        super().remove_constraint(model, constraint)

    def _redesign(self, model: type[Model], constraint: Any, added: bool) -> None:
        """Add/remove a design entry or unique key: the table is rebuilt to the new state."""
        in_model = any(c.name == constraint.name for c in model._meta.constraints)
        if isinstance(constraint, TableDesign):
            violations = [
                rules.Violation(
                    rules.ALTER_DROP_SHARD,
                    f"{type(constraint).__name__} is fixed when the table is created: SingleStore "
                    "cannot change storage, shard key or sort key with ALTER TABLE",
                )
            ]
        else:
            columns = tuple(model._meta.get_field(name).column for name in constraint.fields)
            key = rules.Key(constraint.name, columns, rules.UNIQUE)
            violations = self._refused(model, [rules.AddKey(key)] if added else [])
            if not violations:
                return super().add_constraint(model, constraint)
        self._rebuild_or_refuse(model, model if in_model == added else None, violations)

    def alter_unique_together(
        self, model: type[Model], old_unique_together: Any, new_unique_together: Any
    ) -> None:
        olds = {tuple(fields) for fields in old_unique_together}
        news = {tuple(fields) for fields in new_unique_together}
        ops = [
            rules.AddKey(
                rules.Key(
                    "_".join(fields),
                    tuple(model._meta.get_field(name).column for name in fields),
                    rules.UNIQUE,
                )
            )
            for fields in news - olds
        ]
        violations = self._refused(model, ops) if ops else []
        if violations:
            current = {tuple(f) for f in model._meta.unique_together}
            self._rebuild_or_refuse(model, model if current == news else None, violations)
            return
        super().alter_unique_together(model, old_unique_together, new_unique_together)

    def alter_db_table_comment(
        self, model: type[Model], old_db_table_comment: str | None, new_db_table_comment: str | None
    ) -> None:
        """SingleStore cannot change a table comment (S2-ALTER-COMMENT): rebuild instead."""
        violation = rules.Violation(rules.ALTER_TABLE_COMMENT, rules.ALTER_TABLE_COMMENT.format())
        current = model._meta.db_table_comment or ""
        self._rebuild_or_refuse(
            model, model if current == (new_db_table_comment or "") else None, [violation]
        )


__all__ = ["DatabaseSchemaEditor", "ModelStorageManager"]
