"""Django's MySQL backend modules, which this backend subclasses, importable without mysqlclient.

``django.db.backends.mysql.base`` (and its ``introspection``) import ``MySQLdb`` at import time
for error classes, protocol constants and converters, and refuse to load without it. This
backend never talks through MySQLdb: it connects with ``singlestoredb`` (``base.py``). So when
mysqlclient is not installed, a stand-in built from singlestoredb's own MySQL-protocol constants,
converters and error classes is registered as ``MySQLdb`` only while Django's modules are
imported, then removed: ``import MySQLdb`` elsewhere still fails as usual, and an alias on
Django's own MySQL backend fails when it connects, with an error naming the ``[mysql]`` extra.
With mysqlclient installed, Django's modules import it as they always do.
"""

from __future__ import annotations

import importlib
import sys
import types

import singlestoredb
from django.core.exceptions import ImproperlyConfigured

#: The oldest mysqlclient the ``[mysql]`` extra installs; Django's version gate reads it.
MYSQLCLIENT_MINIMUM = (2, 2, 1)
_ERRORS = (
    "Error",
    "InterfaceError",
    "DatabaseError",
    "DataError",
    "OperationalError",
    "IntegrityError",
    "InternalError",
    "ProgrammingError",
    "NotSupportedError",
)


def _stand_in(missing: ImportError) -> dict[str, types.ModuleType]:
    """Modules named like mysqlclient's that Django's MySQL modules import from."""
    # Only here: singlestoredb.mysql imports the driver's connection module, which the backend
    # otherwise loads at its first connection (django_singlestore.driver, which also keeps the
    # driver's Fusion registry from loading until it is used).
    importlib.import_module("django_singlestore.driver")
    from singlestoredb.mysql import converters
    from singlestoredb.mysql.constants import CLIENT, FIELD_TYPE

    root = types.ModuleType("MySQLdb", "Stand-in for mysqlclient (not installed); see " + __name__)
    root.__version__ = "not installed (django_singlestore stand-in)"
    root.version_info = (*MYSQLCLIENT_MINIMUM, "stand-in", 0)
    for name in _ERRORS:
        setattr(root, name, getattr(singlestoredb, name))

    def connect(*args: object, **kwargs: object) -> None:
        raise ImproperlyConfigured(
            "Django's MySQL backend (ENGINE 'django.db.backends.mysql') needs mysqlclient, which "
            f"is not importable ({missing}). Install it: pip install 'django-s2kit[mysql]'."
        )

    root.connect = connect
    constants = types.ModuleType("MySQLdb.constants")
    constants.CLIENT = CLIENT
    constants.FIELD_TYPE = FIELD_TYPE
    root.constants = constants
    conv = types.ModuleType("MySQLdb.converters")
    conv.conversions = converters.conversions
    root.converters = conv
    return {"MySQLdb": root, "MySQLdb.constants": constants, "MySQLdb.converters": conv}


def _import_django_mysql() -> types.ModuleType:
    try:
        import MySQLdb  # noqa: F401
    except ImportError as missing:
        stand_in = _stand_in(missing)
        sys.modules.update(stand_in)
        try:
            from django.db.backends.mysql import base
        finally:
            for name in stand_in:
                sys.modules.pop(name, None)
        return base
    from django.db.backends.mysql import base

    return base


mysql_base = _import_django_mysql()
from django.db.backends.mysql import introspection as mysql_introspection  # noqa: E402

__all__ = ["mysql_base", "mysql_introspection"]
