"""The README's quickstart, read the way the quickstart test follows it.

Blocks are marked in README.md with an HTML comment on the line before the fence:

- ``<!-- quickstart: run -->``: shell commands, one a line, run in the project directory;
- ``<!-- quickstart: file PATH -->`` / ``<!-- quickstart: append PATH -->``: a file's content,
  or text added to the end of a file that an earlier command created;
- ``<!-- quickstart: step NAME -->``: one step of the migration runbook (one or more commands);
- ``<!-- quickstart: variant NAME -->``: settings shown for another setup, not part of the path
  (a test of its own appends them to the settings).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
_BLOCK = re.compile(
    r"^<!-- quickstart: (?P<kind>run|file|append|step|variant)(?: (?P<arg>\S+))? -->\n"
    r"```(?P<lang>\w+)\n(?P<body>.*?)^```$",
    re.MULTILINE | re.DOTALL,
)
_MARK = re.compile(r"<!-- quickstart:")


@dataclass(frozen=True)
class Block:
    kind: str
    arg: str
    body: str

    def commands(self) -> list[list[str]]:
        """The block's shell commands, split like a shell would (no pipes or variables)."""
        return [shlex.split(line) for line in self.body.splitlines() if line.strip()]


def blocks(text: str | None = None) -> list[Block]:
    """Every marked block, in README order; a marker not followed by a fenced block is an error
    (an edit that broke the marking must fail the test, not shorten the quickstart)."""
    text = README.read_text() if text is None else text
    found = [Block(m["kind"], m["arg"] or "", m["body"]) for m in _BLOCK.finditer(text)]
    if len(found) != len(_MARK.findall(text)):
        raise ValueError("README.md: a '<!-- quickstart: ... -->' marker has no fenced block")
    return found
