"""Scratch databases on the SingleStore under test, through the real ``singlestoredb`` driver."""

from __future__ import annotations

import uuid
from typing import Any

import singlestoredb


def open_connection(params: dict[str, Any], **kwargs: Any) -> Any:
    """A driver connection to ``params``' server, ``LOAD DATA LOCAL`` allowed."""
    return singlestoredb.connect(**{**params, "local_infile": True, **kwargs})


def new_database(admin: Any) -> str:
    """Create a database with a unique name on ``admin``'s server; returns the name."""
    name = f"s2emu_t_{uuid.uuid4().hex[:12]}"
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {name}")
    return name


def drop_database(admin: Any, name: str) -> None:
    """Drop ``name`` if it exists."""
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name}")
