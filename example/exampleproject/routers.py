"""The one placement this project adds to ``s2router``: where the migration kit keeps state.

The kit writes an outbox entry in the same transaction as each write to a migrating model, on
the database that takes the primary write: the source before cutover, SingleStore after it. So
its tables must exist on every database (on SingleStore as reference tables, see settings).
``s2router`` only creates what it places on SingleStore, so this router goes first.
"""

from typing import Any


class KitStateRouter:
    """``migration_kit``'s tables on every alias; legacy MySQL holds nothing else of ours."""

    def allow_migrate(
        self, db: str, app_label: str, model_name: str | None = None, **hints: Any
    ) -> bool | None:
        if app_label == "migration_kit":
            return True
        if db == "mysql" and app_label in {"shop", "catalog"}:
            return False
        return None
