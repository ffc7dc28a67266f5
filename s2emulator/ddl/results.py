"""What :func:`s2emulator.ddl.analyze` answers (Reject, Rewrite with catalog changes, PASS),
and the two exceptions the parser raises to reach those answers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django_singlestore import rules
from django_singlestore.rules import TableSpec, Violation

Lookup = Callable[[str | None, str], TableSpec | None]


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


class Unhandled(Exception):
    """Raised inside the parser for syntax it does not model; :func:`analyze` passes through."""


class Refused(Exception):
    """Raised inside the parser for syntax SingleStore refuses; :func:`analyze` rejects."""

    def __init__(self, rule: rules.Rule):
        super().__init__(rule.id)
        self.rule = rule
