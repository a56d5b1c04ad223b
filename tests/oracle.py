"""A naive, obviously correct RFC 9162 Merkle tree: the test oracle.

Straight from the definitions of RFC 9162 section 2.1.1 (MTH), 2.1.3.1 (PATH)
and 2.1.4.1 (PROOF / SUBPROOF), recursing over lists, with no shortcuts and no
code shared with ``verifier`` (it hashes with ``hashlib`` itself). It is slow on
purpose; use it on small trees only. The ``*_entries`` forms take the raw leaf
inputs D[n]; the others take leaf hashes, which is what a log stores.
"""

from __future__ import annotations

import hashlib


def leaf_hash(entry: bytes) -> bytes:
    """MTH({d(0)}) = SHA-256(0x00 || d(0))."""
    return hashlib.sha256(b"\x00" + entry).digest()


def leaf_hashes_of(entries: list[bytes]) -> list[bytes]:
    return [leaf_hash(entry) for entry in entries]


def _split(n: int) -> int:
    """k: the largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaf_hashes: list[bytes]) -> bytes:
    """MTH(D[n]) for the leaves whose hashes are given."""
    n = len(leaf_hashes)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaf_hashes[0]
    k = _split(n)
    return hashlib.sha256(b"\x01" + mth(leaf_hashes[:k]) + mth(leaf_hashes[k:])).digest()


def inclusion_path(m: int, leaf_hashes: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]): the audit path of leaf m, leaf end first."""
    n = len(leaf_hashes)
    if not 0 <= m < n:
        raise ValueError(f"leaf {m} is not in a tree of {n}")
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return [*inclusion_path(m, leaf_hashes[:k]), mth(leaf_hashes[k:])]
    return [*inclusion_path(m - k, leaf_hashes[k:]), mth(leaf_hashes[:k])]


def _subproof(m: int, leaf_hashes: list[bytes], complete: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b)."""
    n = len(leaf_hashes)
    if m == n:
        return [] if complete else [mth(leaf_hashes)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaf_hashes[:k], complete), mth(leaf_hashes[k:])]
    return [*_subproof(m - k, leaf_hashes[k:], False), mth(leaf_hashes[:k])]


def consistency_proof(m: int, leaf_hashes: list[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) for 0 < m <= n; empty for m == 0 (nothing to prove)."""
    n = len(leaf_hashes)
    if not 0 <= m <= n:
        raise ValueError(f"size {m} is not a prefix of a tree of {n}")
    if m == 0:
        return []
    return _subproof(m, leaf_hashes, True)


def mth_entries(entries: list[bytes]) -> bytes:
    return mth(leaf_hashes_of(entries))


def inclusion_path_entries(m: int, entries: list[bytes]) -> list[bytes]:
    return inclusion_path(m, leaf_hashes_of(entries))


def consistency_proof_entries(m: int, entries: list[bytes]) -> list[bytes]:
    return consistency_proof(m, leaf_hashes_of(entries))


def perfect_subtree_hash(level: int, index: int, leaf_hashes: list[bytes]) -> bytes:
    """The hash of the perfect subtree of 2**level leaves starting at leaf index * 2**level."""
    start = index << level
    end = start + (1 << level)
    if end > len(leaf_hashes):
        raise ValueError(
            f"subtree ({level}, {index}) is not complete in a tree of {len(leaf_hashes)}"
        )
    return mth(leaf_hashes[start:end])
