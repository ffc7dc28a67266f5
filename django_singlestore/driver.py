"""The driver's MySQL-protocol connection, as the backend uses it; imported at first connection.

Importing ``singlestoredb.mysql.connection`` took 1.2 s of the backend's 1.6 s start-up: that
module imports the driver's Fusion registry (``singlestoredb.fusion``), which compiles the
grammars of its ~60 client-side management commands (``SHOW WORKSPACES``, ``UPLOAD FILE``, ...)
with parsimonious at import time, and ``numpy`` when it is installed (for its VECTOR encoder).
So ``django_singlestore.base`` imports this module only when it opens the first connection, and
this module installs ``singlestoredb.fusion`` as a lazily loaded module (``importlib.util.
LazyLoader``): it executes the first time anything touches it — the driver's own query path
with Fusion enabled, a user's handler registration, any ``import singlestoredb.fusion...``.
Nothing of the driver is replaced; Fusion works as documented once enabled.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import sys
import threading
from typing import Any

import singlestoredb
from django.core.exceptions import ImproperlyConfigured
from django.db.backends import utils as backend_utils


def _defer_fusion() -> None:
    """Make ``singlestoredb.fusion`` a module that loads on first attribute access."""
    name = "singlestoredb.fusion"
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:  # pragma: no cover - part of every release
        return
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    # As a finished import would: ``from .. import fusion`` then finds the attribute and never
    # touches the module (the import system's own check would load it).
    singlestoredb.fusion = module


_defer_fusion()

from singlestoredb.config import get_option  # noqa: E402
from singlestoredb.connection import build_params  # noqa: E402
from singlestoredb.mysql.connection import Connection as DriverConnection  # noqa: E402
from singlestoredb.mysql.constants import COMMAND, FIELD_TYPE  # noqa: E402
from singlestoredb.mysql.converters import conversions  # noqa: E402

#: TIME columns arrive as timedelta by default; Django's TimeField expects datetime.time.
django_conversions = {**conversions, FIELD_TYPE.TIME: backend_utils.typecast_time}

#: Keywords ``singlestoredb.connect()`` takes (it applies the driver's defaults and URL/env
#: handling to them) and the wider set its MySQL-protocol connection class accepts.
_CONNECT_KEYS = frozenset(inspect.signature(singlestoredb.connect).parameters)
_DRIVER_KEYS = frozenset(inspect.signature(DriverConnection.__init__).parameters) - {"self"}


def connection_kwargs(params: dict[str, Any]) -> dict[str, Any]:
    """Driver keywords for ``params``; unknown OPTIONS get a clear error, not a TypeError."""
    unknown = sorted(set(params) - _DRIVER_KEYS)
    if unknown:
        raise ImproperlyConfigured(
            f"Unknown SingleStore connection OPTIONS {unknown}; singlestoredb accepts: "
            f"{', '.join(sorted(_DRIVER_KEYS))}, plus the backend's own keys (docs/backend.md)."
        )
    built = build_params(**{k: v for k, v in params.items() if k in _CONNECT_KEYS})
    built.update({k: v for k, v in params.items() if k not in _CONNECT_KEYS})
    return built


class _DjangoCursorMixin:
    """``execute()`` without the driver's per-statement ``debug.queries`` option lookup; Django
    logs queries itself (``django.db.backends``)."""

    def execute(self, query: str, args: Any = None, infile_stream: Any = None) -> int:
        while self.nextset():
            pass
        query = self.mogrify(query, args)
        result = self._query(query, infile_stream=infile_stream)
        self._executed = query
        return result


class SingleStoreConnection(DriverConnection):
    """singlestoredb's MySQL-protocol connection, minus per-statement option lookups.

    The driver reads the ``fusion.enabled`` option (≈ 20 µs) for every statement to see whether
    it is a Fusion command, and ``debug.queries``; that costs more than the ORM's own work for
    a simple query. Here ``fusion.enabled`` is read once, when the connection opens: while it is
    off (the driver's default) statements go straight to the server, and while it is on
    (``SINGLESTOREDB_FUSION_ENABLED=1``, or ``singlestoredb.options.fusion.enabled = True``
    before connecting) every statement takes the driver's own path, Fusion commands included.
    """

    _cursor_classes: dict[type, type] = {}
    _ssl_contexts: dict[tuple, Any] = {}
    _ssl_lock = threading.Lock()

    def __init__(self, **kwargs: Any) -> None:
        self.fusion_enabled = bool(get_option("fusion.enabled"))
        super().__init__(**kwargs)
        base = self.cursorclass
        if base not in self._cursor_classes:
            self._cursor_classes[base] = type(
                f"Django{base.__name__}", (_DjangoCursorMixin, base), {}
            )
        self.cursorclass = self._cursor_classes[base]

    def query(self, sql: str | bytes, unbuffered: bool = False, infile_stream: Any = None) -> int:
        if self.fusion_enabled:
            return super().query(sql, unbuffered=unbuffered, infile_stream=infile_stream)
        self._is_committable = True
        if isinstance(sql, str):
            sql = sql.encode(self.encoding, "surrogateescape")
        self._local_infile_stream = infile_stream
        self._execute_command(COMMAND.COM_QUERY, sql)
        self._affected_rows = self._read_query_result(unbuffered=unbuffered)
        self._local_infile_stream = None
        return self._affected_rows

    def _create_ssl_ctx(self, sslp: Any) -> Any:
        """The driver's TLS context, built once per process for each set of TLS settings.

        Building one loads the system's CA store (≈ 40 ms of CPU here), and the driver builds
        one for every connection it opens (its default ``ssl_cipher`` asks for TLS whenever
        the server offers it), so each new Django connection paid that. A context holds no
        per-connection state; a changed certificate or CA file (new mtime) gets a new one.
        """
        if not isinstance(sslp, dict):
            return super()._create_ssl_ctx(sslp)
        key = tuple(sorted((k, _file_version(k, v)) for k, v in sslp.items()))
        with self._ssl_lock:
            ctx = self._ssl_contexts.get(key)
            if ctx is None:
                ctx = self._ssl_contexts[key] = super()._create_ssl_ctx(sslp)
        return ctx


def _file_version(key: str, value: Any) -> Any:
    """``value``, plus the file's mtime for the keys that name files."""
    if key in ("ca", "capath", "cert", "key") and isinstance(value, str):
        try:
            return (value, os.stat(value).st_mtime_ns)
        except OSError:
            return (value, None)
    return value if isinstance(value, str | int | float | bool | type(None)) else repr(value)
