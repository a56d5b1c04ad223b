"""Group commit: concurrent writers share commits and checkpoints, never each other's errors."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import event

from ledger import AppendResult, EventValidationError, Ledger, create_product, set_terms
from ledger.errors import InsufficientStock
from ledger.log.group_commit import GroupCommitter, _Pending
from ledger.log.service import validate_batch
from tests.conftest import SALAD, Events
from tests.oracle import mth
from verifier.note import verify_checkpoint
from verifier.proofs import verify_inclusion


def wait_until(condition: Any, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the writer's queue"
        time.sleep(0.005)


def test_append_many_is_one_transaction_with_receipts_per_request(
    world: Ledger, ev: Events
) -> None:
    farm = [ev.register("A1"), ev.register("A2")]
    retail_lot = ev.register("R1", location="retail-dc")
    first, second = world.append_many([("farm", farm), ("retail", [retail_lot])])
    assert [r.index for r in first.receipts] == [0, 1]
    assert [r.index for r in second.receipts] == [0]
    assert [r.seq for r in first.receipts + second.receipts] == [0, 1, 2]
    assert first.checkpoint == second.checkpoint
    assert first.tree_size == second.tree_size == 3
    actors = [e.envelope()["actor"] for e in world.entries(0, 3)]
    assert actors == ["farm", "farm", "retail"]
    assert world.size() == 3


def test_a_failing_request_fails_the_whole_group(world: Ledger, ev: Events) -> None:
    world.append([ev.register("A1", "10")], actor="farm")
    with pytest.raises(InsufficientStock):
        world.append_many(
            [
                ("farm", [ev.register("A2")]),
                ("farm", [ev.ship("A1", "50", frm="farm-field-1", to="retail-dc")]),
            ]
        )
    assert world.size() == 1


def test_concurrent_writers_are_grouped_into_fewer_commits(world: Ledger, ev: Events) -> None:
    writer = GroupCommitter(world)
    events = [ev.register(f"C{i}", "1") for i in range(120)]
    # Hold every commit until all 120 requests are either queued or in the commit held.
    gate = threading.Event()
    in_commit = [0]
    append, append_many = world.append, world.append_many

    def held_append(raw: Any, *, actor: str) -> AppendResult:
        in_commit[0] += 1
        gate.wait(60)
        return append(raw, actor=actor)

    def held_many(requests: Any, **kw: Any) -> list[AppendResult]:
        in_commit[0] += len(requests)
        gate.wait(60)
        return append_many(requests, **kw)

    world.append, world.append_many = held_append, held_many  # type: ignore[method-assign]
    try:
        with ThreadPoolExecutor(max_workers=len(events)) as pool:
            futures = [pool.submit(writer.append, [e], actor="farm") for e in events]
            wait_until(lambda: len(writer._queue) + in_commit[0] == len(events))
            gate.set()
            results = [f.result(timeout=60) for f in futures]
    finally:
        world.append, world.append_many = append, append_many  # type: ignore[method-assign]
        writer.close()

    seqs = sorted(r.receipts[0].seq for r in results)
    assert seqs == list(range(len(events)))
    checkpoints = {r.checkpoint for r in results}
    assert len(checkpoints) <= 3, "the held commit, then everything queued behind it"
    size, root, note = world.latest_checkpoint()
    assert size == len(events)
    entries = world.entries(0, size)
    assert root == mth([e.leaf_hash for e in entries])
    verify_checkpoint(note, world.verifier_key)
    for r in results:
        receipt = r.receipts[0]
        root_then = verify_checkpoint(r.checkpoint, world.verifier_key).root_hash
        proof = world.inclusion_proof(receipt.seq, r.tree_size)
        verify_inclusion(receipt.seq, r.tree_size, receipt.leaf_hash, proof, root_then)


def test_one_bad_writer_does_not_fail_the_others(world: Ledger, ev: Events) -> None:
    world.append([ev.register("S1", "5")], actor="farm")
    writer = GroupCommitter(world)
    good = [_Pending("farm", [ev.register(f"G{i}")]) for i in range(4)]
    overship = _Pending("farm", [ev.ship("S1", "50", frm="farm-field-1", to="retail-dc")])
    bad_schema = _Pending("farm", [ev.register("B1", "-3")])
    group = [good[0], overship, good[1], bad_schema, good[2], good[3]]

    writer._commit(group)  # the group fails as a whole, then each request goes alone

    assert all(p.future.done() for p in group)
    assert isinstance(overship.future.exception(), InsufficientStock)
    schema_error = bad_schema.future.exception()
    assert isinstance(schema_error, EventValidationError)
    assert schema_error.problems[0].field == "quantity"
    assert [p.future.result().receipts[0].seq for p in good] == [1, 2, 3, 4]
    assert world.size() == 5
    lots = [e.envelope()["event"]["lot"]["lot"] for e in world.entries(0, 5)]
    assert lots == ["S1", "G0", "G1", "G2", "G3"]


def test_a_good_group_shares_one_commit(world: Ledger, ev: Events) -> None:
    writer = GroupCommitter(world)
    group = [_Pending("farm", [ev.register(f"H{i}"), ev.register(f"H{i}b")]) for i in range(3)]
    writer._commit(group)
    assert [[r.seq for r in p.future.result().receipts] for p in group] == [
        [0, 1],
        [2, 3],
        [4, 5],
    ]
    assert len({p.future.result().checkpoint for p in group}) == 1
    assert world.latest_checkpoint()[0] == 6


def test_a_request_cancelled_in_the_queue_is_never_written(world: Ledger, ev: Events) -> None:
    """A client that goes away while queued: dropped; the writer carries on with the rest."""
    writer = GroupCommitter(world)
    gate = threading.Event()
    in_commit = [0]
    append = world.append

    def held_append(raw: Any, *, actor: str) -> AppendResult:
        in_commit[0] += 1
        gate.wait(60)
        return append(raw, actor=actor)

    world.append = held_append  # type: ignore[method-assign]
    try:
        first = writer.submit([ev.register("K0")], actor="farm")
        wait_until(lambda: in_commit[0] == 1)
        gone = writer.submit([ev.register("K1")], actor="farm")
        kept = writer.submit([ev.register("K2")], actor="farm")
        assert not first.cancel(), "a request being committed can no longer be cancelled"
        assert gone.cancel()
        gate.set()
        assert kept.result(timeout=60).receipts[0].seq == 1
        assert first.result(timeout=60).receipts[0].seq == 0
    finally:
        world.append = append  # type: ignore[method-assign]
    assert gone.cancelled()
    # The writer thread is still alive and appends after the cancelled request.
    assert writer.append([ev.register("K3")], actor="farm").receipts[0].seq == 2
    writer.close()
    lots = [e.envelope()["event"]["lot"]["lot"] for e in world.entries(0, world.size())]
    assert lots == ["K0", "K2", "K3"]


def test_a_validated_batch_retried_after_a_failed_group_logs_what_it_logs_alone(
    world: Ledger, ev: Events
) -> None:
    """The ledger completes an order (unit price, approval) inside the group's transaction;
    when the group fails, the retry starts again from the batch as validated, not from the
    completed copy."""
    create_product(
        world.engine, SALAD, org_id="fresh", description="Garden salad", unit="each",
        shelf_life_days=6,
    )  # fmt: skip
    set_terms(world.engine, "retail", SALAD, case_pack="12", min_order="24", unit_cost="2.5")
    order = ev._base(
        "order_placed",
        "store-1",
        order_id="PO-9",
        supplier_location="fresh-plant",
        lines=[{"gtin": SALAD, "quantity": "48", "unit": "each"}],
    )
    batch = validate_batch([order])
    sent = [dict(d) for d in batch.dumped]
    with pytest.raises(EventValidationError, match="unknown lot"):  # after the completion
        world.append_many(
            [
                ("retail", batch),
                ("farm", [ev.ship("NONE", "5", frm="farm-field-1", to="retail-dc")]),
            ]
        )
    assert [dict(d) for d in batch.dumped] == sent, "the failed group changed the batch"
    assert "unit_price" not in batch.dumped[0]["lines"][0]
    result = world.append(batch, actor="retail")
    logged = world.entries(0, 1)[0].envelope()["event"]
    assert logged["lines"] == [
        {"gtin": SALAD, "quantity": "48", "unit": "each", "unit_price": "2.5"}
    ]
    assert logged["approval_required"] is False
    # Resent as the client sent it: the same receipt, idempotent.
    again = world.append([order], actor="retail")
    assert again.receipts[0].duplicate
    assert again.receipts[0].leaf_hash == result.receipts[0].leaf_hash


def test_a_plain_append_joins_the_attached_writers_groups(world: Ledger, ev: Events) -> None:
    """Orders, recalls and counts call ``Ledger.append``: with a service's writer attached
    their batches are committed by the writer's thread, in its groups; detached, directly."""
    writers: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("SELECT log_head.tree_size"):  # the write path's head read
            writers.append(threading.current_thread().name)

    event.listen(world.engine, "before_cursor_execute", record)
    writer = GroupCommitter(world)
    writer.attach()
    first = world.append([ev.register("W0")], actor="farm")
    attached = len(writers)
    refused = pytest.raises(EventValidationError)
    with refused:
        world.append([{"type": "register"}], actor="farm")  # errors reach the caller as before
    writer.close()
    assert world.writer is None
    second = world.append([ev.register("W1")], actor="farm")
    assert (first.receipts[0].seq, second.receipts[0].seq) == (0, 1)
    assert attached
    assert set(writers[:attached]) == {"lotledger-group-commit"}
    assert set(writers[attached:]) == {threading.current_thread().name}
