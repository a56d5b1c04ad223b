"""Recalls over HTTP on the demo dataset: holds, refusals, confirmations, progress, exports."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from openpyxl import load_workbook

from ledger import Ledger
from ledger.demo.data import LETTUCE, SALAD, STORES
from ledger.trace.fsma import COLUMNS
from tests.api.test_api_trace import XLSX, Demo, open_demo
from tests.trace.test_fsma import sheet_text

P = "https://lotledger.dev/problems/"


@pytest.fixture
def demo(ledger: Ledger) -> Iterator[Demo]:
    yield from open_demo(ledger)


def body(lot: str, **extra: Any) -> dict[str, Any]:
    return {
        "lots": [{"gtin": LETTUCE, "lot": lot}],
        "reason": "Listeria monocytogenes in field 3",
        "classification": "I",
        **extra,
    }


def shelves(demo: Demo, salad: str) -> dict[str, int]:
    stock = demo.api.get(f"/v1/lots/{SALAD}/{salad}/stock", key=demo.regulator).json()
    return {s["location_id"]: int(s["on_hand"]) for s in stock["locations"]}


def progress(demo: Demo, recall_id: str, key: str | None = None) -> dict[str, Any]:
    r = demo.api.get(f"/v1/recalls/{recall_id}", key=key or demo.regulator)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_recall_of_a_lettuce_lot(demo: Demo) -> None:
    lettuce, salad = demo.data.lots["lettuce"][-1], demo.data.lots["salad"][-1]
    on_shelves = shelves(demo, salad)
    assert set(on_shelves) == {"fc-plant", *STORES}  # the DC has shipped everything out
    assert all(q > 0 for q in on_shelves.values())

    r = demo.api.post("/v1/recalls", key=demo.farm_manager, json=body(lettuce, id="R-2026-7"))
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["id"], made["org_id"], made["status"], made["classification"]) == (
        "R-2026-7", "greenvalley", "open", "I"
    )  # fmt: skip
    assert made["holds_appended"] == 2  # the lettuce (200 kg at the farm) and the salad
    at_risk = {
        (item["location"], item["lot"]): item["at_risk"]
        for loc in made["locations"]
        for item in loc["items"]
    }
    assert at_risk == {
        ("gv-field-3", lettuce): "200",
        **{(loc, salad): str(q) for loc, q in on_shelves.items()},
    }
    assert made["progress"] == {
        "at_risk": str(200 + sum(on_shelves.values())),
        "recovered": "0",
        "in_transit": "0",
        "locations": 5,
        "confirmed": 0,
        "outstanding": ["cg-store-1", "cg-store-2", "cg-store-3", "fc-plant", "gv-field-3"],
        "complete": False,
    }

    # The lots show as recalled to everyone who can see them, with the recall's id.
    status = demo.api.get(f"/v1/lots/{SALAD}/{salad}/status", key=demo.key("cornergrocer/store"))
    assert status.json()["status"] == "recalled"
    assert [(h["kind"], h["recall_id"]) for h in status.json()["holds"]] == [("recall", "R-2026-7")]
    lot = demo.api.get(f"/v1/lots/{LETTUCE}/{lettuce}", key=demo.key("greenvalley/supplier"))
    assert lot.json()["status"] == "recalled"
    # The recall's owner sees the recalled lots' whole trace, the stores' shelves included;
    # a retailer that never handled the lettuce still does not.
    owner = demo.api.get(f"/v1/trace?lot={LETTUCE}/{lettuce}", key=demo.farm_manager).json()
    assert owner["nodes"][0]["held"]
    assert {(n["location"], n["lot"]) for n in owner["nodes"]} >= {(s, salad) for s in STORES}
    assert all("visibility" not in n for n in owner["nodes"])
    store_node = next(n for n in owner["nodes"] if n["location"] == STORES[0])
    assert store_node["quantities"]["on_hand"] == str(on_shelves[STORES[0]])
    assert demo.api.get(f"/v1/trace?lot={LETTUCE}/{lettuce}", key=demo.manager).status_code == 404

    # A store cannot sell a recalled bowl.
    sale = {
        "event_id": str(uuid.uuid4()),
        "type": "sell",
        "event_time": "2026-05-31T09:00:00Z",  # before the bowl's expiry
        "location": "cg-store-1",
        "lot": {"gtin": SALAD, "lot": salad},
        "quantity": "1",
        "unit": "each",
    }
    refused = demo.api.post(
        "/v1/events", key=demo.key("cornergrocer/store"), json={"events": [sale]}
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["type"] == P + "lot-on-hold"
    assert shelves(demo, salad)["cg-store-1"] == on_shelves["cg-store-1"]

    # Who sees the recall: the recalling organisation, those it involves, regulators.
    for name in ("cornergrocer/manager", "cornergrocer/store", "freshcut/supplier"):
        assert [x["id"] for x in demo.api.get("/v1/recalls", key=demo.key(name)).json()] == [
            "R-2026-7"
        ], name
    assert demo.api.get("/v1/recalls", key=demo.key("sunripe/supplier")).json() == []
    hidden = demo.api.get("/v1/recalls/R-2026-7", key=demo.key("sunripe/supplier"))
    assert (hidden.status_code, hidden.json()["type"]) == (404, P + "not-found")

    # Store 1 confirms: what it still holds is disposed of with reason "recall".
    store = demo.key("cornergrocer/store")
    r = demo.api.post(
        "/v1/recalls/R-2026-7/confirmations", key=store, json={"location": "cg-store-1"}
    )
    assert r.status_code == 201, r.text
    assert r.json()["locations"][0]["confirmed_by"] == "cornergrocer"
    state = progress(demo, "R-2026-7", key=demo.manager)
    assert state["progress"]["recovered"] == str(on_shelves["cg-store-1"])
    assert "cg-store-1" not in state["progress"]["outstanding"]
    assert "cg-store-1" not in shelves(demo, salad)
    events = demo.api.get(f"/v1/lots/{SALAD}/{salad}/events", key=demo.regulator).json()["events"]
    disposal = events[-1]["event"]
    assert (disposal["type"], disposal["location"], disposal["reason"], disposal["quantity"]) == (
        "dispose", "cg-store-1", "recall", str(on_shelves["cg-store-1"])
    )  # fmt: skip

    # Only a location's own organisation confirms; only the recalling one closes.
    wrong = demo.api.post(
        "/v1/recalls/R-2026-7/confirmations", key=demo.farm_manager, json={"location": "cg-store-2"}
    )
    assert (wrong.status_code, wrong.json()["type"]) == (403, P + "forbidden")
    empty = demo.api.post(
        "/v1/recalls/R-2026-7/confirmations",
        key=store,
        json={"location": "cg-store-2", "dispose": False},
    )
    assert (empty.status_code, empty.json()["type"]) == (409, P + "recall-conflict")
    assert f"cg-store-2 still holds {on_shelves['cg-store-2']} of" in empty.json()["detail"]
    early = demo.api.post("/v1/recalls/R-2026-7/close", key=demo.farm_manager)
    assert (early.status_code, early.json()["type"]) == (409, P + "recall-conflict")
    assert "cg-store-2, cg-store-3, fc-plant, gv-field-3" in early.json()["detail"]
    other = demo.api.post("/v1/recalls/R-2026-7/close", key=demo.manager)
    assert (other.status_code, other.json()["type"]) == (403, P + "forbidden")
    assert demo.api.post("/v1/recalls/R-2026-7/close", key=store).status_code == 403

    for location, key in [
        ("cg-store-2", store),
        ("cg-store-3", store),
        ("fc-plant", demo.key("freshcut/supplier")),
        ("gv-field-3", demo.key("greenvalley/supplier")),
    ]:
        r = demo.api.post(
            "/v1/recalls/R-2026-7/confirmations", key=key, json={"location": location}
        )
        assert r.status_code == 201, r.text
    state = progress(demo, "R-2026-7")
    assert state["progress"]["recovered"] == state["progress"]["at_risk"]
    assert state["progress"]["outstanding"] == []
    closed = demo.api.post("/v1/recalls/R-2026-7/close", key=demo.farm_manager)
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"
    assert closed.json()["closed_at"] is not None
    again = demo.api.post(
        "/v1/recalls/R-2026-7/confirmations", key=store, json={"location": "cg-store-1"}
    )
    assert (again.status_code, again.json()["type"]) == (409, P + "recall-conflict")
    # Closing a recall does not lift its holds.
    assert demo.api.get(f"/v1/lots/{SALAD}/{salad}/status", key=store).json()["status"] == (
        "recalled"
    )


def test_recall_exports(demo: Demo) -> None:
    lettuce, salad = demo.data.lots["lettuce"][-1], demo.data.lots["salad"][-1]
    made = demo.api.post("/v1/recalls", key=demo.farm_manager, json=body(lettuce)).json()
    url = f"/v1/recalls/{made['id']}/export"
    r = demo.api.get(f"{url}.csv", key=demo.regulator)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"] == f'attachment; filename="recall-{made["id"]}.csv"'
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(row["Lot"], row["Critical Tracking Event (CTE)"]) for row in rows] == [
        (lettuce, "Harvesting"),
        (lettuce, "Shipping"),
        (lettuce, "Receiving"),
        (salad, "Transformation"),
        (salad, "Shipping"),
        (salad, "Receiving"),
        *[(salad, "Shipping")] * 3,
        *[(salad, "Receiving")] * 3,
    ]
    assert {row["Quantity"] for row in rows[6:]} == {"1200"}
    assert len({row["Ledger Entry"] for row in rows}) == len(rows)  # one row per event

    x = demo.api.get(f"{url}.xlsx", key=demo.farm_manager)
    assert (x.status_code, x.headers["content-type"]) == (200, XLSX)
    assert x.headers["content-disposition"] == f'attachment; filename="recall-{made["id"]}.xlsx"'
    book = load_workbook(io.BytesIO(x.content))
    assert book.sheetnames == ["FSMA 204", "Recall summary", "Dispositions"]
    assert sheet_text(book["FSMA 204"], COLUMNS) == rows  # typed cells, same values

    doc = demo.api.get(f"{url}.json", key=demo.manager).json()  # involved: its stores
    assert (doc["format"], doc["recall"]["id"], doc["events"]) == (
        "lotledger.trace-export", made["id"], rows
    )  # fmt: skip
    assert len(doc["trace"]["nodes"]) == 7
    assert demo.api.get(f"{url}.csv", key=demo.key("cornergrocer/store")).status_code == 403
    assert demo.api.get("/v1/recalls/nope/export.csv", key=demo.regulator).status_code == 404


def test_recall_roles_and_validation(demo: Demo) -> None:
    lettuce, salad = demo.data.lots["lettuce"][0], demo.data.lots["salad"][0]
    assert demo.api.post("/v1/recalls", json=body(lettuce)).status_code == 401
    assert demo.api.get("/v1/recalls").status_code == 401
    assert demo.api.get("/v1/recalls/x").status_code == 401
    for name in ("greenvalley/supplier", "cornergrocer/store", "cornergrocer/warehouse",
                 "foodagency/regulator", "operator/admin"):  # fmt: skip
        r = demo.api.post("/v1/recalls", key=demo.key(name), json=body(lettuce))
        assert (r.status_code, r.json()["type"]) == (403, P + "forbidden"), name
    # A retailer's manager recalls the bowls it received, not its supplier's lettuce.
    r = demo.api.post("/v1/recalls", key=demo.manager, json=body(lettuce))
    assert (r.status_code, r.json()["type"]) == (403, P + "forbidden")
    assert "never made, held, shipped or received" in r.json()["detail"]
    bowls = {**body(lettuce), "lots": [{"gtin": SALAD, "lot": salad}], "classification": "II"}
    own = demo.api.post("/v1/recalls", key=demo.manager, json=bowls)
    assert own.status_code == 201, own.text
    assert own.json()["org_id"] == "cornergrocer"

    for bad, field in [
        ({"classification": "IV"}, "classification"),
        ({"reason": "   "}, "reason"),
        ({"lots": []}, "lots"),
        ({"direction": "up"}, "direction"),
        ({"max_depth": -1}, "max_depth"),
        ({"extra": 1}, "extra"),
    ]:
        r = demo.api.post("/v1/recalls", key=demo.farm_manager, json={**body(lettuce), **bad})
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["errors"][0]["field"].split(".")[0] == field
    missing = demo.api.post("/v1/recalls", key=demo.farm_manager, json=body("NOPE"))
    assert (missing.status_code, missing.json()["type"]) == (404, P + "not-found")
    first = demo.api.post("/v1/recalls", key=demo.farm_manager, json=body(lettuce, id="R1"))
    assert first.status_code == 201
    dup = demo.api.post("/v1/recalls", key=demo.farm_manager, json=body(lettuce, id="R1"))
    assert (dup.status_code, dup.json()["type"]) == (409, P + "recall-conflict")
    assert dup.json()["detail"] == "recall 'R1' already exists"
    assert demo.api.get("/v1/recalls/none", key=demo.regulator).status_code == 404
    listed = demo.api.get("/v1/recalls", key=demo.regulator).json()
    assert [x["id"] for x in listed] == [own.json()["id"], "R1"]  # oldest first
    assert [x["id"] for x in demo.api.get("/v1/recalls", key=demo.manager).json()] == [
        own.json()["id"]
    ]


def test_the_recall_list_pages_and_filters(demo: Demo) -> None:
    made = [
        demo.api.post("/v1/recalls", key=demo.farm_manager, json=body(lot, id=f"R-{n}")).json()
        for n, lot in enumerate(demo.data.lots["lettuce"][:3])
    ]
    assert [m["id"] for m in made] == ["R-0", "R-1", "R-2"]

    first = demo.api.get("/v1/recalls", key=demo.regulator, params={"limit": 2})
    assert [x["id"] for x in first.json()] == ["R-0", "R-1"]
    assert first.headers["link"] == '</v1/recalls?after=R-1&limit=2>; rel="next"'
    assert first.json()[0]["locations"] == made[0]["locations"]  # each with its progress
    rest = demo.api.get("/v1/recalls?after=R-1&limit=2", key=demo.regulator)
    assert [x["id"] for x in rest.json()] == ["R-2"]
    assert "link" not in rest.headers  # the last page
    opened = demo.api.get("/v1/recalls", key=demo.regulator, params={"status": "open"})
    assert [x["id"] for x in opened.json()] == ["R-0", "R-1", "R-2"]
    closed = demo.api.get("/v1/recalls", key=demo.regulator, params={"status": "closed"})
    assert closed.json() == []

    for query, status, kind in [
        ({"status": "shut"}, 422, "validation-error"),
        ({"limit": 0}, 422, "validation-error"),
        ({"limit": 201}, 422, "validation-error"),
        ({"after": "R-9"}, 404, "not-found"),
    ]:
        r = demo.api.get("/v1/recalls", key=demo.regulator, params=query)
        assert (r.status_code, r.json()["type"]) == (status, P + kind), query
    assert "R-9" in demo.api.get("/v1/recalls?after=R-9", key=demo.regulator).json()["detail"]


@pytest.mark.filterwarnings("ignore:Duplicate Operation ID resolve")  # resolver's GET+HEAD
def test_openapi_documents_the_bodies(demo: Demo) -> None:
    spec = demo.api.get("/openapi.json").json()
    post = spec["paths"]["/v1/recalls"]["post"]
    schema = post["requestBody"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
    assert spec["components"]["schemas"][schema]["examples"][0]["classification"] == "I"
    confirm = spec["paths"]["/v1/recalls/{recall_id}/confirmations"]["post"]
    ref = confirm["requestBody"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
    assert spec["components"]["schemas"][ref]["examples"] == [
        {"location": "cg-store-1", "dispose": True}
    ]
    trace = spec["paths"]["/v1/trace"]["get"]
    assert {p["name"] for p in trace["parameters"]} == {
        "lot", "direction", "max_depth", "gtin", "from", "to"
    }  # fmt: skip
    assert (
        "text/csv; charset=utf-8"
        in (spec["paths"]["/v1/trace/export.{fmt}"]["get"]["responses"]["200"]["content"])
    )


def test_recall_progress_as_csv(demo: Demo) -> None:
    lettuce, salad = demo.data.lots["lettuce"][-1], demo.data.lots["salad"][-1]
    made = demo.api.post("/v1/recalls", key=demo.farm_manager, json=body(lettuce)).json()
    store = demo.key("cornergrocer/store")
    demo.api.post(
        f"/v1/recalls/{made['id']}/confirmations", key=store, json={"location": "cg-store-1"}
    )
    state = progress(demo, made["id"])
    r = demo.api.get(f"/v1/recalls/{made['id']}/progress.csv", key=demo.manager)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"] == (
        f'attachment; filename="recall-{made["id"]}-progress.csv"'
    )
    assert r.content.startswith(b"\xef\xbb\xbf")  # a BOM: Excel reads the names as UTF-8
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    expected = [
        {
            "location": loc["location"],
            "location_name": loc["location_name"],
            "product": item["product"],
            "lot": item["lot"],
            **{k: item[k] for k in ("at_risk", "recovered", "produced", "received", "shipped")},
            **{k: item[k] for k in ("in_transit", "on_hand", "sold_or_used", "disposed")},
            "confirmed_by": loc["confirmed_by"] or "",
            "complete": "yes" if loc["complete"] else "no",
        }
        for loc in state["locations"]
        for item in loc["items"]
    ]
    assert [{k: row[k] for k in expected[0]} for row in rows] == expected
    store1 = next(row for row in rows if row["location"] == "cg-store-1")
    assert (store1["lot"], store1["on_hand"], store1["complete"]) == (salad, "0", "yes")
    assert store1["product"] == "Garden salad bowl 250 g"
    farm = next(row for row in rows if row["location"] == "gv-field-3")
    assert (farm["lot"], farm["produced"], farm["complete"]) == (lettuce, "1200", "no")
    assert farm["shipped"] == "1000"
    # The recall must concern the reader's organisation, as for the recall itself.
    other = demo.key("sunripe/supplier")  # tomatoes: not downstream of the lettuce
    assert demo.api.get(f"/v1/recalls/{made['id']}", key=other).status_code == 404
    assert demo.api.get(f"/v1/recalls/{made['id']}/progress.csv", key=other).status_code == 404
    assert demo.api.get("/v1/recalls/nope/progress.csv", key=demo.regulator).status_code == 404


def test_a_recall_closed_with_locations_outstanding_records_who_why_and_what(
    demo: Demo, ledger: Ledger
) -> None:
    lettuce, salad = demo.data.lots["lettuce"][-1], demo.data.lots["salad"][-1]
    on_shelves = shelves(demo, salad)
    r = demo.api.post("/v1/recalls", key=demo.farm_manager, json=body(lettuce, id="R-F"))
    assert r.status_code == 201, r.text
    store = demo.key("cornergrocer/store")
    r = demo.api.post("/v1/recalls/R-F/confirmations", key=store, json={"location": "cg-store-1"})
    assert r.status_code == 201, r.text
    size = ledger.size()
    # Force needs a reason, in plain words; nothing changes without one.
    for bad in ({"force": True}, {"force": True, "reason": "  "}):
        r = demo.api.post("/v1/recalls/R-F/close", key=demo.farm_manager, json=bad)
        assert (r.status_code, r.json()["type"]) == (422, P + "validation-error"), r.text
        assert "needs a reason" in r.json()["detail"]
    early = demo.api.post("/v1/recalls/R-F/close", key=demo.farm_manager, json={})
    assert (early.status_code, early.json()["type"]) == (409, P + "recall-conflict")
    assert "send force with a reason" in early.json()["detail"]
    assert progress(demo, "R-F")["status"] == "open"
    # Another organisation may not force it.
    other = demo.api.post(
        "/v1/recalls/R-F/close", key=demo.manager, json={"force": True, "reason": "done"}
    )
    assert (other.status_code, other.json()["type"]) == (403, P + "forbidden")

    why = "stores 2 and 3 destroyed the bowls on site (photos in ticket 4411)"
    closed = demo.api.post(
        "/v1/recalls/R-F/close", key=demo.farm_manager, json={"force": True, "reason": why}
    )
    assert closed.status_code == 200, closed.text
    state = closed.json()
    assert (state["status"], state["forced"], state["closed_by"], state["close_reason"]) == (
        "closed", True, "greenvalley", why
    )  # fmt: skip
    left = {x["location"]: x for x in state["outstanding_at_close"]}
    assert sorted(left) == ["cg-store-2", "cg-store-3", "fc-plant", "gv-field-3"]
    assert not left["cg-store-2"]["confirmed"]
    held = {(i["lot"], i["on_hand"]) for i in left["cg-store-2"]["items"]}
    assert (salad, str(on_shelves["cg-store-2"])) in held
    assert ledger.size() == size  # a close appends nothing; the holds stay
    assert progress(demo, "R-F") == {**state}
    again = demo.api.post(
        "/v1/recalls/R-F/close", key=demo.farm_manager, json={"force": True, "reason": why}
    )
    assert (again.status_code, again.json()["type"]) == (409, P + "recall-conflict")
    status = demo.api.get(f"/v1/lots/{SALAD}/{salad}/status", key=store).json()["status"]
    assert status != "released"
