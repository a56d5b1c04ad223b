"""Our Merkle tree against pymerkle (an RFC 9162 library), measured in one run.

Both trees get the same leaf bytes. In memory, the tree work alone: our compact
range (every perfect-subtree node a log keeps) against pymerkle's InmemoryTree.
In SQLite: ours is the ledger's
own storage (``log_entries`` with each entry's perfect-subtree hashes, proofs by
``Ledger``), pymerkle's is its ``SqliteTree``. Appends are timed in chunks
of 10,000 per transaction for both; proofs at random indexes and sizes. pymerkle
caches subtree roots in memory, so its first proof at a size (``cold``) costs a
pass over the leaves and later ones (``warm``) hit the cache. Ours caches the
nodes it has read (``tree.NodeCache``; they never change): ``ours_*_ms`` are timed
after one untimed pass over the same proofs, as pymerkle's warm figure is, and
``ours_*_uncached_ms`` with the cache off, every proof reading its O(log n) nodes
from the database (whose pages the untimed pass left in SQLite's page cache).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from itertools import islice
from pathlib import Path
from typing import Any

from ledger.log.tree import NodeCache, consistency_plan, fold, inclusion_plan, owner, root_plan
from load.bench_proofs import entry_leaves, event_ids, store_leaves
from load.ledger_fixtures import database, open_ledger
from verifier.compact import CompactRange
from verifier.hashing import leaf_hash

CHUNK = 10_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--samples", type=int, default=200)


def median_ms(fn: Any, args: list[tuple[int, int]]) -> float:
    times = []
    for a in args:
        start = time.perf_counter()
        fn(*a)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def measure(size: int, samples: int) -> dict[str, float]:
    # pymerkle is a development dependency: only this comparison imports it.
    from pymerkle import InmemoryTree, SqliteTree  # noqa: PLC0415

    leaves = list(islice(entry_leaves(size), size))
    ids = event_ids(size)  # the entries' own ids: inputs, like the leaf bytes
    rng = random.Random(size)
    inclusion = [(rng.randrange(size), size) for _ in range(samples)]
    consistency = [(rng.randrange(1, size), size) for _ in range(samples)]
    out: dict[str, float] = {}

    with database("sqlite") as url, open_ledger(url) as ledger:
        start = time.perf_counter()
        store_leaves(ledger, leaves, CHUNK, ids)
        out["ours_append_per_s"] = round(size / (time.perf_counter() - start))
        # Warmed like pymerkle's "warm" figure: the same proofs once, untimed, so the
        # nodes they need are in our node cache and the database pages in SQLite's.
        median_ms(ledger.inclusion_proof, inclusion)
        median_ms(ledger.consistency_proof, consistency)
        out["ours_inclusion_ms"] = round(median_ms(ledger.inclusion_proof, inclusion), 3)
        out["ours_consistency_ms"] = round(median_ms(ledger.consistency_proof, consistency), 3)
        cached = ledger.node_cache
        ledger.node_cache = NodeCache(0)  # every proof reads the database
        out["ours_inclusion_uncached_ms"] = round(median_ms(ledger.inclusion_proof, inclusion), 3)
        out["ours_consistency_uncached_ms"] = round(
            median_ms(ledger.consistency_proof, consistency), 3
        )
        ledger.node_cache = cached
        our_root = ledger.root(size)

    # The tree work alone, in memory: leaf hashing plus every node a log must keep.
    start = time.perf_counter()
    compact = CompactRange()
    for data in leaves:
        compact.append(leaf_hash(data))
    out["ours_memory_append_per_s"] = round(size / (time.perf_counter() - start))
    # In memory, with the node table kept: the same rows the ledger stores beside each
    # entry (its leaf hash and the perfect subtrees it completes), and the service's own
    # proof plans and fold over them.
    table = MemoryNodes(leaves)
    out["ours_memory_inclusion_ms"] = round(median_ms(table.inclusion_proof, inclusion), 4)
    out["ours_memory_consistency_ms"] = round(median_ms(table.consistency_proof, consistency), 4)
    if table.root(size) != compact.root():
        raise AssertionError("the in-memory node table disagrees with the compact range")
    memory = InmemoryTree()
    start = time.perf_counter()
    memory.append_entries(leaves)
    out["pymerkle_memory_append_per_s"] = round(size / (time.perf_counter() - start))
    if memory.get_state() != compact.root():
        raise AssertionError("pymerkle and Lotledger disagree on the in-memory root")
    _time_pymerkle(memory, "pymerkle_memory", inclusion, consistency, out)
    for index, tree_size in inclusion[:5]:
        theirs = memory.prove_inclusion(index + 1, tree_size).path
        # pymerkle's path starts with the leaf's own hash.
        if list(theirs)[1:] != table.inclusion_proof(index, tree_size):
            raise AssertionError("pymerkle and Lotledger disagree on an inclusion proof")
    del memory, table

    _pymerkle_sqlite(SqliteTree, leaves, inclusion, consistency, our_root, out)
    _ratios(out)
    return out


def _pymerkle_sqlite(
    tree_class: Any,
    leaves: list[bytes],
    inclusion: list[tuple[int, int]],
    consistency: list[tuple[int, int]],
    our_root: bytes,
    out: dict[str, float],
) -> None:
    """pymerkle's ``SqliteTree``: its bare appends and proofs, then its appends doing what a
    log's append does (as ours does): a root to sign after each commit, and entries found
    by leaf hash (RFC 9162 get-proof-by-hash) through the same 8-byte-prefix index as ours
    (``ledger.storage.schema.leaf_key``)."""
    size = len(leaves)
    with tempfile.TemporaryDirectory(prefix="lotledger-pymerkle-") as tmp:
        tree = tree_class(str(Path(tmp) / "pymerkle.db"))
        start = time.perf_counter()
        for i in range(0, size, CHUNK):
            tree.append_entries(leaves[i : i + CHUNK])
        out["pymerkle_append_per_s"] = round(size / (time.perf_counter() - start))
        _time_pymerkle(tree, "pymerkle", inclusion, consistency, out)
        if tree.get_root() != our_root:
            raise AssertionError("pymerkle and Lotledger disagree on the root: not the same tree")
        tree.close()

        tree = tree_class(str(Path(tmp) / "pymerkle-log.db"))
        tree.con.execute("CREATE INDEX leaf_key ON leaf (substr(hash, 1, 8))")
        start = time.perf_counter()
        for i in range(0, size, CHUNK):
            tree.append_entries(leaves[i : i + CHUNK])
            tree.get_root()
        out["pymerkle_log_append_per_s"] = round(size / (time.perf_counter() - start))
        h = leaf_hash(leaves[size // 2])
        found = tree.con.execute(
            "SELECT id FROM leaf WHERE substr(hash, 1, 8) = ? AND hash = ?", (h[:8], h)
        ).fetchone()
        if found != size // 2 + 1:
            raise AssertionError("pymerkle's leaf-hash index does not find the entry")
        tree.close()


def _time_pymerkle(
    tree: Any,
    prefix: str,
    inclusion: list[tuple[int, int]],
    consistency: list[tuple[int, int]],
    out: dict[str, float],
) -> None:
    """pymerkle's proof latencies: its first proofs at a size (cold), then cached (warm)."""
    cold = inclusion[: max(3, len(inclusion) // 20)]
    prove = _prove(tree.prove_inclusion, one_based=True)
    out[f"{prefix}_inclusion_cold_ms"] = round(median_ms(prove, cold), 3)
    out[f"{prefix}_inclusion_warm_ms"] = round(median_ms(prove, inclusion), 3)
    out[f"{prefix}_consistency_ms"] = round(
        median_ms(_prove(tree.prove_consistency), consistency), 3
    )


def _ratios(out: dict[str, float]) -> None:
    def ratio(key: str, theirs: str, ours: str, digits: int = 1) -> None:
        out[key] = round(out[theirs] / out[ours], digits)

    ratio("inclusion_speedup_vs_cold", "pymerkle_inclusion_cold_ms", "ours_inclusion_ms")
    ratio("inclusion_speedup_vs_warm", "pymerkle_inclusion_warm_ms", "ours_inclusion_ms")
    ratio("consistency_speedup", "pymerkle_consistency_ms", "ours_consistency_ms")
    ratio(
        "uncached_inclusion_speedup_vs_warm",
        "pymerkle_inclusion_warm_ms",
        "ours_inclusion_uncached_ms",
    )
    ratio("uncached_consistency_speedup", "pymerkle_consistency_ms", "ours_consistency_uncached_ms")
    ratio(
        "memory_inclusion_speedup_vs_warm",
        "pymerkle_memory_inclusion_warm_ms",
        "ours_memory_inclusion_ms",
    )
    ratio(
        "memory_consistency_speedup", "pymerkle_memory_consistency_ms", "ours_memory_consistency_ms"
    )
    ratio("append_ratio", "ours_append_per_s", "pymerkle_append_per_s", 2)
    ratio("log_append_ratio", "ours_append_per_s", "pymerkle_log_append_per_s", 2)
    ratio("memory_append_ratio", "ours_memory_append_per_s", "pymerkle_memory_append_per_s", 2)


class MemoryNodes:
    """The ledger's node rows (leaf hash, completed subtree hashes) held in two lists."""

    def __init__(self, leaves: list[bytes]) -> None:
        compact = CompactRange()
        self.leaf_hashes: list[bytes] = []
        self.nodes: list[bytes] = []
        for data in leaves:
            h = leaf_hash(data)
            self.leaf_hashes.append(h)
            self.nodes.append(compact.append_hashes(h))

    def _resolve(self, spans: list[Any]) -> list[bytes]:
        found: dict[tuple[int, int], bytes] = {}
        for span in spans:
            for level, index in span.parts:
                seq = owner((level, index))
                found[(level, index)] = (
                    self.leaf_hashes[seq]
                    if level == 0
                    else self.nodes[seq][(level - 1) * 32 : level * 32]
                )
        return fold(spans, found)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        return self._resolve(inclusion_plan(index, size))

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        return self._resolve(consistency_plan(size1, size2))

    def root(self, size: int) -> bytes:
        return self._resolve(root_plan(size))[0]


def _prove(method: Any, *, one_based: bool = False) -> Any:
    # pymerkle's prove_inclusion counts leaves from one; ours from zero.
    def call(a: int, b: int) -> None:
        method(a + 1 if one_based else a, b)

    return call


def run(args: argparse.Namespace) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for size in (int(s) for s in args.sizes.split(",")):
        for key, value in measure(size, args.samples).items():
            figures[f"{key}@{size}"] = value
    return figures
