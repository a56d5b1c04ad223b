"""Offline full audit throughput: ``python -m load.bench audit [--json]``.

Generates an export of ``--entries`` valid log entries (realistic ship events,
canonical leaves, chained, with the tree nodes each leaf completes and a
checkpoint signed by a generated key every ``--batch`` entries), straight to a
file without the database, then runs ``verifier.audit.audit_export`` on it in a
fresh process (so the peak RSS is the audit's own). It does so at two sizes
(a tenth of the entries, then all of them) to show memory stays flat.

Figures: ``entries``, ``entries_per_s``, ``entries_per_cpu_s``, ``peak_rss_mb`` (full size),
``small_entries``, ``small_peak_rss_mb``, ``export_mb``, ``generate_s``.

``--incremental``: the regulator's repeat audit of a live log. A SQLite ledger of
``--entries`` entries is written straight to storage (the rows the write path writes:
``load.bench_proofs.store_leaves``), with the audit state a full audit of it leaves (its
last checkpoint and the tree's frontier, computed while writing); then ``--new`` events
are appended through the real write path, a real ``lotledger serve`` process serves the
ledger, and ``verifier.audit.audit_url`` (the ``lotledger-verify log URL`` code) audits
it again over HTTP: checkpoint, consistency proof, the new entries' pages. Figures:
``entries`` (the log's size then), ``new_entries``, ``seconds`` (that repeat audit),
``build_s``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from load.bench_audit_incremental import run_incremental
from verifier.canonical import canonical_bytes
from verifier.compact import CompactRange
from verifier.export import ExportHeader, encode_checkpoint_line, encode_entry_line
from verifier.hashing import leaf_hash
from verifier.note import Checkpoint, SignerKey, sign_note

ORIGIN = "bench.lotledger.example/log"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--entries", type=int, default=1_000_000, help="entries in the export")
    parser.add_argument("--batch", type=int, default=1000, help="entries per signed checkpoint")
    parser.add_argument("--keep", type=Path, help="write the export here and keep it")
    parser.add_argument(
        "--incremental", action="store_true", help="a repeat audit of a live log over HTTP"
    )
    parser.add_argument("--new", type=int, default=1000, help="entries appended (incremental)")


def generate(path: Path, entries: int, batch: int, signer: SignerKey) -> None:
    """Write a valid export of ``entries`` entries to ``path``."""
    compact = CompactRange()
    prev = bytes(32)
    with path.open("wb", buffering=1 << 20) as out:
        out.write(ExportHeader(ORIGIN, str(signer.verifier_key()), entries).encode())
        for seq in range(entries):
            event = {
                "event_id": str(uuid.UUID(int=seq)),
                "type": "ship",
                "event_time": "2026-11-20T08:00:00+01:00",
                "location": f"dc-{seq % 97}",
                "lot": {"gtin": "09506000134352", "lot": f"L{seq // 50:07d}"},
                "quantity": f"{1 + seq % 40}.5",
                "unit": "kg",
                "to_location": f"store-{seq % 301}",
                "reference": {"type": "bol", "number": f"BOL-{seq:09d}"},
            }
            leaf = canonical_bytes(
                {
                    "seq": seq,
                    "prev": prev.hex(),
                    "recorded_at": "2026-11-24T09:30:00.123456Z",
                    "actor": "retail",
                    "event": event,
                }
            )
            prev = leaf_hash(leaf)
            nodes = compact.append_hashes(prev)
            out.write(encode_entry_line(seq, leaf, nodes))
            if compact.size % batch == 0 or compact.size == entries:
                note = sign_note(Checkpoint(ORIGIN, compact.size, compact.root()).body(), signer)
                out.write(encode_checkpoint_line(compact.size, note))


CHILD = """
import json, resource, sys, time
from verifier.audit import audit_export
from verifier.note import VerifierKey
key = VerifierKey.parse(sys.argv[2])
start, cpu = time.perf_counter(), time.process_time()
with open(sys.argv[1], "rb") as f:
    report = audit_export(f, key)
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
out = {"entries": report.tree_size, "seconds": seconds, "cpu": cpu, "peak_rss_mb": rss}
print(json.dumps(out))
"""


def audit_in_child(path: Path, key: str) -> dict[str, Any]:
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), key],
        capture_output=True,
        text=True,
        check=True,
        cwd=root,
    )
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def run(args: argparse.Namespace) -> dict[str, object]:
    if args.incremental:
        return run_incremental(args.entries, args.new, quiet=args.quiet)
    signer = SignerKey.generate(ORIGIN)
    key = str(signer.verifier_key())
    with tempfile.TemporaryDirectory(prefix="lotledger-bench-") as tmp:
        small_path = Path(tmp) / "small.jsonl"
        path = args.keep or Path(tmp) / "export.jsonl"
        small_n = max(args.entries // 10, 1)
        generate(small_path, small_n, args.batch, signer)
        began = time.perf_counter()
        generate(path, args.entries, args.batch, signer)
        generate_s = time.perf_counter() - began
        small = audit_in_child(small_path, key)
        full = audit_in_child(path, key)
        size_mb = path.stat().st_size / 2**20
        digest = hashlib.sha256(path.read_bytes()[:1024]).hexdigest()[:8]
    if not args.quiet:
        print(
            f"export {size_mb:.0f} MB ({digest}), generated in {generate_s:.1f}s", file=sys.stderr
        )
    return {
        "entries": full["entries"],
        "entries_per_s": round(full["entries"] / full["seconds"]),
        # On a shared machine wall time includes waiting for a core; CPU time does not.
        "entries_per_cpu_s": round(full["entries"] / full["cpu"]),
        "peak_rss_mb": round(full["peak_rss_mb"], 1),
        "audit_s": round(full["seconds"], 2),
        "small_entries": small["entries"],
        "small_entries_per_s": round(small["entries"] / small["seconds"]),
        "small_peak_rss_mb": round(small["peak_rss_mb"], 1),
        "export_mb": round(size_mb, 1),
        "generate_s": round(generate_s, 1),
    }
