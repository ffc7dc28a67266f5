"""A SingleStore-dialect emulator: a MySQL-protocol proxy in front of MariaDB.

It accepts SingleStore SQL, rejects what SingleStore rejects with SingleStore's error numbers
and texts (rules in :mod:`django_singlestore.rules`, DDL parsing in :mod:`.ddl`), and runs the
rest on MariaDB. Test infrastructure, not a database: see docs/emulator.md for its blind spots.
"""
