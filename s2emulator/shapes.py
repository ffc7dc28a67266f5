"""Query shapes SingleStore refuses (``rules.SHAPE_RULES``), found with sqlglot's MySQL dialect.

The proxy asks two things of a DML statement, in this order:

- :func:`candidate` — a byte search (microseconds) for the few spellings every refused shape
  needs: a nested ``(SELECT``, ``FOR UPDATE``, ``COLLATE``, ``SHA2(``, ``CHAR(``, ``INTERVAL``,
  a date literal before year 1000. False means: nothing here can be refused; forward it.
- :func:`check` — parses the statement (parse trees cached by statement text; a statement
  sqlglot cannot parse passes) and returns the first :class:`~django_singlestore.rules.Violation`
  or ``None``. Storage and shard keys come from the emulator's catalog through ``lookup``; a
  table the catalog does not know counts as SingleStore's default, a sharded columnstore table.

:func:`union_limit` emulates the one semantic difference observed (S2-UNION-LIMIT): in
``(SELECT …) UNION (SELECT …) LIMIT n`` SingleStore applied the LIMIT to the last part only.

Planner rules (the subselect ones) apply only when the statement touches a sharded table:
every observed refusal had one, and whether reference-only queries are refused is unknown.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Iterator
from functools import lru_cache

from django_singlestore import rules
from django_singlestore.extras import optional

from .sqltext import Group, Token, nest, render, tokenize

sqlglot = optional("sqlglot", "emulator", "The SingleStore emulator's query-shape checks")
exp = sqlglot.exp

Lookup = Callable[[str | None, str], rules.TableSpec | None]

#: Every refused shape contains one of these; a statement without any is never parsed.
_CANDIDATE = re.compile(
    rb"\(\s*SELECT\b|\bFOR\s+UPDATE\b|\bCOLLATE\b|\bSHA2\s*\(|\bCHAR\s*\(|\bINTERVAL\b"
    rb"|'0\d{3}-\d\d-\d\d",
    re.I,
)
#: Schemas whose tables are the server's own (never sharded user tables).
_SYSTEM_SCHEMAS = frozenset({"information_schema", "mysql", "performance_schema", "sys"})
_DATE_TYPES = frozenset({"date", "datetime", "timestamp"})
_EARLY_DATE = re.compile(r"\s*0\d{3}-\d\d-\d\d")
_SET_OPERATIONS = (exp.Union, exp.Except, exp.Intersect)
_SET_WORDS = ("UNION", "EXCEPT", "INTERSECT")


#: Upper-case words one of which every :data:`_CANDIDATE` match contains; a second SELECT is
#: looked for past the statement's own first word.
_CANDIDATE_WORDS = (b"UPDATE", b"COLLATE", b"SHA2", b"CHAR", b"INTERVAL", b"'0")


def candidate(sql: bytes) -> bool:
    """Whether ``sql`` may hold a refused shape (the cheap test before :func:`check`).

    Plain substring searches of the upper-cased text first (a few microseconds for a point
    query); the regular expression, which costs several times more, only confirms a hit."""
    upper = sql.upper()
    if upper.find(b"SELECT", 1) < 0 and not any(word in upper for word in _CANDIDATE_WORDS):
        return False
    return _CANDIDATE.search(sql) is not None


@lru_cache(maxsize=1024)
def _parse(sql: str) -> exp.Expression | None:
    try:
        return sqlglot.parse_one(sql, read="mysql")
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError, ValueError, RecursionError):
        return None


def _violation(rule: rules.Rule, **values: str) -> rules.Violation:
    return rules.Violation(rule, rule.format(**values))


class _Tables:
    """What the catalog says about the tables a statement names."""

    def __init__(self, database: str | None, lookup: Lookup):
        self.database, self.lookup = database, lookup

    def spec(self, table: exp.Table) -> rules.TableSpec | None:
        return self.lookup(table.db or self.database, table.name)

    def is_system(self, table: exp.Table) -> bool:
        return (table.db or self.database or "").lower() in _SYSTEM_SCHEMAS

    def sharded(self, table: exp.Table) -> bool:
        if self.is_system(table):
            return False
        spec = self.spec(table)
        return spec is None or spec.is_sharded

    def columnstore(self, table: exp.Table) -> bool:
        if self.is_system(table):
            return False
        spec = self.spec(table)
        return spec is None or spec.storage.is_columnstore


#: Verdicts by (statement shape, current database, catalog generation), least recently used
#: first. Django inlines parameters, so its statements repeat as shapes more than as texts.
_VERDICTS: OrderedDict[tuple[str, str | None, int], rules.Violation | None] = OrderedDict()
VERDICT_CACHE_SIZE = 1024
#: String and numeric literals. Backquoted names and comments are matched only to be kept as
#: written (a quote inside them starts no literal).
_LITERAL = re.compile(
    r"`(?:[^`]|``)*`|/\*.*?\*/|(?:--[ \t]|#)[^\n]*"
    r"|'(?:[^'\\]|\\.|'')*'"
    r'|"(?:[^"\\]|\\.|"")*"'
    r"|\b\d+(?:\.\d*)?(?:[eE][-+]?\d+)?\b",
    re.S,
)
#: Where a rule reads a literal's value: SHA2's length, CHAR()'s codes, a date before year 1000,
#: an ORDER BY / GROUP BY position. A statement with one of these is keyed by its exact text
#: (a false hit only costs a parse).
_VALUE_READ = re.compile(
    r"\bSHA2\s*\(|\bCHAR\s*\(|'\s*0\d{3}-|\b(?:ORDER|GROUP)\s+BY\s+(?:\d|[^;]*?,\s*\d)", re.I
)


def _blank(match: re.Match[str]) -> str:
    text = match.group()
    return "?" if text[0] in "'\"0123456789" else text


def shape_key(sql: str) -> str:
    """The statement with its literals replaced by ``?``, unless a rule reads one of them (then
    the text as is): statements with the same key get the same verdict."""
    if _VALUE_READ.search(sql):
        return sql
    return _LITERAL.sub(_blank, sql)


def check_cached(
    sql: str, database: str | None, lookup: Lookup, generation: int
) -> rules.Violation | None:
    """:func:`check`, shared by statements that differ only in literals (:func:`shape_key`) and
    remembered until the catalog's ``generation`` changes."""
    key = (shape_key(sql), database, generation)
    if key in _VERDICTS:
        _VERDICTS.move_to_end(key)
        return _VERDICTS[key]
    verdict = _VERDICTS[key] = check(sql, database, lookup)
    if len(_VERDICTS) > VERDICT_CACHE_SIZE:
        _VERDICTS.popitem(last=False)
    return verdict


def check(sql: str, database: str | None, lookup: Lookup) -> rules.Violation | None:
    """The first shape rule ``sql`` breaks, or ``None`` (also when sqlglot cannot parse it)."""
    tree = _parse(sql)
    if tree is None:
        return None
    tables = _Tables(database, lookup)
    if isinstance(tree, exp.Insert):
        return _check_insert(tree, tables) or _check_functions(tree)
    if isinstance(tree, exp.Update):
        return _check_update(tree, tables) or _check_functions(tree)
    if not isinstance(tree, exp.Query):
        return _check_functions(tree)
    return _check_functions(tree) or _check_for_update(tree, tables) or _Planner(tree, tables).run()


# --- writes and functions ---------------------------------------------------------------------


def _early_date(node: exp.Expression) -> bool:
    return isinstance(node, exp.Literal) and node.is_string and bool(_EARLY_DATE.match(node.this))


def _date_column(spec: rules.TableSpec | None, name: str) -> bool:
    column = spec.column(name) if spec is not None else None
    return column is not None and column.base_type in _DATE_TYPES


def _check_insert(tree: exp.Insert, tables: _Tables) -> rules.Violation | None:
    values = tree.expression
    if not isinstance(values, exp.Values):
        return None
    if any(values.find_all(exp.Select)):
        return _violation(rules.SELECT_IN_VALUES)
    target = tree.this
    table = target.this if isinstance(target, exp.Schema) else target
    if not isinstance(table, exp.Table):
        return None
    spec = tables.spec(table)
    names = (
        [c.name for c in target.expressions]
        if isinstance(target, exp.Schema)
        else [c.name for c in (spec.columns if spec else ())]
    )
    for row in values.expressions:
        for name, value in zip(names, row.expressions, strict=False):
            if _early_date(value) and _date_column(spec, name):
                return _violation(rules.DATE_BEFORE_1000)
    return None


def _check_update(tree: exp.Update, tables: _Tables) -> rules.Violation | None:
    table = tree.this
    if not isinstance(table, exp.Table):
        return None
    spec = tables.spec(table)
    for assignment in tree.expressions:
        if (
            isinstance(assignment, exp.EQ)
            and isinstance(assignment.this, exp.Column)
            and _early_date(assignment.expression)
            and _date_column(spec, assignment.this.name)
        ):
            return _violation(rules.DATE_BEFORE_1000)
    return None


def _literal_int(node: exp.Expression | None) -> int | None:
    if isinstance(node, exp.Literal) and not node.is_string:
        try:
            return int(node.this)
        except ValueError:
            return None
    return None


def _check_functions(tree: exp.Expression) -> rules.Violation | None:
    for node in tree.walk():
        if isinstance(node, exp.SHA2) and _literal_int(node.args.get("length")) == 224:
            return _violation(rules.SHA224)
        if isinstance(node, exp.Chr) and any(
            (_literal_int(arg) or 0) > 127 for arg in node.expressions
        ):
            return _violation(rules.CHAR_NON_ASCII)
        if isinstance(node, exp.Mul | exp.Div) and any(
            isinstance(side, exp.Interval) for side in (node.this, node.expression)
        ):
            return _violation(rules.INTERVAL_ARITHMETIC)
        if isinstance(node, exp.Ordered) and any(node.find_all(exp.Collate)):
            return _violation(rules.ORDER_BY_COLLATE)
    return None


def _check_for_update(tree: exp.Query, tables: _Tables) -> rules.Violation | None:
    if not isinstance(tree, exp.Select) or not any(
        lock.args.get("update") for lock in tree.args.get("locks") or ()
    ):
        return None
    named = list(tree.find_all(exp.Table))
    joined = len(_from_items(tree)) > 1
    nested = any(s is not tree for s in tree.find_all(exp.Select))
    if (joined or nested) and any(tables.columnstore(t) for t in named):
        return _violation(rules.FOR_UPDATE_JOIN)
    return None


# --- the planner's subselect rules --------------------------------------------------------------


def _from_items(select: exp.Select) -> list[exp.Expression]:
    items = []
    source = select.args.get("from_")
    if source is not None:
        items.append(source.this)
    items.extend(join.this for join in select.args.get("joins") or ())
    return items


def _unparen(node: exp.Expression) -> exp.Expression:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


class _Planner:
    """Resolves every qualified column to the select that defines its table, then applies the
    subselect rules in the order SingleStore reported them."""

    def __init__(self, tree: exp.Query, tables: _Tables):
        self.tree, self.tables = tree, tables
        self.selects = list(tree.find_all(exp.Select))
        # column id → (column, innermost select, defining select or None, levels between)
        self.columns: list[tuple[exp.Column, exp.Select, exp.Select | None, int]] = []
        self._sources = {id(s): self._source_names(s) for s in self.selects}
        for column in tree.find_all(exp.Column):
            if not column.table:
                continue
            inner = column.find_ancestor(exp.Select)
            if inner is None:
                continue
            target, levels = self._resolve(inner, column.table.lower())
            self.columns.append((column, inner, target, levels))

    @staticmethod
    def _source_names(select: exp.Select) -> set[str]:
        return {item.alias_or_name.lower() for item in _from_items(select) if item.alias_or_name}

    def _resolve(self, inner: exp.Select, qualifier: str) -> tuple[exp.Select | None, int]:
        select: exp.Select | None = inner
        levels = 0
        while select is not None:
            if qualifier in self._sources.get(id(select), ()):
                return select, levels
            parent = select.parent
            outer = select.find_ancestor(exp.Select)
            # A set operation's branch inside a subselect: SingleStore counts it as a level.
            while parent is not None and parent is not outer:
                if isinstance(parent, _SET_OPERATIONS) and outer is not None:
                    levels += 1
                parent = parent.parent
            select = outer
            levels += 1
        return None, 0

    def _outer_refs(self, select: exp.Select) -> list[tuple[exp.Column, exp.Select]]:
        """Columns inside ``select`` that resolve to a select enclosing it."""
        found = []
        for column, _, target, _ in self.columns:
            if target is None or target is select or not _inside(column, select):
                continue
            if _inside(target, select):
                continue
            found.append((column, target))
        return found

    def _correlated(self, select: exp.Select) -> bool:
        return bool(self._outer_refs(select))

    def _has_correlated_subselect(self, node: exp.Expression) -> bool:
        return any(self._correlated(s) for s in node.find_all(exp.Select))

    def _item(self, select: exp.Select, ref: exp.Expression) -> exp.Expression:
        """A GROUP BY / ORDER BY item: the select-list expression it names by position or
        alias, else the item itself."""
        position = _literal_int(ref)
        items = select.expressions
        if position is not None and 1 <= position <= len(items):
            return items[position - 1]
        if isinstance(ref, exp.Column) and not ref.table:
            for item in items:
                if isinstance(item, exp.Alias) and item.alias.lower() == ref.name.lower():
                    return item
        return ref

    def run(self) -> rules.Violation | None:
        if not any(self.tables.sharded(t) for t in self.tree.find_all(exp.Table)):
            return None
        for rule_check in (
            self._levels,
            self._aggregates,
            self._group_by,
            self._group_by_inline,
            self._untransformable,
            self._leaf_rows,
        ):
            violation = rule_check()
            if violation is not None:
                return violation
        return None

    def _levels(self) -> rules.Violation | None:
        rule = rules.SUBSELECT_OUTER_LEVELS
        if any(levels > 1 for _, _, target, levels in self.columns if target is not None):
            return _violation(rule)
        for select in self.selects:
            order = select.args.get("order")
            for ordered in order.expressions if order else ():
                if self._has_correlated_subselect(self._item(select, ordered.this)):
                    return _violation(rule)
            having = select.args.get("having")
            if having is not None and any(having.find_all(exp.Select)):
                return _violation(rule)
        return None

    def _aggregates(self) -> rules.Violation | None:
        for aggregate in self.tree.find_all(exp.AggFunc):
            if any(aggregate.find_all(exp.Select)):
                return _violation(rules.SUBSELECT_IN_AGGREGATE)
        return None

    def _group_items(self) -> Iterator[tuple[exp.Select, exp.Expression]]:
        for select in self.selects:
            group = select.args.get("group")
            for ref in group.expressions if group else ():
                yield select, ref

    def _group_by(self) -> rules.Violation | None:
        for select, ref in self._group_items():
            item = self._item(select, ref)
            if item is not ref and self._has_correlated_subselect(item):
                return _violation(rules.SUBSELECT_GROUP_BY)
        return None

    def _group_by_inline(self) -> rules.Violation | None:
        for select, ref in self._group_items():
            if (
                self._item(select, ref) is ref
                and self._has_correlated_subselect(ref)
                and any(self.tables.columnstore(t) for t in select.find_all(exp.Table))
            ):
                return _violation(rules.CORRELATED_PROJECT_COLUMNSTORE)
        return None

    def _subselects(self) -> Iterator[exp.Select]:
        """Correlated selects used as expressions (not derived tables, not the statement)."""
        for select in self.selects:
            if select is self.tree or not self._correlated(select):
                continue
            yield select

    def _untransformable(self) -> rules.Violation | None:
        rule = rules.CORRELATED_UNTRANSFORMABLE
        for select in self._subselects():
            refs = self._outer_refs(select)
            where = select.args.get("where")
            if any(where is None or not _inside(column, where) for column, _ in refs):
                return _violation(rule)
            outer = select.find_ancestor(exp.Select)
            case = select.find_ancestor(exp.Case)
            if case is not None and outer is not None and _inside(case, outer.args.get("where")):
                return _violation(rule)
            if (
                _is_scalar(select)
                and select.args.get("group") is not None
                and not any(self._on_shard_key(select, eq) for eq in _equalities(where))
            ):
                return _violation(rule)
        return None

    def _on_shard_key(self, select: exp.Select, equality: exp.EQ) -> bool:
        """``inner.col = (outer.col)`` where ``inner.col`` is its table's whole shard key."""
        sides = [_unparen(equality.this), _unparen(equality.expression)]
        sources = {
            item.alias_or_name.lower(): item
            for item in _from_items(select)
            if isinstance(item, exp.Table)
        }
        for side in sides:
            if isinstance(side, exp.Column) and side.table.lower() in sources:
                spec = self.tables.spec(sources[side.table.lower()])
                if spec is not None and spec.is_sharded:
                    shard = [c.lower() for c in spec.effective_shard_key()]
                    if shard == [side.name.lower()]:
                        return True
        return False

    def _leaf_rows(self) -> rules.Violation | None:
        for select in self._subselects():
            if not (_is_scalar(select) and select.args.get("order") and select.args.get("limit")):
                continue
            for equality in _equalities(select.args.get("where")):
                for side in (_unparen(equality.this), _unparen(equality.expression)):
                    if not isinstance(side, exp.Column) and self._refers_out(side, select):
                        return _violation(rules.SUBQUERY_MORE_THAN_ONE_ROW, leaf="127.0.0.1:3307")
        return None

    def _refers_out(self, node: exp.Expression, select: exp.Select) -> bool:
        outside = {id(c) for c, _ in self._outer_refs(select)}
        return any(id(c) in outside for c in node.find_all(exp.Column))


def _inside(node: exp.Expression, ancestor: exp.Expression | None) -> bool:
    while node is not None:
        if node is ancestor:
            return True
        node = node.parent
    return False


def _is_scalar(select: exp.Select) -> bool:
    parent = select.parent
    return isinstance(parent, exp.Subquery) and not isinstance(parent.parent, exp.In | exp.From)


def _equalities(where: exp.Expression | None) -> list[exp.EQ]:
    """The top-level ``a = b`` conjuncts of a WHERE."""
    if where is None:
        return []
    found, stack = [], [where.this if isinstance(where, exp.Where) else where]
    while stack:
        node = _unparen(stack.pop())
        if isinstance(node, exp.And):
            stack.extend((node.this, node.expression))
        elif isinstance(node, exp.EQ):
            found.append(node)
    return found


# --- the semantic difference ----------------------------------------------------------------------


def union_limit(sql: str) -> str | None:
    """``(A) UNION (B) LIMIT n`` as SingleStore ran it: ``(A) UNION (B LIMIT n)``; else None."""
    upper = sql.upper()
    if "LIMIT" not in upper or not any(word in upper for word in _SET_WORDS):
        return None  # not the shape: no parse (a new statement text would cost one)
    tree = _parse(sql)
    if not (
        isinstance(tree, _SET_OPERATIONS)
        and tree.args.get("limit") is not None
        and tree.args.get("order") is None
        and isinstance(tree.expression, exp.Subquery)
    ):
        return None
    items = nest(tokenize(sql))
    for i in range(len(items) - 1, -1, -1):
        item = items[i]
        if isinstance(item, Group):
            rest = items[i + 1 :]
            words = [t for t in rest if not t.is_blank]
            if words and isinstance(words[0], Token) and words[0].is_word("LIMIT"):
                limit = render(rest).strip().rstrip(";").strip()
                return f"{render(items[:i])}({render(item.items)} {limit})"
            return None
    return None
