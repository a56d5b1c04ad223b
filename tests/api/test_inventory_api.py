"""Stock, orders, replenishment and reports over HTTP: values, problems and role scoping
(stores see their own stock and orders; suppliers see orders placed with them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, get_type_hints

from fastapi.openapi.utils import get_openapi
from pydantic import create_model

from api.routers import orders, replenishment, reports, stock
from ledger import Ledger, create_product, set_terms
from ledger.inventory.stock import StockItem
from tests.api_fixtures import ApiClient, Keys, api_keys, client  # noqa: F401 - fixtures
from tests.conftest import SALAD, Events


def salad(lot: str, qty: str, expiry: str, at: str = "fresh-plant") -> dict[str, Any]:
    event = Events().register(lot, qty, gtin=SALAD, location=at, expiry=expiry)
    event.update(unit="each", product="Garden salad", kind="produce")
    return event


def test_stock_status_and_expiry_over_http(
    world: Ledger,
    client: ApiClient,  # noqa: F811
    api_keys: Keys,  # noqa: F811
) -> None:
    ev = Events()
    world.append(
        [
            salad("OLD", "10", "2026-11-21", at="store-1"),
            salad("NEW", "5", "2027-01-10", at="store-1"),
        ],
        actor="retail",
    )
    got = client.get("/v1/stock/store-1", key=api_keys.store)
    assert got.status_code == 200
    items = {i["lot"]: i for i in got.json()["items"]}
    assert items["OLD"]["on_hand"] == "10"
    assert items["OLD"]["status"] == "approved"
    assert items["OLD"]["removal_date"] == "2026-11-20"
    # The farm's supplier key does not see the retailer's store; the regulator does.
    assert client.get("/v1/stock/store-1", key=api_keys.farm).status_code == 404
    assert client.get("/v1/stock/store-1", key=api_keys.regulator).status_code == 200
    assert client.get("/v1/stock/store-1", key=api_keys.admin).status_code == 403

    sell = ev.leave("sell", "OLD", "1", at="store-1", gtin=SALAD)
    sell.update(unit="each", event_time="2026-11-22T10:00:00+01:00")
    refused = client.post("/v1/events", json={"events": [sell]}, key=api_keys.store)
    assert refused.status_code == 409
    problem = refused.json()
    assert "expired on 2026-11-21" in problem["detail"]
    assert problem["details"]["expiry"] == "2026-11-21"

    oversell = ev.leave("sell", "NEW", "6", at="store-1", gtin=SALAD)
    oversell["unit"] = "each"
    refused = client.post("/v1/events", json={"events": [oversell]}, key=api_keys.store)
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/insufficient-stock")

    counted = client.post(
        "/v1/stock/store-1/counts",
        json={"reason": "theft", "counts": [{"gtin": SALAD, "lot": "NEW", "quantity": "4"}]},
        key=api_keys.store,
    )
    assert counted.status_code == 201
    assert [a["variance"] for a in counted.json()["adjustments"]] == ["-1"]
    assert client.post(
        "/v1/stock/store-1/counts",
        json={"counts": [{"gtin": SALAD, "lot": "NEW", "quantity": "4"}]},
        key=api_keys.farm,
    ).status_code == 404  # fmt: skip


def test_order_lifecycle_and_roles_over_http(
    world: Ledger,
    client: ApiClient,  # noqa: F811
    api_keys: Keys,  # noqa: F811
) -> None:
    create_product(world.engine, SALAD, org_id="fresh", description="Salad", unit="each")
    set_terms(
        world.engine,
        "retail",
        SALAD,
        unit_cost="2",
        case_pack="12",
        supplier_location="fresh-plant",
    )
    world.append([salad("B", "30", "2027-01-20"), salad("A", "30", "2027-01-10")], actor="fresh")
    policy = client.request(
        "PUT", "/v1/orders/policy", json={"approval_limit": "50"}, key=api_keys.manager
    )
    assert policy.json() == {"org_id": "retail", "approval_limit": "50"}
    assert client.request("PUT",
        "/v1/orders/policy", json={"approval_limit": "1"}, key=api_keys.store
    ).status_code == 403  # fmt: skip

    body = {
        "buyer_location": "store-1",
        "supplier_location": "fresh-plant",
        "order_id": "PO-9",
        "lines": [{"gtin": SALAD, "quantity": "40", "unit": "each"}],
    }
    assert client.post("/v1/orders", json=body, key=api_keys.fresh).status_code == 403
    placed = client.post("/v1/orders", json=body, key=api_keys.store)
    assert placed.status_code == 201
    assert (placed.json()["status"], placed.json()["value"]) == ("awaiting_approval", "80")
    # Only a manager approves.
    assert client.post("/v1/orders/PO-9/approve", json={}, key=api_keys.store).status_code == 403
    approved = client.post("/v1/orders/PO-9/approve", json={"note": "ok"}, key=api_keys.manager)
    assert approved.json()["status"] == "approved"
    confirmed = client.post(
        "/v1/orders/PO-9/confirm", json={"promised_date": "2026-11-26"}, key=api_keys.fresh
    )
    assert confirmed.json()["promised_date"] == "2026-11-26"
    shipped = client.post("/v1/orders/PO-9/ship", json={}, key=api_keys.fresh)
    assert shipped.status_code == 200
    assert [(p["lot"], p["quantity"]) for p in shipped.json()["picks"]] == [
        ("A", "30"),
        ("B", "10"),
    ]
    received = client.post(
        "/v1/orders/PO-9/receive",
        json={"receipts": [{"gtin": SALAD, "lot": "A", "quantity": "30", "damaged": "3"}]},
        key=api_keys.store,
    )
    line = received.json()["lines"][0]
    assert (line["received"], line["damaged"], line["short"]) == ("27", "3", "10")

    # The buyer and the supplier see the order; the farm does not.
    assert [o["order_id"] for o in client.get("/v1/orders", key=api_keys.fresh).json()] == ["PO-9"]
    assert [o["order_id"] for o in client.get("/v1/orders", key=api_keys.store).json()] == ["PO-9"]
    assert client.get("/v1/orders", key=api_keys.farm).json() == []
    assert client.get("/v1/orders/PO-9", key=api_keys.farm).status_code == 404
    page = client.get("/v1/orders/PO-9", key=api_keys.regulator).json()
    assert [(x["direction"], x["lot"]) for x in page["lots"]] == [
        ("ship", "A"),
        ("ship", "B"),
        ("receive", "A"),
    ]
    assert client.get(f"/v1/orders/by-lot/{SALAD}/B", key=api_keys.store).json() == ["PO-9"]

    transit = client.get("/v1/stock/store-1/in-transit", key=api_keys.store).json()
    assert [(t["lot"], t["in_transit"], t["order_id"]) for t in transit] == [("B", "10", "PO-9")]
    closed = client.post("/v1/orders/PO-9/close", json={}, key=api_keys.store).json()
    assert closed["status"] == "closed"
    assert client.get("/v1/stock/store-1/in-transit", key=api_keys.store).json() == []

    cards = client.get("/v1/reports/suppliers", key=api_keys.manager).json()
    assert [(c["supplier_location"], c["fill_rate"]) for c in cards] == [
        ("fresh-plant", round(27 / 40, 4))
    ]
    assert client.get("/v1/reports/suppliers", key=api_keys.farm).json() == []


def test_replenishment_over_http(
    world: Ledger,
    client: ApiClient,  # noqa: F811
    api_keys: Keys,  # noqa: F811
) -> None:
    create_product(world.engine, SALAD, org_id="fresh", description="Salad", unit="each")
    set_terms(
        world.engine, "retail", SALAD, unit_cost="2", case_pack="12", min_order="24",
        supplier_location="fresh-plant",
    )  # fmt: skip
    got = client.get("/v1/replenishment/store-1?all=true", key=api_keys.store)
    assert got.status_code == 200
    assert got.json() == []  # nothing sold, nothing held: nothing to suggest
    assert client.get("/v1/replenishment/store-1", key=api_keys.farm).status_code == 403
    terms = client.get(f"/v1/replenishment/terms/{SALAD}", key=api_keys.store).json()
    assert (terms["case_pack"], terms["min_order"]) == ("12", "24")
    assert client.request("PUT",
        f"/v1/replenishment/terms/{SALAD}", json={"case_pack": "6"}, key=api_keys.store
    ).status_code == 403  # fmt: skip
    # A product ordered from two suppliers, each with its own lead time.
    url = f"/v1/replenishment/terms/{SALAD}/suppliers"
    two = {"suppliers": [{"supplier_location": "retail-dc", "lead_time_days": 1},
                         {"supplier_location": "fresh-plant", "lead_time_days": 3}]}  # fmt: skip
    assert client.request("PUT", url, json=two, key=api_keys.store).status_code == 403
    bad = {"suppliers": [*two["suppliers"], {"supplier_location": "mars", "lead_time_days": 1}]}
    refused = client.request("PUT", url, json=bad, key=api_keys.manager)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "suppliers.2.supplier_location"
    assert client.get(url, key=api_keys.store).json()["suppliers"] == []  # nothing written
    put = client.request("PUT", url, json=two, key=api_keys.manager)
    assert put.status_code == 200
    assert client.get(url, key=api_keys.store).json() == {"gtin": SALAD, **two}
    # Each operation is documented, with its roles and problem responses.
    routes = [r for m in (stock, orders, replenishment, reports) for r in m.router.routes]
    schema = get_openapi(title="t", version="1", routes=routes)
    ship = schema["paths"]["/v1/orders/{order_id}/ship"]["post"]
    assert "Roles: supplier, warehouse, manager" in " ".join(ship["description"].split())
    assert {"401", "403", "404", "409", "422"} <= set(ship["responses"])
    assert len(schema["paths"]) == 23


def test_stock_document_is_the_documented_model(
    world: Ledger,
    client: ApiClient,  # noqa: F811
    api_keys: Keys,  # noqa: F811
) -> None:
    # The stock answer is encoded straight from the ledger's tuples: their fields, less the
    # location, must be StockItemOut's, in order, with the same types and documentation (the
    # model derived from the tuple's annotations documents exactly what StockItemOut does),
    # and the body must validate as StockOut.
    assert StockItem._fields[1:] == tuple(stock.StockItemOut.model_fields)
    hints = get_type_hints(StockItem, include_extras=True)
    derived = create_model(
        "StockItemOut", **{name: (hints[name], ...) for name in StockItem._fields[1:]}
    )
    assert derived.model_json_schema() == stock.StockItemOut.model_json_schema()
    today = datetime.now(UTC).date()

    def day(n: int) -> str:
        return (today + timedelta(days=n)).isoformat()

    world.append(
        [
            salad("A", "2.5", day(8), at="store-1"),
            salad("B", "3", day(2), at="store-1"),
            salad("C", "1", day(0), at="store-1"),  # expires today: off the shelf yesterday
        ],
        actor="retail",
    )
    got = client.get("/v1/stock/store-1", key=api_keys.store)
    assert got.headers["content-type"] == "application/json"
    body = stock.StockOut.model_validate_json(got.content)
    assert [(i.lot, i.on_hand, i.removal_date, i.pickable) for i in body.items] == [
        ("C", "1", day(-1), False),
        ("B", "3", day(1), True),
        ("A", "2.5", day(7), True),
    ]
    assert body.location_id == "store-1"


def test_a_report_window_that_cannot_be_is_refused(
    client: ApiClient,  # noqa: F811
    api_keys: Keys,  # noqa: F811
) -> None:
    for query, field in [
        ("end=0001-01-01", "end"),  # no 28 days before it
        ("start=2026-11-10&end=2026-11-01", "start"),
        ("start=2026-11-01&end=2026-11-01", "start"),
    ]:
        r = client.get(f"/v1/reports/abc?{query}", key=api_keys.manager)
        assert r.status_code == 422, (query, r.text)
        assert r.json()["errors"][0]["field"] == field, query
    ok = client.get("/v1/reports/abc?start=2026-11-01&end=2026-11-02", key=api_keys.manager)
    assert (ok.status_code, ok.json()) == (200, [])
