"""The Django releases this backend supports, and one named flag per place Django's API forks.

Every version branch in the backend tests one of these flags, so the forks can be found (and
dropped with the oldest release) by name. Importing ``django_singlestore`` checks the installed
Django against the supported range, as django-cockroachdb does, so an unsupported Django fails
with the range named instead of somewhere deep in a query.
"""

from __future__ import annotations

import django
from django.core.exceptions import ImproperlyConfigured

#: The oldest and newest supported feature releases (pyproject.toml: ``Django>=5.2,<6.2``).
OLDEST: tuple[int, int] = (5, 2)
NEWEST: tuple[int, int] = (6, 1)

#: Django 6.0: ``supports_json_negative_indexing`` (compile_json_path raises for a negative
#: array index where it is False).
DJANGO_6_0: bool = django.VERSION[:2] >= (6, 0)
#: Django 6.1: ``get_relations()`` values are 3-tuples with ``db_on_delete``; database-level
#: ``on_delete`` (DB_CASCADE, DB_SET_NULL, DB_SET_DEFAULT); the UUID4()/UUID7() functions.
DJANGO_6_1: bool = django.VERSION[:2] >= (6, 1)


def check_supported(version: tuple = django.VERSION) -> None:
    """Raise ImproperlyConfigured naming the supported range when ``version`` (a
    ``django.VERSION``-style tuple) is outside it."""
    if not OLDEST <= tuple(version[:2]) <= NEWEST:
        found = ".".join(str(part) for part in version[:3])
        raise ImproperlyConfigured(
            f"django-s2kit supports Django {OLDEST[0]}.{OLDEST[1]} to "
            f"{NEWEST[0]}.{NEWEST[1]} (found Django {found}). Install a supported Django, "
            f'e.g. pip install "Django>={OLDEST[0]}.{OLDEST[1]},<{NEWEST[0]}.{NEWEST[1] + 1}".'
        )
