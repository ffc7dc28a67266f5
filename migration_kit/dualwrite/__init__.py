"""Dual write: every write on the primary reaches the mirror through a transactional outbox.

One module per piece, in the order a write travels:

- ``capture``: wrappers around Django's write entry points record each written key in the outbox,
  in the write's own transaction (and ``enqueue_keys`` for raw SQL);
- ``triggers``: capture triggers, where the source database writes those entries itself;
- ``outbox``: the outbox table's statements (insert, claim, give back, delete, lag);
- ``relay``: after commit, applies the committed keys to the mirror at once (one thread);
- ``drain``: ``s2_sync``'s loop over the outbox for whatever the relay did not apply;
- ``apply``: re-reads keys on the source and makes the mirror say the same (also verify's repair).
"""
