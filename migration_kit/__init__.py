"""Incremental migration of Django models from PostgreSQL/MySQL to SingleStore."""
