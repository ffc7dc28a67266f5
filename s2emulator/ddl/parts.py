"""Pieces CREATE and ALTER share: key and column definitions, table options, index names, and the
rewrites that drop SingleStore-only syntax from them."""

from __future__ import annotations

from dataclasses import dataclass, replace

from django_singlestore import rules
from django_singlestore.rules import Column, ForeignKey
from s2emulator.sqltext import Token, quote_name, quote_string, string_value

from .cursor import Cursor, Edits
from .results import Refused, Unhandled

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


def check_key_order(key: KeyDef) -> None:
    """``KEY (a DESC)``: only a sort key orders its columns (S2-INDEX-DESC)."""
    if key.kind in (rules.PRIMARY, rules.UNIQUE, rules.INDEX) and any(d for _, d in key.columns):
        raise Refused(rules.INDEX_DESC)


@dataclass
class KeyDef:
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


def key_columns(cur: Cursor) -> tuple[tuple[str, bool], ...]:
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


def index_options(cur: Cursor, key: KeyDef) -> None:
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
            raise Unhandled(f"index option {cur.peek().text!r}")


def parse_key(cur: Cursor, edits: Edits) -> KeyDef:
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
        return KeyDef("CHECK", symbol, ())
    if word == "PRIMARY":
        cur.expect_word("KEY")
        key = KeyDef(rules.PRIMARY, rules.PRIMARY, ())
    elif word == "UNIQUE":
        cur.accept_word("KEY", "INDEX")
        key = KeyDef(rules.UNIQUE, None, ())
        key.head_span = (head_start, cur.last_index)
    elif word == "SHARD":
        cur.accept_word("KEY")
        key = KeyDef("SHARD", None, ())
    elif word == "SORT":
        cur.expect_word("KEY")
        key = KeyDef("SORT", None, ())
    elif word == "FOREIGN":
        cur.expect_word("KEY")
        key = KeyDef("FOREIGN", symbol, ())
    elif word == "FULLTEXT":
        key = KeyDef("FULLTEXT", None, ())
        if cur.is_word("USING") and cur.is_word("VERSION", k=1):
            start = cur.index()
            cur.p += 3  # USING VERSION n
            key.fulltext_version_span = (start, cur.last_index)
        cur.accept_word("KEY", "INDEX")
    else:
        key = KeyDef(rules.INDEX, None, ())
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
    key.columns = key_columns(cur)
    check_key_order(key)
    if key.kind == "FOREIGN":
        cur.expect_word("REFERENCES")
        _, ref_table = cur.qualified_name()
        ref_columns = tuple(c for c, _ in key_columns(cur)) if cur.is_op("(") else ()
        _skip_references_tail(cur)
        columns = tuple(c for c, _ in key.columns)
        key.foreign = ForeignKey(key.name, columns, ref_table, ref_columns)
        return key
    index_options(cur, key)
    return key


def _skip_references_tail(cur: Cursor) -> None:
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


def index_name(key: KeyDef, taken: set[str]) -> str:
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


def _parse_type(cur: Cursor) -> str:
    start = cur.p
    cur.next()
    if cur.is_word("PRECISION", "VARYING"):
        cur.next()
    if cur.is_op("("):
        cur.skip_group()
    while cur.accept_word("UNSIGNED", "SIGNED", "ZEROFILL"):
        pass
    return rules.normalize_type(cur.text(start, cur.p))


def parse_default(cur: Cursor) -> str:
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


def _parse_column(cur: Cursor) -> _ColumnDef:
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
            default = parse_default(cur)
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
            parse_default(cur)
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
            raise Unhandled(f"column attribute {word}")
    if computed is not None:
        # MariaDB takes a comment on a generated column (but no NULL/NOT NULL): keep it.
        comment = f" COMMENT {quote_string(attrs['comment'])}" if "comment" in attrs else ""
        col.computed_rewrite = f"{quote_name(name)} {computed}{comment}"
        drops = []
    col.column = replace(col.column, **attrs)
    col.drop_spans = tuple(drops)
    return col


def table_options(cur: Cursor, edits: Edits) -> list[tuple[str, str, int, int]]:
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


def option_value(options: list[tuple[str, str, int, int]], name: str) -> str | None:
    return next((value for word, value, _, _ in options if word == name), None)


def literal(text: str) -> str:
    return string_value(Token("str", text)) if text[:1] in "'\"" else text


def remove_element(edits: Edits, elements: list[tuple[int, int]], i: int) -> None:
    """Delete element ``i`` of a comma-separated list, with the comma that joins it."""
    start, end = elements[i]
    if i > 0:
        edits.delete(elements[i - 1][1], end)
    elif len(elements) > 1:
        edits.replace(start, elements[1][0], "")
    else:
        edits.delete(start, end)


def rewrite_key(edits: Edits, key: KeyDef) -> None:
    """Unenforced unique → plain KEY (keeping its name); FULLTEXT USING VERSION n → FULLTEXT."""
    if key.unenforced and key.head_span is not None:
        symbol = f" {quote_name(key.name)}" if key.named_by_constraint else ""
        edits.replace(*key.head_span, "KEY" + symbol)
        edits.delete(*key.unenforced_span)
    if key.fulltext_version_span is not None:
        edits.delete(*key.fulltext_version_span)


def column_def(cur: Cursor, edits: Edits) -> _ColumnDef:
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
