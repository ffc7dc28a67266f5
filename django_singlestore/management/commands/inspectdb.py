"""``inspectdb`` that round-trips SingleStore's table design into ``Meta.constraints``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.core.management.commands import inspectdb
from django.db import connections

DESIGN_IMPORT = "from django_singlestore.design import ShardKey, SortKey, TableStorage"


class Command(inspectdb.Command):
    help = (
        inspectdb.Command.help
        + " On SingleStore, each model also gets TableStorage/ShardKey/SortKey entries."
    )

    def handle_inspection(self, options: dict[str, Any]) -> Iterator[str]:
        self._connection = connections[options["database"]]
        singlestore = self._connection.vendor == "singlestore"
        for line in super().handle_inspection(options):
            yield line
            if singlestore and line == f"from {self.db_module} import models":
                yield DESIGN_IMPORT

    def get_meta(
        self,
        table_name: str,
        constraints: dict,
        column_to_field_name: dict[str, str],
        is_view: bool,
        is_partition: bool,
        comment: str | None,
    ) -> list[str]:
        meta = super().get_meta(
            table_name, constraints, column_to_field_name, is_view, is_partition, comment
        )
        if self._connection.vendor != "singlestore" or is_view:
            return meta
        with self._connection.cursor() as cursor:
            design = self._connection.introspection.get_table_design(cursor, table_name)
        entries = []
        if design.storage.value != "COLUMNSTORE":
            entries.append(f"TableStorage({design.storage.value!r})")
        if design.shard_key is not None:
            fields = ", ".join(repr(column_to_field_name.get(c, c)) for c in design.shard_key)
            entries.append(f"ShardKey({fields})")
        if design.sort_key:
            fields = ", ".join(
                repr(("-" if desc else "") + column_to_field_name.get(c, c))
                for c, desc in design.sort_key
            )
            entries.append(f"SortKey({fields})")
        if entries:
            meta.append(f"        constraints = [{', '.join(entries)}]")
        return meta
