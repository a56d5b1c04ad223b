"""Our Merkle tree against pymerkle (an RFC 9162 library), measured in one run.

Both trees get the same leaf bytes. In memory, the tree work alone: our compact
range (every perfect-subtree node a log keeps) against pymerkle's InmemoryTree.
In SQLite: ours is the ledger's
own storage (``log_entries`` with each entry's perfect-subtree hashes, proofs by
``ledger.tree``), pymerkle's is its ``SqliteTree``. Appends are timed in chunks
of 10,000 per transaction for both; proofs at random indexes and sizes. pymerkle
caches subtree roots in memory, so its first proof at a size (``cold``) costs a
pass over the leaves and later ones (``warm``) hit the cache; ours has no cache
and no warm-up: every proof reads its O(log n) nodes from the database.
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

from load.bench_proofs import entry_leaves, store_leaves
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
    rng = random.Random(size)
    inclusion = [(rng.randrange(size), size) for _ in range(samples)]
    consistency = [(rng.randrange(1, size), size) for _ in range(samples)]
    out: dict[str, float] = {}

    with database("sqlite") as url, open_ledger(url) as ledger:
        start = time.perf_counter()
        store_leaves(ledger, leaves, CHUNK)
        out["ours_append_per_s"] = round(size / (time.perf_counter() - start))
        out["ours_inclusion_ms"] = round(median_ms(ledger.inclusion_proof, inclusion), 3)
        out["ours_consistency_ms"] = round(median_ms(ledger.consistency_proof, consistency), 3)
        our_root = ledger.root(size)

    # The tree work alone, in memory: leaf hashing plus every node a log must keep.
    start = time.perf_counter()
    compact = CompactRange()
    for data in leaves:
        compact.append(leaf_hash(data))
    out["ours_memory_append_per_s"] = round(size / (time.perf_counter() - start))
    memory = InmemoryTree()
    start = time.perf_counter()
    memory.append_entries(leaves)
    out["pymerkle_memory_append_per_s"] = round(size / (time.perf_counter() - start))
    if memory.get_state() != compact.root():
        raise AssertionError("pymerkle and Lotledger disagree on the in-memory root")
    del memory

    with tempfile.TemporaryDirectory(prefix="lotledger-pymerkle-") as tmp:
        tree = SqliteTree(str(Path(tmp) / "pymerkle.db"))
        start = time.perf_counter()
        for i in range(0, size, CHUNK):
            tree.append_entries(leaves[i : i + CHUNK])
        out["pymerkle_append_per_s"] = round(size / (time.perf_counter() - start))
        cold = inclusion[: max(3, samples // 20)]
        out["pymerkle_inclusion_cold_ms"] = round(
            median_ms(_prove(tree.prove_inclusion, one_based=True), cold), 3
        )
        out["pymerkle_inclusion_warm_ms"] = round(
            median_ms(_prove(tree.prove_inclusion, one_based=True), inclusion), 3
        )
        out["pymerkle_consistency_ms"] = round(
            median_ms(_prove(tree.prove_consistency), consistency), 3
        )
        if tree.get_state() != our_root:
            raise AssertionError("pymerkle and Lotledger disagree on the root: not the same tree")
        tree.close()
    out["inclusion_speedup_vs_cold"] = round(
        out["pymerkle_inclusion_cold_ms"] / out["ours_inclusion_ms"], 1
    )
    out["inclusion_speedup_vs_warm"] = round(
        out["pymerkle_inclusion_warm_ms"] / out["ours_inclusion_ms"], 1
    )
    out["consistency_speedup"] = round(
        out["pymerkle_consistency_ms"] / out["ours_consistency_ms"], 1
    )
    out["append_ratio"] = round(out["ours_append_per_s"] / out["pymerkle_append_per_s"], 2)
    out["memory_append_ratio"] = round(
        out["ours_memory_append_per_s"] / out["pymerkle_memory_append_per_s"], 2
    )
    return out


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
