"""SingleStore DDL parsed by hand, judged by :mod:`django_singlestore.rules`, rewritten for MariaDB.

The proxy calls one function per statement::

    result = analyze(sql, database, lookup, tokens=..., version=..., in_transaction=...,
                     child_aggregator=...)

``lookup(db, table)`` returns the table's current :class:`~django_singlestore.rules.TableSpec`
(from the emulator's catalog) or ``None`` when the table is unknown; ``db`` is the qualifier
written in the statement, else ``database`` (the session's current database, may be ``None``).
The answer is one of:

- :class:`Reject` — answer the client with an ERR packet (``errno``, ``sqlstate``, ``message``);
  nothing reaches MariaDB.
- :class:`Rewrite` — run ``statement`` on MariaDB instead (``None`` means: answer OK without
  touching MariaDB, e.g. an ALTER that only adds an unenforced foreign key); when
  MariaDB answers OK, apply ``changes`` (:class:`TableCreated`, :class:`TableAltered`,
  :class:`TableRenamed`, :class:`TableDropped`, :class:`DatabaseDropped`) to the catalog.
  ``TableCreated(if_not_exists=True)`` must not overwrite an existing entry.
- :data:`PASS` (a :class:`PassThrough`) — not a statement this module handles; forward as is.

``analyze`` takes one statement (a trailing ``;`` is ignored); anything it cannot parse passes
through untouched rather than raising. A caller that has already tokenized the statement passes
its ``tokens`` (``join(tokens) == sql``) so that it is not tokenized twice; INSERT, REPLACE,
DELETE and LOAD DATA are judged from their first 512 characters only, tokenized afresh.
:data:`HANDLED_KEYWORDS` lets the proxy skip ``analyze`` cheaply for every other statement
(SELECT, SET, SHOW ...).

What the rewrite does to CREATE/ALTER: drops the storage words (``ROWSTORE``, ``REFERENCE``),
``SHARD KEY``, ``SORT KEY``, ``KEY ... USING CLUSTERED COLUMNSTORE``, ``COLUMN GROUP``,
``FOREIGN KEY`` clauses (SingleStore never enforces them, so MariaDB must not either) and
SingleStore-only table options (``AUTOSTATS_*``, ``SQL_MODE``, ``COMPRESSION``,
``BACKGROUND_MERGER``); turns ``UNIQUE ... UNENFORCED [RELY|NORELY]`` into a plain ``KEY``;
turns ``col AS expr PERSISTED type`` into MariaDB's ``col type AS (expr) STORED``. Every
other byte (quoting, literals, comments) is kept as written.

:func:`render_show_create` produces SingleStore's ``SHOW CREATE TABLE`` text for a spec.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from django_singlestore import rules
from django_singlestore.rules import (
    AddColumn,
    AddForeignKey,
    AddKey,
    AlterOp,
    Column,
    DropColumn,
    DropForeignKey,
    DropKey,
    ForeignKey,
    Key,
    ModifyColumn,
    RenameColumn,
    RenameTable,
    SetAutoIncrement,
    SetComment,
    SetDefault,
    SetOption,
    Storage,
    TableSpec,
    Version,
    Violation,
)
from s2emulator import dml
from s2emulator.sqltext import (
    Token,
    quote_name,
    quote_string,
    string_value,
    tokenize,
)

Lookup = Callable[[str | None, str], TableSpec | None]

#: First keywords of the statements :func:`analyze` may act on; everything else passes through.
HANDLED_KEYWORDS = frozenset(
    {
        "CREATE",
        "ALTER",
        "DROP",
        "RENAME",
        "SAVEPOINT",
        "ROLLBACK",
        "RELEASE",
        "UPDATE",
        "INSERT",
        "REPLACE",
        "DELETE",
        "LOAD",
    }
)

#: Table options SingleStore has and MariaDB rejects; stripped from CREATE and ALTER.
SINGLESTORE_TABLE_OPTIONS = frozenset(
    {
        "AUTOSTATS_ENABLED",
        "AUTOSTATS_CARDINALITY_MODE",
        "AUTOSTATS_HISTOGRAM_MODE",
        "AUTOSTATS_SAMPLING",
        "SQL_MODE",
        "COMPRESSION",
        "BACKGROUND_MERGER",
    }
)


# --- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reject:
    errno: int
    sqlstate: str
    message: str
    rule_id: str

    @classmethod
    def from_violation(cls, violation: Violation) -> Reject:
        return cls(
            violation.errno or 1706, violation.sqlstate, violation.message, violation.rule.id
        )


@dataclass(frozen=True)
class TableCreated:
    db: str | None
    spec: TableSpec
    if_not_exists: bool = False


@dataclass(frozen=True)
class TableAltered:
    """The table's spec after an ALTER (under its old name; a rename follows separately)."""

    db: str | None
    table: str
    spec: TableSpec


@dataclass(frozen=True)
class TableRenamed:
    db: str | None
    table: str
    new_db: str | None
    new_table: str


@dataclass(frozen=True)
class TableDropped:
    db: str | None
    table: str


@dataclass(frozen=True)
class DatabaseDropped:
    db: str


CatalogChange = TableCreated | TableAltered | TableRenamed | TableDropped | DatabaseDropped


@dataclass(frozen=True)
class Rewrite:
    statement: str | None  # ``None``: nothing for MariaDB to run
    changes: tuple[CatalogChange, ...] = ()


@dataclass(frozen=True)
class PassThrough:
    """Not a statement the DDL layer acts on."""


PASS = PassThrough()
Result = Reject | Rewrite | PassThrough


class _Unhandled(Exception):
    """Raised inside the parser for syntax it does not model; :func:`analyze` passes through."""


class _Refused(Exception):
    """Raised inside the parser for syntax SingleStore refuses; :func:`analyze` rejects."""

    def __init__(self, rule: rules.Rule):
        super().__init__(rule.id)
        self.rule = rule


def _check_key_order(key: _KeyDef) -> None:
    """``KEY (a DESC)``: only a sort key orders its columns (S2-INDEX-DESC)."""
    if key.kind in (rules.PRIMARY, rules.UNIQUE, rules.INDEX) and any(d for _, d in key.columns):
        raise _Refused(rules.INDEX_DESC)


# --- token cursor ---------------------------------------------------------------------------


class _Cursor:
    """Walks the significant tokens of one statement; positions index the full token list."""

    def __init__(self, tokens: list[Token]):
        self.tokens = tokens
        self.sig = [i for i, t in enumerate(tokens) if not t.is_blank]
        while self.sig and tokens[self.sig[-1]].is_op(";"):
            self.sig.pop()
        self.p = 0

    def peek(self, k: int = 0) -> Token | None:
        j = self.p + k
        return self.tokens[self.sig[j]] if j < len(self.sig) else None

    def index(self, k: int = 0) -> int:
        """Token-list index of the k-th upcoming token (end of statement when exhausted)."""
        j = self.p + k
        return self.sig[j] if j < len(self.sig) else self.end_index

    @property
    def end_index(self) -> int:
        return self.sig[-1] + 1 if self.sig else 0

    @property
    def last_index(self) -> int:
        """Token-list index just past the token consumed last."""
        return self.sig[self.p - 1] + 1 if self.p else 0

    def at_end(self) -> bool:
        return self.p >= len(self.sig)

    def next(self) -> Token:
        token = self.peek()
        if token is None:
            raise _Unhandled("unexpected end of statement")
        self.p += 1
        return token

    def is_word(self, *words: str, k: int = 0) -> bool:
        token = self.peek(k)
        return token is not None and token.is_word(*words)

    def is_op(self, op: str, k: int = 0) -> bool:
        token = self.peek(k)
        return token is not None and token.is_op(op)

    def accept_word(self, *words: str) -> str | None:
        if self.is_word(*words):
            return self.next().upper
        return None

    def accept_op(self, op: str) -> bool:
        if self.is_op(op):
            self.p += 1
            return True
        return False

    def expect_word(self, *words: str) -> str:
        word = self.accept_word(*words)
        if word is None:
            raise _Unhandled(f"expected {'/'.join(words)}")
        return word

    def expect_op(self, op: str) -> None:
        if not self.accept_op(op):
            raise _Unhandled(f"expected {op}")

    def name(self) -> str:
        token = self.next()
        if token.kind not in ("word", "qid"):
            raise _Unhandled("expected a name")
        return token.name

    def qualified_name(self) -> tuple[str | None, str]:
        first = self.name()
        if self.is_op("."):
            self.p += 1
            return first, self.name()
        return None, first

    def skip_group(self) -> int:
        """Consume a parenthesised group starting at ``(``; returns its first inner position."""
        self.expect_op("(")
        start = self.p
        depth = 1
        while depth:
            token = self.next()
            if token.is_op("("):
                depth += 1
            elif token.is_op(")"):
                depth -= 1
        return start

    def text(self, start: int, end: int) -> str:
        """Source text of significant positions ``[start, end)`` (blanks between kept)."""
        if start >= end:
            return ""
        return "".join(t.text for t in self.tokens[self.sig[start] : self.sig[end - 1] + 1])


class _Edits:
    """Replacements on token-list index ranges, applied in one pass."""

    def __init__(self, tokens: list[Token]):
        self.tokens = tokens
        self.edits: list[tuple[int, int, str]] = []

    def replace(self, start: int, end: int, text: str) -> None:
        self.edits.append((start, end, text))

    def delete(self, start: int, end: int) -> None:
        """Remove tokens ``[start, end)`` and the blanks just before them."""
        while start > 0 and self.tokens[start - 1].kind == "ws":
            start -= 1
        self.replace(start, end, "")

    def apply(self, start: int = 0, end: int | None = None) -> str:
        end = len(self.tokens) if end is None else end
        out: list[str] = []
        pos = start
        for a, b, text in sorted(self.edits):
            if a < pos:
                continue
            out.extend(t.text for t in self.tokens[pos:a])
            out.append(text)
            pos = b
        out.extend(t.text for t in self.tokens[pos:end])
        return "".join(out)


# --- shared pieces ------------------------------------------------------------------------


@dataclass
class _KeyDef:
    """A parsed index-like clause of CREATE TABLE or ALTER TABLE ADD."""

    kind: str  # PRIMARY UNIQUE INDEX SHARD SORT CLUSTERED FOREIGN CHECK FULLTEXT OTHER
    name: str | None
    columns: tuple[tuple[str, bool], ...]
    using: str | None = None
    unenforced: bool = False
    rely: bool = False
    foreign: ForeignKey | None = None
    unenforced_span: tuple[int, int] | None = None  # token indexes of UNENFORCED [RELY|NORELY]
    head_span: tuple[int, int] | None = None  # [CONSTRAINT x] UNIQUE [KEY|INDEX] span
    fulltext_version_span: tuple[int, int] | None = None
    named_by_constraint: bool = False  # name came from CONSTRAINT symbol, not an index name


def _key_columns(cur: _Cursor) -> tuple[tuple[str, bool], ...]:
    cur.expect_op("(")
    columns: list[tuple[str, bool]] = []
    if cur.accept_op(")"):
        return ()
    while True:
        if cur.is_op("*"):
            cur.next()
            columns.append(("*", False))
        else:
            name = cur.name()
            if cur.is_op("("):
                cur.skip_group()
            desc = cur.accept_word("ASC", "DESC") == "DESC"
            columns.append((name, desc))
        if cur.accept_op(")"):
            return tuple(columns)
        cur.expect_op(",")


def _index_options(cur: _Cursor, key: _KeyDef) -> None:
    """``USING x``, ``UNENFORCED [RELY|NORELY]``, ``COMMENT '...'``, ``KEY_BLOCK_SIZE=n`` ..."""
    while not cur.at_end() and not cur.is_op(",") and not cur.is_op(")"):
        if cur.is_word("USING"):
            cur.next()
            if cur.accept_word("CLUSTERED"):
                cur.expect_word("COLUMNSTORE")
                key.kind = "CLUSTERED"
            else:
                key.using = cur.expect_word("HASH", "BTREE", "RTREE")
        elif cur.is_word("UNENFORCED"):
            start = cur.index()
            cur.next()
            rely = cur.accept_word("RELY", "NORELY")
            key.unenforced, key.rely = True, rely == "RELY"
            key.unenforced_span = (start, cur.last_index)
        elif cur.accept_word("METADATA_ONLY", "VISIBLE", "INVISIBLE", "IGNORED", "NOT"):
            cur.accept_word("IGNORED")
        elif cur.accept_word("COMMENT"):
            cur.next()
        elif cur.accept_word("KEY_BLOCK_SIZE", "BUCKET_COUNT", "WITH_PARSER"):
            cur.accept_op("=")
            cur.next()
        elif cur.accept_word("WITH", "INDEX_OPTIONS"):
            cur.accept_op("=")
            if cur.is_op("("):
                cur.skip_group()
            else:
                cur.next()
        else:
            raise _Unhandled(f"index option {cur.peek().text!r}")


def _parse_key(cur: _Cursor, edits: _Edits) -> _KeyDef:
    """One index-like clause, cursor on its first word (CONSTRAINT/PRIMARY/UNIQUE/KEY/...)."""
    head_start = cur.index()
    symbol = None
    if cur.accept_word("CONSTRAINT") and not cur.is_word(
        "PRIMARY", "UNIQUE", "FOREIGN", "CHECK", "SHARD"
    ):
        symbol = cur.name()
    word = cur.expect_word(
        "PRIMARY", "UNIQUE", "KEY", "INDEX", "SHARD", "SORT", "FOREIGN", "CHECK", "FULLTEXT"
    )
    if word == "CHECK":
        cur.skip_group()
        return _KeyDef("CHECK", symbol, ())
    if word == "PRIMARY":
        cur.expect_word("KEY")
        key = _KeyDef(rules.PRIMARY, rules.PRIMARY, ())
    elif word == "UNIQUE":
        cur.accept_word("KEY", "INDEX")
        key = _KeyDef(rules.UNIQUE, None, ())
        key.head_span = (head_start, cur.last_index)
    elif word == "SHARD":
        cur.accept_word("KEY")
        key = _KeyDef("SHARD", None, ())
    elif word == "SORT":
        cur.expect_word("KEY")
        key = _KeyDef("SORT", None, ())
    elif word == "FOREIGN":
        cur.expect_word("KEY")
        key = _KeyDef("FOREIGN", symbol, ())
    elif word == "FULLTEXT":
        key = _KeyDef("FULLTEXT", None, ())
        if cur.is_word("USING") and cur.is_word("VERSION", k=1):
            start = cur.index()
            cur.p += 3  # USING VERSION n
            key.fulltext_version_span = (start, cur.last_index)
        cur.accept_word("KEY", "INDEX")
    else:
        key = _KeyDef(rules.INDEX, None, ())
    if not cur.is_op("(") and not cur.is_word("USING"):
        key.name = cur.name()
        if key.kind == rules.UNIQUE and key.name.upper() == rules.PRIMARY:
            # SHOW CREATE TABLE prints a columnstore primary key as UNIQUE KEY `PRIMARY`.
            key.kind = rules.PRIMARY
            edits.replace(head_start, cur.last_index, "PRIMARY KEY")
    elif key.name is None and symbol and key.kind in (rules.UNIQUE, "FOREIGN"):
        key.name = symbol
        key.named_by_constraint = True
    if cur.accept_word("USING"):
        key.using = cur.expect_word("HASH", "BTREE", "RTREE")
    key.columns = _key_columns(cur)
    _check_key_order(key)
    if key.kind == "FOREIGN":
        cur.expect_word("REFERENCES")
        _, ref_table = cur.qualified_name()
        ref_columns = tuple(c for c, _ in _key_columns(cur)) if cur.is_op("(") else ()
        _skip_references_tail(cur)
        columns = tuple(c for c, _ in key.columns)
        key.foreign = ForeignKey(key.name, columns, ref_table, ref_columns)
        return key
    _index_options(cur, key)
    return key


def _skip_references_tail(cur: _Cursor) -> None:
    while cur.accept_word("ON", "MATCH"):
        if cur.accept_word("DELETE", "UPDATE"):
            if cur.accept_word("SET"):
                cur.expect_word("NULL", "DEFAULT")
            elif cur.accept_word("NO"):
                cur.expect_word("ACTION")
            else:
                cur.expect_word("CASCADE", "RESTRICT")
        else:
            cur.expect_word("FULL", "PARTIAL", "SIMPLE")


def _index_name(key: _KeyDef, taken: set[str]) -> str:
    """MySQL's default index name: the first column, then ``_2``, ``_3`` ... on collisions."""
    if key.name:
        return key.name
    base = key.columns[0][0] if key.columns else "key"
    name, n = base, 2
    while name.lower() in taken:
        name, n = f"{base}_{n}", n + 1
    return name


@dataclass
class _ColumnDef:
    column: Column
    primary_key: bool = False
    unique: bool = False
    references_span: tuple[int, int] | None = None
    computed_rewrite: str | None = None  # MariaDB spelling of a SingleStore computed column
    drop_spans: tuple[tuple[int, int], ...] = ()


def _parse_type(cur: _Cursor) -> str:
    start = cur.p
    cur.next()
    if cur.is_word("PRECISION", "VARYING"):
        cur.next()
    if cur.is_op("("):
        cur.skip_group()
    while cur.accept_word("UNSIGNED", "SIGNED", "ZEROFILL"):
        pass
    return rules.normalize_type(cur.text(start, cur.p))


def _parse_default(cur: _Cursor) -> str:
    start = cur.p
    if cur.is_op("("):
        cur.skip_group()
    else:
        if cur.is_op("-") or cur.is_op("+"):
            cur.next()
        cur.next()
        if cur.is_op("("):
            cur.skip_group()
    return cur.text(start, cur.p)


def _parse_column(cur: _Cursor) -> _ColumnDef:
    """``name type attributes...`` or SingleStore's ``name AS expr PERSISTED type``."""
    name = cur.name()
    computed = None
    if cur.is_word("AS"):
        cur.next()
        expr_start = cur.p
        depth = 0
        while not (depth == 0 and cur.is_word("PERSISTED")):
            token = cur.next()
            depth += token.is_op("(") - token.is_op(")")
        expr = cur.text(expr_start, cur.p)
        cur.next()
        type_start = cur.p
        col_type = _parse_type(cur)
        computed = f"{cur.text(type_start, cur.p)} AS ({expr}) STORED"
    else:
        col_type = _parse_type(cur)
    col = _ColumnDef(Column(name, col_type))
    attrs: dict = {}
    drops: list[tuple[int, int]] = []
    while not cur.at_end() and not cur.is_op(",") and not cur.is_op(")"):
        if cur.is_word("FIRST", "AFTER"):
            break
        start = cur.index()
        word = cur.next().upper
        if word == "NOT":
            cur.expect_word("NULL")
            attrs["nullable"] = False
        elif word == "NULL":
            attrs["nullable"] = True
        elif word == "DEFAULT":
            default = _parse_default(cur)
            attrs["default"] = None if default.upper() == "NULL" else default
        elif word == "AUTO_INCREMENT":
            attrs["auto_increment"] = True
        elif word == "PRIMARY":
            cur.expect_word("KEY")
            col.primary_key = True
        elif word == "KEY":
            col.primary_key = True
        elif word == "UNIQUE":
            cur.accept_word("KEY")
            col.unique = True
        elif word == "COMMENT":
            attrs["comment"] = string_value(cur.next())
        elif word == "COLLATE":
            attrs["collation"] = cur.name()
        elif word in ("CHARACTER", "CHARSET"):
            if word == "CHARACTER":
                cur.expect_word("SET")
            attrs["charset"] = cur.name()
        elif word == "BINARY":
            pass
        elif word == "ON":
            cur.expect_word("UPDATE")
            _parse_default(cur)
        elif word in ("SPARSE", "SERIES"):
            if word == "SERIES":
                cur.expect_word("TIMESTAMP")
            drops.append((start, cur.last_index))
        elif word == "REFERENCES":
            cur.qualified_name()
            if cur.is_op("("):
                cur.skip_group()
            _skip_references_tail(cur)
            col.references_span = (start, cur.last_index)
        elif word == "CHECK":
            cur.skip_group()
        elif word == "GENERATED":
            cur.expect_word("ALWAYS")
        elif word == "AS":
            cur.skip_group()
        elif word in ("VIRTUAL", "STORED", "PERSISTENT", "INVISIBLE", "VISIBLE"):
            pass
        elif word == "SRID":
            cur.next()
        else:
            raise _Unhandled(f"column attribute {word}")
    if computed is not None:
        col.computed_rewrite = f"{quote_name(name)} {computed}"
        drops = []
    col.column = replace(col.column, **attrs)
    col.drop_spans = tuple(drops)
    return col


def _table_options(cur: _Cursor, edits: _Edits) -> list[tuple[str, str, int, int]]:
    """``name [=] value`` pairs after the column list: (NAME, value text, start, end index)."""
    options = []
    while not cur.at_end() and not cur.is_word("AS", "SELECT", "IGNORE", "REPLACE", "WITH"):
        if cur.accept_op(","):
            continue
        start = cur.index()
        cur.accept_word("DEFAULT")
        word = cur.next().upper
        if word == "CHARACTER":
            cur.expect_word("SET")
            word = "CHARSET"
        cur.accept_op("=")
        value_start = cur.p
        cur.next()
        value = cur.text(value_start, cur.p)
        end = cur.last_index
        options.append((word, value, start, end))
        if word in SINGLESTORE_TABLE_OPTIONS:
            edits.delete(start, end)
    return options


def _option_value(options: list[tuple[str, str, int, int]], name: str) -> str | None:
    return next((value for word, value, _, _ in options if word == name), None)


def _literal(text: str) -> str:
    return string_value(Token("str", text)) if text[:1] in "'\"" else text


def _remove_element(edits: _Edits, elements: list[tuple[int, int]], i: int) -> None:
    """Delete element ``i`` of a comma-separated list, with the comma that joins it."""
    start, end = elements[i]
    if i > 0:
        edits.delete(elements[i - 1][1], end)
    elif len(elements) > 1:
        edits.replace(start, elements[1][0], "")
    else:
        edits.delete(start, end)


# --- CREATE TABLE -------------------------------------------------------------------------


def _create_table(
    cur: _Cursor,
    edits: _Edits,
    database: str | None,
    lookup: Lookup,
    version: Version | None,
    judge: bool = True,
) -> Result:
    storage_start = cur.index()
    words = []
    while word := cur.accept_word("ROWSTORE", "REFERENCE", "TEMPORARY", "GLOBAL", "COLUMNSTORE"):
        words.append(word)
    rowstore, reference = "ROWSTORE" in words, "REFERENCE" in words
    temporary = "TEMPORARY" in words
    if words and words != ["TEMPORARY"]:
        edits.replace(storage_start, cur.index(), "TEMPORARY " if temporary else "")
    cur.expect_word("TABLE")
    if_not_exists = False
    if cur.accept_word("IF"):
        cur.expect_word("NOT")
        cur.expect_word("EXISTS")
        if_not_exists = True
    db, name = cur.qualified_name()
    db = db or database
    storage = Storage.from_words(rowstore, reference)

    if cur.accept_word("LIKE") or (cur.is_op("(") and cur.is_word("LIKE", k=1)):
        source_db, source = cur.qualified_name() if not cur.accept_op("(") else _like_in_parens(cur)
        found = lookup(source_db or database, source)
        changes = ()
        if found is not None:
            changes = (TableCreated(db, replace(found, name=name), if_not_exists),)
        return Rewrite(edits.apply(), changes)

    spec = TableSpec(name, storage, temporary=temporary)
    if not cur.is_op("("):
        # CREATE TABLE ... AS SELECT without a column list: the columns come from the query,
        # so there is no layout to record or judge.
        _table_options(cur, edits)
        return Rewrite(edits.apply())
    spec = _create_body(cur, edits, spec)
    options = _table_options(cur, edits)
    comment = _option_value(options, "COMMENT")
    auto_start = _option_value(options, "AUTO_INCREMENT")
    spec = replace(
        spec,
        comment=_literal(comment) if comment is not None else None,
        auto_increment_start=int(auto_start) if auto_start and auto_start.isdigit() else None,
        options=tuple(
            (word, value)
            for word, value, _, _ in options
            if word not in ("COMMENT", "AUTO_INCREMENT") and word not in SINGLESTORE_TABLE_OPTIONS
        ),
    )
    violations = rules.check_table(spec, version) if judge else []
    if violations:
        return Reject.from_violation(violations[0])
    return Rewrite(edits.apply(), (TableCreated(db, spec, if_not_exists),))


def _like_in_parens(cur: _Cursor) -> tuple[str | None, str]:
    cur.expect_word("LIKE")
    result = cur.qualified_name()
    cur.expect_op(")")
    return result


def _create_body(cur: _Cursor, edits: _Edits, spec: TableSpec) -> TableSpec:
    cur.expect_op("(")
    columns: list[Column] = []
    keys: list[Key] = []
    foreign: list[ForeignKey] = []
    shard_key: tuple[str, ...] | None = None
    sort_key: tuple[tuple[str, bool], ...] = ()
    elements: list[tuple[int, int]] = []
    removed: list[int] = []
    shard_element: int | None = None
    key_defs: list[_KeyDef] = []
    while True:
        start = cur.index()
        token = cur.peek()
        if token is None:
            raise _Unhandled("unterminated column list")
        is_key = token.kind == "word" and (
            token.is_word("PRIMARY", "UNIQUE", "CONSTRAINT", "FOREIGN", "CHECK", "FULLTEXT")
            or (token.is_word("KEY", "INDEX") and not cur.is_word("AS", k=1))
            or (token.is_word("SHARD") and (cur.is_word("KEY", k=1) or cur.is_op("(", k=1)))
            or (token.is_word("SORT") and cur.is_word("KEY", k=1))
        )
        if token.is_word("COLUMN") and cur.is_word("GROUP", k=1):
            cur.p += 2  # COLUMN GROUP
            if not cur.is_op("("):
                cur.name()
            cur.skip_group()
            removed.append(len(elements))
        elif is_key:
            key = _parse_key(cur, edits)
            key_defs.append(key)
            if key.kind == "SHARD":
                shard_key = tuple(c for c, _ in key.columns)
                shard_element = len(elements)
                removed.append(shard_element)
            elif key.kind in ("SORT", "CLUSTERED"):
                sort_key = tuple(key.columns)
                removed.append(len(elements))
            elif key.kind == "FOREIGN":
                foreign.append(key.foreign)
                removed.append(len(elements))
            else:
                _rewrite_key(edits, key)
        else:
            col = _column_def(cur, edits)
            columns.append(col.column)
            if col.primary_key:
                keys.append(Key(rules.PRIMARY, (col.column.name,), rules.PRIMARY))
            if col.unique:
                keys.append(Key(col.column.name, (col.column.name,), rules.UNIQUE))
        elements.append((start, cur.last_index))
        if cur.accept_op(")"):
            break
        cur.expect_op(",")
    if shard_element is not None and _shard_index_needed(columns, keys, key_defs, shard_key):
        # MariaDB wants the AUTO_INCREMENT column to lead an index; SingleStore's shard key is one.
        removed.remove(shard_element)
        edits.replace(*elements[shard_element], f"KEY ({_column_list(shard_key)})")
    for i in removed:
        _remove_element(edits, elements, i)
    taken = {k.name.lower() for k in keys}
    for key in key_defs:
        if key.kind in (rules.PRIMARY, rules.UNIQUE, rules.INDEX):
            name = _index_name(key, taken)
            taken.add(name.lower())
            keys.append(
                Key(
                    name,
                    tuple(c for c, _ in key.columns),
                    key.kind,
                    key.using,
                    key.unenforced,
                    key.rely,
                )
            )
    # Primary-key columns are NOT NULL whether or not the statement says so (as in MySQL).
    primary = {c.lower() for k in keys if k.kind == rules.PRIMARY for c in k.columns}
    columns = [replace(c, nullable=False) if c.name.lower() in primary else c for c in columns]
    return replace(
        spec,
        columns=tuple(columns),
        keys=tuple(keys),
        shard_key=shard_key,
        sort_key=sort_key,
        foreign_keys=tuple(foreign),
    )


def _shard_index_needed(
    columns: list[Column], keys: list[Key], key_defs: list[_KeyDef], shard_key: tuple[str, ...]
) -> bool:
    """An AUTO_INCREMENT column leads the shard key and no other index."""
    auto = {c.name.lower() for c in columns if c.auto_increment}
    leading = {k.columns[0].lower() for k in keys if k.columns}
    leading |= {
        k.columns[0][0].lower()
        for k in key_defs
        if k.columns and k.kind in (rules.PRIMARY, rules.UNIQUE, rules.INDEX, "FULLTEXT")
    }
    return bool(shard_key) and shard_key[0].lower() in auto - leading


def _rewrite_key(edits: _Edits, key: _KeyDef) -> None:
    """Unenforced unique → plain KEY (keeping its name); FULLTEXT USING VERSION n → FULLTEXT."""
    if key.unenforced and key.head_span is not None:
        symbol = f" {quote_name(key.name)}" if key.named_by_constraint else ""
        edits.replace(*key.head_span, "KEY" + symbol)
        edits.delete(*key.unenforced_span)
    if key.fulltext_version_span is not None:
        edits.delete(*key.fulltext_version_span)


# --- ALTER TABLE --------------------------------------------------------------------------


def _alter_table(
    cur: _Cursor, edits: _Edits, database: str | None, lookup: Lookup, version: Version | None
) -> Result:
    cur.accept_word("ONLINE", "IGNORE")
    cur.expect_word("TABLE")
    db, name = cur.qualified_name()
    db = db or database
    spec = lookup(db, name)
    # Index names taken so far, for MySQL's default name of an unnamed ADD KEY (``a``, ``a_2``).
    taken = set() if spec is None else {k.name.lower() for k in spec.keys}
    ops: list[AlterOp] = []
    elements: list[tuple[int, int]] = []
    removed: list[int] = []
    while not cur.at_end():
        start = cur.index()
        drop = _alter_op(cur, edits, ops, taken)
        elements.append((start, cur.last_index))
        if drop:
            removed.append(len(elements) - 1)
        timeout = cur.index()
        if cur.accept_word("TIMEOUT"):  # SingleStore's ALTER time limit: MariaDB has none
            cur.next()
            edits.delete(timeout, cur.last_index)
            break
        if not cur.accept_op(","):
            break
    if not cur.at_end():
        raise _Unhandled("trailing ALTER text")
    changes: list[CatalogChange] = []
    if spec is not None:
        violations = rules.check_alter(spec, ops, version)
        if violations:
            return Reject.from_violation(violations[0])
        after = rules.apply_alter(spec, [op for op in ops if not isinstance(op, RenameTable)])
        changes.append(TableAltered(db, name, after))
    rename = next((op for op in ops if isinstance(op, RenameTable)), None)
    if rename is not None:
        changes.append(TableRenamed(db, name, rename.new_db or db, rename.new_name))
    if len(removed) == len(elements):
        return Rewrite(None, tuple(changes))
    for i in removed:
        _remove_element(edits, elements, i)
    return Rewrite(edits.apply(), tuple(changes))


def _column_def(cur: _Cursor, edits: _Edits) -> _ColumnDef:
    """A column definition with its SingleStore-only parts edited out of the rewrite."""
    start = cur.index()
    col = _parse_column(cur)
    for span in col.drop_spans:
        edits.delete(*span)
    if col.references_span is not None:
        edits.delete(*col.references_span)
    if col.computed_rewrite is not None:
        edits.replace(start, cur.last_index, col.computed_rewrite)
    if cur.accept_word("AFTER"):
        cur.name()
    else:
        cur.accept_word("FIRST")
    return col


def _rename_only(cur: _Cursor) -> bool:
    """Whether the cursor is at SingleStore's rename-only ``CHANGE old new`` (no definition),
    which MariaDB spells ``RENAME COLUMN old TO new``."""
    names = all((t := cur.peek(k)) is not None and t.kind in ("word", "qid") for k in (0, 1))
    return names and (cur.peek(2) is None or cur.is_op(",", k=2) or cur.is_word("TIMEOUT", k=2))


def _alter_op(cur: _Cursor, edits: _Edits, ops: list[AlterOp], taken: set[str]) -> bool:
    """Parse one ALTER specification into ``ops``; True when it must vanish from the rewrite."""
    word = cur.next().upper
    if word == "ADD":
        if cur.is_word("COLUMN") and cur.is_word("GROUP", k=1):
            cur.p += 2  # COLUMN GROUP
            if not cur.is_op("("):
                cur.name()
            cur.skip_group()
            return True
        if cur.is_word(
            "PRIMARY", "UNIQUE", "KEY", "INDEX", "CONSTRAINT", "FOREIGN", "FULLTEXT", "CHECK"
        ) or cur.is_word("SHARD", "SORT"):
            key = _parse_key(cur, edits)
            if key.kind == "FOREIGN":
                ops.append(AddForeignKey(key.foreign))
                return True
            if key.kind in ("SHARD", "SORT", "CLUSTERED"):
                raise _Unhandled("ALTER ... ADD SHARD/SORT KEY")
            if key.kind in (rules.PRIMARY, rules.UNIQUE, rules.INDEX):
                name = _index_name(key, taken)
                taken.add(name.lower())
                columns = tuple(c for c, _ in key.columns)
                ops.append(
                    AddKey(Key(name, columns, key.kind, key.using, key.unenforced, key.rely))
                )
            _rewrite_key(edits, key)
            return False
        cur.accept_word("COLUMN")
        if cur.is_op("("):
            cur.next()
            while True:
                col = _column_def(cur, edits)
                ops.append(AddColumn(col.column, col.primary_key, col.unique))
                if cur.accept_op(")"):
                    return False
                cur.expect_op(",")
        col = _column_def(cur, edits)
        ops.append(AddColumn(col.column, col.primary_key, col.unique))
        return False
    if word in ("MODIFY", "CHANGE"):
        start = cur.index(-1)
        cur.accept_word("COLUMN")
        if word == "CHANGE" and _rename_only(cur):
            old_token, new_token = cur.next(), cur.next()
            edits.replace(
                start, cur.last_index, f"RENAME COLUMN {old_token.text} TO {new_token.text}"
            )
            ops.append(RenameColumn(old_token.name, new_token.name))
            return False
        old = cur.name() if word == "CHANGE" else cur.peek().name
        col = _column_def(cur, edits)
        ops.append(ModifyColumn(old, col.column, col.primary_key, col.unique))
        return False
    if word == "DROP":
        if cur.accept_word("PRIMARY"):
            cur.expect_word("KEY")
            ops.append(DropKey(rules.PRIMARY))
            return False
        if cur.accept_word("FOREIGN"):
            cur.expect_word("KEY")
            if cur.accept_word("IF"):
                cur.expect_word("EXISTS")
            ops.append(DropForeignKey(cur.name()))
            return True
        if cur.accept_word("INDEX", "KEY"):
            ops.append(DropKey(cur.name()))
            return False
        if cur.accept_word("CONSTRAINT", "CHECK"):
            cur.name()
            return False
        cur.accept_word("COLUMN")
        if cur.accept_word("IF"):
            cur.expect_word("EXISTS")
        ops.append(DropColumn(cur.name()))
        return False
    if word == "RENAME":
        if cur.accept_word("COLUMN"):
            old = cur.name()
            cur.expect_word("TO")
            ops.append(RenameColumn(old, cur.name()))
            return False
        if cur.accept_word("INDEX", "KEY"):
            cur.name()
            cur.expect_word("TO")
            cur.name()
            return False
        cur.accept_word("TO", "AS")
        new_db, new_name = cur.qualified_name()
        ops.append(RenameTable(new_name, new_db))
        return False
    if word == "ALTER":
        cur.accept_word("COLUMN")
        column = cur.name()
        if cur.accept_word("SET"):
            cur.expect_word("DEFAULT")
            ops.append(SetDefault(column, _parse_default(cur)))
        else:
            cur.expect_word("DROP")
            cur.expect_word("DEFAULT")
            ops.append(SetDefault(column, None))
        return False
    cur.p -= 1
    if word == "DEFAULT" or word in ("CHARACTER", "CHARSET", "COLLATE", "CONVERT"):
        while not cur.at_end() and not cur.is_op(","):
            cur.next()
        return False
    cur.next()
    cur.accept_op("=")
    value_token = cur.next()
    if word == "AUTO_INCREMENT":
        if value_token.kind != "num":
            raise _Unhandled("AUTO_INCREMENT value")
        ops.append(SetAutoIncrement(int(value_token.text)))
        return False
    if word == "COMMENT":
        ops.append(SetComment(string_value(value_token)))
        return False
    if word in SINGLESTORE_TABLE_OPTIONS:
        ops.append(SetOption(word, value_token.text))
        return True
    if word in ("ENGINE", "ROW_FORMAT", "KEY_BLOCK_SIZE"):
        ops.append(SetOption(word, value_token.text))
        return False
    raise _Unhandled(f"ALTER specification {word}")


# --- other statements -----------------------------------------------------------------------


def _create_index(
    cur: _Cursor, edits: _Edits, database: str | None, lookup: Lookup, version: Version | None
) -> Result:
    """``CREATE [UNIQUE|FULLTEXT] INDEX name [USING x] ON t (cols) [options]`` = ALTER ADD."""
    kind_start = cur.index()
    kind = {"UNIQUE": rules.UNIQUE, "FULLTEXT": "FULLTEXT"}.get(
        cur.accept_word("UNIQUE", "FULLTEXT") or "", rules.INDEX
    )
    kind_end = cur.last_index
    cur.expect_word("INDEX")
    name = cur.name()
    key = _KeyDef(kind, name, ())
    if cur.accept_word("USING"):
        key.using = cur.expect_word("HASH", "BTREE")
    cur.expect_word("ON")
    db, table = cur.qualified_name()
    db = db or database
    key.columns = _key_columns(cur)
    _check_key_order(key)
    _index_options(cur, key)
    if key.unenforced:
        edits.delete(*key.unenforced_span)
        edits.delete(kind_start, kind_end)
    spec = lookup(db, table)
    changes: tuple[CatalogChange, ...] = ()
    if spec is not None and kind != "FULLTEXT":
        columns = tuple(c for c, _ in key.columns)
        ops = [AddKey(Key(name, columns, kind, key.using, key.unenforced, key.rely))]
        violations = rules.check_alter(spec, ops, version)
        if violations:
            return Reject.from_violation(violations[0])
        changes = (TableAltered(db, table, rules.apply_alter(spec, ops)),)
    return Rewrite(edits.apply(), changes)


def _drop(
    cur: _Cursor, edits: _Edits, database: str | None, lookup: Lookup, version: Version | None
) -> Result:
    cur.accept_word("TEMPORARY")
    word = cur.expect_word("TABLE", "TABLES", "INDEX", "DATABASE", "SCHEMA")
    if word == "INDEX":
        name = cur.name()
        cur.expect_word("ON")
        db, table = cur.qualified_name()
        db = db or database
        spec = lookup(db, table)
        changes: tuple[CatalogChange, ...] = ()
        if spec is not None:
            ops = [DropKey(name)]
            violations = rules.check_alter(spec, ops, version)
            if violations:
                return Reject.from_violation(violations[0])
            changes = (TableAltered(db, table, rules.apply_alter(spec, ops)),)
        return Rewrite(edits.apply(), changes)
    if cur.accept_word("IF"):
        cur.expect_word("EXISTS")
    if word in ("DATABASE", "SCHEMA"):
        return Rewrite(edits.apply(), (DatabaseDropped(cur.name()),))
    dropped = []
    while True:
        db, table = cur.qualified_name()
        dropped.append(TableDropped(db or database, table))
        if not cur.accept_op(","):
            break
    return Rewrite(edits.apply(), tuple(dropped))


def _rename(cur: _Cursor, edits: _Edits, database: str | None) -> Result:
    cur.expect_word("TABLE")
    renames = []
    while True:
        db, table = cur.qualified_name()
        cur.expect_word("TO")
        new_db, new_table = cur.qualified_name()
        renames.append(TableRenamed(db or database, table, new_db or db or database, new_table))
        if not cur.accept_op(","):
            break
    return Rewrite(edits.apply(), tuple(renames))


def _create_database(cur: _Cursor, edits: _Edits) -> Result:
    """Strip SingleStore's ``PARTITIONS n`` and friends; MariaDB keeps the rest."""
    if cur.accept_word("IF"):
        cur.expect_word("NOT")
        cur.expect_word("EXISTS")
    cur.name()
    while not cur.at_end():
        start = cur.index()
        if cur.accept_word("PARTITIONS"):
            cur.accept_op("=")
            cur.next()
            edits.delete(start, cur.last_index)
        else:
            cur.next()
    return Rewrite(edits.apply())


def _update(
    cur: _Cursor,
    database: str | None,
    lookup: Lookup,
    version: Version | None,
    in_transaction: bool,
    child_aggregator: bool,
) -> Result:
    """Single-table ``UPDATE t SET a = ..., b = ... [WHERE ...] [LIMIT n]`` only."""
    cur.accept_word("LOW_PRIORITY")
    cur.accept_word("IGNORE")
    db, table = cur.qualified_name()
    cur.accept_word("AS")
    if not cur.is_word("SET"):
        if cur.peek() is not None and cur.peek().kind in ("word", "qid"):
            cur.next()
        if not cur.is_word("SET"):
            return PASS
    cur.next()
    assigned: list[str] = []
    has_limit = False
    depth = 0
    expect_column = in_set = True
    while not cur.at_end():
        token = cur.next()
        if token.is_op("("):
            depth += 1
        elif token.is_op(")"):
            depth -= 1
        elif depth == 0 and in_set and token.is_op(","):
            expect_column = True
            continue
        elif depth == 0 and token.is_word("WHERE", "ORDER", "LIMIT"):
            in_set = False
            has_limit = has_limit or token.is_word("LIMIT")
        if expect_column and token.kind in ("word", "qid"):
            column = token.name
            if cur.is_op("."):
                cur.next()
                column = cur.name()
            assigned.append(column)
        expect_column = False
    spec = lookup(db or database, table)
    if spec is None:
        return PASS
    violations = dml.check_update(spec, assigned, has_limit, version)
    violations += dml.check_reference_write(spec, in_transaction, child_aggregator)
    return Reject.from_violation(violations[0]) if violations else PASS


def _write_target(cur: _Cursor, word: str) -> tuple[str | None, str] | None:
    if word in ("INSERT", "REPLACE"):
        cur.accept_word("LOW_PRIORITY", "DELAYED", "HIGH_PRIORITY")
        cur.accept_word("IGNORE")
        cur.accept_word("INTO")
    elif word == "DELETE":
        cur.accept_word("LOW_PRIORITY")
        cur.accept_word("QUICK")
        cur.accept_word("IGNORE")
        if not cur.accept_word("FROM"):
            return None
    else:  # LOAD DATA [LOCAL] INFILE 'f' [REPLACE|IGNORE] INTO TABLE t
        cur.expect_word("DATA")
        while not cur.at_end() and not cur.is_word("TABLE"):
            cur.next()
        cur.expect_word("TABLE")
    return cur.qualified_name()


# --- entry point ----------------------------------------------------------------------------

_FIRST_WORD = re.compile(
    r"(?:\s|/\*.*?\*/|--[ \t][^\n]*(?:\n|$)|#[^\n]*(?:\n|$))*([A-Za-z]+)", re.S
)
_WRITES = frozenset({"INSERT", "REPLACE", "DELETE", "LOAD"})
_WRITE_PREFIX = 512


def analyze(
    sql: str,
    database: str | None = None,
    lookup: Lookup = lambda db, table: None,
    *,
    tokens: list[Token] | None = None,
    version: Version | None = None,
    in_transaction: bool = False,
    child_aggregator: bool = False,
) -> Result:
    """Judge and rewrite one statement; see the module docstring for the contract."""
    match = _FIRST_WORD.match(sql)
    first = match.group(1).upper() if match else ""
    if first not in HANDLED_KEYWORDS:
        return PASS
    if first in _WRITES:
        if not (in_transaction and child_aggregator):
            return PASS
        # The target table comes first; never walk bulk VALUES.
        tokens = tokenize(sql[:_WRITE_PREFIX])
    elif tokens is None:
        tokens = tokenize(sql)
    cur = _Cursor(tokens)
    edits = _Edits(tokens)
    try:
        word = cur.next().upper
        if word == "SAVEPOINT" or (word == "RELEASE" and cur.is_word("SAVEPOINT")):
            return Reject.from_violation(dml.check_savepoint())
        if word == "ROLLBACK":
            cur.accept_word("WORK")
            if cur.is_word("TO"):
                return Reject.from_violation(dml.check_savepoint())
            return PASS
        if word == "CREATE":
            if cur.is_word("DATABASE", "SCHEMA"):
                cur.next()
                return _create_database(cur, edits)
            if cur.is_word("UNIQUE", "FULLTEXT", "INDEX"):
                return _create_index(cur, edits, database, lookup, version)
            if cur.is_word("TABLE", "ROWSTORE", "REFERENCE", "TEMPORARY", "GLOBAL", "COLUMNSTORE"):
                return _create_table(cur, edits, database, lookup, version)
            return PASS
        if word == "ALTER":
            if not cur.is_word("TABLE", "ONLINE", "IGNORE"):
                return PASS
            return _alter_table(cur, edits, database, lookup, version)
        if word == "DROP":
            return _drop(cur, edits, database, lookup, version)
        if word == "RENAME":
            return _rename(cur, edits, database)
        if word == "UPDATE":
            return _update(cur, database, lookup, version, in_transaction, child_aggregator)
        if word in _WRITES:
            target = _write_target(cur, word)
            spec = lookup(target[0] or database, target[1]) if target else None
            if spec is not None:
                found = dml.check_reference_write(spec, in_transaction, child_aggregator)
                if found:
                    return Reject.from_violation(found[0])
        return PASS
    except _Unhandled:
        return PASS
    except _Refused as refused:
        return Reject.from_violation(rules.Violation(refused.rule, refused.rule.format()))


def parse_create_table(sql: str, database: str | None = None) -> TableSpec | None:
    """The table a ``CREATE TABLE`` statement declares, not judged (MariaDB's own SHOW CREATE
    TABLE text works too: it reads as a sharded columnstore table); ``None`` if not parseable."""
    tokens = tokenize(sql)
    cur = _Cursor(tokens)
    try:
        cur.expect_word("CREATE")
        result = _create_table(cur, _Edits(tokens), database, lambda db, t: None, None, False)
    except _Unhandled:
        return None
    if isinstance(result, Rewrite) and result.changes:
        return result.changes[0].spec
    return None


# --- SHOW CREATE TABLE ----------------------------------------------------------------------

_INT_WIDTHS = {
    "tinyint": (4, 3),
    "smallint": (6, 5),
    "mediumint": (9, 8),
    "int": (11, 10),
    "bigint": (20, 20),
}
_NO_DEFAULT_NULL = ("text", "blob", "json", "geography")


def _display_type(col_type: str) -> str:
    """SingleStore prints integer display widths (``int(11)``) and ``decimal(10,0)``."""
    base = col_type.split("(")[0].split(" ")[0]
    if base in _INT_WIDTHS and "(" not in col_type:
        signed, unsigned = _INT_WIDTHS[base]
        width = unsigned if "unsigned" in col_type else signed
        return f"{base}({width})" + col_type[len(base) :]
    if col_type == "decimal":
        return "decimal(10,0)"
    return col_type


def _render_column(col: Column) -> str:
    parts = [quote_name(col.name), _display_type(col.type)]
    if col.charset:
        parts.append(f"CHARACTER SET {col.charset}")
    if col.collation:
        parts.append(f"COLLATE {col.collation}")
    if not col.nullable:
        parts.append("NOT NULL")
    if col.auto_increment:
        parts.append("AUTO_INCREMENT")
    if col.default is not None:
        parts.append(f"DEFAULT {col.default}")
    elif col.nullable and not col.auto_increment and not col.base_type.endswith(_NO_DEFAULT_NULL):
        parts.append("DEFAULT NULL")
    if col.comment:
        parts.append(f"COMMENT {quote_string(col.comment)}")
    return " ".join(parts)


def _column_list(columns: tuple[str, ...]) -> str:
    return ",".join(quote_name(c) for c in columns)


def _render_key(key: Key, columnstore: bool) -> str:
    cols = _column_list(key.columns)
    if key.kind == rules.PRIMARY and not columnstore:
        return f"PRIMARY KEY ({cols})"
    word = "UNIQUE KEY" if key.is_unique else "KEY"
    text = f"{word} {quote_name(key.name)} ({cols})"
    if key.unenforced:
        return f"{text} UNENFORCED {'RELY' if key.rely else 'NORELY'}"
    if columnstore or key.using == "HASH":
        return f"{text} USING HASH"
    return text


def render_show_create(spec: TableSpec) -> str:
    """SingleStore's ``SHOW CREATE TABLE`` text for ``spec`` (8.x layout).

    Layout from public 8.x output: columns; ``SHARD KEY `__SHARDKEY` (...)`` (or ``SHARD KEY ()``
    when keyless; none for reference tables); keys in declared order, a columnstore primary key as
    ``UNIQUE KEY `PRIMARY` (...) USING HASH`` and columnstore secondary keys ``USING HASH``;
    columnstore tables end with ``SORT KEY `<first column>` (...)`` or ``SORT KEY `__UNORDERED`
    ()``; then the AUTOSTATS/SQL_MODE options. The rendering of UNENFORCED keys is our guess.
    """
    columnstore = spec.storage.is_columnstore
    lines = [_render_column(c) for c in spec.columns]
    if spec.is_sharded:
        shard = spec.effective_shard_key()
        lines.append(f"SHARD KEY `__SHARDKEY` ({_column_list(shard)})" if shard else "SHARD KEY ()")
    lines.extend(_render_key(k, columnstore) for k in spec.keys)
    if columnstore:
        if spec.sort_key:
            parts = ",".join(quote_name(c) + (" DESC" if d else "") for c, d in spec.sort_key)
            lines.append(f"SORT KEY {quote_name(spec.sort_key[0][0])} ({parts})")
        else:
            lines.append("SORT KEY `__UNORDERED` ()")
    words = spec.storage.create_words
    head = f"CREATE {words + ' ' if words else ''}TABLE {quote_name(spec.name)} ("
    if columnstore:
        options = (
            "AUTOSTATS_CARDINALITY_MODE=INCREMENTAL AUTOSTATS_HISTOGRAM_MODE=CREATE "
            "AUTOSTATS_SAMPLING=ON SQL_MODE='STRICT_ALL_TABLES'"
        )
    else:
        options = (
            "AUTOSTATS_CARDINALITY_MODE=PERIODIC AUTOSTATS_HISTOGRAM_MODE=CREATE "
            "SQL_MODE='STRICT_ALL_TABLES'"
        )
    if spec.comment:
        options += f" COMMENT={quote_string(spec.comment)}"
    return head + "\n  " + ",\n  ".join(lines) + "\n) " + options
