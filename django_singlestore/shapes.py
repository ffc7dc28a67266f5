"""The backend's view of the query shapes SingleStore's planner refuses (``rules.SHAPE_RULES``),
read off Django's resolved query tree before any SQL is sent.

Django resolves ``OuterRef`` into a plain ``Col`` whose alias belongs to an enclosing query, and
gives every subquery aliases of its own (``U0``, ``V0``…), so which select a column belongs to is
the innermost query on the path from the statement down whose ``alias_map`` holds the alias.
A branch of a combined query (``union()``…) inside a subquery counts as a level, as the server
counted it. The planner rules apply only where a sharded table is involved, as in the emulator.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from django.apps import apps
from django.db.models.expressions import Col, OuterRef, ResolvedOuterRef
from django.db.models.sql.query import Query

from django_singlestore.design import model_storage

#: A path of selects, outermost first: each one's table aliases.
Chain = tuple[frozenset[str], ...]


def _own_expressions(query: Query) -> Iterator[Any]:
    """The expressions of one select (not those of the queries nested in them)."""
    yield query.where
    yield from query.annotations.values()
    yield from (e for e in query.select if hasattr(e, "get_source_expressions"))
    yield from (e for e in query.order_by if hasattr(e, "get_source_expressions"))
    if isinstance(query.group_by, tuple):
        yield from (e for e in query.group_by if hasattr(e, "get_source_expressions"))


def columns(node: Any, chain: Chain) -> Iterator[tuple[Col, Chain]]:
    """Every column under ``node`` (an expression or a Query), with the chain of selects it
    sits in; ``chain`` is the path to the select ``node`` belongs to."""
    stack = [(node, chain)]
    while stack:
        node, path = stack.pop()
        if isinstance(node, Query):
            if node.combinator:
                for branch in node.combined_queries:
                    inner = (*path, frozenset(), _key(branch))
                    stack.extend((e, inner) for e in _own_expressions(branch))
                continue
            inner = (*path, _key(node))
            stack.extend((e, inner) for e in _own_expressions(node))
            continue
        if isinstance(node, Col | ResolvedOuterRef):
            yield node, path
            continue
        sources = getattr(node, "get_source_expressions", None)
        if sources is not None:
            stack.extend((e, path) for e in sources() if e is not None)


def _key(query: Query) -> frozenset[str]:
    return frozenset(query.alias_map)


def levels_up(col: Col | ResolvedOuterRef, chain: Chain) -> int | None:
    """How many selects out the column's table is defined (0: its own select); None when no
    select on the chain defines it (it belongs to a query outside the one being looked at).
    An OuterRef not resolved yet (a subquery compiled in ORDER BY) is one level out, plus one
    per OuterRef it wraps."""
    if isinstance(col, ResolvedOuterRef):
        distance, name = 1, col.name
        while isinstance(name, OuterRef):
            distance, name = distance + 1, name.name
        return distance
    for distance, aliases in enumerate(reversed(chain)):
        if col.alias in aliases:
            return distance
    return None


def reaches_two_levels(query: Query) -> bool:
    """Whether a column anywhere under ``query`` (compiled as the statement) names a table of a
    select more than one level up: ``OuterRef(OuterRef(...))``, or ``OuterRef`` in a branch of
    a combined subquery."""
    root: Chain = (_key(query),)
    return any((levels_up(c, path) or 0) > 1 for c, path in columns_of(query, root))


def columns_of(query: Query, chain: Chain) -> Iterator[tuple[Col, Chain]]:
    """Every column of ``query``'s own expressions and of the queries nested in them (the
    branches' of a combined statement, each its own statement)."""
    if query.combinator:
        for branch in query.combined_queries:
            yield from columns_of(branch, (_key(branch),))
        return
    for expression in _own_expressions(query):
        yield from columns(expression, chain)


def correlated_subquery(expression: Any, query: Query) -> bool:
    """Whether ``expression`` (an ORDER BY / GROUP BY / HAVING item of ``query``) holds a
    subquery that refers to ``query`` or a select enclosing it."""
    base: Chain = (_key(query),)
    for col, path in columns(expression, base):
        if len(path) > len(base):
            distance = levels_up(col, path)
            if distance is None or distance >= len(path) - len(base):
                return True
    return False


def has_subquery(expression: Any) -> bool:
    """Whether a subquery (Subquery, Exists, ``__in=queryset``) sits under ``expression``."""
    stack = [expression]
    while stack:
        node = stack.pop()
        if isinstance(node, Query):
            return True
        sources = getattr(node, "get_source_expressions", None)
        if sources is not None:
            stack.extend(e for e in sources() if e is not None)
    return False


@lru_cache(maxsize=1)
def _models_by_table() -> dict[str, Any]:
    return {m._meta.db_table: m for m in apps.get_models(include_auto_created=True)}


def touches_sharded(query: Query, connection: Any, columnstore: bool = False) -> bool:
    """Whether the statement reads a sharded (``columnstore``: a columnstore) table: its own
    tables or a nested query's (a table Django has no model for counts as SingleStore's
    default, a sharded columnstore table)."""
    models = _models_by_table()
    stack: list[Any] = [query]
    while stack:
        node = stack.pop()
        if isinstance(node, Query):
            tables = [t.table_name for t in node.alias_map.values()] or (
                [node.model._meta.db_table] if node.model is not None else []
            )
            for table in tables:
                model = models.get(table)
                storage = model_storage(model, connection) if model is not None else None
                if storage is None or (
                    storage.is_columnstore if columnstore else not storage.is_reference
                ):
                    return True
            stack.extend(node.combined_queries)
            stack.extend(_own_expressions(node))
            continue
        sources = getattr(node, "get_source_expressions", None)
        if sources is not None:
            stack.extend(e for e in sources() if e is not None)
    return False
