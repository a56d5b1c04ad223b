"""The write path: receipts, chain, checkpoints, idempotency, validation, rules, replay."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import event, text

from ledger import EventValidationError, IdempotencyConflict, Ledger, NotFound, RuleViolation
from ledger.errors import ForbiddenLocation, InsufficientStock, LotOnHold
from ledger.quantity import format_micro
from tests.conftest import TOMATO, Events
from tests.oracle import mth
from verifier.hashing import leaf_hash
from verifier.note import verify_checkpoint
from verifier.proofs import verify_consistency, verify_inclusion

Dump = Callable[[str], list[tuple[Any, ...]]]


def stock(ledger: Ledger, location: str, lot: str) -> str | None:
    query = text(
        "SELECT s.on_hand FROM stock s JOIN lots l ON l.id = s.lot_id "
        "WHERE s.location_id = :loc AND l.lot = :lot"
    )
    with ledger.engine.connect() as conn:
        row = conn.execute(query, {"loc": location, "lot": lot}).first()
    return None if row is None else format_micro(row[0])


def test_receipts_chain_and_checkpoint(world: Ledger, ev: Events) -> None:
    batch = [
        ev.register("L1", "120.5"),
        ev.register("L2", "80"),
        ev.ship("L1", "20.25", frm="farm-field-1", to="fresh-plant"),
    ]
    result = world.append(batch, actor="farm")

    assert [r.seq for r in result.receipts] == [0, 1, 2]
    assert [r.event_id for r in result.receipts] == [e["event_id"] for e in batch]
    assert result.tree_size == 3

    entries = world.entries(0, 3)
    assert [leaf_hash(e.leaf_bytes) for e in entries] == [r.leaf_hash for r in result.receipts]
    envelopes = [e.envelope() for e in entries]
    assert envelopes[0]["prev"] == "0" * 64
    assert envelopes[1]["prev"] == entries[0].leaf_hash.hex()
    assert envelopes[2]["prev"] == entries[1].leaf_hash.hex()
    assert envelopes[0]["actor"] == "farm"
    assert envelopes[0]["event"]["quantity"] == "120.5"
    assert envelopes[2]["event"]["quantity"] == "20.25"
    # Stored bytes are exactly canonical JSON: sorted keys, no spaces.
    assert entries[0].leaf_bytes.startswith(b'{"actor":"farm","event":{')

    checkpoint = verify_checkpoint(result.checkpoint, world.verifier_key)
    assert checkpoint.size == 3
    assert checkpoint.origin == world.origin
    assert checkpoint.root_hash == mth([e.leaf_hash for e in entries]) == result.root_hash

    assert stock(world, "farm-field-1", "L1") == "100.25"
    assert stock(world, "farm-field-1", "L2") == "80"


def test_proofs_verify_against_checkpoints(world: Ledger, ev: Events) -> None:
    first = world.append([ev.register(f"A{i}") for i in range(5)], actor="farm")
    second = world.append([ev.register(f"B{i}") for i in range(9)], actor="farm")
    for index, receipt in enumerate(first.receipts + second.receipts):
        proof = world.inclusion_proof(index, second.tree_size)
        verify_inclusion(index, second.tree_size, receipt.leaf_hash, proof, second.root_hash)
    proof = world.consistency_proof(first.tree_size, second.tree_size)
    verify_consistency(first.tree_size, second.tree_size, first.root_hash, second.root_hash, proof)
    assert world.checkpoint_at(5) == first.checkpoint
    assert world.latest_checkpoint() == (14, second.root_hash, second.checkpoint)
    assert world.index_of(second.receipts[3].leaf_hash) == 8


def test_lookup_by_leaf_hash_probes_the_prefix_index_and_compares_all_32_bytes(
    world: Ledger, ev: Events
) -> None:
    receipts = world.append([ev.register(f"A{i}") for i in range(40)], actor="farm").receipts
    for receipt in receipts[::7]:
        assert world.index_of(receipt.leaf_hash) == receipt.seq
    # Same first 8 bytes as an entry's, different after: no such entry.
    near = receipts[5].leaf_hash[:8] + bytes(b ^ 0xFF for b in receipts[5].leaf_hash[8:])
    issued: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cur: Any, statement: str, params: Any, *_: Any) -> None:
        if "log_entries" in statement:
            issued.append((statement, params))

    event.listen(world.engine, "before_cursor_execute", capture)
    try:
        with pytest.raises(NotFound):
            world.index_of(near)
    finally:
        event.remove(world.engine, "before_cursor_execute", capture)
    # The query repeats the index's expression exactly, so the database probes the index
    # instead of reading every entry.
    [(statement, params)] = issued
    with world.engine.connect() as conn:
        if world.engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
            plan = " ".join(str(row[-1]) for row in rows)
        else:
            conn.exec_driver_sql("SET enable_seqscan = off")
            rows = conn.exec_driver_sql(f"EXPLAIN {statement}", params)
            plan = " ".join(str(row[0]) for row in rows)
    assert "ix_log_entries_leaf_key" in plan


def test_same_event_again_returns_original_receipt(world: Ledger, ev: Events) -> None:
    event = ev.register("L1")
    original = world.append([event], actor="farm").receipts[0]
    world.append([ev.register("L2")], actor="farm")

    again = world.append([event], actor="farm")
    assert again.receipts[0].seq == original.seq
    assert again.receipts[0].leaf_hash == original.leaf_hash
    assert again.receipts[0].duplicate
    assert world.size() == 2

    # A batch mixing old and new events appends only the new ones.
    mixed = world.append([event, ev.register("L3")], actor="farm")
    assert [r.seq for r in mixed.receipts] == [0, 2]
    assert world.size() == 3


def test_same_event_id_different_content_is_a_conflict(world: Ledger, ev: Events) -> None:
    event = ev.register("L1", "100")
    world.append([event], actor="farm")
    changed = {**event, "quantity": "101"}
    with pytest.raises(IdempotencyConflict) as info:
        world.append([ev.register("L9"), changed], actor="farm")
    assert info.value.index == 1
    assert info.value.seq == 0
    assert world.size() == 1


@pytest.mark.parametrize(
    ("mutate", "field", "message"),
    [
        (lambda e: e["lot"].update(gtin="09506000134353"), "lot.gtin", "check digit"),
        (lambda e: e.update(quantity="-5"), "quantity", "must be positive"),
        (lambda e: e.update(quantity="abc"), "quantity", "not a decimal"),
        (lambda e: e.update(quantity=5), "quantity", "string"),
        (lambda e: e.update(quantity="1e3"), "quantity", "not a decimal"),
        (lambda e: e.update(event_time="2026-11-20 08:00"), "event_time", "RFC 3339"),
        (lambda e: e.update(event_time="2026-11-20T08:00:00"), "event_time", "offset"),
        (lambda e: e.update(event_time="2099-01-01T00:00:00Z"), "event_time", "future"),
        (lambda e: e.update(event_id="not-a-uuid"), "event_id", "UUID"),
        (lambda e: e.update(unit="bushel"), "unit", "Input should be"),
        (lambda e: e.update(colour="green"), "colour", "Extra inputs"),
        (lambda e: e.update(location="nowhere"), "location", "unknown location"),
        (lambda e: e["lot"].update(lot="x" * 21), "lot.lot", "20"),
        (lambda e: e.update(type="teleport"), "event", "tag"),
    ],
    ids=[
        "gtin-check-digit",
        "negative-quantity",
        "non-numeric-quantity",
        "number-not-string",
        "exponent",
        "time-format",
        "time-without-offset",
        "time-in-future",
        "bad-event-id",
        "unknown-unit",
        "unknown-field",
        "unknown-location",
        "lot-too-long",
        "unknown-type",
    ],
)
def test_bad_input_is_refused_and_leaves_log_unchanged(
    world: Ledger,
    ev: Events,
    table_dump: Dump,
    mutate: Callable[[dict[str, Any]], None],
    field: str,
    message: str,
) -> None:
    world.append([ev.register("L0")], actor="farm")
    before = (table_dump("log_entries"), table_dump("lots"), table_dump("stock"))
    bad = ev.register("L1")
    mutate(bad)
    with pytest.raises(EventValidationError) as info:
        world.append([ev.register("L2"), bad], actor="farm")
    problem = info.value.problems[0]
    assert problem.index == 1
    assert problem.field.startswith(field) or field == "event"
    assert message.lower() in problem.message.lower(), problem
    assert (table_dump("log_entries"), table_dump("lots"), table_dump("stock")) == before


def test_every_problem_of_every_event_is_reported(world: Ledger, ev: Events) -> None:
    a = ev.register("L1", "-1")
    b = ev.register("L2")
    b["lot"]["gtin"] = "123"
    with pytest.raises(EventValidationError) as info:
        world.append([a, ev.register("ok"), b], actor="farm")
    assert [(p.index, p.field) for p in info.value.problems] == [(0, "quantity"), (2, "lot.gtin")]


def test_business_rules(world: Ledger, ev: Events, table_dump: Dump) -> None:
    world.append([ev.register("L1", "50")], actor="farm")
    entries_before = table_dump("log_entries")

    with pytest.raises(InsufficientStock, match="50 on hand"):
        world.append([ev.ship("L1", "60", frm="farm-field-1", to="fresh-plant")], actor="farm")
    with pytest.raises(ForbiddenLocation, match="another organisation"):
        world.append([ev.ship("L1", "5", frm="farm-field-1", to="fresh-plant")], actor="fresh")
    with pytest.raises(RuleViolation, match="already registered"):
        world.append([ev.register("L1")], actor="farm")
    with pytest.raises(RuleViolation, match="no open shipment"):
        world.append([ev.receive("L1", "5", frm="farm-field-1", at="fresh-plant")], actor="fresh")
    with pytest.raises(EventValidationError, match="unknown lot"):
        world.append([ev.ship("NOPE", "5", frm="farm-field-1", to="fresh-plant")], actor="farm")
    # Within one batch, later events see earlier ones: 30 + 30 > 50.
    with pytest.raises(InsufficientStock) as info:
        world.append(
            [
                ev.ship("L1", "30", frm="farm-field-1", to="fresh-plant"),
                ev.ship("L1", "30", frm="farm-field-1", to="fresh-plant"),
            ],
            actor="farm",
        )
    assert info.value.index == 1
    assert table_dump("log_entries") == entries_before
    assert stock(world, "farm-field-1", "L1") == "50"


def test_hold_blocks_shipping_and_selling_until_released(world: Ledger, ev: Events) -> None:
    world.append([ev.register("L1", "50"), ev.hold("L1", at="farm-field-1")], actor="farm")
    with pytest.raises(LotOnHold, match="on hold"):
        world.append([ev.ship("L1", "5", frm="farm-field-1", to="fresh-plant")], actor="farm")
    # Disposal of held stock is how a recall completes: allowed.
    world.append([ev.leave("dispose", "L1", "5", at="farm-field-1", reason="recall")], actor="farm")
    with pytest.raises(RuleViolation, match="no open hold"):
        world.append([ev.release("L1", at="fresh-plant")], actor="fresh")
    world.append([ev.release("L1", at="farm-field-1")], actor="farm")
    world.append([ev.ship("L1", "5", frm="farm-field-1", to="fresh-plant")], actor="farm")
    assert stock(world, "farm-field-1", "L1") == "40"


def test_receive_against_shipment_and_transform(world: Ledger, ev: Events) -> None:
    world.append(
        [
            ev.register("LET1", "100"),
            ev.register("TOM1", "60", gtin=TOMATO),
            ev.ship("LET1", "40", frm="farm-field-1", to="fresh-plant"),
            ev.ship("TOM1", "60", frm="farm-field-1", to="fresh-plant", gtin=TOMATO),
        ],
        actor="farm",
    )
    world.append(
        [
            ev.receive("LET1", "39.5", frm="farm-field-1", at="fresh-plant"),
            ev.receive("TOM1", "60", frm="farm-field-1", at="fresh-plant", gtin=TOMATO),
        ],
        actor="fresh",
    )
    transform = Events._base(
        "transform",
        "fresh-plant",
        inputs=[
            {"lot": {"gtin": "09506000134352", "lot": "LET1"}, "quantity": "30", "unit": "kg"},
            {"lot": {"gtin": TOMATO, "lot": "TOM1"}, "quantity": "20", "unit": "kg"},
        ],
        outputs=[
            {
                "lot": {"gtin": "00012345678905", "lot": "SAL1"},
                "quantity": "50",
                "unit": "kg",
                "product": "Garden salad",
                "expiry": "2026-11-27",
            }
        ],
    )
    world.append([transform], actor="fresh")
    assert stock(world, "fresh-plant", "LET1") == "9.5"
    assert stock(world, "fresh-plant", "TOM1") == "40"
    assert stock(world, "fresh-plant", "SAL1") == "50"
    with world.engine.connect() as conn:
        links = conn.exec_driver_sql(
            "SELECT i.lot, o.lot FROM transformations t JOIN lots i ON i.id = t.input_lot_id "
            "JOIN lots o ON o.id = t.output_lot_id ORDER BY i.lot"
        ).all()
        shipped = conn.exec_driver_sql(
            "SELECT quantity, received FROM shipments ORDER BY seq"
        ).all()
    assert [tuple(r) for r in links] == [("LET1", "SAL1"), ("TOM1", "SAL1")]
    assert [tuple(r) for r in shipped] == [(40_000_000, 39_500_000), (60_000_000, 60_000_000)]


def test_replay_rebuilds_identical_read_models(world: Ledger, ev: Events, table_dump: Dump) -> None:
    world.append(
        [
            ev.register("L1", "100"),
            ev.register("L2", "10"),
            ev.ship("L1", "40", frm="farm-field-1", to="retail-dc"),
            ev.hold("L2", at="farm-field-1"),
        ],
        actor="farm",
    )
    world.append(
        [
            ev.receive("L1", "40", frm="farm-field-1", at="retail-dc"),
            ev.ship("L1", "15", frm="retail-dc", to="store-1"),
        ],
        actor="retail",
    )
    world.append(
        [
            ev.receive("L1", "15", frm="retail-dc", at="store-1"),
            ev.leave("sell", "L1", "2.5", at="store-1"),
        ],
        actor="retail",
    )
    world.append(
        [ev.release("L2", at="farm-field-1"), ev.hold("L2", at="farm-field-1")], actor="farm"
    )
    tables = ("lots", "stock", "lot_events", "shipments", "holds", "transformations", "orders")
    before = {t: table_dump(t) for t in tables}
    world.replay()
    assert {t: table_dump(t) for t in tables} == before
    assert stock(world, "store-1", "L1") == "12.5"


def test_checkpoint_note_is_c2sp(world: Ledger, ev: Events) -> None:
    result = world.append([ev.register("L1")], actor="farm")
    lines = result.checkpoint.split("\n")
    assert lines[0] == world.origin
    assert lines[1] == "1"
    assert lines[3] == ""
    assert lines[4].startswith(f"— {world.origin} ")
    assert json.loads(world.entries(0, 1)[0].leaf_bytes)["seq"] == 0


def test_ship_and_receive_in_one_batch(world: Ledger, ev: Events) -> None:
    world.append(
        [ev.register("L1", "100"), ev.ship("L1", "60", frm="farm-field-1", to="retail-dc")],
        actor="farm",
    )
    world.append(
        [
            ev.receive("L1", "60", frm="farm-field-1", at="retail-dc"),
            ev.ship("L1", "25", frm="retail-dc", to="store-1"),
            ev.receive("L1", "24", frm="retail-dc", at="store-1"),
            ev.leave("sell", "L1", "4", at="store-1"),
        ],
        actor="retail",
    )
    assert stock(world, "retail-dc", "L1") == "35"
    assert stock(world, "store-1", "L1") == "20"
    with world.engine.connect() as conn:
        shipped = conn.execute(
            text("SELECT to_location, quantity, received FROM shipments ORDER BY seq")
        ).all()
    assert [tuple(r) for r in shipped] == [
        ("retail-dc", 60_000_000, 60_000_000),
        ("store-1", 25_000_000, 24_000_000),
    ]
