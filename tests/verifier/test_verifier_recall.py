"""Recall from a verified export: the supply graph's traces and quantities."""

from __future__ import annotations

import io
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import Ledger
from tests.conftest import SALAD, TOMATO, Events
from tests.log.test_audit import LETTUCE, demo_log, export_bytes
from verifier.errors import LotNotFoundError
from verifier.recall import SupplyGraph, format_micro, parse_micro, recall_from_export


@pytest.fixture
def demo(world: Ledger, ev: Events) -> Ledger:
    return demo_log(world, ev)


def rows(answer: Any) -> dict[tuple[str, str, str], dict[str, str]]:
    return {(r.gtin, r.lot, r.location): dict(r.quantities) for r in answer.rows}


def test_forward_recall_of_lettuce_reaches_the_salad_and_the_store(demo: Ledger) -> None:
    answer = recall_from_export(
        io.BytesIO(export_bytes(demo)), demo.verifier_key, [(LETTUCE, "L1")]
    )
    assert answer.lots == ((SALAD, "S1"), (LETTUCE, "L1"))  # sorted by GTIN
    assert answer.locations == ("farm-field-1", "fresh-plant", "retail-dc", "store-1")
    got = rows(answer)
    assert got[(LETTUCE, "L1", "farm-field-1")] == {
        "received": "0", "on_hand": "60", "sold_or_used": "0", "disposed": "0",
        "shipped": "40", "produced": "100",
    }  # fmt: skip
    assert got[(LETTUCE, "L1", "fresh-plant")] == {
        "received": "40", "on_hand": "8", "sold_or_used": "30", "disposed": "2",
        "shipped": "0", "produced": "0",
    }  # fmt: skip
    assert got[(SALAD, "S1", "retail-dc")]["on_hand"] == "8.5"
    assert got[(SALAD, "S1", "store-1")] == {
        "received": "20", "on_hand": "12.75", "sold_or_used": "5.25", "disposed": "2",
        "shipped": "0", "produced": "0",
    }  # fmt: skip
    assert (TOMATO, "T1", "farm-field-1") not in got  # forward from lettuce only


def test_backward_recall_of_the_salad_finds_both_origins(demo: Ledger) -> None:
    answer = recall_from_export(
        io.BytesIO(export_bytes(demo)), demo.verifier_key, [(SALAD, "S1")], direction="backward"
    )
    assert set(answer.lots) == {(LETTUCE, "L1"), (TOMATO, "T1"), (SALAD, "S1")}
    got = rows(answer)
    assert (TOMATO, "T1", "farm-field-1") in got
    assert (LETTUCE, "L1", "farm-field-1") in got
    assert (LETTUCE, "L2", "farm-field-1") not in got
    # Backward from the salad's origin: not where the salad went afterwards.
    assert (SALAD, "S1", "store-1") not in got
    at_store = recall_from_export(
        io.BytesIO(export_bytes(demo)),
        demo.verifier_key,
        [(SALAD, "S1")],
        direction="backward",
        at="store-1",
    )
    assert (SALAD, "S1", "retail-dc") in rows(at_store)


def test_unknown_lot(demo: Ledger) -> None:
    with pytest.raises(LotNotFoundError):
        recall_from_export(io.BytesIO(export_bytes(demo)), demo.verifier_key, [(LETTUCE, "NOPE")])


def test_decimal_round_trip() -> None:
    for text in ["0", "1", "120.5", "0.000001", "-3.25", "9999999999999.999999"]:
        assert format_micro(parse_micro(text)) == text


# -- random supply graphs: BFS against a naive fixed-point closure -----------------------

LOCATIONS = [f"loc-{i}" for i in range(5)]


@st.composite
def supply_graphs(draw: st.DrawFn) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    lots: list[str] = []
    for step in range(draw(st.integers(1, 25))):
        kind = draw(st.sampled_from(["register", "ship", "transform", "sell"]))
        if kind == "register" or not lots:
            name = f"R{step}"
            lots.append(name)
            events.append({"type": "register", "location": draw(st.sampled_from(LOCATIONS)),
                           "lot": {"gtin": LETTUCE, "lot": name}, "quantity": "10",
                           "unit": "kg", "product": "p"})  # fmt: skip
        elif kind == "ship":
            frm, to = draw(st.sampled_from(LOCATIONS)), draw(st.sampled_from(LOCATIONS))
            lot = draw(st.sampled_from(lots))
            events.append({"type": "ship", "location": frm, "to_location": to, "unit": "kg",
                           "lot": {"gtin": LETTUCE, "lot": lot}, "quantity": "1"})  # fmt: skip
            if draw(st.booleans()):
                events.append({"type": "receive", "location": to, "from_location": frm,
                               "unit": "kg", "lot": {"gtin": LETTUCE, "lot": lot},
                               "quantity": "1"})  # fmt: skip
        elif kind == "transform":
            inputs = draw(st.lists(st.sampled_from(lots), min_size=1, max_size=3, unique=True))
            name = f"T{step}"
            lots.append(name)
            events.append({"type": "transform", "location": draw(st.sampled_from(LOCATIONS)),
                           "inputs": [{"lot": {"gtin": LETTUCE, "lot": i}, "quantity": "1",
                                       "unit": "kg"} for i in inputs],
                           "outputs": [{"lot": {"gtin": LETTUCE, "lot": name}, "quantity": "2",
                                        "unit": "kg", "product": "q"}]})  # fmt: skip
        else:
            events.append({"type": "sell", "location": draw(st.sampled_from(LOCATIONS)),
                           "lot": {"gtin": LETTUCE, "lot": draw(st.sampled_from(lots))},
                           "quantity": "0.5", "unit": "kg"})  # fmt: skip
    return events


def naive_closure(events: list[dict[str, Any]], start: str, forward: bool) -> set[tuple[str, str]]:
    edges: set[tuple[tuple[str, str], tuple[str, str]]] = set()
    nodes: set[tuple[str, str]] = set()
    for e in events:
        at = e["location"]
        if e["type"] == "transform":
            for i in e["inputs"]:
                nodes.add((i["lot"]["lot"], at))
                for o in e["outputs"]:
                    nodes.add((o["lot"]["lot"], at))
                    edges.add(((i["lot"]["lot"], at), (o["lot"]["lot"], at)))
            continue
        lot = e["lot"]["lot"]
        nodes.add((lot, at))
        if e["type"] == "ship":
            nodes.add((lot, e["to_location"]))
            edges.add(((lot, at), (lot, e["to_location"])))
    if not forward:
        edges = {(b, a) for a, b in edges}
    origin = next(
        e["location"]
        for e in events
        if (e["type"] == "register" and e["lot"]["lot"] == start)
        or (e["type"] == "transform" and any(o["lot"]["lot"] == start for o in e["outputs"]))
    )
    reached = {(start, origin)}
    while True:
        more = {b for a, b in edges if a in reached} - reached
        if not more:
            return reached
        reached |= more


@settings(max_examples=150, deadline=None)
@given(supply_graphs(), st.booleans(), st.data())
def test_trace_equals_naive_closure(
    events: list[dict[str, Any]], forward: bool, data: st.DataObject
) -> None:
    graph = SupplyGraph()
    for event in events:
        graph.add_event(event)
    lots = sorted(lot for _, lot in graph.origins)
    start = data.draw(st.sampled_from(lots))
    answer = graph.trace([(LETTUCE, start)], "forward" if forward else "backward")
    assert {(r.lot, r.location) for r in answer.rows} == naive_closure(events, start, forward)
    # on_hand is what flowed in minus what flowed out, at every row.
    for r in answer.rows:
        q = {k: parse_micro(v) for k, v in r.quantities.items()}
        assert (
            q["on_hand"]
            == q["produced"] + q["received"] - q["shipped"] - q["sold_or_used"] - q["disposed"]
        )
