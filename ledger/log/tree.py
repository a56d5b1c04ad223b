"""Proof building over stored perfect-subtree hashes (RFC 9162 section 2.1).

Storage keeps the hash of every complete subtree beside the entry that
completed it (its last leaf): the leaf hash itself, and the hashes of levels
1, 2, ... in ``log_entries.nodes``. A root, an inclusion proof or a
consistency proof is then a plan of at most ~2 log2(n) node coordinates,
fetched in one primary-key query; an incomplete subtree on the right
border is folded from the perfect subtrees that cover it. Nothing ever
re-hashes the log. ``NodeCache`` keeps nodes once read (they never change).
Checking proofs is ``verifier.proofs``'s job, not this module's.
Model: transparency-dev/merkle ``proof/proof.go``.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Connection

from ledger.errors import InvalidRange
from verifier.compact import frontier_coordinates
from verifier.hashing import EMPTY_ROOT, node_hash

Coord = tuple[int, int]  # (level, index) of a perfect subtree


class Span(NamedTuple):
    """The hash of leaves [begin, end): one perfect node, or several folded right to left."""

    parts: tuple[Coord, ...]


@dataclass(frozen=True, slots=True)
class Driver:
    """A DB-API connection straight from the pool, and whether it is PostgreSQL's."""

    dbapi: Any
    postgres: bool


def _driver(db: Connection | Driver) -> Driver:
    if isinstance(db, Driver):
        return db
    return Driver(db.connection.driver_connection, db.dialect.name == "postgresql")


def range_span(begin: int, end: int) -> Span:
    """The perfect subtrees covering [begin, end), where ``begin`` is aligned to the span."""
    if not 0 <= begin < end:
        raise ValueError(f"empty or negative range [{begin}, {end})")
    return Span(
        tuple(
            (level, (begin >> level) + index) for level, index in frontier_coordinates(end - begin)
        )
    )


def _path(level: int, index: int, size: int) -> list[Span]:
    """Siblings from (level, index) up to the root of a tree of ``size`` leaves."""
    spans: list[Span] = []
    while not (index == 0 and (1 << level) >= size):
        sibling = index ^ 1
        begin = sibling << level
        if begin + (1 << level) <= size:
            spans.append(Span(((level, sibling),)))  # a perfect subtree: one stored node
        elif begin < size:
            spans.append(range_span(begin, size))
        index >>= 1
        level += 1
    return spans


def inclusion_plan(index: int, size: int) -> list[Span]:
    """The spans of an inclusion proof of leaf ``index`` in a tree of ``size``."""
    if not 0 <= index < size:
        raise InvalidRange(f"leaf index {index} is not in a tree of size {size}")
    return _path(0, index, size)


def consistency_plan(size1: int, size2: int) -> list[Span]:
    """The spans of a consistency proof from ``size1`` to ``size2`` (RFC 9162 2.1.4.1)."""
    if not 0 <= size1 <= size2:
        raise InvalidRange(f"no consistency proof from size {size1} to size {size2}")
    if size1 in (0, size2):
        return []
    # The highest perfect subtree ending at size1; its path up the bigger tree is the proof,
    # preceded by the subtree itself unless it is the whole old tree.
    level = (size1 & -size1).bit_length() - 1
    index = (size1 - 1) >> level
    spans = _path(level, index, size2)
    if index != 0:
        spans.insert(0, Span(((level, index),)))
    return spans


def root_plan(size: int) -> list[Span]:
    return [] if size == 0 else [range_span(0, size)]


def owner(coord: Coord) -> int:
    """The entry beside which a perfect subtree's hash is stored: its last leaf."""
    level, index = coord
    return ((index + 1) << level) - 1


Row = tuple[bytes, bytes]  # an entry's leaf hash and the subtree hashes it completed


def owners_of(coords: Iterable[Coord], size: int) -> tuple[dict[Coord, int], list[int]]:
    """Each coordinate's owning entry, and the entries to read (with ``size - 1``), sorted.

    The last leaf of the tree is read too, so that a tree larger than the log is
    refused (``pick_nodes``) whether or not a node lives there.
    """
    owner_of = {c: ((c[1] + 1) << c[0]) - 1 for c in coords}  # owner(), inlined: hot path
    owners = set(owner_of.values())
    if size:
        owners.add(size - 1)
    return owner_of, sorted(owners)


def fetch_rows(db: Connection | Driver, seqs: Sequence[int]) -> dict[int, Row]:
    """The node rows of entries ``seqs``: one primary-key query; absent entries are left out."""
    if not seqs:
        return {}
    # Straight to the driver: a proof is one primary-key SELECT, and SQLAlchemy's result and
    # transaction machinery would cost more than the query itself. One statement is one
    # snapshot, so no transaction is begun for it; inside a caller's transaction it runs
    # in that transaction, on the same connection.
    driver = _driver(db)
    dbapi = driver.dbapi
    if driver.postgres:
        # One statement text whatever the count, so psycopg prepares it once per connection.
        with dbapi.cursor() as cursor:
            cursor.execute(
                "SELECT seq, leaf_hash, nodes FROM log_entries WHERE seq = ANY(%s)", (list(seqs),)
            )
            fetched = cursor.fetchall()
    else:
        fetched = dbapi.execute(_sqlite_select(len(seqs)), seqs).fetchall()
    # Both drivers give int and bytes.
    return {seq: (h, nodes) for seq, h, nodes in fetched}


def pick_nodes(
    owner_of: Mapping[Coord, int], rows: Mapping[int, Row], size: int
) -> dict[Coord, bytes]:
    """Each coordinate's hash, cut from its owner's row; ``InvalidRange`` past the log's end."""
    if size and size - 1 not in rows:
        raise InvalidRange(f"tree size {size} is beyond the log's size")
    found: dict[Coord, bytes] = {}
    for coord, seq in owner_of.items():
        row = rows.get(seq)
        if row is None:
            raise InvalidRange(f"the tree has no node at {coord}: beyond its size")
        level = coord[0]
        found[coord] = row[0] if level == 0 else row[1][(level - 1) * 32 : level * 32]
    return found


def fetch_nodes(db: Connection | Driver, coords: Iterable[Coord], size: int) -> dict[Coord, bytes]:
    """Read the hashes of perfect subtrees from the entries that completed them: one query."""
    owner_of, seqs = owners_of(coords, size)
    return pick_nodes(owner_of, fetch_rows(db, seqs), size)


@functools.cache
def _sqlite_select(count: int) -> str:
    marks = ", ".join("?" * count)
    return f"SELECT seq, leaf_hash, nodes FROM log_entries WHERE seq IN ({marks})"  # noqa: S608


class NodeCache:
    """Perfect-subtree hashes of committed entries, the least recently used evicted first.

    A committed entry's leaf hash and subtree hashes never change (the log is
    append-only, and the database refuses updates), so a node read once answers
    every later proof that needs it, in every thread, with no expiry: the idea of
    a tile cache in front of a tiled transparency log. ``known_size`` is the
    largest tree size whose last entry has been read: a proof within it needs no
    query for its size check. Only nodes read by a statement of their own
    (committed data) may be put here, never rows read inside a write transaction
    that could still roll back. The top of the tree and the newest entries are in
    nearly every proof and stay; ``capacity`` nodes bound the memory (about 240
    bytes a node; 0 switches the cache off).
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.known_size = 0
        self._nodes: OrderedDict[Coord, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, coords: Sequence[Coord]) -> tuple[dict[Coord, bytes], list[Coord]]:
        """The cached hashes among ``coords``, and the coordinates still to read."""
        found: dict[Coord, bytes] = {}
        missing: list[Coord] = []
        nodes = self._nodes
        with self._lock:
            for coord in coords:
                h = nodes.get(coord)
                if h is None:
                    missing.append(coord)
                else:
                    nodes.move_to_end(coord)
                    found[coord] = h
        return found, missing

    def put(self, fetched: Mapping[Coord, bytes], size: int) -> None:
        """Keep nodes read from committed entries, which a tree of ``size`` was checked to have."""
        nodes = self._nodes
        with self._lock:
            self.known_size = max(self.known_size, size)
            if not self.capacity:
                return
            nodes.update(fetched)
            while len(nodes) > self.capacity:
                nodes.popitem(last=False)

    def __len__(self) -> int:
        return len(self._nodes)


def fold(spans: Sequence[Span], nodes: Mapping[Coord, bytes]) -> list[bytes]:
    """Each span's hash: a perfect node, or the right-to-left fold of its parts."""
    hashes: list[bytes] = []
    for span in spans:
        h = nodes[span.parts[-1]]
        for coord in reversed(span.parts[:-1]):
            h = node_hash(nodes[coord], h)
        hashes.append(h)
    return hashes


def coords_of(spans: Sequence[Span]) -> list[Coord]:
    return [c for span in spans for c in span.parts]


def resolve(conn: Connection | Driver, spans: Sequence[Span], size: int) -> list[bytes]:
    return fold(spans, fetch_nodes(conn, coords_of(spans), size))


def root(conn: Connection | Driver, size: int) -> bytes:
    return resolve(conn, root_plan(size), size)[0] if size else EMPTY_ROOT


def inclusion_proof(conn: Connection | Driver, index: int, size: int) -> list[bytes]:
    return resolve(conn, inclusion_plan(index, size), size)


def consistency_proof(conn: Connection | Driver, size1: int, size2: int) -> list[bytes]:
    return resolve(conn, consistency_plan(size1, size2), size2)
