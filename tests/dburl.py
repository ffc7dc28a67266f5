"""Turn database URLs (``postgresql://``, ``mysql://``, ``singlestoredb://``) into settings."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

ENGINES = {
    "postgres": "django.db.backends.postgresql",
    "postgresql": "django.db.backends.postgresql",
    "mysql": "django.db.backends.mysql",
    "mariadb": "django.db.backends.mysql",
    "singlestoredb": "django_singlestore",
    "singlestore": "django_singlestore",
}


def database_from_url(url: str) -> dict[str, Any]:
    """Return a ``DATABASES`` entry for ``url``; query parameters become ``OPTIONS``."""
    parts = urlsplit(url)
    try:
        engine = ENGINES[parts.scheme]
    except KeyError:
        raise ValueError(
            f"Unsupported database URL scheme {parts.scheme!r} in {url!r}; "
            f"use one of: {', '.join(sorted(ENGINES))}."
        ) from None
    return {
        "ENGINE": engine,
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
        "OPTIONS": dict(parse_qsl(parts.query)),
    }
