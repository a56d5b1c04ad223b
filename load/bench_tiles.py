"""``python -m load.bench tiles``: C2SP tiles from a real ``lotledger serve``.

A SQLite ledger of ``--entries`` log entries (stored with their tree nodes as the write
path stores them, ``load.bench_proofs.store_leaves``), then ``--new`` register events
through the write path. Served by ``lotledger serve`` (one worker) on a free port:

- ``tile_p95_ms``: GET of a full level-0 hash tile (8 KiB) picked at random over the
  whole log, ``--requests`` times on one kept-alive connection, time to the last byte;
  the median and p99 too. The first reads of a tile go to the database; the service
  keeps the most recent 512 full tiles in memory.
- ``incremental_audit_s``: ``lotledger-verify``'s audit through tiles of the ``--new``
  entries, from the state a full audit of the first ``--entries`` left: the checkpoint,
  the hash tiles its consistency proof needs, the new entries' bundles (a regulator
  key), every new entry re-hashed and chained.

The issue's figures are for 1,000,000 entries, the default (about 80 s to build here,
20,000 entries a second); ``--entries 20000`` gives a quick run. Tile reads and the
audit are O(log n) reads, so sizes differ little.
"""

from __future__ import annotations

import argparse
import http.client
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from ledger import Ledger, Settings, create_organisation
from ledger.masterdata import keys
from load.bench_audit_incremental import append_new, save_audited_state, serve
from load.bench_proofs import entry_leaves, store_leaves
from load.ledger_fixtures import ORIGIN, supply_chain
from verifier.tile_audit import audit_tiles
from verifier.tiles import Tile


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--entries", type=int, default=1_000_000, help="entries before the audit")
    parser.add_argument("--new", type=int, default=1000, help="entries the audit checks")
    parser.add_argument("--requests", type=int, default=2000, help="tile requests timed")


def _tile_latencies(base: str, full_tiles: int, requests: int) -> list[float]:
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    rng = random.Random(21)  # which tiles to ask for, not secrets
    took: list[float] = []
    try:
        for _ in range(requests):
            path = "/" + Tile(0, rng.randrange(full_tiles)).path
            began = time.perf_counter()
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            took.append((time.perf_counter() - began) * 1000)
            if response.status != 200 or len(body) != 8192:
                raise RuntimeError(f"{path}: {response.status}, {len(body)} bytes")
    finally:
        conn.close()
    return took


def run(args: argparse.Namespace) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="lotledger-bench-tiles-") as tmp:
        data_dir = Path(tmp) / "data"
        url = f"sqlite:///{Path(tmp) / 'ledger.db'}"
        began = time.perf_counter()
        ledger = Ledger.open(Settings(data_dir, url, ORIGIN, None, None))
        try:
            supply_chain(ledger)
            create_organisation(ledger.engine, "agency", "Food Safety Agency")
            regulator = keys.create_key(ledger.engine, "agency", "regulator", "bench").secret
            compact = store_leaves(ledger, entry_leaves(args.entries))
            state_path = Path(tmp) / "audit-state.json"
            save_audited_state(ledger, compact, state_path)
            append_new(ledger, args.new)
            key = ledger.verifier_key
        finally:
            ledger.close()
        build_s = time.perf_counter() - began
        proc, base = serve(data_dir, url, Path(tmp) / "serve.log")
        try:
            took = sorted(_tile_latencies(base, args.entries // 256, args.requests))
            began = time.perf_counter()
            report = audit_tiles(base, key, state_path=state_path, api_key=regulator)
            audit_s = time.perf_counter() - began
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    if report.entries_checked != args.new or report.previous_size != args.entries:
        raise RuntimeError(f"the audit through tiles did not check what it should: {report}")
    if not args.quiet:
        print(f"built {args.entries} + {args.new} entries in {build_s:.1f}s", file=sys.stderr)
    return {
        "entries": report.tree_size,
        "tile_requests": len(took),
        "tile_median_ms": round(statistics.median(took), 3),
        "tile_p95_ms": round(took[int(len(took) * 0.95)], 3),
        "tile_p99_ms": round(took[int(len(took) * 0.99)], 3),
        "new_entries": report.entries_checked,
        "incremental_audit_s": round(audit_s, 3),
        "build_s": round(build_s, 1),
    }
