"""``python -m load.bench audit --incremental``: a repeat audit of a live log over HTTP.

See ``load.bench_audit``'s docstring for what is built and measured.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from ledger import Ledger, Settings
from ledger.masterdata.keys import create_key
from load.bench_proofs import entry_leaves, store_leaves
from load.ledger_fixtures import ORIGIN, event, supply_chain
from verifier.audit import AuditState, audit_url, save_state
from verifier.compact import CompactRange

ROOT = Path(__file__).resolve().parent.parent
APPEND_BATCH = 100


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(data_dir: Path, url: str, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOTLEDGER_")}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--data-dir", str(data_dir),
             "--database-url", url, "--port", str(port), "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{base}/v1/log/key", timeout=2):  # noqa: S310 - local
                return proc, base
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"the service did not start: {log.read_text()}") from None
            time.sleep(0.2)


def save_audited_state(ledger: Ledger, compact: CompactRange, state_path: Path) -> None:
    """What the full audit of the log as it is saved: its last checkpoint and frontier."""
    size, root, note = ledger.latest_checkpoint()
    key = ledger.verifier_key
    last_leaf = ledger.entries(size - 1, size)[0].leaf_hash
    save_state(
        state_path,
        AuditState(
            origin=key.name,
            checkpoint=note,
            checkpoint_size=size,
            checkpoint_root=root,
            size=size,
            frontier=list(compact.hashes),
            last_leaf_hash=last_leaf,
            key_id=key.key_id.hex(),
        ),
    )


def append_new(ledger: Ledger, new: int) -> None:
    """``new`` register events through the write path, ``APPEND_BATCH`` a batch."""
    for start in range(0, new, APPEND_BATCH):
        batch = [
            event("register", "farm-1", f"N{n:07d}", "10", product="Lettuce", kind="harvest")
            for n in range(start, min(start + APPEND_BATCH, new))
        ]
        ledger.append(batch, actor="farm")


def run_incremental(entries: int, new: int, *, quiet: bool) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="lotledger-bench-audit-") as tmp:
        data_dir = Path(tmp) / "data"
        url = f"sqlite:///{Path(tmp) / 'ledger.db'}"
        settings = Settings(data_dir, url, ORIGIN, None, None)
        began = time.perf_counter()
        ledger = Ledger.open(settings)
        try:
            supply_chain(ledger)
            compact = store_leaves(ledger, entry_leaves(entries))
            size, root, _note = ledger.latest_checkpoint()
            if size != entries or root != compact.root():
                raise RuntimeError("the stored log does not have the tree it was built with")
            key = ledger.verifier_key
            # The log's entries answer only a regulator (auditor) or admin key.
            api_key = create_key(ledger.engine, "farm", "regulator", "bench").secret
            state_path = Path(tmp) / "audit-state.json"
            save_audited_state(ledger, compact, state_path)
            append_new(ledger, new)
        finally:
            ledger.close()
        build_s = time.perf_counter() - began
        proc, base = serve(data_dir, url, Path(tmp) / "serve.log")
        try:
            began = time.perf_counter()
            report = audit_url(base, key, state_path=state_path, api_key=api_key)
            seconds = time.perf_counter() - began
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    if report.entries_checked != new or report.previous_size != entries:
        raise RuntimeError(f"the repeat audit did not check what it should: {report}")
    if not quiet:
        print(f"built {entries} + {new} entries in {build_s:.1f}s", file=sys.stderr)
    return {
        "entries": report.tree_size,
        "new_entries": report.entries_checked,
        "seconds": round(seconds, 3),
        "build_s": round(build_s, 1),
    }
