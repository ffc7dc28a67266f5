"""``CREATE TABLE``: parse the columns, keys and storage words into a TableSpec, judge it with
``rules.check_table``, and rewrite the statement for MariaDB."""

from __future__ import annotations

from dataclasses import replace

from django_singlestore import rules
from django_singlestore.rules import Column, ForeignKey, Key, Storage, TableSpec, Version

from .cursor import Cursor, Edits
from .parts import (
    SINGLESTORE_TABLE_OPTIONS,
    KeyDef,
    column_def,
    index_name,
    literal,
    option_value,
    parse_key,
    remove_element,
    rewrite_key,
    table_options,
)
from .results import Lookup, Reject, Result, Rewrite, TableCreated, Unhandled
from .show_create import column_list


def create_table(
    cur: Cursor,
    edits: Edits,
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
        table_options(cur, edits)
        return Rewrite(edits.apply())
    spec = _create_body(cur, edits, spec)
    options = table_options(cur, edits)
    comment = option_value(options, "COMMENT")
    auto_start = option_value(options, "AUTO_INCREMENT")
    spec = replace(
        spec,
        comment=literal(comment) if comment is not None else None,
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


def _like_in_parens(cur: Cursor) -> tuple[str | None, str]:
    cur.expect_word("LIKE")
    result = cur.qualified_name()
    cur.expect_op(")")
    return result


def _create_body(cur: Cursor, edits: Edits, spec: TableSpec) -> TableSpec:
    cur.expect_op("(")
    columns: list[Column] = []
    keys: list[Key] = []
    foreign: list[ForeignKey] = []
    shard_key: tuple[str, ...] | None = None
    sort_key: tuple[tuple[str, bool], ...] = ()
    elements: list[tuple[int, int]] = []
    removed: list[int] = []
    shard_element: int | None = None
    key_defs: list[KeyDef] = []
    while True:
        start = cur.index()
        token = cur.peek()
        if token is None:
            raise Unhandled("unterminated column list")
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
            key = parse_key(cur, edits)
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
                rewrite_key(edits, key)
        else:
            col = column_def(cur, edits)
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
        edits.replace(*elements[shard_element], f"KEY ({column_list(shard_key)})")
    for i in removed:
        remove_element(edits, elements, i)
    taken = {k.name.lower() for k in keys}
    for key in key_defs:
        if key.kind in (rules.PRIMARY, rules.UNIQUE, rules.INDEX):
            name = index_name(key, taken)
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
    columns: list[Column], keys: list[Key], key_defs: list[KeyDef], shard_key: tuple[str, ...]
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
