"""``RebuildTable``: a migration operation that rebuilds one model's table online.

For what no field operation expresses (a table that must be recreated in its current design,
or a migration that wants the rebuild's options spelled out). Refused ALTERs in ordinary
``AlterField``/``AddField``/``AddConstraint`` operations need none of this: the SingleStore
schema editor hands them to the online rebuild itself. A no-op on other databases.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

from migration_kit.rebuild.runner import Options


class RebuildTable(migrations.operations.base.Operation):
    """Rebuild ``model_name``'s table online into the model's state after this migration."""

    reversible = True
    reduces_to_sql = False

    def __init__(self, model_name: str, fence_seconds: float | None = None) -> None:
        self.model_name = model_name
        self.fence_seconds = fence_seconds

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        kwargs: dict[str, Any] = {"model_name": self.model_name}
        if self.fence_seconds is not None:
            kwargs["fence_seconds"] = self.fence_seconds
        return self.__class__.__qualname__, [], kwargs

    def state_forwards(self, app_label: str, state: Any) -> None:
        """The model's state does not change: only its table is recreated."""

    def _rebuild(self, app_label: str, schema_editor: Any, state: Any) -> None:
        if schema_editor.connection.vendor != "singlestore":
            return
        model = state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        from migration_kit.rebuild import rebuild_model

        options = Options()
        if self.fence_seconds is not None:
            options.fence_seconds = self.fence_seconds
        rebuild_model(schema_editor, model, options=options)

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        self._rebuild(app_label, schema_editor, to_state)

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        self._rebuild(app_label, schema_editor, to_state)

    def describe(self) -> str:
        return f"Rebuild the table of {self.model_name} online"

    @property
    def migration_name_fragment(self) -> str:
        return f"rebuild_{self.model_name.lower()}"
