"""The settings style shared by the backend, ``s2router`` and ``migration_kit``.

Each package parses its settings with one small parser per key. A parser never raises: it
returns a usable value and records a :class:`Problem` (check id, message, hint). The problems
become system check messages (``manage.py check``, ``migrate``, ``runserver`` show them at
startup), and the strict accessor each package reads its settings through at use calls
:func:`raise_for`, so code that runs anyway meets an ``ImproperlyConfigured`` naming the check id
instead of a half-understood setting.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core import checks
from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True, slots=True)
class Problem:
    """One settings mistake: a check id (``*.E0xx`` an error, ``*.W0xx`` a warning), what is
    wrong, and how to fix it."""

    id: str
    msg: str
    hint: str

    @property
    def is_error(self) -> bool:
        """Errors stop the strict accessor; warnings are only reported by the checks."""
        return ".E" in self.id

    def as_check(self, obj: Any = None) -> checks.CheckMessage:
        """The system check message reporting this problem."""
        level = checks.Error if self.is_error else checks.Warning
        return level(self.msg, hint=self.hint, id=self.id, obj=obj)


def raise_for(problems: Iterable[Problem]) -> None:
    """``ImproperlyConfigured`` for the first error among ``problems``, naming its check id."""
    errors = [p for p in problems if p.is_error]
    if not errors:
        return
    first = errors[0]
    more = f" ({len(errors) - 1} more: run manage.py check)" if len(errors) > 1 else ""
    raise ImproperlyConfigured(f"{first.msg} HINT: {first.hint} ({first.id}){more}")
