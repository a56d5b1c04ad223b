"""CompactRange against the RFC 9162 vectors and the naive oracle."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.oracle import mth, perfect_subtree_hash
from verifier.compact import CompactRange, Node, frontier_coordinates
from verifier.hashing import EMPTY_ROOT

VECTORS = json.loads((Path(__file__).parent.parent / "vectors" / "rfc9162-merkle.json").read_text())
VECTOR_LEAVES = [bytes.fromhex(h) for h in VECTORS["leaf_hashes"]]
MAX_SIZE = 300
LEAVES = [hashlib.sha256(b"compact leaf %d" % i).digest() for i in range(MAX_SIZE)]


def test_vector_roots() -> None:
    compact = CompactRange()
    assert compact.root() == EMPTY_ROOT == bytes.fromhex(VECTORS["roots"]["0"])
    for size, leaf in enumerate(VECTOR_LEAVES, 1):
        compact.append(leaf)
        assert compact.root().hex() == VECTORS["roots"][str(size)]


def test_roots_match_oracle_for_sizes_0_to_300() -> None:
    compact = CompactRange()
    assert compact.root() == mth([])
    for size in range(1, MAX_SIZE + 1):
        compact.append(LEAVES[size - 1])
        assert compact.size == size
        assert compact.root() == mth(LEAVES[:size]), size


def test_frontier_is_the_perfect_subtrees() -> None:
    compact = CompactRange()
    for size in range(1, MAX_SIZE + 1):
        compact.append(LEAVES[size - 1])
        coords = frontier_coordinates(size)
        assert [1 << level for level, _ in coords] == sorted(
            (1 << b for b in range(size.bit_length()) if size >> b & 1), reverse=True
        )
        assert compact.hashes == [perfect_subtree_hash(lv, ix, LEAVES) for lv, ix in coords]


def test_completed_nodes_are_exactly_the_perfect_subtrees() -> None:
    compact = CompactRange()
    reported: list[Node] = []
    for leaf in LEAVES:
        completed = compact.append(leaf)
        assert [node.level for node in completed] == list(range(1, len(completed) + 1))
        reported.extend(completed)
    expected = {
        (level, index)
        for level in range(1, MAX_SIZE.bit_length())
        for index in range(MAX_SIZE >> level)
    }
    coords = [(node.level, node.index) for node in reported]
    assert len(coords) == len(set(coords))
    assert set(coords) == expected
    for node in reported:
        assert node.hash == perfect_subtree_hash(node.level, node.index, LEAVES), node


def test_completed_nodes_at_a_power_of_two() -> None:
    compact = CompactRange()
    nodes = list(compact.extend(LEAVES[:7]))
    assert [(n.level, n.index) for n in nodes] == [(1, 0), (1, 1), (2, 0), (1, 2)]
    last = compact.append(LEAVES[7])
    assert [(n.level, n.index) for n in last] == [(1, 3), (2, 1), (3, 0)]
    assert last[-1].hash == mth(LEAVES[:8]) == compact.root()


def test_extend_equals_repeated_append_and_copy_is_independent() -> None:
    one = CompactRange()
    nodes_one = [node for leaf in LEAVES[:100] for node in one.append(leaf)]
    two = CompactRange()
    nodes_two = list(two.extend(LEAVES[:100]))
    assert nodes_one == nodes_two
    assert one == two
    copy = two.copy()
    copy.append(LEAVES[100])
    assert two.size == 100
    assert copy.root() == mth(LEAVES[:101])


def test_resume_from_stored_frontier() -> None:
    size = 77
    stored = [perfect_subtree_hash(lv, ix, LEAVES) for lv, ix in frontier_coordinates(size)]
    compact = CompactRange(size, stored)
    assert compact.root() == mth(LEAVES[:size])
    for size_now in range(size + 1, 130):
        compact.append(LEAVES[size_now - 1])
        assert compact.root() == mth(LEAVES[:size_now])


@pytest.mark.parametrize(
    ("size", "hashes"),
    [(3, [bytes(32)]), (1, [bytes(32), bytes(32)]), (1, [bytes(31)]), (-1, [])],
)
def test_malformed_frontier_is_refused(size: int, hashes: list[bytes]) -> None:
    with pytest.raises(ValueError, match=r"must be|holds"):
        CompactRange(size, hashes)


def test_append_refuses_a_short_leaf_hash() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        CompactRange().append(b"short")
