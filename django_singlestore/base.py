"""SingleStore database backend for Django, on the ``singlestoredb`` driver.

SingleStore speaks the MySQL protocol and mostly MySQL's SQL, so every class here subclasses
Django's MySQL backend and overrides only where SingleStore differs. Django's MySQL module is
written against MySQLdb; the places that assume it (driver exceptions, ``conv`` dicts, the
``CLIENT.FOUND_ROWS`` flag, ``VERSION()``-based server detection) are mapped onto
``singlestoredb`` here.

Importing this module loads only the driver's package (its exceptions and ``connect()``); the
MySQL-protocol connection class and its converters load at the first connection
(``django_singlestore.driver``), so ``manage.py`` commands that never connect do not pay for
them.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils.asyncio import async_unsafe
from django.utils.functional import cached_property

try:
    import singlestoredb as Database
except ImportError as err:  # pragma: no cover - singlestoredb is a hard dependency
    raise ImproperlyConfigured(
        "Error loading the singlestoredb module. Install it with `pip install singlestoredb`."
    ) from err

from django_singlestore import functions, json  # noqa: F401  (register vendor-specific SQL)
from django_singlestore.client import DatabaseClient
from django_singlestore.creation import DatabaseCreation
from django_singlestore.django_mysql import mysql_base
from django_singlestore.features import DatabaseFeatures
from django_singlestore.introspection import DatabaseIntrospection
from django_singlestore.operations import DatabaseOperations
from django_singlestore.options import SingleStoreOptions
from django_singlestore.problems import raise_for
from django_singlestore.rules import parse_version
from django_singlestore.schema import DatabaseSchemaEditor
from django_singlestore.validation import DatabaseValidation

#: SingleStore error numbers for "this feature is not supported" refusals (the 1706 family:
#: ER_DISTRIBUTED_FEATURE_NOT_SUPPORTED and friends), mapped to NotSupportedError.
NOT_SUPPORTED_ERRNOS = frozenset({1706, 1235, 1749, 2549})
_NOT_SUPPORTED_TEXT = re.compile(r"is not supported (?:by|on) ", re.IGNORECASE)
#: Errors MySQL/SingleStore report as OperationalError that Django files under IntegrityError.
INTEGRITY_ERRNOS = frozenset({1048, 1062, 1169, 1557, 1586, 1690, 3819, 4025})


def _translate(exc: Database.Error) -> Database.Error:
    """Reclassify a driver error the way Django expects, keeping number and full text.

    The text is kept verbatim, so a ``Leaf Error (host:port): ...`` prefix survives.
    """
    args = exc.args
    errno = args[0] if args and isinstance(args[0], int) else None
    text = str(args[1]) if len(args) > 1 else str(exc)
    if isinstance(exc, Database.NotSupportedError | Database.IntegrityError):
        return exc
    if errno in NOT_SUPPORTED_ERRNOS or _NOT_SUPPORTED_TEXT.search(text):
        return Database.NotSupportedError(*args)
    if errno in INTEGRITY_ERRNOS:
        return Database.IntegrityError(*args)
    return exc


class CursorWrapper:
    """Wrap a ``singlestoredb`` cursor so its errors reach Django under the right class."""

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor

    def execute(self, query: str, args: Any = None) -> int:
        try:
            return self.cursor.execute(query, args)
        except Database.DatabaseError as exc:
            translated = _translate(exc)
            if translated is exc:
                raise
            raise translated from exc

    def executemany(self, query: str, args: Any) -> int:
        if args is not None and not isinstance(args, (list, tuple)):
            args = list(args)  # the driver needs len(); Django allows any iterable
        try:
            return self.cursor.executemany(query, args)
        except Database.DatabaseError as exc:
            translated = _translate(exc)
            if translated is exc:
                raise
            raise translated from exc

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.cursor, attr)

    def __iter__(self):
        return iter(self.cursor)


class DatabaseWrapper(mysql_base.DatabaseWrapper):
    """A connection to SingleStore through ``singlestoredb.connect``."""

    vendor = "singlestore"
    display_name = "SingleStore"

    # SingleStore requires BIGINT AUTO_INCREMENT on sharded tables; every auto field gets it.
    _data_types = {
        **mysql_base.DatabaseWrapper._data_types,
        "AutoField": "bigint AUTO_INCREMENT",
        "SmallAutoField": "bigint AUTO_INCREMENT",
    }
    # SingleStore has no CHECK constraints.
    data_type_check_constraints: dict[str, str] = {}
    Database = Database
    SchemaEditorClass = DatabaseSchemaEditor
    client_class = DatabaseClient
    creation_class = DatabaseCreation
    features_class = DatabaseFeatures
    introspection_class = DatabaseIntrospection
    ops_class = DatabaseOperations
    validation_class = DatabaseValidation

    def __init__(self, settings_dict: dict[str, Any], alias: str = "default") -> None:
        super().__init__(settings_dict, alias)
        self._s2_options, self._s2_options_problems = SingleStoreOptions.parse(
            settings_dict.get("OPTIONS") or {}, alias
        )

    @property
    def s2_options(self) -> SingleStoreOptions:
        """The alias's backend OPTIONS (strict: ``ImproperlyConfigured`` naming the check id of
        the first problem, which ``manage.py check`` reports with its hint)."""
        raise_for(self._s2_options_problems)
        return self._s2_options

    @s2_options.setter
    def s2_options(self, options: SingleStoreOptions) -> None:
        self._s2_options, self._s2_options_problems = options, []

    @cached_property
    def data_types(self) -> dict[str, str]:
        return dict(self._data_types)

    def get_database_version(self) -> tuple[int, ...]:
        """SingleStore's own version (``@@memsql_version``), not the 5.7.32 it advertises."""
        return self.singlestore_version

    def get_connection_params(self) -> dict[str, Any]:
        """MySQL's parameters (user, database, password, ``host`` or a ``HOST`` starting with
        "/" as ``unix_socket``, port), in singlestoredb's keywords where MySQLdb's differ.

        The backend's OPTIONS are checked first, so a bad one names its system check; MySQL's
        copy of every OPTIONS key is replaced by the driver's share of them.
        """
        from django_singlestore import driver  # imported at first connection (driver.py)

        options = self.s2_options
        kwargs = super().get_connection_params()
        for key in self.settings_dict["OPTIONS"]:
            kwargs.pop(key, None)
        # MySQLdb's CLIENT.FOUND_ROWS flag: singlestoredb spells it client_found_rows.
        kwargs.pop("client_flag", None)
        kwargs.update(
            {
                "conv": driver.django_conversions,
                # Django needs matched (not changed) row counts from UPDATE.
                "client_found_rows": True,
                # JSONField decodes JSON itself.
                "parse_json": False,
                # Django always passes params; "%%" must become "%" even when they are empty.
                "interpolate_query_with_empty_args": True,
                "results_type": "tuples",
                # No BSON/VECTOR columns in Django: skip a SET round trip on every connection.
                "enable_extended_data_types": False,
            }
        )
        kwargs.update(options.driver_options)
        return kwargs

    @async_unsafe
    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        from django_singlestore import driver

        return driver.SingleStoreConnection(**driver.connection_kwargs(conn_params))

    def init_connection_state(self) -> None:
        """Confirm the server is SingleStore before Django issues anything else.

        Skips MySQL's session SETs: SQL_AUTO_IS_NULL is off on SingleStore, and it runs only
        READ COMMITTED (OPTIONS refuses other levels), so both would be wasted round trips.
        """
        if "singlestore_server_data" not in self.__dict__:
            self.__dict__["singlestore_server_data"] = self._read_server_data()
        BaseDatabaseWrapper.init_connection_state(self)

    def _read_server_data(self) -> dict[str, Any]:
        """Everything Django asks about the server, in one round trip on SingleStore."""
        with self.connection.cursor() as cursor:
            try:
                cursor.execute(
                    "SELECT @@memsql_version, VERSION(), @@sql_mode, "
                    "CONVERT_TZ('2001-01-01 01:00:00', 'UTC', 'UTC') IS NOT NULL"
                )
                version, mysql_version, sql_mode, has_zoneinfo = cursor.fetchone()
            except Database.DatabaseError:
                self._refuse_if_not_singlestore(cursor)
                raise
        if isinstance(version, bytes):
            version = version.decode()
        return {
            "singlestore_version": str(version),
            "version": str(mysql_version),
            "sql_mode": sql_mode or "",
            "has_zoneinfo_database": bool(has_zoneinfo),
        }

    def _refuse_if_not_singlestore(self, cursor: Any) -> None:
        """After the server-data query failed: raise ImproperlyConfigured if the server has no
        ``@@memsql_version`` (MySQL, MariaDB); return if it has, so the caller re-raises."""
        try:
            cursor.execute("SELECT @@memsql_version")
            cursor.fetchone()
        except Database.DatabaseError as exc:
            cursor.execute("SELECT VERSION()")
            (other,) = cursor.fetchone()
            host, port = self.settings_dict["HOST"], self.settings_dict["PORT"]
            where = host if host.startswith("/") else f"{host or 'localhost'}:{port or 3306}"
            raise ImproperlyConfigured(
                f"Database {self.alias!r} at {where} is not SingleStore: it reports "
                f"version {other!r} and has no @@memsql_version ({exc.args[1]}). "
                "Point HOST/PORT at a SingleStore server (or the emulator: python -m "
                "s2emulator), or use ENGINE "
                "'django.db.backends.mysql' for MySQL/MariaDB."
            ) from exc

    @cached_property
    def singlestore_server_data(self) -> dict[str, Any]:
        with self.temporary_connection():
            return self.__dict__["singlestore_server_data"]

    @cached_property
    def mysql_server_data(self) -> dict[str, Any]:
        """What Django's MySQL classes ask about the server, answered for SingleStore."""
        data = self.singlestore_server_data
        return {
            "version": data["version"],
            "sql_mode": data["sql_mode"],
            "default_storage_engine": "MemSQL",
            "sql_auto_is_null": False,
            "lower_case_table_names": False,
            "has_zoneinfo_database": data["has_zoneinfo_database"],
        }

    @cached_property
    def singlestore_version(self) -> tuple[int, ...]:
        return parse_version(self.singlestore_server_data["singlestore_version"])

    @property
    def rules_version(self) -> tuple[int, ...] | None:
        """The version the rules catalogue judges by: the server's once known, else its default."""
        if "singlestore_server_data" in self.__dict__:
            return self.singlestore_version
        return None

    @cached_property
    def mysql_is_mariadb(self) -> bool:
        return False

    @async_unsafe
    def create_cursor(self, name: str | None = None) -> CursorWrapper:
        return CursorWrapper(self.connection.cursor())

    @property
    def keeps_autocommit(self) -> bool:
        """Child-aggregator mode: autocommit stays on so reference-table writes work (2549)."""
        return self.s2_options.child_aggregator

    def _set_autocommit(self, autocommit: bool) -> None:
        if not autocommit and self.keeps_autocommit:
            return
        with self.wrap_database_errors:
            self.connection.autocommit(autocommit)

    def disable_constraint_checking(self) -> bool:
        """SingleStore never enforces foreign keys; there is nothing to switch off."""
        return False

    def enable_constraint_checking(self) -> None:
        return None

    def is_usable(self) -> bool:
        """Ping without the driver's default silent reconnect, which would hide a lost session
        (and its open transaction) from Django."""
        try:
            self.connection.ping(reconnect=False)
        except Database.Error:
            return False
        return True
