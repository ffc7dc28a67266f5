"""A migration autodetector that keeps a new model's table design inside its ``CreateModel``.

Django's autodetector takes ``Meta.constraints`` out of a new model and emits each entry as an
``AddConstraint`` after the ``CreateModel`` (and after the ``AddField`` of every relation it
splits off to break dependency cycles). The optimizer folds them back only when no other
operation stands in between. SingleStore fixes storage, shard key and sort key at CREATE TABLE,
so the first CREATE would use the default design and could be refused outright (a unique key on
a table that should be REFERENCE). This autodetector moves the design entries back into the
``CreateModel``; a relation a design entry names is moved along when that creates no cycle among
the new models, else that entry stays an ``AddConstraint`` (the schema editor then rebuilds the
table, see docs/backend.md).
"""

from __future__ import annotations

from collections.abc import Iterator

from django.conf import settings
from django.db.migrations import operations
from django.db.migrations.autodetector import MigrationAutodetector, OperationDependency
from django.db.models import BaseConstraint

from django_singlestore.design import TableDesign, UnenforcedUniqueConstraint

ModelKey = tuple[str, str]


def is_design_entry(constraint: BaseConstraint) -> bool:
    """Entries that shape the CREATE TABLE on SingleStore."""
    return isinstance(constraint, TableDesign | UnenforcedUniqueConstraint)


def _entry_fields(constraint: BaseConstraint) -> tuple[str, ...]:
    if isinstance(constraint, TableDesign):
        return constraint.field_names()
    return tuple(constraint.fields)


class DesignAutodetector(MigrationAutodetector):
    """``MigrationAutodetector`` whose new models are created with their table design."""

    def generate_created_models(self) -> None:
        super().generate_created_models()
        old_keys = self.old_model_keys | self.old_unmanaged_keys
        for app_label, model_name in sorted(self.new_model_keys - old_keys):
            self._fold_design(app_label, model_name)

    def _fold_design(self, app_label: str, model_name: str) -> None:
        """Move the design ``AddConstraint``s of a new model into its ``CreateModel``."""
        ops = self.generated_operations.get(app_label, [])
        create = self._create_operation(app_label, model_name)
        if create is None:
            return
        present = {name for name, _ in create.fields}
        split_fields = {
            op.name: op
            for op in ops
            if isinstance(op, operations.AddField) and op.model_name_lower == model_name
        }
        folded: list[BaseConstraint] = []
        for op in [
            op
            for op in ops
            if isinstance(op, operations.AddConstraint)
            and op.model_name_lower == model_name
            and is_design_entry(op.constraint)
        ]:
            missing = [name for name in _entry_fields(op.constraint) if name not in present]
            if not all(
                self._can_fold(app_label, model_name, split_fields.get(name)) for name in missing
            ):
                continue
            for name in missing:
                add_field = split_fields.pop(name)
                ops.remove(add_field)
                create.fields.append((name, add_field.field))
                create._auto_deps.extend(
                    dep
                    for dep in add_field._auto_deps
                    if self._dependency_model(dep) != (app_label, model_name)
                    and dep not in create._auto_deps
                )
                present.add(name)
            ops.remove(op)
            folded.append(op.constraint)
        if folded:
            create.options = {
                **create.options,
                "constraints": [*create.options.get("constraints", []), *folded],
            }

    def _create_operation(self, app_label: str, model_name: str) -> operations.CreateModel | None:
        return next(
            (
                op
                for op in self.generated_operations.get(app_label, [])
                if isinstance(op, operations.CreateModel) and op.name_lower == model_name
            ),
            None,
        )

    def _can_fold(
        self, app_label: str, model_name: str, add_field: operations.AddField | None
    ) -> bool:
        """Whether the split-off relation can join the CreateModel without a cycle."""
        if add_field is None or add_field.field.many_to_many:
            return False
        me = (app_label, model_name)
        targets = {self._dependency_model(dep) for dep in add_field._auto_deps} - {me, None}
        return not any(me in self._created_before(target) for target in targets)

    def _created_before(self, start: ModelKey) -> set[ModelKey]:
        """Every new model whose CreateModel must run before ``start``'s (transitively)."""
        seen: set[ModelKey] = set()
        todo = [start]
        while todo:
            key = todo.pop()
            create = self._create_operation(*key)
            if create is None:
                continue
            for dep in self._model_dependencies(create):
                if dep not in seen:
                    seen.add(dep)
                    todo.append(dep)
        return seen

    def _model_dependencies(self, create: operations.CreateModel) -> Iterator[ModelKey]:
        for dep in create._auto_deps:
            key = self._dependency_model(dep)
            if key is not None:
                yield key

    @staticmethod
    def _dependency_model(dep: OperationDependency) -> ModelKey | None:
        """The model a CREATE dependency waits for (swappable settings resolved)."""
        if dep.type != OperationDependency.Type.CREATE:
            return None
        if dep.app_label == "__setting__":
            target_app, target_model = getattr(settings, dep.model_name).split(".")
            return target_app, target_model.lower()
        return dep.app_label, dep.model_name_lower
