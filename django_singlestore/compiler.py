"""SQL compilers: MySQL's, with vendor dispatch ``as_singlestore`` → ``as_mysql`` → ``as_sql``.

Our vendor is ``"singlestore"`` so that SingleStore-only SQL (JSON above all) is attached to
Django's expressions as ``as_singlestore`` methods that no other backend ever calls. Where an
expression has no SingleStore rendering, MySQL's dialect is the right fallback.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.mysql import compiler as mysql_compiler
from django.db.models.sql import compiler as base_compiler


class SingleStoreCompilerMixin:
    def compile(self, node: Any) -> tuple[str, Any]:
        impl = getattr(node, "as_singlestore", None) or getattr(node, "as_mysql", None)
        if impl is not None:
            return impl(self, self.connection)
        return node.as_sql(self, self.connection)


class SQLCompiler(SingleStoreCompilerMixin, mysql_compiler.SQLCompiler):
    pass


class SQLInsertCompiler(SingleStoreCompilerMixin, mysql_compiler.SQLInsertCompiler):
    pass


class SQLDeleteCompiler(SingleStoreCompilerMixin, mysql_compiler.SQLDeleteCompiler):
    pass


class SQLUpdateCompiler(SingleStoreCompilerMixin, base_compiler.SQLUpdateCompiler):
    """Plain UPDATE: MySQL's ``UPDATE ... ORDER BY`` is not part of SingleStore's grammar."""


class SQLAggregateCompiler(SingleStoreCompilerMixin, mysql_compiler.SQLAggregateCompiler):
    pass
