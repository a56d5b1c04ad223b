"""Recalls on the demo chain: holds, refusals, confirmations, progress, exports."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from ledger import Ledger, NotFound, TraceStart
from ledger.errors import LotOnHold
from ledger.lineage.graph import trace
from ledger.projections.flows import rebuild_flows
from ledger.quantity import format_micro
from ledger.trace.fsma import COLUMNS, fsma_rows, tlc, to_csv, to_json, to_xlsx
from ledger.trace.recall import (
    RecallConflict,
    close_recall,
    confirm_removal,
    create_recall,
    get_recall,
    list_recalls,
    recall_trace,
)
from tests.conftest import LETTUCE, SALAD, Events
from tests.trace.test_fsma import sheet_text
from tests.trace.test_trace import build_demo

L1 = TraceStart(LETTUCE, "L1")


def progress(ledger: Ledger, recall_id: str) -> dict[str, Any]:
    return get_recall(ledger, recall_id).as_dict()


def test_recall_of_a_lettuce_lot(world: Ledger, ev: Events) -> None:
    build_demo(world, ev)
    recall = create_recall(
        world,
        actor="farm",
        starts=[L1],
        reason="Listeria monocytogenes found in field 1",
        classification="I",
        recall_id="R-2026-001",
    )
    assert recall.holds_appended == 3  # L1, S1, S2: every lot with stock somewhere
    at_risk = {
        (i.location, i.lot): format_micro(i.at_risk) for loc in recall.locations for i in loc.items
    }
    assert at_risk == {
        ("farm-field-1", "L1"): "50",
        ("fresh-plant", "S1"): "18",
        ("retail-dc", "S1"): "8",
        ("store-1", "S1"): "7",
        ("store-2", "S1"): "8",
        ("store-2", "S2"): "19",  # 15 on hand and 4 still in transit
    }
    assert format_micro(recall.at_risk) == "110"
    assert recall.outstanding == ["farm-field-1", "fresh-plant", "retail-dc", "store-1", "store-2"]
    # Each location's table: produced, received, shipped, in transit, on hand, per lot.
    table = {
        (loc["location"], i["lot"]): (
            i["product"], i["produced"], i["received"], i["shipped"], i["in_transit"],
            i["on_hand"], i["sold_or_used"], i["disposed"],
        )
        for loc in recall.as_dict()["locations"]
        for i in loc["items"]
    }  # fmt: skip
    assert table[("farm-field-1", "L1")] == (
        "Romaine lettuce",
        "100",
        "10",
        "60",
        "0",
        "50",
        "0",
        "0",
    )
    assert table[("fresh-plant", "S1")][1:6] == ("48", "0", "30", "0", "18")
    assert table[("retail-dc", "S1")][1:6] == ("0", "30", "22", "0", "8")
    assert table[("store-2", "S1")][1:] == ("0", "10", "0", "0", "8", "0", "2")
    assert table[("store-2", "S2")][1:6] == ("0", "15", "0", "4", "15")
    store2 = next(x for x in recall.as_dict()["locations"] if x["location"] == "store-2")
    assert (store2["location_name"], store2["in_transit"], store2["on_hand"]) == (
        "Store 2",
        "4",
        "23",
    )
    assert store2["complete"] is False
    assert recall.as_dict()["progress"]["in_transit"] == "4"

    # The holds are ledger events with the recall's id, and the lots show as held.
    with world.engine.connect() as conn:
        holds = conn.exec_driver_sql(
            "SELECT l.lot, h.kind, h.recall_id, h.org_id "
            "FROM holds h JOIN lots l ON l.id = h.lot_id"
        ).all()
    assert sorted(tuple(h) for h in holds) == [
        ("L1", "recall", "R-2026-001", "farm"),
        ("S1", "recall", "R-2026-001", "farm"),
        ("S2", "recall", "R-2026-001", "farm"),
    ]
    assert all(n.held for n in trace(world.engine, [L1]).nodes)

    # Held lots cannot be sold, shipped or used.
    with pytest.raises(LotOnHold, match=r"S1 is (on hold|recalled) and cannot be sold"):
        world.append([ev.leave("sell", "S1", "1", at="store-1", gtin=SALAD)], actor="retail")
    with pytest.raises(LotOnHold, match=r"L1 is (on hold|recalled) and cannot be shipped"):
        world.append([ev.ship("L1", "1", frm="farm-field-1", to="fresh-plant")], actor="farm")

    # Store-1 confirms: its 7 kg are disposed of with reason "recall".
    confirm_removal(world, "R-2026-001", actor="retail", location="store-1")
    state = progress(world, "R-2026-001")
    assert state["progress"]["recovered"] == "7"
    assert "store-1" not in state["progress"]["outstanding"]
    store1 = next(x for x in state["locations"] if x["location"] == "store-1")
    assert store1["items"][0]["on_hand"] == "0"
    assert store1["confirmed_by"] == "retail"

    # Store-2 cannot confirm while 4 kg are still on their way to it: nothing is disposed of.
    with pytest.raises(
        RecallConflict,
        match=r"store-2 cannot confirm removal while recalled goods are on their way to it: "
        r"4 kg of 00012345678905/S2 \(.*salad.*\) in transit",
    ):
        confirm_removal(world, "R-2026-001", actor="retail", location="store-2")
    state = progress(world, "R-2026-001")
    assert state["progress"]["recovered"] == "7"
    assert "store-2" in state["progress"]["outstanding"]
    # Once they arrive, confirming disposes of all of it and completes the location.
    world.append([ev.receive("S2", "4", frm="retail-dc", at="store-2", gtin=SALAD)], actor="retail")
    confirm_removal(world, "R-2026-001", actor="retail", location="store-2")
    state = progress(world, "R-2026-001")
    assert state["progress"]["recovered"] == "34"
    assert state["progress"]["in_transit"] == "0"
    store2 = next(x for x in state["locations"] if x["location"] == "store-2")
    assert (store2["complete"], store2["on_hand"], store2["in_transit"]) == (True, "0", "0")
    assert state["progress"]["complete"] is False

    # Only a location's own organisation confirms; closing waits for every location.
    with pytest.raises(RecallConflict, match="another organisation"):
        confirm_removal(world, "R-2026-001", actor="farm", location="retail-dc")
    with pytest.raises(RecallConflict, match="farm-field-1, fresh-plant, retail-dc"):
        close_recall(world, "R-2026-001", actor="farm")
    with pytest.raises(RecallConflict, match="recalling organisation"):
        close_recall(world, "R-2026-001", actor="retail")
    confirm_removal(world, "R-2026-001", actor="retail", location="retail-dc")
    confirm_removal(world, "R-2026-001", actor="fresh", location="fresh-plant")
    confirm_removal(world, "R-2026-001", actor="farm", location="farm-field-1")
    closed = close_recall(world, "R-2026-001", actor="farm")
    assert closed.status == "closed"
    assert closed.outstanding == []
    assert closed.as_dict()["progress"]["complete"] is True
    assert closed.as_dict()["progress"]["confirmed"] == 5
    assert format_micro(closed.recovered) == format_micro(closed.at_risk) == "110"
    with pytest.raises(RecallConflict, match="closed"):
        confirm_removal(world, "R-2026-001", actor="farm", location="farm-field-1")
    assert [r.id for r in list_recalls(world, org_id="farm")] == ["R-2026-001"]
    assert list_recalls(world, org_id="retail") == []


def test_confirm_without_disposal_requires_empty_shelves(world: Ledger, ev: Events) -> None:
    build_demo(world, ev)
    s2 = TraceStart(SALAD, "S2")
    recall = create_recall(
        world, actor="fresh", starts=[s2], reason="x", classification="II", recall_id="R2"
    )
    assert recall.outstanding == ["store-2"]  # the plant and the DC hold none of S2
    with pytest.raises(RecallConflict, match=r"4 kg of 00012345678905/S2 .* in transit"):
        confirm_removal(world, "R2", actor="retail", location="store-2", dispose=False)
    world.append([ev.receive("S2", "4", frm="retail-dc", at="store-2", gtin=SALAD)], actor="retail")
    with pytest.raises(RecallConflict, match="store-2 still holds 19 of"):
        confirm_removal(world, "R2", actor="retail", location="store-2", dispose=False)
    with pytest.raises(RecallConflict, match="nothing at risk"):
        confirm_removal(world, "R2", actor="retail", location="retail-dc")
    world.append(
        [ev.leave("dispose", "S2", "19", at="store-2", gtin=SALAD, reason="recall")],
        actor="retail",
    )
    done = confirm_removal(world, "R2", actor="retail", location="store-2", dispose=False)
    assert done.outstanding == []
    assert close_recall(world, "R2", actor="fresh").status == "closed"


def test_recall_arguments(world: Ledger, ev: Events) -> None:
    build_demo(world, ev)
    with pytest.raises(ValueError, match="classification"):
        create_recall(world, actor="farm", starts=[L1], reason="x", classification="IV")  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        create_recall(
            world,
            actor="farm",
            starts=[TraceStart(LETTUCE, "NOPE")],
            reason="x",
            classification="I",
        )
    create_recall(world, actor="farm", starts=[L1], reason="x", classification="III", recall_id="A")
    with pytest.raises(RecallConflict, match="already exists"):
        create_recall(
            world, actor="farm", starts=[L1], reason="x", classification="III", recall_id="A"
        )
    with pytest.raises(NotFound):
        get_recall(world, "missing")


def test_fsma_spreadsheet_has_one_row_per_event(world: Ledger, ev: Events) -> None:
    build_demo(world, ev)
    create_recall(world, actor="farm", starts=[L1], reason="x", classification="I", recall_id="R")
    result = recall_trace(world, "R")
    rows = fsma_rows(world.engine, result)
    ctes = [(r["Lot"], r["Critical Tracking Event (CTE)"]) for r in rows]
    assert sorted(ctes) == sorted(
        [("L1", "Harvesting")]
        + [("L1", "Shipping"), ("L1", "Receiving")] * 2  # to the plant, and the return
        + [("S1", "Transformation"), ("S2", "Transformation")]
        + [("S1", "Shipping"), ("S1", "Receiving")] * 3  # to the DC, store-1, store-2
        + [("S2", "Shipping"), ("S2", "Receiving")] * 2  # to the DC, store-2
    )
    assert len(rows) == 17
    by_entry = {r["Ledger Entry"] for r in rows}
    assert len(by_entry) == 17  # one row per critical tracking event
    ship = next(
        r
        for r in rows
        if r["Lot"] == "S1"
        and r["Critical Tracking Event (CTE)"] == "Shipping"
        and "Store 1" in r["Ship-To Location"]
    )
    assert ship["Traceability Lot Code (TLC)"] == tlc(SALAD, "S1") == f"(01){SALAD}(10)S1"
    assert ship["Quantity"] == "12"
    assert ship["Unit of Measure"] == "kg"
    assert ship["Product Description"] == "Caesar salad"
    assert "Retail Dc" in ship["Ship-From Location"]
    assert "Fresh Plant" in ship["Traceability Lot Code Source"]
    assert ship["Event Date"] == "2026-11-20"
    transform = next(
        r
        for r in rows
        if r["Lot"] == "S1" and r["Critical Tracking Event (CTE)"] == "Transformation"
    )
    assert transform["Input Traceability Lot Codes"].split("; ") == [
        tlc(LETTUCE, "L1"),
        tlc("04006381333931", "T1"),
    ]
    assert transform["Quantity"] == "48"
    asn = next(r for r in rows if r["Lot"] == "S1" and r["Reference Document Number"] == "ASN-1")
    assert asn["Reference Document Type"] == "Advance Shipping Notice"

    # CSV and XLSX carry the same rows under the same header.
    parsed = list(csv.reader(io.StringIO(to_csv(rows))))
    assert tuple(parsed[0]) == COLUMNS
    assert [dict(zip(COLUMNS, r, strict=True)) for r in parsed[1:]] == rows
    sheet = load_workbook(io.BytesIO(to_xlsx(rows))).active
    assert isinstance(sheet, Worksheet)
    assert sheet_text(sheet, COLUMNS) == rows  # typed cells (tests/trace/test_fsma.py), same values

    exported = json.loads(json.dumps(to_json(result, rows, recall_id="R")))
    assert (exported["format"], exported["version"], exported["recall_id"]) == (
        "lotledger.trace-export",
        2,
        "R",
    )
    assert len(exported["events"]) == 17
    assert len(exported["trace"]["nodes"]) == 9


def test_append_maintains_lot_flows(world: Ledger, ev: Events, table_dump: Any) -> None:
    world.append(
        [ev.register("F1", "10"), ev.leave("sell", "F1", "3", at="farm-field-1")], actor="farm"
    )
    live = table_dump("lot_flows")
    with world.engine.begin() as conn:
        rebuild_flows(conn)
    assert live == table_dump("lot_flows") != []
