"""SQL compilers: MySQL's, with vendor dispatch ``as_singlestore`` → ``as_mysql`` → ``as_sql``.

Our vendor is ``"singlestore"`` so that SingleStore-only SQL (JSON above all) is attached to
Django's expressions as ``as_singlestore`` methods that no other backend ever calls. Where an
expression has no SingleStore rendering, MySQL's dialect is the right fallback.

Query shapes SingleStore refuses (``rules.SHAPE_RULES``, docs/backend.md "Query shapes") are
either compiled into SQL it runs with the same result, or refused here with
``NotSupportedError`` before anything is sent:

- ``select_for_update()`` over a join or a subquery (S2-FOR-UPDATE-JOIN): the primary keys are
  selected first, their rows locked with a single-table ``SELECT ... FOR UPDATE`` per concrete
  table of the model (until a key read finds no unlocked key), and the rows of the last keys
  read are read without the lock;
- a sliced ``union()``/``intersection()``/``difference()`` (S2-UNION-LIMIT): wrapped in a
  derived table, so the LIMIT (and an ORDER BY before it, which Django 6.1 adds from the
  model's ordering) applies to the whole result;
- a subquery inside an aggregate (S2-SUBSELECT-IN-AGGREGATE), ``Subquery`` in
  ``create()``/``bulk_create()`` values (S2-SELECT-IN-VALUES), ``SHA224`` (S2-SHA224),
  ``order_by(Collate(...))`` (S2-ORDER-BY-COLLATE) and ``Chr`` of a literal above 127
  (S2-CHAR-NON-ASCII): NotSupportedError naming the construct and the workaround;
- ORDER BY a correlated subquery (S2-SUBSELECT-OUTER-LEVELS): a derived table sorted by the
  subquery's column; nested OuterRef, HAVING with a subquery, GROUP BY a correlated subquery
  (S2-SUBSELECT-GROUP-BY, S2-CORRELATED-PROJECT-COLUMNSTORE): NotSupportedError (``shapes.py``);
- DurationField times/divided by a number (S2-INTERVAL-ARITHMETIC): computed on microseconds;
- a refusal whose boundary is a guess (``SERVER_DECIDES``): sent, and the server's refusal comes
  back as NotSupportedError naming the construct.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import FieldError
from django.db import DatabaseError, NotSupportedError
from django.db.backends.mysql import compiler as mysql_compiler
from django.db.models import Aggregate, F, Value
from django.db.models.expressions import Combinable, DurationExpression, OrderBy, Ref
from django.db.models.functions import SHA224, Chr, Collate
from django.db.models.sql import compiler as base_compiler
from django.db.models.sql.constants import GET_ITERATOR_CHUNK_SIZE, MULTI
from django.db.models.sql.query import Query

from django_singlestore import rules, shapes
from django_singlestore.design import model_storage

#: Rounds of "lock the keys, read the keys again" before giving up on a select_for_update()
#: whose matching rows keep changing under concurrent writers.
LOCK_ROUNDS = 10


#: The ORM constructs that produce each planner refusal the backend cannot see coming (their
#: boundary is a guess, so the server's answer decides): named when the refusal comes back.
SERVER_DECIDES: dict[str, str] = {
    rules.CORRELATED_UNTRANSFORMABLE.id: "A Subquery/Exists with OuterRef that SingleStore could "
    "not turn into a join (OuterRef used in the subquery's values()/annotate(), inside "
    "Case/When in filter(), or a grouped subquery not correlated on the shard key)",
    rules.SUBQUERY_MORE_THAN_ONE_ROW.id: "Subquery(...)[:1] correlated on a transform of OuterRef "
    "(e.g. OuterRef('date__year')) with order_by()",
    rules.CORRELATED_PROJECT_COLUMNSTORE.id: "Grouping by an Exists/Subquery expression on a "
    "columnstore table",
    rules.SUBSELECT_OUTER_LEVELS.id: "A subquery naming a query two levels out, or in ORDER BY "
    "or HAVING",
    rules.SUBSELECT_GROUP_BY.id: "Grouping by a Subquery/Exists annotation",
    rules.SUBSELECT_IN_AGGREGATE.id: "An aggregate over an Exists/Subquery/__in=queryset",
    rules.FOR_UPDATE_JOIN.id: "select_for_update() over a join or a subquery",
}
_PLACEHOLDER = re.compile(r"\{[^}]*\}")


def _shape_refusal(error: DatabaseError) -> NotSupportedError | None:
    """The server's (or emulator's) refusal of a query shape, as a NotSupportedError naming the
    ORM construct and the workaround; None for any other error."""
    if getattr(error, "s2_rule", None) is not None:
        return None
    text = str(error.args[1]) if len(error.args) > 1 else str(error)
    for rule_id, construct in SERVER_DECIDES.items():
        rule = rules.SHAPE_RULES[rule_id]
        fragments = [f for f in _PLACEHOLDER.split(rule.message) if f.strip()]
        if all(f in text for f in fragments):
            return NotSupportedError(
                f"{construct} is not supported on SingleStore ({rule.id}; the server said: "
                f"{text}). {rule.hint}"
            )
    return None


def _refuse(rule: rules.Rule, construct: str, workaround: str) -> NotSupportedError:
    error = NotSupportedError(
        f"{construct} is not supported on SingleStore ({rule.id}: {rule.message}). {workaround}"
    )
    error.s2_rule = rule  # raised here, before sending: not the server's answer
    return error


class SingleStoreCompilerMixin:
    def compile(self, node: Any) -> tuple[str, Any]:
        self._check_node(node)
        if (
            isinstance(node, DurationExpression)
            and node.connector in (Combinable.MUL, Combinable.DIV)
            and all(_is_duration(side) or _is_number(side) for side in (node.lhs, node.rhs))
        ):
            return self._scaled_duration(node)
        impl = getattr(node, "as_singlestore", None) or getattr(node, "as_mysql", None)
        sql, params = impl(self, self.connection) if impl else node.as_sql(self, self.connection)
        # Judged on the SQL: Django moves a subquery an aggregate refers to into a derived table
        # when it can, and only a subselect left inside the aggregate's argument is refused.
        if (
            isinstance(node, Aggregate)
            and "(SELECT" in sql
            and self._subquery_models(node) is not None
        ):
            raise _refuse(
                rules.SUBSELECT_IN_AGGREGATE,
                f"{type(node).__name__}() over an Exists/Subquery/__in=queryset (also in filter=)",
                "Annotate the subquery in an inner queryset and aggregate its result, or move "
                "the subquery into .filter() and aggregate without it.",
            )
        return sql, params

    def _check_node(self, node: Any) -> None:
        """Refuse expressions SingleStore refuses, before any SQL is sent."""
        if isinstance(node, SHA224):
            raise _refuse(
                rules.SHA224, "SHA224()", "Compute it in Python (hashlib.sha224) or use SHA256()."
            )
        if isinstance(node, Chr):
            value = node.get_source_expressions()[0]
            if isinstance(value, Value) and isinstance(value.value, int) and value.value > 127:
                raise _refuse(
                    rules.CHAR_NON_ASCII,
                    f"Chr({value.value})",
                    "Pass the character itself: Value(chr(n)).",
                )

    def _scaled_duration(self, node: DurationExpression) -> tuple[str, Any]:
        """``duration * k``, ``k * duration``, ``duration / k`` on the stored microseconds (a
        DurationField is BIGINT microseconds), rounded to the microsecond: MySQL's rendering,
        ``INTERVAL col MICROSECOND * k``, is arithmetic on an INTERVAL, which SingleStore
        refuses (S2-INTERVAL-ARITHMETIC)."""
        rhs_is_duration = _is_duration(node.rhs)
        if node.connector == Combinable.DIV and rhs_is_duration:
            raise _refuse(
                rules.INTERVAL_ARITHMETIC,
                "A number divided by a DurationField",
                "Divide the duration by the number, or compute the ratio in Python.",
            )
        lhs_sql, lhs_params = self.compile(node.lhs)
        rhs_sql, rhs_params = self.compile(node.rhs)
        return (
            f"CAST(ROUND(({lhs_sql}) {node.connector} ({rhs_sql})) AS SIGNED)",
            (*lhs_params, *rhs_params),
        )

    def _subquery_models(self, node: Any) -> list[Any] | None:
        """The models read by subqueries inside ``node`` when one of them, or the query's own
        model, is on a sharded table (the planner rules apply there; reference-only queries are
        not refused); else None."""
        subqueries = [
            e.query if isinstance(getattr(e, "query", None), Query) else e
            for e in _walk(node)
            if getattr(e, "subquery", False) or isinstance(e, Query)
        ]
        if not subqueries:
            return None
        models = [self.query.model, *(getattr(q, "model", None) for q in subqueries)]
        sharded = any(
            model is not None and not model_storage(model, self.connection).is_reference
            for model in models
        )
        return models if sharded else None


def _refuse_two_levels(query: Query, connection: Any) -> None:
    """S2-SUBSELECT-OUTER-LEVELS for a statement whose subquery reaches two selects out."""
    if shapes.reaches_two_levels(query) and shapes.touches_sharded(query, connection):
        raise _refuse(
            rules.SUBSELECT_OUTER_LEVELS,
            "OuterRef(OuterRef(...)) (a subquery naming a query two levels out, or OuterRef in "
            "a union()/intersection()/difference() inside a subquery)",
            "Reference only the directly enclosing query: annotate the outer value on the "
            "middle query's model through a relation, or evaluate the inner query first.",
        )


class SQLCompiler(SingleStoreCompilerMixin, mysql_compiler.SQLCompiler):
    def pre_sql_setup(self, with_col_aliases: bool = False) -> tuple[list, list, list]:
        """Django's setup, then the planner rules that read ORDER BY and HAVING."""
        extra_select, order_by, group_by = super().pre_sql_setup(with_col_aliases)
        query = self.query
        if not query.subquery:
            _refuse_two_levels(query, self.connection)
        # A combined query's ORDER BY names result columns, never a subquery.
        if (
            not query.combinator
            and any(shapes.correlated_subquery(e, query) for e, _ in order_by)
            and (shapes.touches_sharded(query, self.connection))
        ):
            if self._order_outside is not None:
                return self._ordering_as_columns(order_by), [], group_by
            raise _refuse(
                rules.SUBSELECT_OUTER_LEVELS,
                "order_by() on an Exists/Subquery that uses OuterRef",
                "Annotate the subquery and sort in Python, or order by a column.",
            )
        if (
            self.having is not None
            and shapes.has_subquery(self.having)
            and shapes.touches_sharded(query, self.connection)
        ):
            raise _refuse(
                rules.SUBSELECT_OUTER_LEVELS,
                "filter() on an aggregate compared with a Subquery (HAVING with a subquery)",
                "Evaluate the subquery first and compare with its value.",
            )
        return extra_select, order_by, group_by

    def _ordering_as_columns(self, order_by: list) -> list:
        """S2-SUBSELECT-OUTER-LEVELS, rewritten: every ORDER BY item becomes a column of the
        select (``__s2_order<n>``) and :meth:`as_sql` sorts a derived table by those columns."""
        extra, outer = [], []
        for position, (expression, _) in enumerate(order_by):
            source = expression.expression
            source = source.source if isinstance(source, Ref) else source
            alias = f"__s2_order{position}"
            extra.append((source, self.compile(source), alias))
            outer.append(
                OrderBy(
                    Ref(alias, source),
                    descending=expression.descending,
                    nulls_first=expression.nulls_first,
                    nulls_last=expression.nulls_last,
                )
            )
        self._order_outside = outer
        self.has_extra_select = True
        return extra

    def collapse_group_by(self, expressions: list, having: Any) -> list:
        """Django's GROUP BY items; one holding a correlated subquery is refused."""
        expressions = super().collapse_group_by(expressions, having)
        for expression in expressions:
            if not shapes.correlated_subquery(expression, self.query):
                continue
            selected = any(expression == e and alias for e, _, alias in self.select)
            rule = rules.SUBSELECT_GROUP_BY if selected else rules.CORRELATED_PROJECT_COLUMNSTORE
            if shapes.touches_sharded(self.query, self.connection, columnstore=not selected):
                raise _refuse(
                    rule,
                    "values() + annotate() grouping by an Exists/Subquery that uses OuterRef",
                    "Group by the columns the subquery is correlated on, or annotate the "
                    "aggregate inside the subquery.",
                )
        return expressions

    def get_order_by(self) -> list:
        order_by = super().get_order_by()
        for expression, _ in order_by:
            if any(isinstance(e, Collate) for e in _walk(expression)):
                raise _refuse(
                    rules.ORDER_BY_COLLATE,
                    "order_by(Collate(...))",
                    "Sort in Python, or store a column in the collation to sort by.",
                )
        return order_by

    _order_outside: list | bool | None = None

    def as_sql(self, with_limits: bool = True, with_col_aliases: bool = False) -> tuple[str, Any]:
        query = self.query
        if _may_sort_outside(query):
            # A correlated subquery in ORDER BY: computed as a column of a derived table, which
            # the statement sorts (and slices) by that column.
            self._order_outside = True
            try:
                inner, params = super().as_sql(with_limits=False, with_col_aliases=True)
                outer = self._order_outside
            finally:
                self._order_outside = None
            if isinstance(outer, list):
                ordering, order_params = [], []
                for item in outer:
                    item_sql, item_params = self.compile(item)
                    ordering.append(item_sql)
                    order_params.extend(item_params)
                sql = f"SELECT * FROM ({inner}) AS `s2_ordered` ORDER BY {', '.join(ordering)}"
                if with_limits and query.is_sliced:
                    limit = self.connection.ops.limit_offset_sql(query.low_mark, query.high_mark)
                    sql = f"{sql} {limit}"
                return sql, (*params, *order_params)
        sql, params = super().as_sql(with_limits, with_col_aliases)
        if query.combinator and with_limits and query.is_sliced and not query.subquery:
            # SingleStore binds "(A) UNION (B) LIMIT n" to the last part (S2-UNION-LIMIT).
            limit = self.connection.ops.limit_offset_sql(query.low_mark, query.high_mark)
            head = sql[: -len(limit)].rstrip() if sql.endswith(limit) else ""
            parts, closing, ordering = head.rpartition(")")
            ordering = ordering.strip()
            if closing and (not ordering or ordering.startswith("ORDER BY ")):
                outer = f"{ordering} {limit}" if ordering else limit
                sql = f"SELECT * FROM ({parts}{closing}) AS `s2_combined` {outer}"
        return sql, params

    def execute_sql(
        self,
        result_type: str = MULTI,
        chunked_fetch: bool = False,
        chunk_size: int = GET_ITERATOR_CHUNK_SIZE,
    ) -> Any:
        try:
            if self.query.select_for_update and self._lock_needs_own_statement():
                return self._lock_then_read(result_type, chunked_fetch, chunk_size)
            return super().execute_sql(result_type, chunked_fetch, chunk_size)
        except DatabaseError as error:
            refusal = _shape_refusal(error)
            if refusal is None:
                raise
            raise refusal from error

    def _lock_needs_own_statement(self) -> bool:
        """FOR UPDATE over a join or with a subquery (S2-FOR-UPDATE-JOIN)."""
        try:
            sql, _ = self.as_sql()
        except Exception:  # EmptyResultSet and friends: the normal path reports them
            return False
        return " JOIN " in sql or "(SELECT " in sql

    def _lock_then_read(self, result_type: str, chunked_fetch: bool, chunk_size: int) -> Any:
        """select_for_update() as SingleStore runs it: lock the matching rows of the model's
        own tables with single-table statements, then read them without FOR UPDATE.

        Rows of other joined tables (select_related, filters across relations) are not locked,
        as with ``select_for_update(of=("self",))``.
        """
        query = self.query
        locked: set[Any] = set()
        for _ in range(LOCK_ROUNDS):
            keys = set(self._matching_keys())
            if keys <= locked:
                break
            self._lock(keys - locked)
            locked |= keys
        else:
            raise NotSupportedError(
                "select_for_update() over a join: the matching rows kept changing while they "
                f"were being locked ({LOCK_ROUNDS} rounds); retry the transaction."
            )
        # The rows are the last keys read, all locked (so unchanged since): read them without
        # the lock and without the slice, which the keys already are.
        saved = query.where, query.select_for_update, query.low_mark, query.high_mark
        query.where = query.where.clone()
        query.select_for_update = False
        query.low_mark, query.high_mark = 0, None
        try:
            query.add_filter("pk__in", sorted(keys, key=repr))
            return super().execute_sql(result_type, chunked_fetch, chunk_size)
        finally:
            query.where, query.select_for_update, query.low_mark, query.high_mark = saved

    def _matching_keys(self) -> list[Any]:
        keys_query = self.query.clone()
        keys_query.select_for_update = False
        keys_query.set_values(["pk"])
        compiler = keys_query.get_compiler(self.using, self.connection, self.elide_empty)
        return [values[0] for chunk in compiler.execute_sql(MULTI) for values in chunk]

    def _lock(self, keys: set[Any]) -> None:
        model = self.query.model._meta.concrete_model
        qn = self.connection.ops.quote_name
        ordered = sorted(keys, key=repr)
        placeholders = ", ".join(["%s"] * len(ordered))
        with self.connection.cursor() as cursor:
            for table in (model, *model._meta.get_parent_list()):
                meta = table._meta
                cursor.execute(
                    f"SELECT 1 FROM {qn(meta.db_table)} WHERE {qn(meta.pk.column)} "
                    f"IN ({placeholders}) FOR UPDATE",
                    ordered,
                )


def _may_sort_outside(query: Query) -> bool:
    """Whether ``query`` is a statement whose ordering names a subquery and whose rows a derived
    table can sort unchanged: not a subquery, a combination, a FOR UPDATE or a GROUP BY."""
    if query.subquery or query.combinator or query.select_for_update or query.group_by is not None:
        return False
    default = query.default_ordering and query.model is not None
    stack = list(query.order_by or ((query.get_meta().ordering or ()) if default else ()))
    while stack:
        node = stack.pop()
        if isinstance(node, str | F):  # a name: an annotation's, or a field's
            name = node if isinstance(node, str) else node.name
            node = query.annotations.get(name.lstrip("-+")) if isinstance(name, str) else None
        if isinstance(node, Query):
            return True
        if hasattr(node, "get_source_expressions"):
            stack.extend(e for e in node.get_source_expressions() if e is not None)
    return False


_NUMBER_FIELDS = frozenset(
    {
        "IntegerField",
        "BigIntegerField",
        "SmallIntegerField",
        "PositiveIntegerField",
        "PositiveBigIntegerField",
        "PositiveSmallIntegerField",
        "DecimalField",
        "FloatField",
    }
)


def _is_number(expression: Any) -> bool:
    try:
        return expression.output_field.get_internal_type() in _NUMBER_FIELDS
    except FieldError:
        return False


def _is_duration(expression: Any) -> bool:
    try:
        return expression.output_field.get_internal_type() == "DurationField"
    except FieldError:
        return False


def _walk(expression: Any) -> list[Any]:
    found, stack = [], [expression]
    while stack:
        node = stack.pop()
        found.append(node)
        stack.extend(e for e in node.get_source_expressions() if e is not None)
    return found


class SQLInsertCompiler(SingleStoreCompilerMixin, mysql_compiler.SQLInsertCompiler):
    def as_sql(self) -> list[tuple[str, Any]]:
        for obj in self.query.objs:
            for field in self.query.fields:
                value = getattr(obj, field.attname, None)
                if getattr(value, "contains_subquery", False) or getattr(value, "subquery", False):
                    raise _refuse(
                        rules.SELECT_IN_VALUES,
                        f"A Subquery as the value of {field.name!r} in create()/bulk_create()",
                        "Evaluate the subquery first and pass its value.",
                    )
        return super().as_sql()


class SQLDeleteCompiler(SingleStoreCompilerMixin, mysql_compiler.SQLDeleteCompiler):
    pass


class SQLUpdateCompiler(SingleStoreCompilerMixin, base_compiler.SQLUpdateCompiler):
    """Plain UPDATE: MySQL's ``UPDATE ... ORDER BY`` is not part of SingleStore's grammar."""


class SQLAggregateCompiler(SingleStoreCompilerMixin, mysql_compiler.SQLAggregateCompiler):
    def as_sql(self) -> tuple[str, Any]:
        # aggregate() over annotations: the statement's select is the derived table.
        _refuse_two_levels(self.query.inner_query, self.connection)
        return super().as_sql()
