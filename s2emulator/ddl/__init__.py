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

The modules, in the order a statement meets them: :mod:`.cursor` (tokens and byte edits),
:mod:`.create`, :mod:`.alter` and :mod:`.statements` (the other statements) using :mod:`.parts`
(key/column parsing they share), answering with :mod:`.results`; :mod:`.show_create` renders.
"""

from __future__ import annotations

import re

from django_singlestore import rules
from django_singlestore.rules import TableSpec, Version
from s2emulator import dml
from s2emulator.sqltext import Token, tokenize

from .alter import alter_table
from .create import create_table
from .cursor import Cursor, Edits
from .results import (
    PASS,
    CatalogChange,
    DatabaseDropped,
    Lookup,
    PassThrough,
    Refused,
    Reject,
    Result,
    Rewrite,
    TableAltered,
    TableCreated,
    TableDropped,
    TableRenamed,
    Unhandled,
)
from .show_create import render_show_create
from .statements import (
    create_database,
    create_index,
    drop_statement,
    rename_statement,
    update_statement,
    write_target,
)

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
    cur = Cursor(tokens)
    edits = Edits(tokens)
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
                return create_database(cur, edits)
            if cur.is_word("UNIQUE", "FULLTEXT", "INDEX"):
                return create_index(cur, edits, database, lookup, version)
            if cur.is_word("TABLE", "ROWSTORE", "REFERENCE", "TEMPORARY", "GLOBAL", "COLUMNSTORE"):
                return create_table(cur, edits, database, lookup, version)
            return PASS
        if word == "ALTER":
            if not cur.is_word("TABLE", "ONLINE", "IGNORE"):
                return PASS
            return alter_table(cur, edits, database, lookup, version)
        if word == "DROP":
            return drop_statement(cur, edits, database, lookup, version)
        if word == "RENAME":
            return rename_statement(cur, edits, database)
        if word == "UPDATE":
            return update_statement(
                cur, database, lookup, version, in_transaction, child_aggregator
            )
        if word in _WRITES:
            target = write_target(cur, word)
            spec = lookup(target[0] or database, target[1]) if target else None
            if spec is not None:
                found = dml.check_reference_write(spec, in_transaction, child_aggregator)
                if found:
                    return Reject.from_violation(found[0])
        return PASS
    except Unhandled:
        return PASS
    except Refused as refused:
        return Reject.from_violation(rules.Violation(refused.rule, refused.rule.format()))


def parse_create_table(sql: str, database: str | None = None) -> TableSpec | None:
    """The table a ``CREATE TABLE`` statement declares, not judged (MariaDB's own SHOW CREATE
    TABLE text works too: it reads as a sharded columnstore table); ``None`` if not parseable."""
    tokens = tokenize(sql)
    cur = Cursor(tokens)
    try:
        cur.expect_word("CREATE")
        result = create_table(cur, Edits(tokens), database, lambda db, t: None, None, False)
    except Unhandled:
        return None
    if isinstance(result, Rewrite) and result.changes:
        return result.changes[0].spec
    return None


__all__ = [
    "HANDLED_KEYWORDS",
    "PASS",
    "CatalogChange",
    "DatabaseDropped",
    "Lookup",
    "PassThrough",
    "Reject",
    "Result",
    "Rewrite",
    "TableAltered",
    "TableCreated",
    "TableDropped",
    "TableRenamed",
    "analyze",
    "parse_create_table",
    "render_show_create",
]
