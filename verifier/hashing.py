"""RFC 9162 section 2.1.1 hashing: the one definition of leaf and node hashes."""

from __future__ import annotations

import hashlib

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(leaf_bytes: bytes) -> bytes:
    """SHA-256(0x00 || leaf_bytes)."""
    return hashlib.sha256(LEAF_PREFIX + leaf_bytes).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right); both children must be 32-byte hashes."""
    if len(left) != HASH_SIZE or len(right) != HASH_SIZE:
        raise ValueError(
            f"node children must be {HASH_SIZE} bytes, got {len(left)} and {len(right)}"
        )
    return hashlib.sha256(NODE_PREFIX + left + right).digest()
