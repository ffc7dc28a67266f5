"""Test database creation: MySQL's (CREATE DATABASE / DROP DATABASE work unchanged)."""

from __future__ import annotations

from django.db.backends.mysql.creation import DatabaseCreation as MySQLDatabaseCreation


class DatabaseCreation(MySQLDatabaseCreation):
    """MySQL's creation; ``can_clone_databases`` is off, so the mysqldump path is never used."""
