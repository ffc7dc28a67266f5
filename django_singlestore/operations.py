"""SQL generation details where SingleStore's dialect differs from MySQL 8's."""

from __future__ import annotations

from typing import Any

from django.db.backends.mysql.operations import DatabaseOperations as MySQLDatabaseOperations
from django.db.models.constants import OnConflict


class DatabaseOperations(MySQLDatabaseOperations):
    compiler_module = "django_singlestore.compiler"

    def sql_flush(
        self,
        style: Any,
        tables: list[str],
        *,
        reset_sequences: bool = False,
        allow_cascade: bool = False,
    ) -> list[str]:
        """DELETE (or TRUNCATE to restart AUTO_INCREMENT); there are no FK checks to toggle."""
        verb = "TRUNCATE" if reset_sequences else "DELETE FROM"
        return [
            f"{style.SQL_KEYWORD(verb)} {style.SQL_FIELD(self.quote_name(table))};"
            for table in tables
        ]

    def sequence_reset_by_name_sql(self, style: Any, sequences: list[dict]) -> list[str]:
        """``ALTER TABLE ... AUTO_INCREMENT = n`` is refused on sharded tables (1706)."""
        return []

    def regex_lookup(self, lookup_type: str) -> str:
        """SingleStore's REGEXP is case-insensitive under the default collation."""
        if lookup_type == "regex":
            return "%s REGEXP BINARY %s"
        return "%s REGEXP %s"

    def explain_query_prefix(self, format: str | None = None, **options: Any) -> str:
        if options.pop("analyze", False):
            raise ValueError("SingleStore has no EXPLAIN ANALYZE; use PROFILE instead.")
        prefix = super(MySQLDatabaseOperations, self).explain_query_prefix(format, **options)
        if format and format.upper() == "JSON":
            prefix += " JSON"
        return prefix

    def lookup_cast(self, lookup_type: str, internal_type: str | None = None) -> str:
        """JSON key transforms already yield strings for text lookups (see ``json.py``)."""
        return "%s"

    def on_conflict_suffix_sql(
        self,
        fields: list[Any],
        on_conflict: OnConflict | None,
        update_fields: list[str],
        unique_fields: list[str],
    ) -> str:
        """``ON DUPLICATE KEY UPDATE col = VALUES(col)``: SingleStore has no ``AS new`` alias."""
        if on_conflict == OnConflict.UPDATE:
            assignments = ", ".join(
                f"{name} = VALUES({name})" for name in map(self.quote_name, update_fields)
            )
            return f"ON DUPLICATE KEY UPDATE {assignments}"
        return super().on_conflict_suffix_sql(fields, on_conflict, update_fields, unique_fields)
