"""Stock on hand, in transit, lot status, expiry and first-expired-first-out, stock counts;
and the property that stock kept incrementally equals a replay and a plain recount."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import event as note_event
from hypothesis import strategies as st

from ledger import (
    EventValidationError,
    Ledger,
    RuleViolation,
    create_location,
    create_organisation,
    create_product,
    location_stock,
    set_terms,
)
from ledger.errors import InsufficientStock, LotOnHold
from ledger.inventory.stock import expiry_alerts, in_transit, pick_list, record_count
from ledger.projections.projector import LotExpired
from ledger.quantity import parse_decimal
from ledger.trace.lots import get_lot
from tests.conftest import LETTUCE, Events

Dump = Callable[[str], list[tuple[Any, ...]]]
READ_MODELS = (
    "lots",
    "stock",
    "shipments",
    "holds",
    "lot_events",
    "lot_states",
    "inventory_daily",
    "orders",
    "order_progress",
    "order_lines",
    "order_lots",
)


def at(day: str, hour: int = 8) -> str:
    return f"{day}T{hour:02d}:00:00+01:00"


def on_hand(ledger: Ledger, location: str) -> dict[str, str]:
    return {i.lot: i.on_hand for i in location_stock(ledger.engine, location, viewer=None)}


def test_stock_and_in_transit_by_values(world: Ledger, ev: Events) -> None:
    world.append(
        [
            ev.register("L1", "100"),
            ev.ship("L1", "40", frm="farm-field-1", to="retail-dc", shipment_id="S-1"),
        ],
        actor="farm",
    )
    assert on_hand(world, "farm-field-1") == {"L1": "60"}
    moving = in_transit(world.engine, "retail-dc", viewer="retail")
    assert [(t.lot, t.shipped, t.received, t.in_transit) for t in moving] == [
        ("L1", "40", "0", "40")
    ]
    world.append([ev.receive("L1", "25", frm="farm-field-1", at="retail-dc")], actor="retail")
    assert on_hand(world, "retail-dc") == {"L1": "25"}
    assert [t.in_transit for t in in_transit(world.engine, "retail-dc", viewer=None)] == ["15"]
    # An organisation sees only its own locations.
    with pytest.raises(Exception, match="not yours"):
        location_stock(world.engine, "retail-dc", viewer="farm")


def test_more_than_on_hand_is_refused_with_the_numbers(world: Ledger, ev: Events) -> None:
    world.append([ev.register("L1", "10")], actor="farm")
    with pytest.raises(InsufficientStock) as refused:
        world.append([ev.leave("sell", "L1", "10.5", at="farm-field-1")], actor="farm")
    assert refused.value.details == {"on_hand": "10", "requested": "10.5"}
    assert on_hand(world, "farm-field-1") == {"L1": "10"}


def test_expiry_from_shelf_life_and_removal_date(world: Ledger, ev: Events) -> None:
    create_product(
        world.engine, LETTUCE, org_id="farm", description="Romaine", unit="kg", shelf_life_days=10
    )
    world.append(
        [
            ev.register("L1", event_time=at("2026-11-20")),
            ev.register("L2", production_date="2026-11-18"),
            ev.register("L3", expiry="2026-12-24"),
        ],
        actor="farm",
    )
    items = {i.lot: i for i in location_stock(world.engine, "farm-field-1", viewer="farm")}
    assert (items["L1"].expiry, items["L1"].removal_date) == ("2026-11-30", "2026-11-29")
    assert items["L2"].expiry == "2026-11-28"  # counted from the production date
    assert items["L3"].expiry == "2026-12-24"  # given wins
    set_terms(world.engine, "farm", LETTUCE, removal_days=3)  # the stock holder's terms
    items = {i.lot: i for i in location_stock(world.engine, "farm-field-1", viewer="farm")}
    assert items["L1"].removal_date == "2026-11-27"


def test_expired_stock_cannot_be_shipped_or_sold(world: Ledger, ev: Events) -> None:
    world.append([ev.register("L1", "10", expiry="2026-11-21")], actor="farm")
    late = at("2026-11-22")
    for event in (
        ev.leave("sell", "L1", "1", at="farm-field-1", event_time=late),
        ev.ship("L1", "1", frm="farm-field-1", to="fresh-plant", event_time=late),
    ):
        with pytest.raises(LotExpired, match="expired on 2026-11-21 and cannot be") as refused:
            world.append([event], actor="farm")
        assert refused.value.details["expiry"] == "2026-11-21"
    # On its expiry day it still sells; once expired it can be disposed of.
    world.append(
        [
            ev.leave("sell", "L1", "1", at="farm-field-1", event_time=at("2026-11-21")),
            ev.leave("dispose", "L1", "9", at="farm-field-1", event_time=late, reason="expired"),
        ],
        actor="farm",
    )
    assert on_hand(world, "farm-field-1") == {}


def test_status_is_set_and_cleared_by_events(world: Ledger, ev: Events) -> None:
    world.append([ev.register("L1", "10")], actor="farm")

    def status() -> str:
        """The stock line's status; the lot's own status says the same word."""
        (item,) = location_stock(world.engine, "farm-field-1", viewer="farm")
        assert get_lot(world.engine, LETTUCE, "L1", viewer="farm").status == item.status
        return item.status

    def hold(kind: str) -> dict[str, Any]:
        event = ev.hold("L1", at="farm-field-1")
        event["kind"] = kind
        return event

    assert status() == "approved"
    world.append([hold("quality")], actor="farm")
    assert status() == "on_hold"
    world.append([hold("recall")], actor="farm")
    assert status() == "recalled"
    with pytest.raises(LotOnHold, match="is recalled and cannot be shipped") as refused:
        world.append([ev.ship("L1", "1", frm="farm-field-1", to="fresh-plant")], actor="farm")
    assert refused.value.details["status"] == "recalled"
    release = ev.release("L1", at="farm-field-1")
    world.append([{**release, "kind": "recall"}], actor="farm")
    assert status() == "on_hold"
    world.append([hold("damage"), hold("quarantine")], actor="farm")
    assert status() == "quarantined"
    world.append([{**ev.release("L1", at="farm-field-1"), "kind": "quarantine"}], actor="farm")
    assert status() == "damaged"
    world.append([ev.release("L1", at="farm-field-1")], actor="farm")
    assert status() == "approved"
    (item,) = location_stock(world.engine, "farm-field-1", viewer="farm")
    assert item.pickable
    with pytest.raises(RuleViolation, match="no open hold"):
        world.append([ev.release("L1", at="farm-field-1")], actor="farm")


def test_first_expired_first_out_skips_held_and_expiring_lots(world: Ledger, ev: Events) -> None:
    dc = "retail-dc"
    world.append(
        [
            ev.register("A", "50", location=dc, expiry="2026-12-10"),
            ev.register("B", "30", location=dc, expiry="2026-11-28"),
            ev.register("C", "40", location=dc, expiry="2026-12-01"),
            ev.register("D", "90", location=dc, expiry="2026-11-26"),  # held below
            ev.register("E", "90", location=dc, expiry="2026-11-24"),  # leaves shelf 11-23
            ev.hold("D", at=dc),
        ],
        actor="retail",
    )
    picks = pick_list(
        world.engine, dc, [(LETTUCE, "100")], viewer="retail", deliver_on=date(2026, 11, 24)
    )
    assert [(p.lot, p.quantity, p.expiry) for p in picks] == [
        ("B", "30", "2026-11-28"),
        ("C", "40", "2026-12-01"),
        ("A", "30", "2026-12-10"),
    ]
    with pytest.raises(InsufficientStock, match="only 120 is approved"):
        pick_list(world.engine, dc, [(LETTUCE, "121")], viewer="retail",
                  deliver_on=date(2026, 11, 24))  # fmt: skip


def test_expiry_alerts_within_n_days(world: Ledger, ev: Events) -> None:
    world.append(
        [
            ev.register("SOON", "5", expiry="2026-11-22"),
            ev.register("LATER", "5", expiry="2026-12-20"),
            ev.register("PAST", "5", expiry="2026-11-19"),
        ],
        actor="farm",
    )
    alerts = expiry_alerts(
        world.engine, "farm-field-1", viewer="farm", days=3, today=date(2026, 11, 20)
    )
    assert [(a.lot, a.expiry) for a in alerts] == [("PAST", "2026-11-19"), ("SOON", "2026-11-22")]


def test_stock_count_records_variances(world: Ledger, ev: Events, table_dump: Dump) -> None:
    world.append([ev.register("L1", "100"), ev.register("L2", "20")], actor="farm")
    events, result = record_count(
        world,
        "farm-field-1",
        [(LETTUCE, "L1", "96.5"), (LETTUCE, "L2", "20")],
        actor="farm",
        reason="theft",
        when=datetime.fromisoformat(at("2026-11-20", 18)),
    )
    assert result is not None
    assert [(e["lot"]["lot"], e["variance"], e["reason"]) for e in events] == [
        ("L1", "-3.5", "theft")
    ]
    assert on_hand(world, "farm-field-1") == {"L1": "96.5", "L2": "20"}
    daily = table_dump("inventory_daily")
    assert ("farm-field-1", LETTUCE, "2026-11-20", "adjust", "theft", -3_500_000) in daily


# -- the property: incremental == replay == recount, never negative ---------------------

SITES = ("site-a", "site-b", "site-c")
DAYS = ("2026-11-19", "2026-11-20", "2026-11-22")


@pytest.fixture
def sites(ledger: Ledger) -> Ledger:
    create_organisation(ledger.engine, "acme", "Acme")
    for site in SITES:
        create_location(ledger.engine, site, org_id="acme", name=site, kind="warehouse")
    return ledger


ops = st.one_of(
    st.tuples(st.just("register"), st.integers(0, 5), st.integers(0, 2), st.integers(1, 50),
              st.sampled_from([None, "2026-11-21", "2026-12-31"])),
    st.tuples(st.just("ship"), st.integers(0, 5), st.integers(0, 2), st.integers(1, 60),
              st.integers(1, 2)),
    st.tuples(st.just("receive"), st.integers(0, 5), st.integers(0, 2), st.integers(1, 60),
              st.integers(0, 3)),
    st.tuples(st.sampled_from(["sell", "consume", "dispose"]), st.integers(0, 5),
              st.integers(0, 2), st.integers(1, 40), st.integers(0, 2)),
    st.tuples(st.just("adjust"), st.integers(0, 5), st.integers(0, 2), st.integers(-30, 30),
              st.just(0)),
    st.tuples(st.sampled_from(["hold", "release"]), st.integers(0, 5), st.integers(0, 2),
              st.sampled_from(["quality", "recall", "damage"]), st.just(0)),
)  # fmt: skip


def realize(op: tuple[Any, ...], run: str, n: int) -> dict[str, Any] | None:
    kind, lot_n, site_n, a, b = op
    site = SITES[site_n]
    day = DAYS[n % 3]
    base: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "type": kind,
        "event_time": at(day),
        "location": site,
        "lot": {"gtin": LETTUCE, "lot": f"{run}{lot_n}"},
    }
    if kind == "register":
        base.update(quantity=str(a), unit="kg", product="Lettuce", event_time=at(DAYS[0]))
        if b:
            base["expiry"] = b
    elif kind == "ship":
        base.update(quantity=str(a), unit="kg", to_location=SITES[(site_n + b) % 3])
    elif kind == "receive":
        frm = SITES[(site_n + 1) % 3]
        base.update(quantity=str(a), unit="kg", from_location=frm, unsolicited=b == 3)
        if b == 1 and a > 1:
            base["damaged"] = "1"
        if b == 2 and a > 1:
            base["out_of_temperature"] = "0.5"
    elif kind in ("sell", "consume", "dispose"):
        base.update(quantity=str(a), unit="kg")
        if kind == "dispose":
            base["reason"] = "spoilage"
    elif kind == "adjust":
        if a == 0:
            return None
        base.update(variance=str(a), unit="kg", reason="count")
    elif kind == "hold":
        base.update(kind=a, reason="test")
    else:
        base.update(reason="test")
    return base


def recount(ledger: Ledger) -> dict[tuple[str, str], int]:
    """Stock from nothing but the log: every entry's effect, summed."""
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for entry in ledger.iter_entries():
        e = entry.envelope()["event"]
        if "lot" not in e or e["type"] in ("hold", "release", "observe"):
            continue
        key = (e["location"], e["lot"]["lot"])
        if e["type"] == "register":
            totals[key] += parse_decimal(e["quantity"])
        elif e["type"] == "receive":
            refused = sum(parse_decimal(e.get(f, "0")) for f in ("damaged", "out_of_temperature"))
            totals[key] += parse_decimal(e["quantity"]) - refused
        elif e["type"] == "adjust":
            totals[key] += parse_decimal(e["variance"], signed=True)
        else:
            totals[key] -= parse_decimal(e["quantity"])
    return {k: v for k, v in totals.items() if v}


def stock_table(ledger: Ledger) -> dict[tuple[str, str], int]:
    found: dict[tuple[str, str], int] = {}
    for site in SITES:
        for item in location_stock(ledger.engine, site, viewer=None):
            found[(site, item.lot)] = parse_decimal(item.on_hand, signed=True)
    return found


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batches=st.lists(st.lists(ops, min_size=1, max_size=4), min_size=1, max_size=12))
def test_stock_equals_replay_and_recount(
    sites: Ledger, table_dump: Dump, batches: list[list[tuple[Any, ...]]]
) -> None:
    run = uuid.uuid4().hex[:6].upper()  # fresh lot codes per example in the shared database
    expiries = [None, "2026-11-21", "2026-12-31"]
    start = [realize(("register", i, i % 3, 50, expiries[i % 3]), run, 0) for i in range(4)]
    sites.append(start, actor="acme")
    n = 0
    for ops_ in batches:
        events = []
        for op in ops_:
            n += 1
            if (event := realize(op, run, n)) is not None:
                events.append(event)
        if not events:
            continue
        before = stock_table(sites)
        size = sites.size()
        try:
            sites.append(events, actor="acme")
            note_event("accepted")
        except (RuleViolation, EventValidationError) as exc:  # refused batches change nothing
            note_event(f"refused: {type(exc).__name__}")
            assert sites.size() == size
            assert stock_table(sites) == before
        counted = stock_table(sites)
        assert all(v >= 0 for v in counted.values()), counted
        assert counted == recount(sites)
    kept = {t: table_dump(t) for t in READ_MODELS}
    sites.replay()
    assert {t: table_dump(t) for t in READ_MODELS} == kept


def test_a_batch_can_ship_and_receive_the_same_lot(world: Ledger, ev: Events) -> None:
    world.append([ev.register("L1", "10", location="retail-dc")], actor="retail")
    world.append(
        [
            ev.ship("L1", "4", frm="retail-dc", to="store-1"),
            ev.receive("L1", "4", frm="retail-dc", at="store-1", damaged="1"),
            ev.leave("sell", "L1", "3", at="store-1"),
        ],
        actor="retail",
    )
    assert on_hand(world, "store-1") == {}
    assert on_hand(world, "retail-dc") == {"L1": "6"}
