"""Backfill: copy a model's existing rows from its source database to the target.

Pieces (ghostferry's split): ``keyset`` reads by primary key, ``convert`` maps values by field
type, ``load`` writes insert-if-absent, ``state`` keeps checkpoints, ``runner`` drives workers.
"""

from migration_kit.backfill.runner import Options, Result, RowsRejected, WorkerFailed, backfill

__all__ = ["Options", "Result", "RowsRejected", "WorkerFailed", "backfill"]
