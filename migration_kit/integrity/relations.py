"""Which relations exist: every foreign key, one-to-one, M2M through row and generic foreign key.

Discovery reads model metadata only, never the database's catalogue, because SingleStore keeps no
foreign keys for introspection to find (Django's own ``check_constraints`` relies on them).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.apps import apps
from django.contrib.contenttypes.fields import GenericForeignKey
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import models
from django.db.models import Model

FK = "fk"
O2O = "o2o"
M2M = "m2m"
GENERIC = "generic"
KINDS = (FK, O2O, M2M, GENERIC)


@dataclass(frozen=True)
class Relation:
    """One reference from rows of ``model`` to rows elsewhere.

    For ``fk``/``o2o``/``m2m`` relations ``field`` is the ForeignKey (or OneToOneField) on the
    child and ``target`` its related model. For ``generic`` relations ``field`` is the
    GenericForeignKey and ``target`` is None: each row names its own model.
    """

    kind: str
    model: type[Model]
    field: models.ForeignKey | GenericForeignKey

    @property
    def target(self) -> type[Model] | None:
        return None if self.kind == GENERIC else self.field.related_model

    @property
    def label(self) -> str:
        return f"{self.model._meta.label}.{self.field.name}"

    @property
    def target_label(self) -> str:
        if self.kind == GENERIC:
            ct_field = self.model._meta.get_field(self.field.ct_field)
            return f"{ct_field.related_model._meta.label} + object"
        return f"{self.field.related_model._meta.label}.{self.field.target_field.name}"

    @property
    def on_delete(self) -> str | None:
        """The name of the field's ``on_delete`` (``SET`` for ``models.SET(...)``), or None."""
        if self.kind == GENERIC:
            return None
        handler = self.field.remote_field.on_delete
        if hasattr(handler, "deconstruct"):
            return "SET"
        return handler.__name__


def checkable(model: type[Model]) -> bool:
    """True for models with a table of their own that Django manages."""
    opts = model._meta
    return opts.managed and not opts.proxy and not opts.swapped


def select_models(labels: Iterable[str] | None = None) -> list[type[Model]]:
    """The models named by ``app_label`` / ``app_label.Model`` labels (all models when empty).

    A named model brings the auto-created through tables of its many-to-many fields along.
    Raises LookupError with a readable message for unknown labels.
    """
    labels = list(labels or [])
    if not labels:
        chosen = apps.get_models(include_auto_created=True)
    else:
        chosen = []
        for label in labels:
            if "." in label:
                try:
                    model = apps.get_model(label)
                except (LookupError, ValueError) as exc:
                    raise LookupError(f"unknown model {label!r}: {exc}") from None
                chosen.append(model)
                chosen.extend(
                    f.remote_field.through
                    for f in model._meta.local_many_to_many
                    if f.remote_field.through._meta.auto_created
                )
            else:
                try:
                    config = apps.get_app_config(label)
                except LookupError:
                    raise LookupError(
                        f"unknown app label {label!r}; installed: "
                        + ", ".join(sorted(c.label for c in apps.get_app_configs()))
                    ) from None
                chosen.extend(config.get_models(include_auto_created=True))
    unique = list(dict.fromkeys(chosen))
    return [m for m in unique if checkable(m)]


def split_field_labels(labels: Iterable[str]) -> tuple[list[str], dict[str, set[str]]]:
    """Separate ``app_label.Model.field`` labels: model labels, and field names per model label.

    The model label of a field label is kept in the first list so the model gets selected.
    """
    model_labels: list[str] = []
    fields: dict[str, set[str]] = {}
    for label in labels:
        parts = label.split(".")
        if len(parts) > 3 or not all(parts):
            raise LookupError(
                f"{label!r} is not app_label, app_label.Model or app_label.Model.field"
            )
        if len(parts) == 3:
            model_label = ".".join(parts[:2])
            fields.setdefault(model_label.lower(), set()).add(parts[2])
            model_labels.append(model_label)
        else:
            model_labels.append(label)
    return model_labels, fields


def keep_fields(relations: list[Relation], fields: dict[str, set[str]]) -> list[Relation]:
    """Only the relations that ``app_label.Model.field`` labels name, where a model has some.

    A many-to-many field name selects both foreign keys of its auto-created through table.
    """
    wanted: set[tuple[type[Model], str]] = set()
    for model_label, names in fields.items():
        model = apps.get_model(model_label)
        for name in names:
            try:
                field = model._meta.get_field(name)
            except FieldDoesNotExist:
                raise LookupError(f"{model._meta.label} has no field {name!r}") from None
            if field.many_to_many and not field.auto_created:
                through = field.remote_field.through
                if not through._meta.auto_created:
                    raise LookupError(
                        f"{model._meta.label}.{name} goes through {through._meta.label}: "
                        "name that model (or its fields) instead"
                    )
                wanted.update((through, f.name) for f in through._meta.local_concrete_fields)
            elif isinstance(field, models.ForeignKey | GenericForeignKey):
                wanted.add((model, name))
            else:
                raise LookupError(f"{model._meta.label}.{name} is not a relation")
    restricted = {model for model, _ in wanted}
    for label in fields:
        model = apps.get_model(label)
        restricted.add(model)
        restricted.update(f.remote_field.through for f in model._meta.local_many_to_many)
    return [r for r in relations if r.model not in restricted or (r.model, r.field.name) in wanted]


def _through_models() -> set[type[Model]]:
    """Every model that serves as the through table of some many-to-many field."""
    through = set()
    for model in apps.get_models(include_auto_created=True):
        for field in model._meta.local_many_to_many:
            through.add(field.remote_field.through)
    return through


def discover(models_: Iterable[type[Model]]) -> list[Relation]:
    """Every relation whose child rows live in the tables of ``models_``, in a stable order.

    Only fields stored in a model's own table count (``local_concrete_fields``), so a
    multi-table-inheritance child checks its parent link but not its parent's foreign keys.
    """
    through = _through_models()
    found: list[Relation] = []
    for model in models_:
        for field in model._meta.local_concrete_fields:
            if not isinstance(field, models.ForeignKey):
                continue
            if field.related_model is None or isinstance(field.related_model, str):
                raise ImproperlyConfigured(f"{model._meta.label}.{field.name} is not resolved")
            if model in through:
                kind = M2M
            elif field.one_to_one:
                kind = O2O
            else:
                kind = FK
            found.append(Relation(kind, model, field))
        for private in model._meta.private_fields:
            if isinstance(private, GenericForeignKey) and private.model is model:
                found.append(Relation(GENERIC, model, private))
    return found
