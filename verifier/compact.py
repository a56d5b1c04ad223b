"""A compact range: the right frontier of an RFC 9162 tree, as its perfect subtrees.

A tree of ``size`` leaves is the concatenation of one perfect subtree for each
set bit of ``size``, largest first. Keeping only those hashes (at most 64) lets
a writer append leaves and learn every perfect subtree node that becomes
complete, and lets an auditor stream a log of any length and know its root at
every size, in constant memory. Model: transparency-dev/merkle ``compact``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from verifier.hashing import EMPTY_ROOT, HASH_SIZE, node_hash


@dataclass(frozen=True, slots=True)
class Node:
    """A perfect subtree's hash: ``level`` 0 is a leaf, its ``index`` counts from the left."""

    level: int
    index: int
    hash: bytes


def frontier_coordinates(size: int) -> list[tuple[int, int]]:
    """The (level, index) of each perfect subtree of a tree of ``size`` leaves, largest first."""
    if size < 0:
        raise ValueError(f"tree size must be >= 0, got {size}")
    coords: list[tuple[int, int]] = []
    start = 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            coords.append((level, start >> level))
            start += 1 << level
    return coords


@dataclass(slots=True)
class CompactRange:
    """The perfect-subtree hashes covering leaves ``[0, size)``, largest first."""

    size: int = 0
    hashes: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        expected = self.size.bit_count() if self.size >= 0 else -1
        if len(self.hashes) != expected:
            raise ValueError(
                f"a compact range of size {self.size} holds {expected} hashes, "
                f"got {len(self.hashes)}"
            )
        for h in self.hashes:
            if len(h) != HASH_SIZE:
                raise ValueError(f"frontier hashes must be {HASH_SIZE} bytes, got {len(h)}")

    def append(self, leaf: bytes) -> list[Node]:
        """Add one leaf hash; return the perfect subtrees it completes, level 1 upwards."""
        index = self.size
        joined = self.append_hashes(leaf)
        return [
            Node(level, index >> level, joined[(level - 1) * HASH_SIZE : level * HASH_SIZE])
            for level in range(1, len(joined) // HASH_SIZE + 1)
        ]

    def append_hashes(self, leaf: bytes) -> bytes:
        """``append``, returning only the completed subtrees' hashes, concatenated in the
        same order: what a writer stores beside the leaf, without a ``Node`` for each."""
        if len(leaf) != HASH_SIZE:
            raise ValueError(f"leaf hash must be {HASH_SIZE} bytes, got {len(leaf)}")
        index = self.size
        hashes = self.hashes
        h = leaf
        joined = b""
        # Each trailing 1 bit of the old size is a sibling subtree that now merges.
        while index & 1:
            h = node_hash(hashes.pop(), h)
            joined += h
            index >>= 1
        hashes.append(h)
        self.size += 1
        return joined

    def extend(self, leaves: Iterable[bytes]) -> Iterator[Node]:
        """Append many leaf hashes, yielding every perfect subtree node they complete."""
        for leaf in leaves:
            yield from self.append(leaf)

    def root(self) -> bytes:
        """The RFC 9162 root hash of the leaves so far (SHA-256 of nothing when empty)."""
        if not self.hashes:
            return EMPTY_ROOT
        h = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            h = node_hash(left, h)
        return h

    def copy(self) -> CompactRange:
        return CompactRange(self.size, list(self.hashes))
