"""Inclusion and consistency proofs on a large log: median latency, memory flat in size.

The log is written straight to storage with the rows the write path writes
(chained canonical entries, each with the perfect-subtree hashes it completes,
and the head), skipping validation to build a million entries in seconds.
Proofs are then served by ``Ledger.inclusion_proof`` / ``consistency_proof``
at random indexes and sizes, each checked with ``verifier.proofs`` (untimed).
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import time
import uuid
from collections.abc import Iterable, Iterator
from itertools import count
from typing import Any

from sqlalchemy import insert, update

from ledger import Ledger
from ledger.log.service import ENTRY_COLUMNS
from ledger.log.signing import sign_checkpoint
from ledger.storage.bulk import insert_rows
from ledger.storage.db import write_transaction
from ledger.storage.schema import Checkpoint, Head
from load.ledger_fixtures import database, open_ledger
from verifier.canonical import canonical_bytes
from verifier.compact import CompactRange
from verifier.hashing import leaf_hash
from verifier.proofs import verify_consistency, verify_inclusion

CHUNK = 20_000
RECORDED_AT = "2026-11-24T12:00:00.000000Z"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=2_000)
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def entry_leaves(entries: int) -> Iterator[bytes]:
    """Canonical, chained log entries (observe events), as the write path would encode them."""
    prev = bytes(32)
    for seq in range(entries):
        data = canonical_bytes(
            {
                "seq": seq,
                "prev": prev.hex(),
                "recorded_at": RECORDED_AT,
                "actor": "farm",
                "event": {
                    "event_id": str(uuid.UUID(int=seq, version=4)),
                    "type": "observe",
                    "location": "farm-1",
                    "event_time": "2026-11-24T12:00:00Z",
                    "readings": [
                        {
                            "sensor": "temperature",
                            "value": str(seq % 9),
                            "unit": "Cel",
                            "time": "2026-11-24T12:00:00Z",
                        }
                    ],
                },
            }
        )
        prev = leaf_hash(data)
        yield data


def event_ids(entries: int) -> list[str]:
    """The event ids ``entry_leaves`` put in its entries, in order (inputs, like the leaves)."""
    return [str(uuid.UUID(int=seq, version=4)) for seq in range(entries)]


def store_leaves(
    ledger: Ledger,
    leaves: Iterable[bytes],
    chunk: int = CHUNK,
    ids: Iterable[str] | None = None,
) -> CompactRange:
    """Append leaf bytes with their tree nodes, ``chunk`` per transaction (constant memory),
    each transaction committing what the write path's does for the log: the entries (their
    event ids, from ``ids`` or made from the sequence number, as ``entry_leaves`` made
    them), the head, and a checkpoint signed over the new root."""
    compact = CompactRange()
    prev = bytes(32)
    rows: list[tuple[Any, ...]] = []
    id_of = iter(ids) if ids is not None else (str(uuid.UUID(int=n, version=4)) for n in count())

    def flush() -> None:
        root = compact.root()
        with write_transaction(ledger.engine) as conn:
            insert_rows(conn, "log_entries", ENTRY_COLUMNS, rows)
            conn.execute(
                update(Head)
                .where(Head.id == 1)
                .values(
                    tree_size=compact.size, last_leaf_hash=prev, frontier=b"".join(compact.hashes)
                )
            )
            conn.execute(
                insert(Checkpoint).values(
                    tree_size=compact.size,
                    root_hash=root,
                    note=sign_checkpoint(ledger.signer, compact.size, root),
                    created_at=RECORDED_AT,
                )
            )
        rows.clear()

    for data, event_id in zip(leaves, id_of, strict=False):
        h = leaf_hash(data)
        rows.append(
            (compact.size, event_id, h, data, "observe", RECORDED_AT, compact.append_hashes(h))
        )
        prev = h
        if len(rows) == chunk:
            flush()
    if rows:
        flush()
    return compact


def fill(ledger: Ledger, entries: int) -> None:
    store_leaves(ledger, entry_leaves(entries))


def timed(samples: int, fn: Any) -> float:
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def measure(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(6962)
    with database(kind, args.pg_url) as url, open_ledger(url) as ledger:
        start = time.perf_counter()
        fill(ledger, args.entries)
        build_s = time.perf_counter() - start
        size = ledger.size()
        root = ledger.root(size)

        def inclusion() -> None:
            index = rng.randrange(size)
            ledger.inclusion_proof(index, size)

        def consistency() -> None:
            ledger.consistency_proof(rng.randrange(1, size), size)

        # Spot-check correctness (untimed): proofs verify against the root.
        for _ in range(50):
            index = rng.randrange(size)
            leaf = ledger.entries(index, index + 1)[0].leaf_hash
            verify_inclusion(index, size, leaf, ledger.inclusion_proof(index, size), root)
            old = rng.randrange(1, size)
            verify_consistency(
                old, size, ledger.root(old), root, ledger.consistency_proof(old, size)
            )
        timed(50, inclusion)  # warm caches
        return {
            "entries": size,
            "inclusion_median_ms": round(timed(args.samples, inclusion), 3),
            "consistency_median_ms": round(timed(args.samples, consistency), 3),
            "build_s": round(build_s, 1),
            "peak_rss_mb": peak_rss_mb(),
        }


def run(args: argparse.Namespace) -> dict[str, Any]:
    figures = measure("sqlite", args)
    if not args.no_pg:
        pg = measure("postgresql", args)
        figures.update({f"pg_{k}": v for k, v in pg.items() if k != "peak_rss_mb"})
        figures["peak_rss_mb"] = peak_rss_mb()
    return figures
