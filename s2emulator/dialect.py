"""Translate SingleStore-only expressions into MariaDB SQL with the same results.

Covered: the ``JSON_EXTRACT_<type>`` family and its ``::$`` / ``::%`` / ``::`` operators,
``JSON_SET_<type>``, ``JSON_DELETE_KEY``, ``JSON_ARRAY_PUSH_<type>``, ``JSON_MATCH_ANY_EXISTS``,
``JSON_GET_TYPE``, ``JSON_AGG`` / ``JSON_BUILD_*``, ``:>`` / ``!:>`` casts, ``VERSION()``,
``LEAD``/``LAG`` with a default value, ``ANY_VALUE(x)`` (as ``MIN(x)``) and the ``@@``
variables SingleStore has and MariaDB lacks. SingleStore key paths are comma-separated
arguments (``JSON_EXTRACT_STRING(j, 'a', 0)``: key ``a`` then array index 0); a string argument
is an object key, an integer literal an array index.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from . import surface
from .sqltext import (
    Group,
    Item,
    Token,
    nest,
    quote_name,
    quote_string,
    render,
    split_args,
    string_value,
    strip,
    tokenize,
)

#: A variable value answered as a number rather than a string (``@@table_name_case_sensitivity``
#: is 1, as on SingleStore); leading zeros (``memsql_version_hash``) keep a value a string.
_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]{0,17})")

#: Functions that may be called without arguments (``JSON_BUILD_OBJECT()`` is ``{}``).
_NO_ARGUMENTS = frozenset({"JSON_BUILD_OBJECT", "JSON_BUILD_ARRAY"})

#: Spellings of the function names the translator knows, as they appear in raw query bytes.
_FUNCTION_HINTS = (
    b"SON_", b"son_", b"ERSION(", b"ersion(", b"LEAD(", b"LAG(", b"lead(", b"lag(", b"NY_VALUE",
    b"ny_value",
)  # fmt: skip
#: One search for all of them: a third of the cost of ten ``in`` tests on a point query.
_HINT = re.compile(b"|".join(re.escape(hint) for hint in _FUNCTION_HINTS))


def needs_translation(query: bytes) -> bool:
    """A cheap pre-check on raw bytes: may ``query`` contain something to translate?

    Single-byte searches (memchr) gate the two-byte ones, which are much slower on big queries.
    """
    if b":" in query and (b"::" in query or b":>" in query):
        return True
    if b"@" in query and b"@@" in query:
        return True
    return _HINT.search(query) is not None


def _raw(text: str) -> Token:
    return Token("raw", text)


def _path(keys: list[list[Item]]) -> str:
    """A MariaDB JSON path for SingleStore key arguments (literal, or built with CONCAT)."""
    pieces: list[str] = []
    literal = "$"
    for key in keys:
        key = strip(key)
        single = key[0] if len(key) == 1 else None
        if isinstance(single, Token) and single.kind == "num" and single.text.isdigit():
            literal += f"[{single.text}]"
        elif isinstance(single, Token) and single.kind == "str":
            value = string_value(single).replace("\\", "\\\\").replace('"', '\\"')
            literal += f'."{value}"'
        else:
            pieces.append(quote_string(literal))
            literal = ""
            pieces.append(f"CONCAT('.\"', {render(key)}, '\"')")
    if not pieces:
        return quote_string(literal)
    if literal:
        pieces.append(quote_string(literal))
    return "CONCAT(" + ", ".join(pieces) + ")"


def _extract(doc: str, keys: list[list[Item]]) -> str:
    """The JSON value at ``keys`` (SQL NULL when missing or JSON null), compact text."""
    if not keys:
        return f"NULLIF(JSON_COMPACT({doc}), 'null')"
    return f"NULLIF(JSON_COMPACT(JSON_EXTRACT({doc}, {_path(keys)})), 'null')"


def _number(value: str, sql_type: str) -> str:
    # Numbers convert; booleans are 1/0; strings, objects and arrays give 0; null gives NULL
    # (source: json-functions/json-extract-type; BIGINT rounds half away from zero).
    number = f"ROUND(JSON_UNQUOTE({value}))" if sql_type == "SIGNED" else f"JSON_UNQUOTE({value})"
    return (
        f"(CASE JSON_TYPE({value}) WHEN 'INTEGER' THEN CAST({number} AS {sql_type}) "
        f"WHEN 'DOUBLE' THEN CAST({number} AS {sql_type}) "
        f"WHEN 'BOOLEAN' THEN ({value} = 'true') WHEN 'NULL' THEN NULL "
        f"WHEN 'STRING' THEN 0 WHEN 'OBJECT' THEN 0 WHEN 'ARRAY' THEN 0 END)"
    )


def _json_value(value: str) -> str:
    return f"JSON_EXTRACT({value}, '$')"


def _fn_extract(kind: str) -> Callable[[list[str], list[list[Item]]], str]:
    def build(args: list[str], raw: list[list[Item]]) -> str:
        value = _extract(args[0], raw[1:])
        if kind == "STRING":
            return f"JSON_UNQUOTE({value})"
        if kind == "JSON":
            return value
        return _number(value, "DOUBLE" if kind == "DOUBLE" else "SIGNED")

    return build


def _fn_set(kind: str) -> Callable[[list[str], list[list[Item]]], str]:
    def build(args: list[str], raw: list[list[Item]]) -> str:
        value = args[-1]
        if kind == "JSON":
            value = _json_value(value)
        elif kind == "DOUBLE":
            value = f"(({value}) + 0)"
        return f"JSON_SET({args[0]}, {_path(raw[1:-1])}, {value})"

    return build


def _fn_push(kind: str) -> Callable[[list[str], list[list[Item]]], str]:
    def build(args: list[str], raw: list[list[Item]]) -> str:
        value = _json_value(args[1]) if kind == "JSON" else args[1]
        return f"JSON_ARRAY_APPEND({args[0]}, '$', {value})"

    return build


def _fn_get_type(args: list[str], raw: list[list[Item]]) -> str:
    return (
        f"(CASE JSON_TYPE({args[0]}) WHEN 'INTEGER' THEN 'double' "
        f"ELSE LOWER(JSON_TYPE({args[0]})) END)"
    )


FUNCTIONS: dict[str, Callable[[list[str], list[list[Item]]], str]] = {
    "JSON_EXTRACT_STRING": _fn_extract("STRING"),
    "JSON_EXTRACT_DOUBLE": _fn_extract("DOUBLE"),
    "JSON_EXTRACT_BIGINT": _fn_extract("BIGINT"),
    "JSON_EXTRACT_JSON": _fn_extract("JSON"),
    "JSON_SET_STRING": _fn_set("STRING"),
    "JSON_SET_DOUBLE": _fn_set("DOUBLE"),
    "JSON_SET_JSON": _fn_set("JSON"),
    "JSON_DELETE_KEY": lambda a, r: f"JSON_REMOVE({a[0]}, {_path(r[1:])})",
    "JSON_ARRAY_PUSH_STRING": _fn_push("STRING"),
    "JSON_ARRAY_PUSH_DOUBLE": _fn_push("DOUBLE"),
    "JSON_ARRAY_PUSH_JSON": _fn_push("JSON"),
    "JSON_MATCH_ANY_EXISTS": lambda a, r: f"JSON_CONTAINS_PATH({a[0]}, 'one', {_path(r[1:])})",
    "JSON_GET_TYPE": _fn_get_type,
    "JSON_AGG": lambda a, r: f"JSON_ARRAYAGG({', '.join(a)})",
    "JSON_BUILD_OBJECT": lambda a, r: f"JSON_OBJECT({', '.join(a)})",
    "JSON_BUILD_ARRAY": lambda a, r: f"JSON_ARRAY({', '.join(a)})",
    # Any value of the group will do (SingleStore's docs: aggregate-functions/any-value); MariaDB
    # has no ANY_VALUE, and MIN is one such value. Django 6.0's AnyValue aggregate emits it.
    "ANY_VALUE": lambda a, r: f"MIN({', '.join(a)})",
}

_CAST_TYPES = {
    **dict.fromkeys(
        ("INT", "INTEGER", "BIGINT", "SMALLINT", "TINYINT", "MEDIUMINT", "SIGNED", "BOOL"),
        "SIGNED",
    ),
    "BOOLEAN": "SIGNED",
    "UNSIGNED": "UNSIGNED",
    **dict.fromkeys(("DOUBLE", "FLOAT", "REAL"), "DOUBLE"),
    **dict.fromkeys(("DECIMAL", "NUMERIC", "DEC"), "DECIMAL"),
    **dict.fromkeys(("CHAR", "VARCHAR", "TEXT", "TINYTEXT", "MEDIUMTEXT", "LONGTEXT"), "CHAR"),
    **dict.fromkeys(("BINARY", "VARBINARY", "BLOB", "LONGBLOB", "MEDIUMBLOB"), "BINARY"),
    "DATE": "DATE",
    "DATETIME": "DATETIME",
    "TIMESTAMP": "DATETIME",
    "TIME": "TIME",
}


def _cast(value: str, type_items: list[Item]) -> str:
    name = type_items[0].text.upper()
    if name == "JSON":
        return _json_value(value)
    target = _CAST_TYPES.get(name, name)
    modifier = ""
    rest = [i for i in type_items[1:] if not i.is_blank]
    if rest and isinstance(rest[0], Group) and target in ("DECIMAL", "CHAR", "DATETIME", "TIME"):
        modifier = rest[0].text
        rest = rest[1:]
    if target == "SIGNED" and rest and rest[0].text.upper() == "UNSIGNED":
        target = "UNSIGNED"
    return f"CAST({value} AS {target}{modifier})"


def _take_operand(out: list[Item]) -> list[Item]:
    """Pop the primary expression that ends ``out`` (a postfix operator's left operand)."""
    while out and out[-1].is_blank:
        out.pop()
    if not out:
        return []
    taken: list[Item] = [out.pop()]
    if isinstance(taken[0], Group):
        if out and isinstance(out[-1], Token) and out[-1].kind == "word":
            taken.insert(0, out.pop())  # function call
        return taken
    # qualified names: a.b.c
    while len(out) >= 2 and out[-1].text == "." and out[-2].kind in ("word", "qid"):
        taken.insert(0, out.pop())
        taken.insert(0, out.pop())
    return taken


def _take_cast_type(items: list[Item], pos: int) -> tuple[list[Item], int]:
    """The type after ``:>`` starting at ``pos``: a word, optional (args), optional UNSIGNED."""
    while pos < len(items) and items[pos].is_blank:
        pos += 1
    taken: list[Item] = []
    if pos < len(items):
        taken.append(items[pos])
        pos += 1
    if pos < len(items) and isinstance(items[pos], Group):
        taken.append(items[pos])
        pos += 1
    look = pos
    while look < len(items) and items[look].is_blank:
        look += 1
    if look < len(items) and items[look].text.upper() == "UNSIGNED":
        taken.append(items[look])
        pos = look + 1
    return taken, pos


class Translator:
    """Rewrites one statement; ``variables`` are the session's SingleStore-only ``@@`` values."""

    def __init__(self, variables: Mapping[str, str]):
        self.variables = {k.lower(): v for k, v in variables.items()}
        self.changed = False

    def translate(self, sql: str) -> str:
        items = nest(tokenize(sql))
        return render(self._items(items, top=True))

    def _items(self, items: list[Item], top: bool = False) -> list[Item]:
        out: list[Item] = []
        pos = 0
        while pos < len(items):
            item = items[pos]
            pos += 1
            if isinstance(item, Group):
                window = self._lead_lag_default(out, item, items, pos)
                if window is not None:
                    out.append(window[0])
                    pos = window[1]
                    continue
                call = self._call(out, item)
                out.append(call if call is not None else Group(self._items(item.items)))
                continue
            if item.kind == "var":
                out.append(self._variable(item, out, items, pos))
                continue
            if item.kind == "op" and item.text in ("::$", "::%", "::"):
                operand = _take_operand(out)
                while pos < len(items) and items[pos].is_blank:
                    pos += 1
                key = items[pos] if pos < len(items) else Token("str", "''")
                pos += 1
                if key.kind != "num":
                    key = Token("str", quote_string(key.name))
                builder = FUNCTIONS[surface.JSON_OPERATORS[item.text]]
                out.append(_raw(builder([render(operand), key.text], [operand, [key]])))
                self.changed = True
                continue
            if item.kind == "op" and item.text in surface.CAST_OPERATORS:
                operand = _take_operand(out)
                type_items, pos = _take_cast_type(items, pos)
                if type_items:
                    out.append(_raw(_cast(render(operand), type_items)))
                    self.changed = True
                    continue
                out.extend(operand)
            out.append(item)
        return out

    def _call(self, out: list[Item], group: Group) -> Item | None:
        """Translate ``NAME(args)`` when the word before ``group`` names a function we map."""
        if not out or not isinstance(out[-1], Token) or out[-1].kind != "word":
            return None
        name = out[-1].upper
        if name == "VERSION" and not strip(group.items):
            out.pop()
            self.changed = True
            return _raw(self._alias_if_item(out, quote_string(surface.PROTOCOL_SERVER_VERSION)))
        builder = FUNCTIONS.get(name)
        if builder is None:
            return None
        out.pop()
        raw_args = [strip(self._items(arg)) for arg in split_args(group.items)]
        if not raw_args and name not in _NO_ARGUMENTS:
            return None
        self.changed = True
        return _raw(builder([render(a) for a in raw_args], raw_args))

    def _lead_lag_default(
        self, out: list[Item], group: Group, items: list[Item], pos: int
    ) -> tuple[Item, int] | None:
        """``LEAD|LAG(x, n, default) OVER w`` (MariaDB takes no default) as ``IF(LEAD(1, n)
        OVER w IS NULL, default, LEAD(x, n) OVER w)``: ``LEAD(1, n)`` is NULL exactly when the
        row ``n`` away does not exist. Returns the replacement and the position after ``w``."""
        if not out or not isinstance(out[-1], Token) or not out[-1].is_word("LEAD", "LAG"):
            return None
        args = split_args(group.items)
        if len(args) != 3:
            return None
        j = pos
        while j < len(items) and items[j].is_blank:
            j += 1
        if j >= len(items) or not (isinstance(items[j], Token) and items[j].is_word("OVER")):
            return None
        j += 1
        while j < len(items) and items[j].is_blank:
            j += 1
        if j >= len(items) or not (isinstance(items[j], Group) or items[j].kind in ("word", "qid")):
            return None
        name = out.pop().text
        window = render(self._items([items[j]]))
        value, offset, default = (render(strip(self._items(arg))) for arg in args)
        self.changed = True
        text = (
            f"IF({name}(1, {offset}) OVER {window} IS NULL, {default}, "
            f"{name}({value}, {offset}) OVER {window})"
        )
        return _raw(text), j + 1

    def _alias_if_item(self, out: list[Item], value: str, alias: str = "VERSION()") -> str:
        return value if not self._alias_position(out) else f"{value} AS {quote_name(alias)}"

    @staticmethod
    def _alias_position(out: list[Item]) -> bool:
        """Whether the item being added starts a select-list item (after SELECT or a comma)."""
        for item in reversed(out):
            if item.is_blank:
                continue
            return isinstance(item, Token) and (item.is_word("SELECT") or item.is_op(","))
        return False

    def _variable(self, token: Token, out: list[Item], items: list[Item], pos: int) -> Item:
        text = token.text
        if not text.startswith("@@"):
            return token
        name = text[2:].lower()
        bare = name.rpartition(".")[2]
        if bare == "version":
            value = surface.PROTOCOL_SERVER_VERSION
        elif bare in self.variables:
            value = self.variables[bare]
        else:
            return token
        self.changed = True
        literal = value if _INTEGER.fullmatch(value) else quote_string(value)
        if self._alias_position(out) and not self._alias_follows(items, pos):
            return _raw(f"{literal} AS {quote_name(text)}")
        return _raw(literal)

    @staticmethod
    def _alias_follows(items: list[Item], pos: int) -> bool:
        while pos < len(items) and items[pos].is_blank:
            pos += 1
        if pos >= len(items):
            return False
        nxt = items[pos]
        if isinstance(nxt, Group):
            return False
        if nxt.kind in ("qid", "str") or nxt.is_word("AS"):
            return True
        return nxt.kind == "word" and not nxt.is_word(
            "FROM", "WHERE", "UNION", "LIMIT", "ORDER", "GROUP", "HAVING", "INTO", "FOR"
        )


def translate(sql: str, variables: Mapping[str, str]) -> str | None:
    """``sql`` rewritten for MariaDB, or ``None`` when nothing SingleStore-specific is in it."""
    translator = Translator(variables)
    result = translator.translate(sql)
    return result if translator.changed else None
