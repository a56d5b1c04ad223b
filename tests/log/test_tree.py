"""The stored-node tree against the naive recursive RFC 9162 oracle."""

from __future__ import annotations

import random

import pytest

from ledger import Ledger
from ledger.log import tree
from tests.conftest import Events
from tests.oracle import consistency_proof, inclusion_path, mth
from verifier.compact import CompactRange
from verifier.hashing import leaf_hash
from verifier.proofs import verify_consistency, verify_inclusion

DB_SIZE = 300


@pytest.fixture
def big_log(world: Ledger, ev: Events) -> tuple[Ledger, list[bytes]]:
    result = world.append([ev.register(f"T{i}", "1") for i in range(DB_SIZE)], actor="farm")
    return world, [r.leaf_hash for r in result.receipts]


def test_stored_tree_equals_oracle_for_every_size_up_to_300(
    big_log: tuple[Ledger, list[bytes]],
) -> None:
    ledger, leaves = big_log
    rng = random.Random(9162)
    with ledger.engine.connect() as conn:
        for size in range(1, DB_SIZE + 1):
            expected_root = mth(leaves[:size])
            assert tree.root(conn, size) == expected_root, size
            indexes = (
                range(size) if size <= 40 else {0, size - 1, size // 2, *rng.sample(range(size), 6)}
            )
            for index in indexes:
                proof = tree.inclusion_proof(conn, index, size)
                assert proof == inclusion_path(index, leaves[:size]), (index, size)
                verify_inclusion(index, size, leaves[index], proof, expected_root)
            olds = (
                range(1, size + 1)
                if size <= 40
                else {1, size - 1, size, *rng.sample(range(1, size), 6)}
            )
            for old in olds:
                proof = tree.consistency_proof(conn, old, size)
                assert proof == consistency_proof(old, leaves[:size]), (old, size)
                verify_consistency(old, size, mth(leaves[:old]), expected_root, proof)


class MemoryNodes(dict[tuple[int, int], bytes]):
    """The nodes a log of n leaves would store, held in memory for large sizes."""

    def __init__(self, leaves: list[bytes]) -> None:
        super().__init__()
        compact = CompactRange()
        for i, h in enumerate(leaves):
            self[(0, i)] = h
            for node in compact.append(h):
                self[(node.level, node.index)] = node.hash


@pytest.fixture(scope="module")
def hundred_thousand() -> tuple[list[bytes], MemoryNodes]:
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(100_000)]
    return leaves, MemoryNodes(leaves)


def test_proof_plans_equal_oracle_at_random_sizes_up_to_100k(
    hundred_thousand: tuple[list[bytes], MemoryNodes],
) -> None:
    leaves, nodes = hundred_thousand
    rng = random.Random(6962)
    for size in [*rng.sample(range(1, 100_001), 4), 65_536, 65_537, 100_000]:
        root = tree.fold(tree.root_plan(size), nodes)[0]
        assert root == mth(leaves[:size])
        for index in (0, size - 1, rng.randrange(size)):
            proof = tree.fold(tree.inclusion_plan(index, size), nodes)
            assert proof == inclusion_path(index, leaves[:size])
        old = rng.randrange(1, size + 1)
        proof = tree.fold(tree.consistency_plan(old, size), nodes)
        assert proof == consistency_proof(old, leaves[:size])


def test_plans_cost_logarithmic_reads() -> None:
    for size in (1_000_000, 2**40 + 12345):
        reads = {c for span in tree.inclusion_plan(size // 3, size) for c in span.parts}
        assert len(reads) <= 2 * size.bit_length()
        reads = {c for span in tree.consistency_plan(size // 3 + 1, size) for c in span.parts}
        assert len(reads) <= 2 * size.bit_length()


@pytest.mark.parametrize(("index", "size"), [(-1, 5), (5, 5), (0, 0)])
def test_inclusion_outside_tree_is_refused(index: int, size: int) -> None:
    with pytest.raises(Exception, match="not in a tree"):
        tree.inclusion_plan(index, size)


def test_proof_beyond_log_size_is_refused(big_log: tuple[Ledger, list[bytes]]) -> None:
    ledger, _ = big_log
    with pytest.raises(Exception, match="beyond"):
        ledger.inclusion_proof(0, DB_SIZE + 1)
    with pytest.raises(Exception, match="no consistency proof"):
        ledger.consistency_proof(10, 5)


def test_cached_proofs_equal_oracle_as_the_log_grows(world: Ledger, ev: Events) -> None:
    # A cache smaller than one round of proofs: nodes are evicted and read again.
    world.node_cache = tree.NodeCache(64)
    rng = random.Random(6962)
    leaves: list[bytes] = []
    for round_ in range(4):
        result = world.append([ev.register(f"G{round_}-{i}", "1") for i in range(75)], actor="farm")
        leaves += [r.leaf_hash for r in result.receipts]
        size = len(leaves)
        for _ in range(2):  # the second pass is answered mostly from the cache
            for index in rng.sample(range(size), 12):
                proof = world.inclusion_proof(index, size)
                assert proof == inclusion_path(index, leaves), (index, size)
            for old in rng.sample(range(1, size + 1), 12):
                proof = world.consistency_proof(old, size)
                assert proof == consistency_proof(old, leaves), (old, size)
        assert 0 < len(world.node_cache) <= 64
        assert world.node_cache.known_size == size
        # Past the end of the log is refused, whatever the cache holds.
        with pytest.raises(Exception, match="beyond"):
            world.inclusion_proof(0, size + 1)


def test_cached_proofs_need_no_database(
    big_log: tuple[Ledger, list[bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger, leaves = big_log
    asked = [(i, DB_SIZE) for i in (0, 7, 150, 299)] + [(i, 200) for i in (3, 199)]
    first = [ledger.inclusion_proof(i, n) for i, n in asked]
    olds = [ledger.consistency_proof(m, DB_SIZE) for m in (1, 64, 200, 299)]

    def no_database() -> None:
        raise AssertionError("a cached proof went to the database")

    monkeypatch.setattr(ledger, "_driver", no_database)
    assert [ledger.inclusion_proof(i, n) for i, n in asked] == first
    assert [ledger.consistency_proof(m, DB_SIZE) for m in (1, 64, 200, 299)] == olds
    assert first[0] == inclusion_path(0, leaves)
    # A node it has not seen, or a size past the largest it has checked, still reads.
    with pytest.raises(AssertionError, match="went to the database"):
        ledger.inclusion_proof(100, DB_SIZE)


def test_cache_off_reads_every_proof(big_log: tuple[Ledger, list[bytes]]) -> None:
    ledger, leaves = big_log
    ledger.node_cache = tree.NodeCache(0)
    for index in (0, 150, 299):
        assert ledger.inclusion_proof(index, DB_SIZE) == inclusion_path(index, leaves)
    assert len(ledger.node_cache) == 0
