"""Incremental migration of Django models from PostgreSQL/MySQL to SingleStore.

Stage → module → command; docs/migration-kit.md draws the flow (capture → outbox → relay or
drain → mirror, beside backfill, verify, shadow reads, cutover and integrity)::

    stage                  module (in migration_kit)                 command
    phases (the router's)  s2router.phases, guarded by cutover       s2_phase
    capture                dualwrite.capture, dualwrite.triggers     s2_capture
    outbox                 dualwrite.outbox (OutboxEntry rows)       -
    relay                  dualwrite.relay, after every commit       -
    drain                  dualwrite.drain, what the relay left      s2_sync
    backfill               backfill.runner (its fast path: SQL)      s2_backfill
    verify                 verify.runner, --repair: dualwrite.apply  s2_verify
    shadow reads           s2router.shadow                           s2_phase … shadow
    cutover                cutover (guard, AUTO_INCREMENT)           s2_phase … cutover
    integrity, status      integrity.runner, status                  s2_check_integrity, s2_status
    online table rebuild   rebuild (refused ALTERs; docs/rebuild.md)  s2_rebuild
"""
