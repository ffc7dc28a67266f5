"""What a check found: one ``RelationResult`` per relation, and a ``Report`` that adds them up.

``Report.as_dict()`` is the JSON document of ``s2_check_integrity --format json``; its keys are
part of the command's interface and only ever gain new members.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from dataclasses import dataclass, field
from typing import Any


def json_key(value: Any) -> Any:
    """A primary key as JSON can carry it: numbers and strings as they are, others as text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, tuple | list):
        return [json_key(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, uuid.UUID | decimal.Decimal | datetime.date | datetime.time):
        return str(value)
    return str(value)


@dataclass
class RelationResult:
    """The outcome for one relation (on one tenant, when tenants are checked)."""

    model: str
    field: str
    target: str
    kind: str
    database: str
    target_database: str | None
    strategy: str
    on_delete: str | None
    tenant: str | None = None
    rows_checked: int = 0
    violations: int = 0
    sample: list[Any] = field(default_factory=list)
    by_target: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    relation: Any = field(default=None, repr=False, compare=False)
    #: ``(part, chunk)`` pairs that held broken rows, so ``--fix`` counts only those again;
    #: None when the result did not come from a check in this process.
    broken_chunks: list[Any] | None = field(default=None, repr=False, compare=False)

    @property
    def label(self) -> str:
        return f"{self.model}.{self.field}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "field": self.field,
            "target": self.target,
            "kind": self.kind,
            "database": self.database,
            "target_database": self.target_database,
            "strategy": self.strategy,
            "on_delete": self.on_delete,
            "tenant": self.tenant,
            "rows_checked": self.rows_checked,
            "violations": self.violations,
            "sample": [json_key(pk) for pk in self.sample],
            "by_target": dict(sorted(self.by_target.items())),
            "seconds": round(self.seconds, 3),
        }

    def as_text(self) -> str:
        where = self.database
        if self.target_database and self.target_database != self.database:
            where += f" -> {self.target_database}"
        if self.tenant:
            where += f", tenant {self.tenant}"
        line = (
            f"{self.kind:<7} {self.label} -> {self.target} [{where}, {self.strategy}]: "
            f"{self.rows_checked:,} rows checked, {self.violations:,} violations"
        )
        if self.violations:
            line += "; sample pks: " + ", ".join(str(json_key(pk)) for pk in self.sample)
            if self.by_target:
                line += "; by target: " + ", ".join(
                    f"{label} {count:,}" for label, count in sorted(self.by_target.items())
                )
        return line


@dataclass
class Report:
    """Every relation checked, in order; ``ok`` when none has a violation."""

    relations: list[RelationResult] = field(default_factory=list)

    @property
    def rows_checked(self) -> int:
        return sum(r.rows_checked for r in self.relations)

    @property
    def violations(self) -> int:
        return sum(r.violations for r in self.relations)

    @property
    def broken(self) -> list[RelationResult]:
        return [r for r in self.relations if r.violations]

    @property
    def ok(self) -> bool:
        return not self.broken

    def extend(self, other: Report) -> None:
        self.relations.extend(other.relations)

    def as_dict(self) -> dict[str, Any]:
        return {
            "relations": [r.as_dict() for r in self.relations],
            "total": {
                "relations": len(self.relations),
                "relations_with_violations": len(self.broken),
                "rows_checked": self.rows_checked,
                "violations": self.violations,
            },
        }

    def as_text(self) -> str:
        lines = [r.as_text() for r in self.relations]
        lines.append(
            f"Total: {len(self.relations)} relations, {self.rows_checked:,} rows checked, "
            f"{self.violations:,} violations in {len(self.broken)} relations."
        )
        return "\n".join(lines)
