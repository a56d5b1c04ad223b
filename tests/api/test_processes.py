"""Real OS processes: concurrent writers never fork the chain; a killed writer loses its batch."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from ledger import Ledger, Settings
from ledger.config import normalize_url
from tests.conftest import Events
from tests.oracle import mth
from verifier.note import verify_checkpoint
from verifier.proofs import verify_inclusion

ROOT = Path(__file__).resolve().parents[2]


def spawn(settings: Settings, *args: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.append_worker",
            str(settings.data_dir),
            settings.database_url,
            *map(str, args),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def assert_unbroken_chain(ledger: Ledger) -> list[bytes]:
    entries = ledger.entries(0, ledger.size())
    assert [e.seq for e in entries] == list(range(len(entries)))
    prev = "0" * 64
    for e in entries:
        envelope = e.envelope()
        assert envelope["seq"] == e.seq
        assert envelope["prev"] == prev, f"chain broken at {e.seq}"
        prev = e.leaf_hash.hex()
    return [e.leaf_hash for e in entries]


def test_concurrent_writer_processes_make_one_chain(world: Ledger, settings: Settings) -> None:
    writers, batches, size = 4, 6, 25
    procs = [spawn(settings, f"W{w}", batches, size) for w in range(writers)]
    receipts: list[tuple[int, str, str]] = []
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
        lines = out.splitlines()
        assert lines[-1] == "done"
        receipts += [tuple(json.loads(line)) for line in lines[:-1]]  # type: ignore[misc]

    total = writers * batches * size
    assert len(receipts) == total
    assert sorted(r[0] for r in receipts) == list(range(total)), "gaps or duplicate seq"
    assert len({r[2] for r in receipts}) == total
    leaves = assert_unbroken_chain(world)
    assert len(leaves) == total
    size_, root, note = world.latest_checkpoint()
    assert size_ == total
    assert root == mth(leaves)
    assert verify_checkpoint(note, world.verifier_key).root_hash == root
    for seq, leaf_hex, _ in receipts:
        leaf = bytes.fromhex(leaf_hex)
        assert leaves[seq] == leaf
        verify_inclusion(seq, total, leaf, world.inclusion_proof(seq, total), root)


def writer_holds_lock(settings: Settings) -> bool:
    """True while another connection is inside an append transaction."""
    url = normalize_url(settings.database_url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 0, "isolation_level": None})
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                conn.exec_driver_sql("ROLLBACK")
            return False
        except OperationalError as exc:
            return "locked" in str(exc)
        finally:
            engine.dispose()
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("SELECT tree_size FROM log_head WHERE id = 1 FOR UPDATE NOWAIT"))
        return False
    except OperationalError as exc:
        return "lock" in str(exc)
    finally:
        engine.dispose()


def test_writer_killed_mid_batch_leaves_log_as_before(
    world: Ledger, settings: Settings, ev: Events
) -> None:
    world.append([ev.register(f"pre{i}") for i in range(10)], actor="farm")
    before = [(e.seq, e.leaf_bytes) for e in world.entries(0, 10)]
    checkpoint_before = world.latest_checkpoint()

    proc = spawn(settings, "BIG", 0, 10_000)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "begin"
    deadline = time.monotonic() + 120
    while not writer_holds_lock(settings):
        assert proc.poll() is None, (
            f"the writer ended before it could be killed: {proc.communicate()[1][-2000:]}"
        )
        assert time.monotonic() < deadline
        time.sleep(0.005)
    time.sleep(random.uniform(0.0, 0.2))
    os.kill(proc.pid, signal.SIGKILL)
    out, _ = proc.communicate(timeout=30)
    assert "done" not in out
    assert proc.returncode == -signal.SIGKILL

    assert world.size() == 10
    assert [(e.seq, e.leaf_bytes) for e in world.entries(0, 10)] == before
    assert world.latest_checkpoint() == checkpoint_before
    with world.engine.connect() as conn:
        lots = conn.execute(text("SELECT count(*) FROM lots")).scalar_one()
    assert lots == 10

    result = world.append([ev.register("after")], actor="farm")
    assert result.receipts[0].seq == 10
    leaves = assert_unbroken_chain(world)
    assert result.root_hash == mth(leaves)
