"""C2SP tlog-tiles: the one definition of tile coordinates, paths and entry bundles.

A tile at level ``L`` holds up to 256 consecutive hashes of tree level ``8 * L``
(level 0: leaf hashes); the ``N``-th tile covers those of index ``256 N`` to
``256 N + 255``. A *full* tile has all 256 (8,192 bytes); the rightmost tile of a
level in a tree of ``size`` leaves is *partial*, of width ``(size >> 8 L) % 256``,
and an empty tile does not exist. Paths (relative to a log's prefix):

- ``checkpoint``: the signed note;
- ``tile/<L>/<N>[.p/<W>]``: hash tiles, ``N`` in zero-padded 3-digit groups, all
  but the last prefixed with ``x`` (1234067 is ``x001/x234/067``);
- ``tile/entries/<N>[.p/<W>]``: entry bundles, each entry a big-endian uint16
  length and the entry's bytes (our leaf bytes), hashing to the level-0 tile.

This module is pure: it builds and parses paths and bundles, and computes the hash
of any perfect subtree from the tiles that hold it (``TileHashes``). The server
(``ledger.tiles``) and the verifier's tile audit (``verifier.tile_audit``) share it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from verifier.errors import FormatError
from verifier.hashing import HASH_SIZE, node_hash

__all__ = [
    "CHECKPOINT_PATH",
    "MAX_ENTRY_BYTES",
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "Tile",
    "TileHashes",
    "decode_bundle",
    "encode_bundle",
    "encode_index",
    "entry_bundles",
    "parse_index",
    "tiles_of_tree",
]

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT  # 256 hashes (or entries) in a full tile
MAX_LEVEL = 63
MAX_ENTRY_BYTES = 0xFFFF  # an entry bundle frames each entry with a uint16 length
CHECKPOINT_PATH = "checkpoint"
_GROUP = re.compile(r"[0-9]{3}")


def encode_index(index: int) -> str:
    """A tile index as the spec's path elements: ``1234067`` -> ``x001/x234/067``."""
    if index < 0:
        raise ValueError(f"a tile index is >= 0, got {index}")
    groups = [f"{index % 1000:03d}"]
    index //= 1000
    while index:
        groups.append(f"x{index % 1000:03d}")
        index //= 1000
    return "/".join(reversed(groups))


def parse_index(text: str) -> int:
    """The tile index a path's ``N`` elements encode; ``FormatError`` unless canonical."""
    parts = text.split("/")
    if not all(_GROUP.fullmatch(p[1:]) and p[0] == "x" for p in parts[:-1]) or not (
        _GROUP.fullmatch(parts[-1])
    ):
        raise FormatError(
            f"{text!r} is not a tile index: zero-padded 3-digit groups, all but the last "
            "prefixed with 'x' (for example x001/x234/067)"
        )
    index = int("".join(p.lstrip("x") for p in parts))
    if encode_index(index) != text:  # a leading x000 group: two paths for one tile
        raise FormatError(f"{text!r} is not the canonical path of tile {index}")
    return index


@dataclass(frozen=True, slots=True, order=True)
class Tile:
    """Tile ``index`` of ``level`` (``level`` None: an entry bundle), ``width`` hashes wide."""

    level: int | None
    index: int
    width: int = TILE_WIDTH

    def __post_init__(self) -> None:
        if self.level is not None and not 0 <= self.level <= MAX_LEVEL:
            raise ValueError(f"a tile level is between 0 and {MAX_LEVEL}, got {self.level}")
        if self.index < 0 or not 1 <= self.width <= TILE_WIDTH:
            raise ValueError(f"bad tile index {self.index} or width {self.width}")

    @property
    def full(self) -> bool:
        return self.width == TILE_WIDTH

    @property
    def path(self) -> str:
        """The tile's path under the log's prefix, as the spec spells it."""
        kind = "entries" if self.level is None else str(self.level)
        partial = "" if self.full else f".p/{self.width}"
        return f"tile/{kind}/{encode_index(self.index)}{partial}"

    @property
    def first(self) -> int:
        """The tree-level-``8 L`` index of the tile's first hash (of its first entry)."""
        return self.index * TILE_WIDTH

    @property
    def span(self) -> int:
        """How many leaves each of the tile's hashes covers."""
        return 1 << (TILE_HEIGHT * (self.level or 0))

    def needs_size(self) -> int:
        """The smallest tree size that holds this tile."""
        return (self.first + self.width) * self.span


def tiles_of_tree(size: int) -> Iterator[Tile]:
    """Every hash tile of a tree of ``size`` leaves, level by level, left to right."""
    if size < 0:
        raise ValueError(f"a tree size is >= 0, got {size}")
    level = 0
    while size >> (TILE_HEIGHT * level):
        count = size >> (TILE_HEIGHT * level)  # hashes at tree level 8 * level
        full, rest = divmod(count, TILE_WIDTH)
        for n in range(full):
            yield Tile(level, n)
        if rest:
            yield Tile(level, full, rest)
        level += 1


def entry_bundles(start: int, end: int) -> Iterator[Tile]:
    """The entry bundles holding entries ``[start, end)`` of a tree of ``end`` leaves."""
    if not 0 <= start <= end:
        raise ValueError(f"bad entry range [{start}, {end})")
    for n in range(start // TILE_WIDTH, (end + TILE_WIDTH - 1) // TILE_WIDTH):
        yield Tile(None, n, min(TILE_WIDTH, end - n * TILE_WIDTH))


def encode_bundle(entries: list[bytes]) -> bytes:
    """Entries as one bundle: each a big-endian uint16 length, then its bytes."""
    out = bytearray()
    for data in entries:
        if len(data) > MAX_ENTRY_BYTES:
            raise ValueError(f"an entry of {len(data)} bytes does not fit a uint16 length")
        out += len(data).to_bytes(2, "big") + data
    return bytes(out)


def decode_bundle(raw: bytes, width: int, where: str) -> list[bytes]:
    """A bundle's ``width`` entries; ``FormatError`` on any other count or a cut entry."""
    entries: list[bytes] = []
    at = 0
    while at < len(raw):
        if at + 2 > len(raw):
            raise FormatError(f"{where}: the bundle ends inside an entry's length")
        length = int.from_bytes(raw[at : at + 2], "big")
        if at + 2 + length > len(raw):
            raise FormatError(f"{where}: entry {len(entries)} is cut short")
        entries.append(raw[at + 2 : at + 2 + length])
        at += 2 + length
    if len(entries) != width:
        raise FormatError(f"{where}: {len(entries)} entries in the bundle, expected {width}")
    return entries


def split_tile(raw: bytes, tile: Tile, where: str) -> list[bytes]:
    """A hash tile's hashes; ``FormatError`` unless it is exactly ``width`` hashes."""
    if len(raw) != tile.width * HASH_SIZE:
        raise FormatError(
            f"{where}: {len(raw)} bytes, expected {tile.width} hashes ({tile.width * HASH_SIZE} "
            "bytes)"
        )
    return [raw[i : i + HASH_SIZE] for i in range(0, len(raw), HASH_SIZE)]


def _subtree(hashes: list[bytes]) -> bytes:
    """The root of a perfect subtree over ``hashes`` (a power of two of them)."""
    while len(hashes) > 1:
        hashes = [node_hash(hashes[i], hashes[i + 1]) for i in range(0, len(hashes), 2)]
    return hashes[0]


class TileHashes:
    """Perfect-subtree hashes of a tree of ``size`` leaves, read from its tiles.

    ``read(tile)`` returns a tile's bytes (from a server, a directory or a cache); each
    tile is read at most once. The hash of node (``level``, ``index``) is computed from
    the 2 ** (level % 8) hashes of the level-``8 (level // 8)`` tile that hold it. The
    hashes are only as good as the tiles: a caller checks what it derives from them
    against a signed root (a consistency or inclusion proof).
    """

    def __init__(self, size: int, read: Callable[[Tile], bytes]) -> None:
        self.size = size
        self._read = read
        self._tiles: dict[tuple[int, int], list[bytes]] = {}
        self.fetched: list[Tile] = []

    def tile_for(self, level: int, index: int) -> tuple[Tile, int, int]:
        """The tile holding node (level, index), and the node's first position and count."""
        tile_level, height = divmod(level, TILE_HEIGHT)
        first = index << height
        n, offset = divmod(first, TILE_WIDTH)
        count = self.size >> (TILE_HEIGHT * tile_level)  # hashes at this tile level
        if (index + 1) << level > self.size:
            raise ValueError(f"node ({level}, {index}) is not complete in a tree of {self.size}")
        width = min(TILE_WIDTH, count - n * TILE_WIDTH)
        return Tile(tile_level, n, width), offset, 1 << height

    def node(self, level: int, index: int) -> bytes:
        tile, offset, count = self.tile_for(level, index)
        key = (tile.level or 0, tile.index)
        hashes = self._tiles.get(key)
        if hashes is None:
            hashes = split_tile(self._read(tile), tile, tile.path)
            self._tiles[key] = hashes
            self.fetched.append(tile)
        return _subtree(hashes[offset : offset + count])
