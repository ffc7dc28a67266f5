"""SQL generation details where SingleStore's dialect differs from MySQL 8's."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from typing import Any

from django.db.backends.mysql.operations import DatabaseOperations as MySQLDatabaseOperations
from django.db.models import Model
from django.db.models.constants import OnConflict
from django.db.models.expressions import Col

from django_singlestore.design import table_spec
from django_singlestore.rules import DATE_BEFORE_1000

#: Parsers for date/time values that an expression returns as text (see get_db_converters).
_TEMPORAL_PARSERS: dict[str, Callable[[str], Any]] = {
    "DateField": datetime.date.fromisoformat,
    "DateTimeField": datetime.datetime.fromisoformat,
    "TimeField": datetime.time.fromisoformat,
}


def _from_year_1000(adapted: Any, value: Any) -> Any:
    """``adapted`` (a date/datetime as ``YYYY-MM-DD...`` text), or ValueError when its year is
    before 1000: SingleStore's DATE and DATETIME start at 1000-01-01 (S2-DATE-BEFORE-1000), and
    the server would refuse or alter the value."""
    if isinstance(adapted, str) and adapted[:4].isdigit() and adapted[:4] < "1000":
        raise ValueError(
            f"SingleStore cannot store or compare {value!r}: its DATE and DATETIME range starts "
            f"at 1000-01-01 ({DATE_BEFORE_1000.id}). Keep such values in a CharField or an "
            "IntegerField (e.g. a proleptic ordinal, date.toordinal())."
        )
    return adapted


class DatabaseOperations(MySQLDatabaseOperations):
    compiler_module = "django_singlestore.compiler"

    def get_db_converters(self, expression: Any) -> list:
        """MySQL's converters, plus text-to-date/time parsing for computed date/time values.

        A computed value's type is the server's: ``COALESCE(MIN(date_col), '1970-01-01')``
        (``Min(..., default=date)``) is text, not DATE (Django ticket #30224). Plain columns
        always come back typed, so they skip the check.
        """
        converters = super().get_db_converters(expression)
        parser = _TEMPORAL_PARSERS.get(expression.output_field.get_internal_type())
        if parser is not None and not isinstance(expression, Col):

            def parse_text(value: Any, expression: Any, connection: Any) -> Any:
                return parser(value) if isinstance(value, str) else value

            converters.insert(0, parse_text)
        return converters

    def adapt_datefield_value(self, value: Any) -> Any:
        """MySQL's text, refused before year 1000 (SingleStore's DATE range starts there)."""
        return _from_year_1000(super().adapt_datefield_value(value), value)

    def adapt_datetimefield_value(self, value: Any) -> Any:
        """MySQL's text (UTC under USE_TZ), refused before year 1000 (S2-DATE-BEFORE-1000)."""
        return _from_year_1000(super().adapt_datetimefield_value(value), value)

    def adapt_json_value(self, value: Any, encoder: type[json.JSONEncoder] | None) -> str:
        """JSON text with non-ASCII characters as themselves, the form the JSON lookups compare
        with (``json.py``); ``\\uXXXX`` escapes in stored keys would not match them."""
        return json.dumps(value, cls=encoder, ensure_ascii=False)

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

    def sync_auto_increment(self, model: type[Model]) -> bool:
        """Move a sharded table's AUTO_INCREMENT past ids that were written explicitly.

        Explicit ids (a table rebuild's copy, a backfill, mirrored writes) do not advance the
        aggregators' counters on sharded tables; AGGREGATOR SYNC AUTO_INCREMENT does, so later
        generated ids cannot collide with copied ones. Returns whether the table needed it.
        """
        spec = table_spec(model, self.connection)
        if not spec.is_sharded or not any(c.auto_increment for c in spec.columns):
            return False
        database = self.quote_name(self.connection.settings_dict["NAME"])
        table = f"{database}.{self.quote_name(spec.name)}"
        with self.connection.cursor() as cursor:
            cursor.execute(f"AGGREGATOR SYNC AUTO_INCREMENT ON {table}")
        return True

    def sequence_reset_by_name_sql(self, style: Any, sequences: list[dict]) -> list[str]:
        """``ALTER TABLE ... AUTO_INCREMENT = n`` is refused on sharded tables (1706)."""
        return []

    def regex_lookup(self, lookup_type: str) -> str:
        """SingleStore's REGEXP is case-insensitive under the default collation."""
        if lookup_type == "regex":
            return "%s REGEXP BINARY %s"
        return "%s REGEXP %s"

    def explain_query_prefix(self, format: str | None = None, **options: Any) -> str:
        """``EXPLAIN`` or ``EXPLAIN JSON``: skips MySQL's, whose ``FORMAT=...`` and TRADITIONAL
        are not SingleStore's EXPLAIN grammar."""
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
