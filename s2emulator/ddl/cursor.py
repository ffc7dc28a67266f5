"""The token cursor the DDL parser walks, and the byte-exact edits that rewrite a statement for
MariaDB (every byte not edited is kept as written)."""

from __future__ import annotations

from s2emulator.sqltext import Token

from .results import Unhandled


class Cursor:
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
            raise Unhandled("unexpected end of statement")
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
            raise Unhandled(f"expected {'/'.join(words)}")
        return word

    def expect_op(self, op: str) -> None:
        if not self.accept_op(op):
            raise Unhandled(f"expected {op}")

    def name(self) -> str:
        token = self.next()
        if token.kind not in ("word", "qid"):
            raise Unhandled("expected a name")
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


class Edits:
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
