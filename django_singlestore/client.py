"""``manage.py dbshell``: the MySQL command-line client, which speaks to SingleStore as is."""

from __future__ import annotations

from typing import Any

from django.db.backends.mysql.client import DatabaseClient as MySQLDatabaseClient


class DatabaseClient(MySQLDatabaseClient):
    @classmethod
    def settings_to_cmd_args_env(
        cls, settings_dict: dict[str, Any], parameters: list[str]
    ) -> tuple[list[str], dict[str, str] | None]:
        """Map singlestoredb's flat ``ssl_ca``/``ssl_cert``/``ssl_key`` onto MySQL's ``ssl``."""
        options = dict(settings_dict["OPTIONS"])
        ssl = {
            name: options.pop(f"ssl_{name}")
            for name in ("ca", "cert", "key")
            if options.get(f"ssl_{name}")
        }
        if ssl:
            options["ssl"] = ssl
        return super().settings_to_cmd_args_env({**settings_dict, "OPTIONS": options}, parameters)
