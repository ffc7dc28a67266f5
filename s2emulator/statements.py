"""Statement shapes the proxy handles itself: SET, SHOW CREATE TABLE, information_schema.TABLES,
AGGREGATOR SYNC AUTO_INCREMENT, EXPLAIN JSON, ORDER BY detection and the target of an UPDATE. DDL
and the table rules live in :mod:`.ddl`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django_singlestore import rules

from . import ddl
from .sqltext import Token, string_value

_UPDATE_TARGET = re.compile(
    rb"\s*UPDATE\s+(?:LOW_PRIORITY\s+)?(?:IGNORE\s+)?"
    rb"(`(?:[^`]|``)+`|[\w$]+)(?:\s*\.\s*(`(?:[^`]|``)+`|[\w$]+))?",
    re.I,
)

#: Words that can follow a table reference and are not an alias.
_NOT_ALIAS = frozenset(
    {
        "WHERE", "JOIN", "LEFT", "RIGHT", "INNER", "OUTER", "CROSS", "NATURAL", "STRAIGHT_JOIN",
        "ON", "USING", "GROUP", "ORDER", "LIMIT", "UNION", "HAVING", "WINDOW", "FOR", "LOCK",
        "INTO", "EXCEPT", "INTERSECT",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Assignment:
    name: str  # lower case, scope removed
    value: str  # the value as SQL text, or the string literal's value
    text: str  # the assignment as written (re-sent to MariaDB when not ours)


def _unquote_name(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    if text.startswith("`"):
        return text[1:-1].replace("``", "`")
    return text


def update_target(sql: bytes) -> tuple[str | None, str] | None:
    """(db or None, table) of ``UPDATE [db.]table``, read without tokenizing the query."""
    match = _UPDATE_TARGET.match(sql)
    if match is None:
        return None
    first, second = match.group(1), match.group(2)
    if second is None:
        return None, _unquote_name(first)
    return _unquote_name(first), _unquote_name(second)


def set_assignments(words: list[Token]) -> list[Assignment] | None:
    """``SET [SESSION] a = 1, @@b = 'x'`` as assignments; ``None`` for other SET forms.

    ``NAMES …`` and ``CHARACTER SET …``/``CHARSET …`` parts are kept as assignments named
    ``names``/``character set`` (never ours), so a switch set beside them is still seen.
    """
    assignments: list[Assignment] = []
    parts: list[list[Token]] = [[]]
    depth = 0
    for token in words[1:]:
        if token.is_op("("):
            depth += 1
        elif token.is_op(")"):
            depth -= 1
        if depth == 0 and token.is_op(","):
            parts.append([])
        else:
            parts[-1].append(token)
    for part in parts:
        if part and part[0].is_word("SESSION", "LOCAL", "GLOBAL"):
            part = part[1:]
        charset = len(part) > 2 and part[0].is_word("CHARACTER") and part[1].is_word("SET")
        if charset or (len(part) > 1 and part[0].is_word("NAMES", "CHARSET")):
            name = "character set" if charset else part[0].text.lower()
            assignments.append(Assignment(name, "", " ".join(t.text for t in part)))
            continue
        if len(part) < 3 or not (part[1].is_op("=") or part[1].is_op(":=")):
            return None
        target = part[0]
        if target.kind == "var" and target.text.startswith("@@"):
            name = target.text[2:].lower().rpartition(".")[2]
        elif target.kind in ("word", "qid") and not target.is_word("NAMES", "CHARACTER"):
            name = target.name.lower()
        elif target.kind == "var":
            name = target.text  # a user variable: never ours
        else:
            return None
        value_tokens = part[2:]
        if len(value_tokens) == 1 and value_tokens[0].kind == "str":
            value = string_value(value_tokens[0])
        else:
            value = " ".join(t.text for t in value_tokens)
        assignments.append(Assignment(name, value, " ".join(t.text for t in part)))
    return assignments


def set_transaction(words: list[Token]) -> str | None:
    """For ``SET [GLOBAL|SESSION|LOCAL] TRANSACTION ...``: the statement without its
    ``ISOLATION LEVEL ...`` part (``""`` when nothing is left); ``None`` for any other SET or
    when no isolation level is named."""
    rest = words[1:]
    scope = []
    if rest and rest[0].is_word("GLOBAL", "SESSION", "LOCAL"):
        scope, rest = [rest[0].text], rest[1:]
    if not rest or not rest[0].is_word("TRANSACTION"):
        return None
    parts: list[list[Token]] = [[]]
    for token in rest[1:]:
        if token.is_op(","):
            parts.append([])
        else:
            parts[-1].append(token)
    kept = [p for p in parts if not (p and p[0].is_word("ISOLATION"))]
    if len(kept) == len(parts):
        return None
    if not kept:
        return ""
    characteristics = ", ".join(" ".join(t.text for t in p) for p in kept)
    return " ".join(["SET", *scope, "TRANSACTION", characteristics])


def created_database(words: list[Token]) -> str | None:
    """The name in ``CREATE DATABASE|SCHEMA [IF NOT EXISTS] name``."""
    if (
        len(words) < 3
        or not words[0].is_word("CREATE")
        or not words[1].is_word("DATABASE", "SCHEMA")
    ):
        return None
    rest = words[2:]
    if len(rest) >= 4 and rest[0].is_word("IF") and rest[1].is_word("NOT"):
        rest = rest[3:]
    return rest[0].name if rest and rest[0].kind in ("word", "qid") else None


def is_aggregator_sync(words: list[Token]) -> bool:
    """Whether ``words`` are ``AGGREGATOR SYNC AUTO_INCREMENT [ON db[.table]] [ALL]``."""
    if len(words) < 3 or not (
        words[0].is_word("AGGREGATOR")
        and words[1].is_word("SYNC")
        and words[2].is_word("AUTO_INCREMENT")
    ):
        return False
    rest = words[3:]
    if rest and rest[-1].is_word("ALL"):
        rest = rest[:-1]
    if not rest:
        return True
    names = rest[1:]
    return (
        rest[0].is_word("ON")
        and len(names) in (1, 3)
        and all(t.kind in ("word", "qid") for t in names[::2])
        and (len(names) == 1 or names[1].is_op("."))
    )


def explain_json(tokens: list[Token]) -> str | None:
    """SingleStore's ``EXPLAIN JSON stmt`` as MariaDB's ``EXPLAIN FORMAT=JSON stmt``; ``None``
    for any other EXPLAIN (``JSON INTO OUTFILE`` included)."""
    words = [i for i, t in enumerate(tokens) if not t.is_blank]
    if (
        len(words) < 3
        or not tokens[words[0]].is_word("EXPLAIN")
        or not tokens[words[1]].is_word("JSON")
        or tokens[words[2]].is_word("INTO")
    ):
        return None
    return "".join("FORMAT=JSON" if i == words[1] else t.text for i, t in enumerate(tokens))


def show_create_table(words: list[Token], database: str | None) -> tuple[str | None, str] | None:
    """(db, table) of ``SHOW CREATE TABLE [db.]table``."""
    if len(words) < 4 or not (words[1].is_word("CREATE") and words[2].is_word("TABLE")):
        return None
    if len(words) >= 6 and words[4].is_op("."):
        return words[3].name, words[5].name
    return database, words[3].name


def has_order_by(tokens: list[Token]) -> bool:
    """Whether the statement has an ORDER BY outside parentheses."""
    depth = 0
    previous: Token | None = None
    for token in tokens:
        if token.is_blank:
            continue
        if token.is_op("("):
            depth += 1
        elif token.is_op(")"):
            depth -= 1
        elif depth == 0 and token.is_word("BY") and previous and previous.is_word("ORDER"):
            return True
        previous = token
    return False


def storage_columns_query(tokens: list[Token], catalog_join: str) -> str | None:
    """Replace ``information_schema.TABLES`` with a derived table that adds SingleStore's
    ``STORAGE_TYPE`` / ``DISTRIBUTED`` columns, when the query mentions either of them.
    ``catalog_join`` is the derived table's SQL (without alias)."""
    if not any(t.is_word("STORAGE_TYPE", "DISTRIBUTED") for t in tokens):
        return None
    out: list[str] = []
    changed = False
    i = 0
    n = len(tokens)
    while i < n:
        token = tokens[i]
        if (
            token.kind in ("word", "qid")
            and token.name.lower() == "information_schema"
            and i + 2 < n
            and tokens[i + 1].is_op(".")
            and tokens[i + 2].kind in ("word", "qid")
            and tokens[i + 2].name.upper() == "TABLES"
        ):
            j = i + 3
            while j < n and tokens[j].is_blank:
                j += 1
            following = tokens[j] if j < n else None
            has_alias = following is not None and (
                following.is_word("AS")
                or following.kind == "qid"
                or (following.kind == "word" and following.upper not in _NOT_ALIAS)
            )
            out.append(catalog_join if has_alias else f"{catalog_join} AS `TABLES`")
            changed = True
            i += 3
            continue
        out.append(token.text)
        i += 1
    return "".join(out) if changed else None


def spec_for_show(known: rules.TableSpec | None, mariadb_create: str) -> rules.TableSpec | None:
    """The layout SHOW CREATE TABLE reports: the catalog's, else what SingleStore would have
    made of MariaDB's own CREATE TABLE text (a sharded columnstore table)."""
    return known if known is not None else ddl.parse_create_table(mariadb_create)
