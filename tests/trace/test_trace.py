"""Trace forward and backward over the lot graph, against the demo chain and a plain BFS."""

from __future__ import annotations

import uuid
from collections import deque
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import Ledger, NotFound, ProductRange, TraceStart, create_location, create_organisation
from ledger.lineage.graph import trace
from ledger.quantity import format_micro
from tests.conftest import LETTUCE, SALAD, TOMATO, Events


def salad_output(lot: str, qty: str) -> dict[str, Any]:
    return {
        "lot": {"gtin": SALAD, "lot": lot},
        "quantity": qty,
        "unit": "kg",
        "product": "Caesar salad",
    }


def build_demo(world: Ledger, ev: Events) -> None:
    """Farm grows lettuce and tomatoes; FreshPack makes two salad lots; the DC serves two stores.

    Lettuce L1 (100 kg): 60 kg to the plant; 10 kg back to the farm (a return); 40 kg stay.
    At the plant, 30 kg of L1 plus 20 kg of tomato T1 make salad S1 (48 kg); 20 kg of L1
    make S2 (19 kg). S1: 30 kg to the DC, which sends 12 to store-1 and 10 to store-2.
    S2: 19 kg to the DC, 19 to store-2. Store-1 sells 5 of S1; store-2 disposes 2 of S1.
    """
    world.append(
        [
            ev.register("L1", "100"),
            ev.register("T1", "50", gtin=TOMATO),
            ev.ship("L1", "60", frm="farm-field-1", to="fresh-plant"),
            ev.ship("T1", "20", frm="farm-field-1", to="fresh-plant", gtin=TOMATO),
        ],
        actor="farm",
    )
    t1_in = {"lot": {"gtin": TOMATO, "lot": "T1"}, "quantity": "20", "unit": "kg"}
    world.append(
        [
            ev.receive("L1", "60", frm="farm-field-1", at="fresh-plant"),
            ev.receive("T1", "20", frm="farm-field-1", at="fresh-plant", gtin=TOMATO),
            ev.ship("L1", "10", frm="fresh-plant", to="farm-field-1"),
            ev._base(
                "transform",
                "fresh-plant",
                inputs=[
                    {"lot": {"gtin": LETTUCE, "lot": "L1"}, "quantity": "30", "unit": "kg"},
                    t1_in,
                ],
                outputs=[salad_output("S1", "48")],
            ),
            ev._base(
                "transform",
                "fresh-plant",
                inputs=[{"lot": {"gtin": LETTUCE, "lot": "L1"}, "quantity": "20", "unit": "kg"}],
                outputs=[salad_output("S2", "19")],
            ),
            ev.ship("S1", "30", frm="fresh-plant", to="retail-dc", gtin=SALAD, shipment_id="ASN-1"),
            ev.ship("S2", "19", frm="fresh-plant", to="retail-dc", gtin=SALAD, shipment_id="ASN-2"),
        ],
        actor="fresh",
    )
    world.append([ev.receive("L1", "10", frm="fresh-plant", at="farm-field-1")], actor="farm")
    world.append(
        [
            ev.receive("S1", "30", frm="fresh-plant", at="retail-dc", gtin=SALAD),
            ev.receive("S2", "19", frm="fresh-plant", at="retail-dc", gtin=SALAD),
            ev.ship("S1", "12", frm="retail-dc", to="store-1", gtin=SALAD),
            ev.ship("S1", "10", frm="retail-dc", to="store-2", gtin=SALAD),
            ev.ship("S2", "19", frm="retail-dc", to="store-2", gtin=SALAD),
            ev.receive("S1", "12", frm="retail-dc", at="store-1", gtin=SALAD),
            ev.receive("S1", "10", frm="retail-dc", at="store-2", gtin=SALAD),
            ev.receive("S2", "15", frm="retail-dc", at="store-2", gtin=SALAD),
            ev.leave("sell", "S1", "5", at="store-1", gtin=SALAD),
            ev.leave("dispose", "S1", "2", at="store-2", gtin=SALAD, reason="damage"),
        ],
        actor="retail",
    )


def q(n: int) -> str:
    return format_micro(n)


def test_forward_trace_of_a_lettuce_lot(world: Ledger, ev: Events) -> None:
    build_demo(world, ev)
    result = trace(world.engine, [TraceStart(LETTUCE, "L1")], "forward")

    assert set(result.lots) == {(LETTUCE, "L1"), (SALAD, "S1"), (SALAD, "S2")}
    assert set(result.locations) == {
        "farm-field-1",
        "fresh-plant",
        "retail-dc",
        "store-1",
        "store-2",
    }
    keys = {(n.lot, n.location) for n in result.nodes}
    assert keys == {
        ("L1", "farm-field-1"),
        ("L1", "fresh-plant"),
        ("S1", "fresh-plant"),
        ("S2", "fresh-plant"),
        ("S1", "retail-dc"),
        ("S2", "retail-dc"),
        ("S1", "store-1"),
        ("S1", "store-2"),
        ("S2", "store-2"),
    }
    farm = result.node(LETTUCE, "L1", "farm-field-1")
    assert (farm.depth, q(farm.produced), q(farm.shipped), q(farm.received), q(farm.on_hand)) == (
        0,
        "100",
        "60",
        "10",
        "50",
    )
    plant = result.node(LETTUCE, "L1", "fresh-plant")
    assert (q(plant.received), q(plant.used), q(plant.shipped), q(plant.on_hand)) == (
        "60",
        "50",
        "10",
        "0",
    )
    s1_store1 = result.node(SALAD, "S1", "store-1")
    assert (q(s1_store1.received), q(s1_store1.sold_or_used), q(s1_store1.on_hand)) == (
        "12",
        "5",
        "7",
    )
    assert [h.as_dict() for h in result.path(s1_store1)] == [
        {"kind": "ship", "from": f"{LETTUCE}/L1@farm-field-1", "to": f"{LETTUCE}/L1@fresh-plant"},
        {"kind": "transform", "from": f"{LETTUCE}/L1@fresh-plant", "to": f"{SALAD}/S1@fresh-plant"},
        {"kind": "ship", "from": f"{SALAD}/S1@fresh-plant", "to": f"{SALAD}/S1@retail-dc"},
        {"kind": "ship", "from": f"{SALAD}/S1@retail-dc", "to": f"{SALAD}/S1@store-1"},
    ]
    s1_store2 = result.node(SALAD, "S1", "store-2")
    assert (q(s1_store2.received), q(s1_store2.disposed), q(s1_store2.on_hand)) == ("10", "2", "8")
    s2_store2 = result.node(SALAD, "S2", "store-2")
    # 19 shipped, 15 received so far: 4 still in transit.
    assert (q(s2_store2.received), q(s2_store2.on_hand), q(s2_store2.in_transit)) == (
        "15",
        "15",
        "4",
    )
    assert s2_store2.depth == 4
    assert not result.node(SALAD, "S1", "retail-dc").held
    # The tomato lot is an input, not something made of the lettuce.
    assert (TOMATO, "T1") not in result.lots


def test_backward_trace_of_a_salad_at_a_store(world: Ledger, ev: Events) -> None:
    build_demo(world, ev)
    result = trace(world.engine, [TraceStart(SALAD, "S1", "store-1")], "backward")
    keys = {(n.lot, n.location) for n in result.nodes}
    assert keys == {
        ("S1", "store-1"),
        ("S1", "retail-dc"),
        ("S1", "fresh-plant"),
        ("L1", "fresh-plant"),
        ("T1", "fresh-plant"),
        ("L1", "farm-field-1"),
        ("T1", "farm-field-1"),
    }
    tomato_farm = result.node(TOMATO, "T1", "farm-field-1")
    assert tomato_farm.depth == 4
    path = result.path(tomato_farm)
    assert [h.kind for h in path] == ["ship", "transform", "ship", "ship"]
    # Paths read in the goods' direction: from the farm to the store.
    assert path[0].from_location == "farm-field-1"
    assert path[-1].to_location == "store-1"


def test_max_depth_bounds_the_walk(world: Ledger, ev: Events) -> None:
    build_demo(world, ev)
    one = trace(world.engine, [TraceStart(LETTUCE, "L1")], "forward", max_depth=1)
    assert {(n.lot, n.location, n.depth) for n in one.nodes} == {
        ("L1", "farm-field-1", 0),
        ("L1", "fresh-plant", 1),
    }
    two = trace(world.engine, [TraceStart(LETTUCE, "L1")], "forward", max_depth=2)
    assert {(n.lot, n.location) for n in two.nodes if n.depth == 2} == {
        ("S1", "fresh-plant"),
        ("S2", "fresh-plant"),
    }
    zero = trace(world.engine, [TraceStart(LETTUCE, "L1")], "forward", max_depth=0)
    assert [(n.lot, n.location) for n in zero.nodes] == [("L1", "farm-field-1")]


def test_trace_from_a_product_and_date_range(world: Ledger, ev: Events) -> None:
    """The range is on the lot's own event time (harvest, packing), not on when it was
    recorded: T1 was harvested at 08:00+01:00 on 2026-11-20, i.e. 07:00 UTC."""
    build_demo(world, ev)
    world.append([ev.register("T2", "5", gtin=TOMATO, event_time="2026-11-21T08:00:00Z")],
                 actor="farm")  # fmt: skip
    result = trace(world.engine, ProductRange(TOMATO, "2026-11-20", "2026-11-21"), "forward")
    assert (SALAD, "S1") in result.lots
    assert (SALAD, "S2") not in result.lots
    assert [(s.lot, s.location) for s in result.starts] == [("T1", "farm-field-1")]
    exact = ProductRange(TOMATO, "2026-11-20T07:00:00Z", "2026-11-20T07:00:00.000001Z")
    assert [s.lot for s in trace(world.engine, exact).starts] == ["T1"]
    late = ProductRange(TOMATO, "2026-11-20T08:00:00+01:00", "2026-11-22")
    assert [s.lot for s in trace(world.engine, late).starts] == ["T1", "T2"]
    assert [
        s.lot for s in trace(world.engine, ProductRange(TOMATO, "2026-11-21", "2027-01-01")).starts
    ] == ["T2"]
    assert trace(world.engine, ProductRange(TOMATO, "2000-01-01", "2000-01-02")).nodes == []
    with pytest.raises(ValueError, match="not an RFC 3339 time"):
        trace(world.engine, ProductRange(TOMATO, "yesterday", "2000-01-02"))


def test_unknown_start_lot(world: Ledger) -> None:
    with pytest.raises(NotFound, match="unknown lot"):
        trace(world.engine, [TraceStart(LETTUCE, "NOPE")])


def test_bad_arguments(world: Ledger) -> None:
    with pytest.raises(ValueError, match="direction"):
        trace(world.engine, [], "sideways")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_depth"):
        trace(world.engine, [], max_depth=-1)


# -- random supply graphs against a plain breadth-first search --------------------

SITES = ["s0", "s1", "s2", "s3", "s4"]


@pytest.fixture
def site_world(ledger: Ledger) -> Ledger:
    """Five sites of one organisation, so any site may ship to any other."""
    create_organisation(ledger.engine, "acme", "Acme")
    for site in SITES:
        create_location(ledger.engine, site, org_id="acme", name=site, kind="warehouse")
    return ledger


def _lot_ref(n: int) -> dict[str, str]:
    return {"gtin": LETTUCE, "lot": f"R{n}"}


def _event(etype: str, location: str, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "type": etype,
        "event_time": Events.time,
        "location": location,
        **fields,
    }


@st.composite
def supply_programs(draw: st.DrawFn) -> list[tuple[Any, ...]]:
    """Abstract steps; the test turns each into a valid event using its own model of stock."""
    steps = draw(
        st.lists(
            st.one_of(
                st.tuples(st.just("register"), st.integers(0, 4)),
                st.tuples(st.just("ship"), st.integers(0, 99), st.integers(0, 4), st.booleans()),
                st.tuples(
                    st.just("transform"),
                    st.lists(st.integers(0, 99), min_size=1, max_size=3),
                    st.integers(1, 2),
                ),
            ),
            min_size=4,
            max_size=30,
        )
    )
    return [("register", 0), *steps]


def _realize(program: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    stock: dict[tuple[int, str], int] = {}
    events: list[dict[str, Any]] = []
    lots = 0

    def qty(n: int) -> str:
        return str(n)

    for step in program:
        nonempty = sorted(k for k, v in stock.items() if v > 0)
        if step[0] == "register" or not nonempty:
            site = SITES[step[1] if step[0] == "register" else 0]
            events.append(
                _event(
                    "register", site, lot=_lot_ref(lots), quantity="8", unit="kg", product="Lettuce"
                )
            )
            stock[(lots, site)] = 8
            lots += 1
        elif step[0] == "ship":
            lot, site = nonempty[step[1] % len(nonempty)]
            to = SITES[(SITES.index(site) + 1 + step[2] % 4) % 5]
            amount = stock[(lot, site)] if step[3] else 1
            stock[(lot, site)] -= amount
            stock[(lot, to)] = stock.get((lot, to), 0) + amount
            events.append(
                _event(
                    "ship", site, lot=_lot_ref(lot), quantity=qty(amount), unit="kg", to_location=to
                )
            )
            events.append(
                _event(
                    "receive",
                    to,
                    lot=_lot_ref(lot),
                    quantity=qty(amount),
                    unit="kg",
                    from_location=site,
                )
            )
        else:
            first_lot, site = nonempty[step[1][0] % len(nonempty)]
            here = sorted({k for k in nonempty if k[1] == site})
            picked = sorted({here[i % len(here)] for i in step[1]})
            inputs = []
            for lot, _ in picked:
                stock[(lot, site)] -= 1
                inputs.append({"lot": _lot_ref(lot), "quantity": "1", "unit": "kg"})
            outputs = []
            for _ in range(step[2]):
                outputs.append({**_lot_ref(lots), "quantity": "4", "unit": "kg", "product": "Mix"})
                stock[(lots, site)] = 4
                lots += 1
            events.append(
                _event(
                    "transform",
                    site,
                    inputs=inputs,
                    outputs=[
                        {
                            "lot": {"gtin": o["gtin"], "lot": o["lot"]},
                            "quantity": o["quantity"],
                            "unit": o["unit"],
                            "product": o["product"],
                        }
                        for o in outputs
                    ],
                )
            )
            del first_lot
    return events


def bfs_oracle(
    events: list[dict[str, Any]], start: tuple[str, str], direction: str
) -> set[tuple[str, str]]:
    """The plain definition: nodes are (lot, location); ships and transforms are edges."""
    edges: dict[tuple[str, str], set[tuple[str, str]]] = {}

    def link(a: tuple[str, str], b: tuple[str, str]) -> None:
        if direction == "backward":
            a, b = b, a
        edges.setdefault(a, set()).add(b)

    for e in events:
        if e["type"] == "ship":
            link((e["lot"]["lot"], e["location"]), (e["lot"]["lot"], e["to_location"]))
        elif e["type"] == "transform":
            for i in e["inputs"]:
                for o in e["outputs"]:
                    link((i["lot"]["lot"], e["location"]), (o["lot"]["lot"], e["location"]))
    seen = {start}
    queue = deque([start])
    while queue:
        for nxt in edges.get(queue.popleft(), ()):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(program=supply_programs(), pick=st.integers(0, 1000), loc_pick=st.integers(0, 4))
def test_trace_equals_breadth_first_search(
    site_world: Ledger, program: list[tuple[Any, ...]], pick: int, loc_pick: int
) -> None:
    events = _realize(program)
    run = uuid.uuid4().hex[:6].upper()
    for e in events:  # each example gets fresh lot codes in the shared database
        for ref in [e.get("lot")] + [x["lot"] for x in e.get("inputs", []) + e.get("outputs", [])]:
            if ref is not None and not ref["lot"].startswith(run):
                ref["lot"] = run + ref["lot"]
    for e in events:
        site_world.append([e], actor="acme")
    nodes = sorted(
        {(e["lot"]["lot"], e["location"]) for e in events if "lot" in e}
        | {(o["lot"]["lot"], e["location"]) for e in events for o in e.get("outputs", [])}
    )
    lot, _ = nodes[pick % len(nodes)]
    location = SITES[loc_pick]
    for direction in ("forward", "backward"):
        expected = bfs_oracle(events, (lot, location), direction)
        got = trace(site_world.engine, [TraceStart(LETTUCE, lot, location)], direction)  # type: ignore[arg-type]
        assert {(n.lot, n.location) for n in got.nodes} == expected
        for n in got.nodes:  # every path is a chain of real edges from the start
            here = (lot, location)
            path = got.path(n)
            for hop in path if direction == "forward" else reversed(path):
                a, b = (hop.from_lot, hop.from_location), (hop.to_lot, hop.to_location)
                assert (a if direction == "forward" else b) == here
                here = b if direction == "forward" else a
            assert here == (n.lot, n.location)
            assert len(got.path(n)) == n.depth
        answer = got.as_dict()["nodes"]  # built incrementally: the same paths as path()
        assert [a["path"] for a in answer] == [
            [h.as_dict() for h in got.path(n)] for n in got.nodes
        ]
        assert [a["quantities"] for a in answer] == [n.as_dict()["quantities"] for n in got.nodes]
