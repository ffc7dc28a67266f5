"""A small SQL lexer for the emulator: string literals, quoted names and comments stay intact.

The emulator rewrites only outside literals, so every query it inspects goes through
:func:`tokenize`; the hot path uses :func:`first_keyword` on raw bytes instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(
    r"""
     (?P<ws>\s+)
    |(?P<comment>/\*.*?\*/|--[ \t][^\n]*|--$|\#[^\n]*)
    |(?P<str>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")
    |(?P<qid>`(?:[^`]|``)*`)
    |(?P<var>@@(?:(?:global|session|local)\.)?[A-Za-z_][\w$]*|@[\w$.]+|@'(?:[^'\\]|\\.)*')
    |(?P<num>0x[0-9A-Fa-f]+|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?(?![A-Za-z_$])|\.\d+)
    |(?P<word>[A-Za-z_$\u0080-\U0010ffff][\w$\u0080-\U0010ffff]*)
    |(?P<op>!:>|::\$|::%|::|:>|:=|<=>|<=|>=|<>|!=|\|\||&&|.)
    """,
    re.S | re.X | re.I,
)

_FIRST_WORD = re.compile(
    rb"(?:\s|/\*.*?\*/|--[ \t][^\n]*(?:\n|$)|\#[^\n]*(?:\n|$)|\()*([A-Za-z]+)", re.S
)


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # ws comment str qid var num word op raw
    text: str

    @property
    def upper(self) -> str:
        return self.text.upper()

    @property
    def is_blank(self) -> bool:
        return self.kind in ("ws", "comment")

    def is_word(self, *words: str) -> bool:
        return self.kind == "word" and self.text.upper() in words

    def is_op(self, op: str) -> bool:
        return self.kind == "op" and self.text == op

    @property
    def name(self) -> str:
        """An identifier's value: backquotes removed for quoted names."""
        if self.kind == "qid":
            return self.text[1:-1].replace("``", "`")
        return self.text


def tokenize(sql: str) -> list[Token]:
    return [Token(m.lastgroup or "op", m.group()) for m in _TOKEN.finditer(sql)]


def first_keyword(query: bytes) -> str:
    """The statement's leading keyword, upper-cased, without tokenizing the whole query."""
    match = _FIRST_WORD.match(query)
    return match.group(1).upper().decode("ascii") if match else ""


def join(tokens: list[Token]) -> str:
    return "".join(t.text for t in tokens)


def significant(tokens: list[Token]) -> list[Token]:
    return [t for t in tokens if not t.is_blank]


def split_statements(tokens: list[Token]) -> list[list[Token]]:
    """Split on top-level ``;``; the separators are dropped, empty statements skipped."""
    statements: list[list[Token]] = [[]]
    for token in tokens:
        if token.is_op(";"):
            statements.append([])
        else:
            statements[-1].append(token)
    return [s for s in statements if any(not t.is_blank for t in s)]


def string_value(token: Token) -> str:
    """The value of a quoted string literal (MySQL escapes, doubled quotes)."""
    body = token.text[1:-1]
    quote = token.text[0]
    body = body.replace(quote * 2, quote)
    escapes = {"0": "\0", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a", "b": "\b"}
    return re.sub(r"\\(.)", lambda m: escapes.get(m.group(1), m.group(1)), body, flags=re.S)


def quote_string(value: str) -> str:
    """A single-quoted SQL literal that means ``value`` whatever the backslash mode."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def quote_name(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


@dataclass
class Group:
    """A parenthesised run of tokens: ``items`` are Tokens and nested Groups."""

    items: list[Token | Group]

    @property
    def text(self) -> str:
        return "(" + render(self.items) + ")"

    kind = "group"
    is_blank = False


Item = Token | Group


def nest(tokens: list[Token]) -> list[Item]:
    """Turn parentheses into :class:`Group` items (unbalanced closers stay plain tokens)."""
    stack: list[list[Item]] = [[]]
    for token in tokens:
        if token.is_op("("):
            stack.append([])
        elif token.is_op(")") and len(stack) > 1:
            inner = stack.pop()
            stack[-1].append(Group(inner))
        else:
            stack[-1].append(token)
    while len(stack) > 1:  # unbalanced: flatten back
        inner = stack.pop()
        stack[-1].append(Token("op", "("))
        stack[-1].extend(inner)
    return stack[0]


def render(items: list[Item]) -> str:
    return "".join(item.text for item in items)


def split_args(items: list[Item]) -> list[list[Item]]:
    """A group's items split on top-level commas."""
    args: list[list[Item]] = [[]]
    for item in items:
        if isinstance(item, Token) and item.is_op(","):
            args.append([])
        else:
            args[-1].append(item)
    if len(args) == 1 and not any(not i.is_blank for i in args[0]):
        return []
    return args


def strip(items: list[Item]) -> list[Item]:
    start, end = 0, len(items)
    while start < end and items[start].is_blank:
        start += 1
    while end > start and items[end - 1].is_blank:
        end -= 1
    return items[start:end]
