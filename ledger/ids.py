"""Event ids the service makes itself: UUIDv7 (RFC 9562 section 5.7), ordered by time.

An event's id is the key of the log's idempotency index. A random id (version 4) lands on
a random page of that B-tree, and once the index outgrows a batch nearly every append
dirties a page of its own, which the commit writes out whole; a version 7 id begins with
its millisecond timestamp, so the ids of a batch land on the last few pages, a saving
measured on 500-event batches (docs/benchmarks-history.md, "Figures from the code").
Clients may send any UUID; the README recommends version 7 for the same reason.
"""

from __future__ import annotations

import os
import time
import uuid

_RAND_A = (1 << 12) - 1
_RAND_B = (1 << 62) - 1


def new_event_id() -> str:
    """A fresh UUIDv7: 48 bits of Unix time in ms, version, 74 random bits, variant."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (
        (ms & ((1 << 48) - 1)) << 80
        | 0x7 << 76
        | ((rand >> 62) & _RAND_A) << 64
        | 0b10 << 62
        | (rand & _RAND_B)
    )
    return str(uuid.UUID(int=value))
