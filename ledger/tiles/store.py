"""Hash tiles and entry bundles, cut from the tree nodes the log already stores.

A hash at tree level ``8 L`` is a perfect subtree's hash, stored beside the entry that
completed it (``ledger.log.tree``): a level-``L`` tile of width ``W`` is one primary-key
read of ``W`` entries' node rows, whatever the log's size. Nothing is hashed to serve a
tile. A full tile (or bundle) never changes, so ``TileStore`` keeps the most recently
read ones in memory; a partial one is read each time (it is small, and a new width
follows every append).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from ledger.errors import InvalidRange, LedgerError, NotFound
from ledger.log import tree
from ledger.log.service import Ledger
from verifier.tiles import MAX_ENTRY_BYTES, Tile, encode_bundle

#: Full tiles and bundles kept in memory: 8 KiB a hash tile, about 100 KiB a bundle.
CACHE_TILES = 512


class EntryTooLarge(LedgerError):
    """An entry longer than the 65,535 bytes a bundle's uint16 length can frame."""


def _absent(tile: Tile, what: str) -> NotFound:
    return NotFound(
        f"{tile.path} does not exist yet: it needs a tree of at least {tile.needs_size():,} "
        f"entries{what}"
    )


def hash_tile(ledger: Ledger, tile: Tile) -> bytes:
    """The ``width`` hashes of tree level ``8 * level`` that tile ``tile`` holds, concatenated.

    ``NotFound`` when the tree is not (yet) that large.
    """
    if tile.level is None:
        raise ValueError("an entry bundle is not a hash tile")
    height = tree_level = tile.level * 8
    coords = [(tree_level, tile.first + i) for i in range(tile.width)]
    size = tile.needs_size()
    owner_of, seqs = tree.owners_of(coords, size)
    with ledger.engine.connect() as conn:
        rows = tree.fetch_rows(conn, seqs)
    try:
        nodes = tree.pick_nodes(owner_of, rows, size)
    except InvalidRange:
        each = f" (each of its hashes covers {1 << height} leaves)" if height else ""
        raise _absent(tile, each) from None
    return b"".join(nodes[c] for c in coords)


def entry_bundle(ledger: Ledger, tile: Tile) -> bytes:
    """Entries ``256 N`` to ``256 N + W - 1``: each leaf's exact bytes, uint16-framed."""
    if tile.level is not None:
        raise ValueError("a hash tile is not an entry bundle")
    entries = ledger.entries(tile.first, tile.first + tile.width)
    if len(entries) != tile.width:
        raise _absent(tile, "")
    for entry in entries:
        if len(entry.leaf_bytes) > MAX_ENTRY_BYTES:
            raise EntryTooLarge(
                f"entry {entry.seq} is {len(entry.leaf_bytes):,} bytes, more than the "
                f"{MAX_ENTRY_BYTES:,} an entry bundle can frame (C2SP tlog-tiles uses a uint16 "
                "length): read it from /v1/log/entries instead"
            )
    return encode_bundle([e.leaf_bytes for e in entries])


class TileStore:
    """Tiles of one ledger, full ones cached (they are immutable); thread-safe."""

    def __init__(self, ledger: Ledger, capacity: int = CACHE_TILES) -> None:
        self.ledger = ledger
        self.capacity = capacity
        self._cache: OrderedDict[Tile, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def read(self, tile: Tile) -> bytes:
        """A hash tile or an entry bundle; ``NotFound`` past the tree's size."""
        if tile.full:
            with self._lock:
                cached = self._cache.get(tile)
                if cached is not None:
                    self._cache.move_to_end(tile)
                    return cached
        data = (
            entry_bundle(self.ledger, tile) if tile.level is None else hash_tile(self.ledger, tile)
        )
        if tile.full and self.capacity:
            with self._lock:
                self._cache[tile] = data
                while len(self._cache) > self.capacity:
                    self._cache.popitem(last=False)
        return data
