"""The FSMA 204 exports as a regulator reads them: typed XLSX cells, one time form,
reference documents, location descriptions, critical tracking events, and a recall's
summary and dispositions."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from api.app import create_app
from ledger import Ledger, TraceStart, create_location, create_organisation
from ledger.lineage.graph import trace
from ledger.masterdata import keys
from ledger.trace.fsma import COLUMNS, export_trace, fsma_rows, to_xlsx
from ledger.trace.fsma_recall import DISPOSITION_COLUMNS, SUMMARY_COLUMNS
from ledger.trace.recall import close_recall, confirm_removal, create_recall, export_recall
from ledger.xlsx import DATE_FORMAT, DATETIME_FORMAT
from tests.api_fixtures import ApiClient
from tests.conftest import LETTUCE, SALAD, TOMATO, Events
from tests.trace.test_trace import build_demo, salad_output
from verifier.gs1 import check_digit

#: The one form of every timestamp in every export.
ONE_FORM = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
#: Anything that looks like a time of day after a date, in any form.
LOOKS_LIKE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
EGGS = "0950600013445" + str(check_digit("0950600013445"))  # shell eggs, a GTIN of our own


def sheet_text(ws: Worksheet, columns: tuple[str, ...]) -> list[dict[str, str]]:
    """An XLSX sheet's rows as the CSV's strings, undoing only the typing: numbers as
    decimal strings, dates as YYYY-MM-DD, date-times in the exports' one form."""
    rows = list(ws.iter_rows())
    assert tuple(c.value for c in rows[0]) == columns
    out = []
    for row in rows[1:]:
        values = []
        for cell in row:
            v = cell.value
            if v is None:
                values.append("")
            elif isinstance(v, datetime):
                fmt = "%Y-%m-%d" if cell.number_format == DATE_FORMAT else "%Y-%m-%dT%H:%M:%SZ"
                values.append(v.strftime(fmt))
            elif isinstance(v, int | float):
                values.append(format(Decimal(str(v)).normalize(), "f"))
            else:
                values.append(str(v))
        out.append(dict(zip(columns, values, strict=True)))
    return out


@pytest.fixture
def chain(world: Ledger, ev: Events) -> Ledger:
    build_demo(world, ev)
    return world


def test_xlsx_has_typed_dates_and_numbers(chain: Ledger) -> None:
    result = trace(chain.engine, [TraceStart(LETTUCE, "L1")])
    rows = fsma_rows(chain.engine, result)
    ws = load_workbook(io.BytesIO(to_xlsx(rows))).active
    assert isinstance(ws, Worksheet)
    header = [c.value for c in ws[1]]
    col = {name: i for i, name in enumerate(header)}
    first = ws[2]
    assert first[col["Critical Tracking Event (CTE)"]].value == "Harvesting"
    quantity = first[col["Quantity"]]
    assert (quantity.value, quantity.data_type) == (100, "n")
    day = first[col["Event Date"]]
    assert (day.value, day.number_format) == (datetime(2026, 11, 20), DATE_FORMAT)
    moment = first[col["Event Time (UTC)"]]
    # Written as 08:00+01:00: the sheet holds the instant in UTC, shown in RFC 3339.
    assert (moment.value, moment.number_format) == (datetime(2026, 11, 20, 7, 0), DATETIME_FORMAT)
    assert moment.is_date
    assert day.is_date
    assert isinstance(first[col["Ledger Entry"]].value, int)
    # Codes stay text: a GTIN's leading zero is part of it.
    assert first[col["GTIN"]].value == LETTUCE == "09506000134352"
    assert first[col["Lot"]].value == "L1"
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:S{len(rows) + 1}"
    every = [ws.cell(r, col["Quantity"] + 1).value for r in range(2, len(rows) + 2)]
    assert all(isinstance(v, int | float) for v in every)
    assert sorted(every)[:5] == [10, 10, 10, 10, 12]
    assert sheet_text(ws, COLUMNS) == rows


def test_every_timestamp_in_every_export_has_one_form(world: Ledger, ev: Events) -> None:
    # The same kind of event written with Z, +00:00, a fraction, and a negative offset.
    world.append(
        [
            ev.register("Z1", "10", event_time="2026-11-20T07:30:00Z"),
            ev.register("Z2", "10", event_time="2026-11-20T07:45:00+00:00"),
            ev.register("Z3", "10", event_time="2026-11-20T08:00:00.123456+01:00"),
            ev.ship("Z1", "4", frm="farm-field-1", to="fresh-plant",
                    event_time="2026-11-20T23:30:00-05:00"),
        ],
        actor="farm",
    )  # fmt: skip
    world.append(
        [ev.receive("Z1", "4", frm="farm-field-1", at="fresh-plant",
                    event_time="2026-11-21T05:00:00.5Z")],
        actor="fresh",
    )  # fmt: skip
    starts = [TraceStart(LETTUCE, code) for code in ("Z1", "Z2", "Z3")]
    create_recall(
        world, actor="farm", starts=starts, reason="x", classification="II", recall_id="T"
    )
    confirm_removal(world, "T", actor="fresh", location="fresh-plant")
    confirm_removal(world, "T", actor="farm", location="farm-field-1")
    close_recall(world, "T", actor="farm")

    rows = list(csv.DictReader(io.StringIO(export_trace(world.engine, starts, "csv").decode())))
    times = [(r["Lot"], r["Critical Tracking Event (CTE)"], r["Event Time (UTC)"]) for r in rows]
    assert times == [  # in time order, whatever the offsets
        ("Z3", "Harvesting", "2026-11-20T07:00:00Z"),
        ("Z1", "Harvesting", "2026-11-20T07:30:00Z"),
        ("Z2", "Harvesting", "2026-11-20T07:45:00Z"),
        ("Z1", "Shipping", "2026-11-21T04:30:00Z"),
        ("Z1", "Receiving", "2026-11-21T05:00:00Z"),
    ]
    # The date is the one where it happened: 23:30 on the 20th at the shipper.
    assert [r["Event Date"] for r in rows] == ["2026-11-20"] * 4 + ["2026-11-21"]

    texts: list[str] = []
    for sheet in ("events", "summary", "dispositions"):
        data = export_recall(world, "T", "csv", sheet=sheet).decode()
        texts += [field for line in csv.reader(io.StringIO(data)) for field in line]
    doc = json.loads(export_recall(world, "T", "json"))
    texts += list(_strings(doc))
    stamped = [t for t in texts if LOOKS_LIKE_TIME.search(t)]
    assert len(stamped) > 20  # events, the recall's dates, confirmations, the export time
    assert [t for t in stamped if not ONE_FORM.fullmatch(t)] == []
    assert ONE_FORM.fullmatch(doc["recall"]["closed_at"])
    assert all(ONE_FORM.fullmatch(p["confirmed_at"]) for p in doc["recall"]["locations"])

    book = load_workbook(io.BytesIO(export_recall(world, "T", "xlsx")))
    dated = 0
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, datetime):
                    dated += 1
                    assert cell.number_format in (DATE_FORMAT, DATETIME_FORMAT)
                elif isinstance(cell.value, str):
                    assert not LOOKS_LIKE_TIME.search(cell.value), cell.value
    assert dated > 15


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def test_reference_documents(world: Ledger, ev: Events) -> None:
    bol = {"type": "bol", "number": "BOL-7731"}
    world.append(
        [
            ev.register("R1", "100"),
            ev.ship("R1", "10", frm="farm-field-1", to="fresh-plant", reference=bol),
            ev.ship("R1", "20", frm="farm-field-1", to="fresh-plant",
                    reference={"type": "bol", "number": "BOL-7732"}),
            ev.ship("R1", "30", frm="farm-field-1", to="fresh-plant", shipment_id="ASN-55"),
        ],
        actor="farm",
    )  # fmt: skip
    world.append(
        [
            # Receipts without a document of their own cite their shipment's, oldest first.
            ev.receive("R1", "10", frm="farm-field-1", at="fresh-plant"),
            ev.receive("R1", "20", frm="farm-field-1", at="fresh-plant"),
            ev.receive("R1", "30", frm="farm-field-1", at="fresh-plant", shipment_id="ASN-55",
                       reference={"type": "po", "number": "PO-2026-118"}),
            ev._base("transform", "fresh-plant",
                     inputs=[{"lot": {"gtin": LETTUCE, "lot": "R1"}, "quantity": "5",
                              "unit": "kg"}],
                     outputs=[salad_output("RS", "5")],
                     reference={"type": "inv", "number": "INV-9"}),
        ],
        actor="fresh",
    )  # fmt: skip
    rows = fsma_rows(world.engine, trace(world.engine, [TraceStart(LETTUCE, "R1")]))
    docs = [
        (
            r["Critical Tracking Event (CTE)"],
            r["Quantity"],
            r["Reference Document Type"],
            r["Reference Document Number"],
        )
        for r in rows
    ]
    assert docs == [
        ("Harvesting", "100", "", ""),  # no document: nothing invented
        ("Shipping", "10", "Bill of Lading", "BOL-7731"),
        ("Shipping", "20", "Bill of Lading", "BOL-7732"),
        ("Shipping", "30", "Advance Shipping Notice", "ASN-55"),
        ("Receiving", "10", "Bill of Lading", "BOL-7731"),
        ("Receiving", "20", "Bill of Lading", "BOL-7732"),
        ("Receiving", "30", "Purchase Order", "PO-2026-118"),  # its own document first
        ("Transformation", "5", "Invoice", "INV-9"),
    ]
    assert not any("Database Record" in v for r in rows for v in r.values())


def test_location_descriptions_carry_address_and_gln(ledger: Ledger, ev: Events) -> None:
    create_organisation(ledger.engine, "hen", "Hillside Hens Ltd")
    create_organisation(ledger.engine, "shop", "Village Shop")
    create_location(
        ledger.engine, "hen-barn", org_id="hen", name="Hillside packing barn", kind="packer",
        gln="9506000134376", address="Hill Lane 4, 3511 AB Utrecht, NL",
    )  # fmt: skip
    create_location(ledger.engine, "shop-1", org_id="shop", name="Village Shop", kind="store")
    eggs = {"gtin": EGGS, "lot": "E1"}
    ledger.append(
        [
            {**ev.register("E1", "60", gtin=EGGS, location="hen-barn"), "unit": "each",
             "product": "Free-range eggs x6", "kind": "produce"},
            {**ev.ship("E1", "24", frm="hen-barn", to="shop-1", gtin=EGGS), "unit": "each"},
        ],
        actor="hen",
    )  # fmt: skip
    ledger.append(
        [{**ev.receive("E1", "24", frm="hen-barn", at="shop-1", gtin=EGGS), "unit": "each"}],
        actor="shop",
    )
    rows = fsma_rows(ledger.engine, trace(ledger.engine, [TraceStart(EGGS, "E1")]))
    barn = (
        "Hillside Hens Ltd: Hillside packing barn, Hill Lane 4, 3511 AB Utrecht, NL, "
        "GLN 9506000134376, (hen-barn)"
    )
    shop = "Village Shop: Village Shop, address not on file, (shop-1)"
    assert [
        (
            r["Critical Tracking Event (CTE)"],
            r["Location Description"],
            r["Ship-From Location"],
            r["Ship-To Location"],
            r["Traceability Lot Code Source"],
        )
        for r in rows
    ] == [
        ("Initial Packing", barn, "", "", barn),
        ("Shipping", barn, barn, shop, barn),
        ("Receiving", shop, barn, shop, barn),
    ]
    assert eggs == {"gtin": rows[0]["GTIN"], "lot": rows[0]["Lot"]}
    # An egg lot has no inputs: it is never reported as a transformation.
    assert rows[0]["Input Traceability Lot Codes"] == ""


def test_critical_tracking_events_follow_the_kde_rules(world: Ledger, ev: Events) -> None:
    world.append(
        [
            ev.register("H1", "10"),  # kind harvest
            {**ev.register("P1", "2.125"), "kind": "pack"},
            {**ev.register("M1", "10"), "kind": "produce"},
            {**ev.register("F1", "10"), "kind": "land"},
        ],
        actor="farm",
    )
    starts = [TraceStart(LETTUCE, code) for code in ("H1", "P1", "M1", "F1")]
    rows = fsma_rows(world.engine, trace(world.engine, starts))
    assert {r["Lot"]: r["Critical Tracking Event (CTE)"] for r in rows} == {
        "H1": "Harvesting",
        "P1": "Initial Packing",
        "M1": "Initial Packing",
        "F1": "First Land-Based Receiving",
    }
    ws = load_workbook(io.BytesIO(to_xlsx(rows))).active
    assert isinstance(ws, Worksheet)
    lot, qty = COLUMNS.index("Lot") + 1, COLUMNS.index("Quantity") + 1
    quantities = {ws.cell(r, lot).value: ws.cell(r, qty).value for r in range(2, 6)}
    assert quantities == {"H1": 10, "P1": 2.125, "M1": 10, "F1": 10}


def test_only_transformations_with_inputs_are_transformations(chain: Ledger) -> None:
    rows = fsma_rows(chain.engine, trace(chain.engine, [TraceStart(LETTUCE, "L1")]))
    made = [r for r in rows if r["Critical Tracking Event (CTE)"] == "Transformation"]
    assert [r["Lot"] for r in made] == ["S1", "S2"]
    inputs = [
        (r["Input Traceability Lot Codes"], r["Input Product Descriptions"], r["Input Quantities"])
        for r in made
    ]
    assert inputs == [
        (f"(01){LETTUCE}(10)L1; (01){TOMATO}(10)T1", "Romaine lettuce; Romaine lettuce",
         "30 kg; 20 kg"),
        (f"(01){LETTUCE}(10)L1", "Romaine lettuce", "20 kg"),
    ]  # fmt: skip
    assert {r["Lot"]: r["Critical Tracking Event (CTE)"] for r in rows if r["Lot"] == "L1"} == {
        "L1": "Receiving"  # the last of L1's: harvesting, shipping and receiving
    }


def test_recall_export_has_summary_and_dispositions(chain: Ledger) -> None:
    create_recall(
        chain,
        actor="farm",
        starts=[TraceStart(LETTUCE, "L1")],
        reason="Listeria monocytogenes found in field 1",
        classification="I",
        recall_id="R-2026-001",
    )
    confirm_removal(chain, "R-2026-001", actor="retail", location="store-1")

    book = load_workbook(io.BytesIO(export_recall(chain, "R-2026-001", "xlsx")))
    assert book.sheetnames == ["FSMA 204", "Recall summary", "Dispositions"]
    summary_ws = book["Recall summary"]
    summary = {row[0].value: row[1] for row in summary_ws.iter_rows(min_row=2)}
    assert summary["Recall ID"].value == "R-2026-001"
    assert summary["Reason"].value == "Listeria monocytogenes found in field 1"
    assert summary["Classification"].value.startswith("Class I: ")
    assert summary["Recalling Organisation"].value == "Green Valley Farm (farm)"
    assert summary["Status"].value == "open"
    assert summary["Recalled Lots"].value == f"(01){LETTUCE}(10)L1"
    assert isinstance(summary["Recall Started (UTC)"].value, datetime)
    assert summary["Recall Closed (UTC)"].value is None
    assert (summary["Locations Affected"].value, summary["Locations Confirmed"].value) == (5, 1)
    assert summary["Locations Outstanding"].value == (
        "farm-field-1; fresh-plant; retail-dc; store-2"
    )
    # 110 kg at risk (test_recall's figures); store-1's 7 kg disposed of on confirmation.
    assert summary["Quantity at Risk (kg)"].value == 110
    assert summary["Quantity Recovered (kg)"].value == 7
    assert summary["Recovered (kg, %)"].value == 6.4

    dispositions = sheet_text(book["Dispositions"], DISPOSITION_COLUMNS)
    by = {(d["Location"], d["Lot"]): d for d in dispositions}
    assert set(by) == {
        ("farm-field-1", "L1"), ("fresh-plant", "S1"), ("retail-dc", "S1"),
        ("store-1", "S1"), ("store-2", "S1"), ("store-2", "S2"),
    }  # fmt: skip
    store1 = by[("store-1", "S1")]
    assert {k: store1[k] for k in DISPOSITION_COLUMNS[1:11]} == {
        "Organisation": "Corner Grocers",
        "Traceability Lot Code (TLC)": f"(01){SALAD}(10)S1",
        "Product Description": "Caesar salad",
        "Unit of Measure": "kg",
        "Quantity at Risk": "7",
        "Quantity Recovered": "7",
        "Quantity Still On Hand": "0",
        "Quantity Sold or Used": "5",
        "Quantity Disposed": "7",
        "Removal Confirmed": "yes",
    }
    assert ONE_FORM.fullmatch(store1["Confirmed At (UTC)"])
    assert store1["Confirmed By"] == "Corner Grocers"
    store2 = by[("store-2", "S2")]
    assert (store2["Quantity at Risk"], store2["Quantity Still On Hand"]) == ("19", "15")
    assert (store2["Removal Confirmed"], store2["Confirmed At (UTC)"]) == ("no (outstanding)", "")
    typed = book["Dispositions"].cell(2, DISPOSITION_COLUMNS.index("Quantity at Risk") + 1)
    assert isinstance(typed.value, int | float)

    # The CSV companions and the JSON carry the same values.
    csv_dispositions = list(
        csv.DictReader(io.StringIO(export_recall(chain, "R-2026-001", "csv", sheet="dispositions")
                                   .decode()))
    )  # fmt: skip
    assert csv_dispositions == dispositions
    csv_summary = list(
        csv.reader(io.StringIO(export_recall(chain, "R-2026-001", "csv", sheet="summary").decode()))
    )
    assert tuple(csv_summary[0]) == SUMMARY_COLUMNS
    as_text = dict(sheet_text(summary_ws, SUMMARY_COLUMNS)[i].values() for i in range(3))
    assert as_text == {"Recall ID": "R-2026-001", "Recalling Organisation":
                       "Green Valley Farm (farm)", "Reason": "Listeria monocytogenes found in "
                       "field 1"}  # fmt: skip
    doc = json.loads(export_recall(chain, "R-2026-001", "json"))
    assert doc["dispositions"] == dispositions
    assert doc["summary"] == dict(csv_summary[1:])
    assert doc["summary"]["Quantity at Risk (kg)"] == "110"
    assert doc["recall"]["progress"]["outstanding"] == [
        "farm-field-1", "fresh-plant", "retail-dc", "store-2"
    ]  # fmt: skip
    assert len(doc["events"]) == 17
    events_csv = export_recall(chain, "R-2026-001", "csv").decode()
    assert list(csv.DictReader(io.StringIO(events_csv))) == doc["events"]
    assert sheet_text(book["FSMA 204"], COLUMNS) == doc["events"]


def test_recall_export_over_http(chain: Ledger) -> None:
    secret = keys.create_key(chain.engine, "farm", "manager", "test").secret
    api = ApiClient(create_app(chain))
    try:
        made = api.post(
            "/v1/recalls",
            key=secret,
            json={"lots": [{"gtin": LETTUCE, "lot": "L1"}], "reason": "Listeria",
                  "classification": "I", "id": "R-9"},
        )  # fmt: skip
        assert made.status_code == 201, made.text
        r = api.get("/v1/recalls/R-9/export.csv?sheet=dispositions", key=secret)
        assert r.status_code == 200, r.text
        disposition = r.headers["content-disposition"]
        assert disposition == 'attachment; filename="recall-R-9-dispositions.csv"'
        rows = list(csv.DictReader(io.StringIO(r.text)))
        assert tuple(rows[0]) == DISPOSITION_COLUMNS
        assert sum(Decimal(row["Quantity at Risk"]) for row in rows) == 110
        summary = api.get("/v1/recalls/R-9/export.csv?sheet=summary", key=secret)
        assert dict(list(csv.reader(io.StringIO(summary.text)))[1:])["Reason"] == "Listeria"
        bad = api.get("/v1/recalls/R-9/export.xlsx?sheet=summary", key=secret)
        assert (bad.status_code, bad.headers["content-type"]) == (422, "application/problem+json")
        assert "every sheet" in bad.json()["detail"]
        assert api.get("/v1/recalls/R-9/export.csv?sheet=nope", key=secret).status_code == 422
        x = api.get("/v1/recalls/R-9/export.xlsx", key=secret)
        book = load_workbook(io.BytesIO(x.content))
        assert book.sheetnames == ["FSMA 204", "Recall summary", "Dispositions"]
    finally:
        api.close()


def test_tomato_and_salad_codes_stay_text(chain: Ledger) -> None:
    rows = fsma_rows(chain.engine, trace(chain.engine, [TraceStart(TOMATO, "T1")]))
    ws = load_workbook(io.BytesIO(to_xlsx(rows))).active
    assert isinstance(ws, Worksheet)
    gtins = {ws.cell(r, COLUMNS.index("GTIN") + 1).value for r in range(2, len(rows) + 2)}
    assert gtins == {TOMATO, SALAD}
