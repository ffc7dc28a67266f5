"""Verify: prove a model's target copy equals its source, and repair what differs.

``compare`` finds differing keys (chunk checksums pushed down to SQL, bisection, row digests,
see ``digest`` for the canonical row text); ``runner`` adds lag awareness (keys still in the
outbox are re-checked, not reported), ``--repair`` through the kit's one apply path
(:func:`migration_kit.dualwrite.apply.apply_keys`), and the ``VerifyRun`` record.
"""

from migration_kit.verify.runner import Outcome, verify

__all__ = ["Outcome", "verify"]
