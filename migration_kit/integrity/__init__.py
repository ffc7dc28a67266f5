"""Referential integrity checked in application code, from model metadata.

SingleStore enforces no foreign keys, and Django's ``check_constraints`` finds foreign keys by
introspection, so on SingleStore it checks nothing. This package derives every relation (foreign
keys, one-to-ones, many-to-many through rows, generic foreign keys) from the models and finds the
rows that point at nothing, on one database or across two. ``check()`` is the Python API behind
``manage.py s2_check_integrity``; ``checks.integrity_check`` is a system-check hook.
"""

from migration_kit.integrity.relations import KINDS, Relation, discover, select_models
from migration_kit.integrity.report import RelationResult, Report
from migration_kit.integrity.runner import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_SAMPLE,
    IntegrityConfigError,
    Placement,
    check,
)

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_SAMPLE",
    "KINDS",
    "IntegrityConfigError",
    "Placement",
    "Relation",
    "RelationResult",
    "Report",
    "check",
    "discover",
    "select_models",
]
