"""The other statements the DDL layer judges: CREATE INDEX, DROP, RENAME TABLE, CREATE DATABASE,
UPDATE (shard-key and LIMIT rules) and the target of a write (reference-table writes)."""

from __future__ import annotations

from django_singlestore import rules
from django_singlestore.rules import AddKey, DropKey, Key, Version
from s2emulator import dml

from .cursor import Cursor, Edits
from .parts import KeyDef, check_key_order, index_options, key_columns
from .results import (
    PASS,
    CatalogChange,
    DatabaseDropped,
    Lookup,
    Reject,
    Result,
    Rewrite,
    TableAltered,
    TableDropped,
    TableRenamed,
)


def create_index(
    cur: Cursor, edits: Edits, database: str | None, lookup: Lookup, version: Version | None
) -> Result:
    """``CREATE [UNIQUE|FULLTEXT] INDEX name [USING x] ON t (cols) [options]`` = ALTER ADD."""
    kind_start = cur.index()
    kind = {"UNIQUE": rules.UNIQUE, "FULLTEXT": "FULLTEXT"}.get(
        cur.accept_word("UNIQUE", "FULLTEXT") or "", rules.INDEX
    )
    kind_end = cur.last_index
    cur.expect_word("INDEX")
    name = cur.name()
    key = KeyDef(kind, name, ())
    if cur.accept_word("USING"):
        key.using = cur.expect_word("HASH", "BTREE")
    cur.expect_word("ON")
    db, table = cur.qualified_name()
    db = db or database
    key.columns = key_columns(cur)
    check_key_order(key)
    index_options(cur, key)
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


def drop_statement(
    cur: Cursor, edits: Edits, database: str | None, lookup: Lookup, version: Version | None
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


def rename_statement(cur: Cursor, edits: Edits, database: str | None) -> Result:
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


def create_database(cur: Cursor, edits: Edits) -> Result:
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


def update_statement(
    cur: Cursor,
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


def write_target(cur: Cursor, word: str) -> tuple[str | None, str] | None:
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
