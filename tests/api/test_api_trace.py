"""Recall lookups over HTTP on the demo dataset: ``GET /v1/trace``, its exports, the CLI."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from api.app import create_app
from ledger import Ledger, Settings
from ledger.demo.data import LETTUCE, SALAD, STORES, TOMATO, DemoResult, load_demo
from ledger.masterdata import keys
from ledger.trace.fsma import COLUMNS
from tests.api_fixtures import ApiClient
from tests.conftest import fresh_database, make_settings
from tests.trace.test_fsma import sheet_text

TODAY = datetime(2026, 6, 2, 12, tzinfo=UTC)  # in the past: no event is in the future
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class Demo:
    ledger: Ledger
    api: ApiClient
    data: DemoResult
    farm_manager: str  # a manager of Green Valley (the demo itself has only its supplier key)
    settings: Settings | None = None  # where the ledger lives, for the CLI

    def key(self, name: str) -> str:
        return self.data.keys[name]

    @property
    def manager(self) -> str:
        return self.key("cornergrocer/manager")

    @property
    def regulator(self) -> str:
        return self.key("foodagency/regulator")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """One demo ledger for the whole module: every test here only reads (GET requests and
    the read-only ``recall`` command), so loading the demo once per test would only cost
    time. Tests that append (recalls) use ``open_demo`` on their own ledger."""
    directory = tmp_path_factory.mktemp("demo")
    with fresh_database(directory) as url:
        settings = make_settings(directory, url)
        ledger = Ledger.open(settings)
        try:
            yield from open_demo(ledger, settings)
        finally:
            ledger.close()


def open_demo(ledger: Ledger, settings: Settings | None = None) -> Iterator[Demo]:
    """The demo dataset (as of TODAY) behind the app, plus a Green Valley manager key."""
    data = load_demo(ledger, today=TODAY)
    farm_manager = keys.create_key(ledger.engine, "greenvalley", "manager", "test").secret
    api = ApiClient(create_app(ledger))
    try:
        yield Demo(ledger, api, data, farm_manager, settings)
    finally:
        api.close()


def nodes_by(answer: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(n["lot"], n["location"]): n for n in answer["nodes"]}


def answer_quantities(answer: dict[str, Any], lot: str, location: str) -> dict[str, Any]:
    quantities: dict[str, Any] = nodes_by(answer)[(lot, location)]["quantities"]
    return quantities


def test_forward_trace_of_a_lettuce_lot(demo: Demo) -> None:
    lettuce, salad = demo.data.lots["lettuce"][0], demo.data.lots["salad"][0]
    r = demo.api.get(f"/v1/trace?lot={LETTUCE}/{lettuce}", key=demo.regulator)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    answer = r.json()
    assert answer["direction"] == "forward"
    assert answer["starts"] == [{"gtin": LETTUCE, "lot": lettuce, "location": "gv-field-3"}]
    assert answer["lots"] == [{"gtin": LETTUCE, "lot": lettuce}, {"gtin": SALAD, "lot": salad}]
    nodes = nodes_by(answer)
    assert set(nodes) == {
        (lettuce, "gv-field-3"),
        (lettuce, "fc-plant"),
        (salad, "fc-plant"),
        (salad, "cg-dc"),
        *((salad, store) for store in STORES),
    }

    def q(lot: str, location: str, *names: str) -> tuple[Any, ...]:
        n = nodes[(lot, location)]
        return (n["depth"], *(n["quantities"][name] for name in names))

    # 1200 kg harvested, 1000 shipped to the plant, 900 used, 100 thrown away (quality).
    assert q(lettuce, "gv-field-3", "produced", "shipped", "on_hand") == (0, "1200", "1000", "200")
    assert q(lettuce, "fc-plant", "received", "used", "sold_or_used", "disposed", "on_hand") == (
        1, "1000", "900", "900", "100", "0"
    )  # fmt: skip
    # 4000 bowls made, 3600 to the DC, 1200 to each store.
    assert q(salad, "fc-plant", "produced", "shipped", "on_hand") == (2, "4000", "3600", "400")
    assert q(salad, "cg-dc", "received", "shipped", "on_hand") == (3, "3600", "3600", "0")
    stock = demo.api.get(f"/v1/lots/{SALAD}/{salad}/stock", key=demo.regulator).json()
    shelves = {s["location_id"]: s["on_hand"] for s in stock["locations"]}
    for store in STORES:
        n = nodes[(salad, store)]["quantities"]
        assert (nodes[(salad, store)]["depth"], n["received"]) == (4, "1200")
        assert n["on_hand"] == shelves.get(store, "0")
        assert int(n["sold"]) == int(n["sold_or_used"]) > 0
        assert int(n["sold"]) + int(n["disposed"]) + int(n["on_hand"]) == 1200
    lt, sd = f"{LETTUCE}/{lettuce}", f"{SALAD}/{salad}"
    assert nodes[(salad, "cg-store-2")]["path"] == [
        {"kind": "ship", "from": f"{lt}@gv-field-3", "to": f"{lt}@fc-plant"},
        {"kind": "transform", "from": f"{lt}@fc-plant", "to": f"{sd}@fc-plant"},
        {"kind": "ship", "from": f"{sd}@fc-plant", "to": f"{sd}@cg-dc"},
        {"kind": "ship", "from": f"{sd}@cg-dc", "to": f"{sd}@cg-store-2"},
    ]
    assert nodes[(salad, "cg-store-2")]["org_id"] == "cornergrocer"
    assert nodes[(salad, "cg-store-2")]["location_name"] == "Corner Grocer, Station Road"

    # Corner Grocer never handled the lettuce (only the salad made of it): not found.
    r = demo.api.get(f"/v1/trace?lot={LETTUCE}/{lettuce}", key=demo.manager)
    assert (r.status_code, r.json()["detail"]) == (404, f"unknown lot {LETTUCE}/{lettuce}")
    # Green Valley sees its field and the plant it shipped to, one step down: what the plant
    # received from it, never the plant's stock, use or what the plant made of it.
    farm = demo.api.get(f"/v1/trace?lot={LETTUCE}/{lettuce}", key=demo.farm_manager).json()
    assert set(nodes_by(farm)) == {(lettuce, "gv-field-3"), (lettuce, "fc-plant")}
    field, plant = nodes_by(farm)[(lettuce, "gv-field-3")], nodes_by(farm)[(lettuce, "fc-plant")]
    assert field["visibility"] == "own"
    assert field["quantities"] == {**answer_quantities(answer, lettuce, "gv-field-3")}
    assert plant["visibility"] == "partner"
    assert plant["quantities"]["received"] == "1000"
    assert plant["quantities"]["on_hand"] is None
    assert plant["quantities"]["used"] is None
    assert farm["lots"] == [{"gtin": LETTUCE, "lot": lettuce}]

    # Bounded by depth.
    two = demo.api.get(f"/v1/trace?lot={LETTUCE}/{lettuce}&max_depth=2", key=demo.regulator).json()
    assert set(nodes_by(two)) == {
        (lettuce, "gv-field-3"),
        (lettuce, "fc-plant"),
        (salad, "fc-plant"),
    }


def test_backward_trace_from_a_store_and_several_lots(demo: Demo) -> None:
    salads = demo.data.lots["salad"]
    url = f"/v1/trace?lot={SALAD}/{salads[1]}@cg-store-3&direction=backward"
    r = demo.api.get(url, key=demo.manager)
    assert r.status_code == 200, r.text
    # Corner Grocer: its store and DC, and the plant that shipped to it; not the farms.
    mine = nodes_by(r.json())
    assert {k: n["visibility"] for k, n in mine.items()} == {
        (salads[1], "cg-store-3"): "own",
        (salads[1], "cg-dc"): "own",
        (salads[1], "fc-plant"): "partner",
    }
    plant = mine[(salads[1], "fc-plant")]["quantities"]
    assert (plant["produced"], plant["shipped"], plant["on_hand"]) == ("4000", "3600", None)
    sd = f"{SALAD}/{salads[1]}"
    assert mine[(salads[1], "fc-plant")]["path"] == [
        {"kind": "ship", "from": f"{sd}@fc-plant", "to": f"{sd}@cg-dc"},
        {"kind": "ship", "from": f"{sd}@cg-dc", "to": f"{sd}@cg-store-3"},
    ]
    nodes = nodes_by(demo.api.get(url, key=demo.regulator).json())
    lettuce, tomato = demo.data.lots["lettuce"][1], demo.data.lots["tomato"][1]
    assert set(nodes) == {
        (salads[1], "cg-store-3"),
        (salads[1], "cg-dc"),
        (salads[1], "fc-plant"),
        (lettuce, "fc-plant"),
        (tomato, "fc-plant"),
        (lettuce, "gv-field-3"),
        (tomato, "sr-packhouse"),
    }
    assert nodes[(tomato, "sr-packhouse")]["depth"] == 4
    assert nodes[(tomato, "sr-packhouse")]["gtin"] == TOMATO
    both = demo.api.get(
        f"/v1/trace?lot={LETTUCE}/{demo.data.lots['lettuce'][0]}"
        f"&lot={LETTUCE}/{demo.data.lots['lettuce'][1]}",
        key=demo.regulator,
    ).json()
    assert {s["lot"] for s in both["starts"]} == set(demo.data.lots["lettuce"][:2])
    assert {lot["lot"] for lot in both["lots"]} == {
        *demo.data.lots["lettuce"][:2],
        *demo.data.lots["salad"][:2],
    }


def test_product_and_date_range(demo: Demo) -> None:
    lettuce = demo.data.lots["lettuce"]
    # The demo's lettuce is harvested at 06:00 3, 10, 17 and 24 days before TODAY (06-02):
    # on 2026-05-09, 05-16, 05-23 and 05-30.
    r = demo.api.get(f"/v1/trace?gtin={LETTUCE}&from=2026-05-09&to=2026-05-15", key=demo.regulator)
    assert r.status_code == 200, r.text
    assert [s["lot"] for s in r.json()["starts"]] == [lettuce[0]]
    r = demo.api.get(
        f"/v1/trace?gtin={LETTUCE}&from=2026-05-09T06:00:00Z&to=2026-05-29", key=demo.regulator
    )
    assert [s["lot"] for s in r.json()["starts"]] == lettuce[:3]


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ("", 422, "lot"),
        (f"lot={LETTUCE}", 422, "lot"),
        ("lot=12/L1", 422, "lot"),
        (f"lot={LETTUCE}/L1&gtin={LETTUCE}", 422, "lot"),
        (f"gtin={LETTUCE}&from=2026-10-26", 422, "lot"),
        (f"gtin={LETTUCE}&from=2026-10-26T05:00:00&to=2026-11-01", 422, "from"),
        (f"gtin={LETTUCE}&from=soon&to=2026-11-01", 422, "from"),
        (f"lot={LETTUCE}/L1&direction=sideways", 422, "direction"),
        (f"lot={LETTUCE}/L1&max_depth=-1", 422, "max_depth"),
        (f"lot={LETTUCE}/NOPE", 404, None),
        (f"lot={LETTUCE}/NOPE@cg-dc", 404, None),
    ],
)
def test_bad_queries(demo: Demo, query: str, status: int, field: str | None) -> None:
    r = demo.api.get(f"/v1/trace?{query}", key=demo.manager)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    if field is not None:
        assert r.json()["errors"][0]["field"].split(".")[0] == field


def test_roles(demo: Demo) -> None:
    url = f"/v1/trace?lot={LETTUCE}/{demo.data.lots['lettuce'][0]}"
    assert demo.api.get(url).status_code == 401
    assert demo.api.get(url.replace("/v1/trace", "/v1/trace/export.csv")).status_code == 401
    for name in ("greenvalley/supplier", "cornergrocer/store", "cornergrocer/warehouse",
                 "operator/admin"):  # fmt: skip
        r = demo.api.get(url, key=demo.key(name))
        assert r.status_code == 403, name
        assert r.json()["type"] == "https://lotledger.dev/problems/forbidden"
    assert demo.api.get(url, key=demo.farm_manager).status_code == 200


def test_exports(demo: Demo) -> None:
    lettuce, salad = demo.data.lots["lettuce"][0], demo.data.lots["salad"][0]
    tomato = demo.data.lots["tomato"][0]
    query = f"lot={LETTUCE}/{lettuce}"
    r = demo.api.get(f"/v1/trace/export.csv?{query}", key=demo.regulator)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    assert r.headers["content-disposition"] == (
        f'attachment; filename="trace-forward-{LETTUCE}-{lettuce}-{stamp}.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert tuple(rows[0]) == COLUMNS
    events = [(row["Lot"], row["Critical Tracking Event (CTE)"], row["Quantity"]) for row in rows]
    # One row per critical tracking event of the trace, in time order.
    assert events == [
        (lettuce, "Harvesting", "1200"),
        (lettuce, "Shipping", "1000"),
        (lettuce, "Receiving", "1000"),
        (salad, "Transformation", "4000"),
        (salad, "Shipping", "3600"),
        (salad, "Receiving", "3600"),
        *[(salad, "Shipping", "1200")] * 3,
        *[(salad, "Receiving", "1200")] * 3,
    ]
    assert len({row["Ledger Entry"] for row in rows}) == len(rows)
    transform = rows[3]
    assert transform["Input Traceability Lot Codes"] == (
        f"(01){LETTUCE}(10){lettuce}; (01){TOMATO}(10){tomato}"
    )
    assert transform["Traceability Lot Code (TLC)"] == f"(01){SALAD}(10){salad}"
    assert transform["Product Description"] == "Garden salad bowl 250 g"
    assert transform["Unit of Measure"] == "each"
    assert rows[0]["Location Description"].startswith(
        "Green Valley Farm: Green Valley, field 3, address not on file, GLN 9506000134376"
    )
    ship = rows[1]
    assert (ship["Reference Document Type"], ship["Reference Document Number"]) == (
        "Bill of Lading",
        f"BOL-{lettuce}",
    )
    to_stores = {row["Ship-To Location"].split(",")[1].strip() for row in rows[6:9]}
    assert to_stores == {"High Street", "Station Road", "Market Square"}

    x = demo.api.get(f"/v1/trace/export.xlsx?{query}", key=demo.regulator)
    assert x.headers["content-type"] == XLSX
    assert x.headers["content-disposition"].endswith(f'-{stamp}.xlsx"')
    sheet = load_workbook(io.BytesIO(x.content)).active
    assert isinstance(sheet, Worksheet)
    assert sheet_text(sheet, COLUMNS) == rows  # typed cells (tests/trace/test_fsma.py), same values

    j = demo.api.get(f"/v1/trace/export.json?{query}&direction=forward", key=demo.regulator)
    assert j.headers["content-type"] == "application/json"
    doc = j.json()
    assert (doc["format"], doc["version"]) == ("lotledger.trace-export", 2)
    assert doc["events"] == rows
    assert doc["trace"] == demo.api.get(f"/v1/trace?{query}", key=demo.regulator).json()

    # A manager's exports hold what it may see: Corner Grocer never handled this lettuce,
    # Green Valley's rows stop at the plant it shipped to.
    for fmt in ("csv", "xlsx", "json"):
        r = demo.api.get(f"/v1/trace/export.{fmt}?{query}", key=demo.manager)
        assert r.status_code == 404, fmt
    farm = demo.api.get(f"/v1/trace/export.csv?{query}", key=demo.farm_manager)
    farm_rows = list(csv.DictReader(io.StringIO(farm.text)))
    assert [(r["Lot"], r["Critical Tracking Event (CTE)"]) for r in farm_rows] == [
        (lettuce, "Harvesting"),
        (lettuce, "Shipping"),
        (lettuce, "Receiving"),
    ]
    assert salad not in farm.text

    assert demo.api.get(f"/v1/trace/export.pdf?{query}", key=demo.manager).status_code == 422
    store = demo.api.get(f"/v1/trace/export.csv?{query}", key=demo.key("cornergrocer/store"))
    assert store.status_code == 403
