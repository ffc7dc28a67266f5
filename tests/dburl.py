"""Database URLs for the tests and scripts, parsed by dj-database-url.

``singlestoredb://`` is registered for this backend with dj-database-url's own hook, the line a
user's settings carry too (README quickstart). ``OPTIONS`` is always present, so settings can
add to it.
"""

from __future__ import annotations

from typing import Any

import dj_database_url

dj_database_url.register("singlestoredb", "django_singlestore")


def database_from_url(url: str) -> dict[str, Any]:
    """A ``DATABASES`` entry for ``url``; query parameters become ``OPTIONS``."""
    config: dict[str, Any] = dict(dj_database_url.parse(url))
    config.setdefault("OPTIONS", {})
    return config
