"""Four ``lotledger serve`` worker processes on one PostgreSQL log, appended to from many
client threads over HTTP for a minute: every acknowledged event is in the log exactly once,
the log is one chain and one tree (every checkpoint handed out on the way is a prefix of the
final tree: no fork), and the real ``lotledger-verify log URL`` audits it.

PostgreSQL only: SQLite serialises its writers on one file (``test_api_workers`` runs two
workers on both engines); several API processes, possibly on several hosts, sharing one log
is what the PostgreSQL deployment is for (the head is locked with ``SELECT ... FOR UPDATE``).
"""

from __future__ import annotations

import base64
import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledger import Ledger, Settings
from tests.api.test_processes import assert_unbroken_chain
from tests.api_fixtures import Keys, api_keys, serve  # noqa: F401 - fixture
from tests.conftest import Events, backend
from verifier.compact import CompactRange
from verifier.note import VerifierKey, verify_checkpoint
from verifier.proofs import verify_inclusion

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        backend() != "postgresql",
        reason="several worker processes on one log is the PostgreSQL deployment; "
        "SQLite's two-worker case is test_api_workers",
    ),
]

WORKERS = 4
CLIENTS = 12
SECONDS = 60.0
BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Acknowledged:
    """What one client thread was told: the receipts and the checkpoints that covered them."""

    receipts: list[dict[str, Any]] = field(default_factory=list)
    checkpoints: list[tuple[int, str]] = field(default_factory=list)  # (tree size, note)
    repeats: int = 0


def _stat(pid: int) -> list[str]:
    """/proc/PID/stat's fields after the command name (which may hold spaces): state is [0]."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def worker_pids(parent: int) -> list[int]:
    """uvicorn's worker processes under ``parent`` (not multiprocessing's resource tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int(_stat(int(entry.name))[1])
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return found


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of ``pid`` so far."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def serve_pid(port: str) -> int:
    """The pid of the ``lotledger serve`` process listening on ``port``."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"api.cli" in cmdline and b"serve" in cmdline and port.encode() in cmdline:
            return int(entry.name)
    raise AssertionError(f"no lotledger serve process on port {port}")


@pytest.fixture
def service(world: Ledger, settings: Settings, api_keys: Keys) -> Iterator[str]:  # noqa: F811
    yield from serve(settings, workers=WORKERS)


def test_four_workers_append_for_a_minute(
    world: Ledger,
    service: str,
    api_keys: Keys,  # noqa: F811
    tmp_path: Path,
) -> None:
    port = service.rsplit(":", 1)[1]
    workers = worker_pids(serve_pid(port))
    assert len(workers) == WORKERS, f"expected {WORKERS} worker processes, found {workers}"
    idle = {pid: cpu_seconds(pid) for pid in workers}

    ev = Events()
    deadline = time.monotonic() + SECONDS
    failures: list[str] = []
    stop = threading.Event()

    def client(n: int) -> Acknowledged:
        rng = random.Random(n)
        got = Acknowledged()
        auth = {"Authorization": f"Bearer {api_keys.farm}"}
        sent: list[tuple[list[dict[str, Any]], list[dict[str, Any]]]] = []
        # A new connection now and then, so that requests spread over every worker.
        while time.monotonic() < deadline and not stop.is_set():
            with httpx.Client(base_url=service, timeout=60) as http:
                for _ in range(rng.randint(5, 40)):
                    if time.monotonic() >= deadline or stop.is_set():
                        break
                    if sent and rng.random() < 0.05:
                        # A retried request (a client that lost the answer): the same
                        # receipts again, nothing appended twice.
                        batch, first = rng.choice(sent)
                        answer = http.post("/v1/events", json={"events": batch}, headers=auth)
                        if answer.status_code != 200:  # nothing new was appended
                            failures.append(f"retry: {answer.status_code} {answer.text}")
                            stop.set()
                            break
                        again = answer.json()["receipts"]
                        if [(r["seq"], r["leaf_hash"]) for r in again] != [
                            (r["seq"], r["leaf_hash"]) for r in first
                        ] or not all(r["duplicate"] for r in again):
                            failures.append(f"a retried batch got new receipts: {again}")
                            stop.set()
                        got.repeats += 1
                        continue
                    batch = [
                        ev.register(f"C{n}-{len(got.receipts)}-{b}", "5")
                        for b in range(rng.choice((1, 1, 2, 3, 8)))
                    ]
                    answer = http.post("/v1/events", json={"events": batch}, headers=auth)
                    if answer.status_code != 201:
                        failures.append(f"append: {answer.status_code} {answer.text}")
                        stop.set()
                        break
                    body = answer.json()
                    got.receipts += body["receipts"]
                    got.checkpoints.append((body["tree_size"], body["checkpoint"]))
                    if len(sent) < 50:
                        sent.append((batch, body["receipts"]))
        return got

    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(client, range(CLIENTS)))
    assert not failures, failures[:3]
    assert sorted(worker_pids(serve_pid(port))) == sorted(workers), "a worker was restarted"
    busy = {pid: cpu_seconds(pid) - idle[pid] for pid in workers}
    assert min(busy.values()) > 1.0, f"not every worker appended (CPU seconds: {busy})"

    receipts = [r for result in results for r in result.receipts]
    assert all(not r["duplicate"] for r in receipts)
    assert sum(result.repeats for result in results) > 0, "no request was retried"
    total = len(receipts)
    assert total > 1000, f"only {total} events appended in a minute"
    print(f"{total} events in {SECONDS:.0f} s, {CLIENTS} clients, {WORKERS} workers: CPU s {busy}")

    # Every acknowledged event once, at the position it was acknowledged at; no gap.
    ids = Counter(r["event_id"] for r in receipts)
    assert max(ids.values()) == 1
    assert sorted(r["seq"] for r in receipts) == list(range(total)), "gaps or duplicate seq"
    entries = world.entries(0, world.size())
    assert len(entries) == total, "the log holds entries nobody was told about"
    logged = Counter(e.envelope()["event"]["event_id"] for e in entries)
    assert logged == ids
    leaves = assert_unbroken_chain(world)
    for r in receipts:
        assert leaves[r["seq"]].hex() == r["leaf_hash"], f"receipt {r['seq']} changed"

    # One tree: every checkpoint any worker signed on the way is the root of a prefix of
    # the final log (a fork would give a root no prefix has), and it covers its receipts.
    key = VerifierKey.parse(httpx.get(f"{service}/v1/log/key").text.strip())
    roots: dict[int, bytes] = {}
    for result in results:
        for size, note in result.checkpoints:
            checkpoint = verify_checkpoint(note, key)
            assert checkpoint.size == size
            assert roots.setdefault(size, checkpoint.root_hash) == checkpoint.root_hash, (
                f"two checkpoints of size {size} with different roots: a fork"
            )
    tree = CompactRange()
    for leaf in leaves:
        tree.append(leaf)
        if tree.size in roots:
            assert tree.root() == roots[tree.size], f"checkpoint {tree.size} is not a prefix"
    final = verify_checkpoint(httpx.get(f"{service}/v1/log/checkpoint").text, key)
    assert (final.size, final.root_hash) == (total, tree.root())

    # Inclusion proofs from the stored tree, for a sample of receipts, to the final root.
    with httpx.Client(base_url=service, timeout=30) as http:
        for r in random.Random(0).sample(receipts, 200):
            proof = http.get(
                "/v1/log/proof/inclusion", params={"index": r["seq"], "size": total}
            ).json()
            verify_inclusion(
                r["seq"],
                total,
                bytes.fromhex(r["leaf_hash"]),
                [base64.b64decode(h) for h in proof["hashes"]],
                final.root_hash,
            )

    # The real verifier, over HTTP, as a regulator runs it.
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOTLEDGER_")}
    env["HOME"] = str(tmp_path)
    audit = subprocess.run(
        [str(BIN / "lotledger-verify"), "log", service, "--key", str(key),
         "--api-key", api_keys.regulator, "--state", str(tmp_path / "audit.json"), "--quiet"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=600, check=False,
    )  # fmt: skip
    assert audit.returncode == 0, audit.stderr
    assert f": {total} entries, root {final.root_hash.hex()}; {total} entries re-hashed" in (
        audit.stdout
    ), audit.stdout
