"""Stored running totals never pass MAX_TOTAL: the event that would is refused (409
total-over-limit), the batch is atomic, and the reports still answer afterwards."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from api.app import create_app
from ledger import Ledger, create_product
from ledger.errors import TotalOverLimit
from ledger.inventory import orders
from ledger.inventory.reports import inventory_value
from ledger.quantity import MAX_QUANTITY, MAX_TOTAL
from tests.api_fixtures import ApiClient, make_keys
from tests.conftest import LETTUCE, Events

STEPS = MAX_TOTAL // MAX_QUANTITY  # 1000 adjusts of a billion each reach the limit


def found(ev: Events, variance: str, lot: str = "BIG") -> dict[str, Any]:
    return ev._base(
        "adjust",
        "farm-field-1",
        lot={"gtin": LETTUCE, "lot": lot},
        variance=variance,
        unit="kg",
        reason="found",
    )


def test_stock_past_the_limit_is_refused_and_reports_still_answer(
    world: Ledger, ev: Events
) -> None:
    big = str(MAX_QUANTITY)
    world.append(
        [ev.register("BIG", big), *(found(ev, big) for _ in range(STEPS - 1))], actor="farm"
    )
    lines = inventory_value(world.engine, viewer="farm")
    assert [(v.gtin, v.on_hand) for v in lines] == [(LETTUCE, str(MAX_TOTAL))]
    size = world.size()
    with pytest.raises(TotalOverLimit) as refused:
        world.append([found(ev, "0.000001")], actor="farm")
    assert refused.value.details["limit"] == str(MAX_TOTAL)
    assert refused.value.details["lot"] == "BIG"
    assert "stock on hand of lot" in str(refused.value)
    assert world.size() == size  # nothing appended
    lines = inventory_value(world.engine, viewer="farm")
    assert [(v.gtin, v.on_hand) for v in lines] == [(LETTUCE, str(MAX_TOTAL))]


def test_an_order_lines_shipped_total_past_the_limit_is_refused_over_http(
    world: Ledger, ev: Events
) -> None:
    """Lot A ships the limit against one order line (its own flow totals stay at the limit);
    one more unit of lot B on the same line is refused with the problem, nothing appended."""
    big = str(MAX_QUANTITY)
    create_product(world.engine, LETTUCE, org_id="farm", description="Romaine", unit="kg")
    world.append(
        [ev.register("A", big), *(found(ev, big, "A") for _ in range(STEPS - 1))],
        actor="farm",
    )
    world.append([ev.register("B", "1")], actor="farm")
    orders.place_order(
        world,
        actor="retail",
        buyer_location="retail-dc",
        supplier_location="farm-field-1",
        lines=[{"gtin": LETTUCE, "quantity": "10", "unit": "kg"}],
        order_id="PO-BIG",
    )
    orders.approve_order(world, "PO-BIG", actor="retail")  # no catalogue price: approved by hand
    po = {"type": "po", "number": "PO-BIG"}
    ship = [ev.ship("A", big, frm="farm-field-1", to="retail-dc", reference=po)] * STEPS
    world.append([dict(e, event_id=str(uuid.uuid4())) for e in ship], actor="farm")
    keys = make_keys(world)
    api = ApiClient(create_app(world))
    try:
        size = world.size()
        one = ev.ship("B", "0.000001", frm="farm-field-1", to="retail-dc", reference=po)
        r = api.post("/v1/events", key=keys.farm, json={"events": [one]})
        assert r.status_code == 409, r.text
        assert r.headers["content-type"] == "application/problem+json"
        problem = r.json()
        assert problem["type"] == "https://lotledger.dev/problems/total-over-limit"
        assert "the shipped total of order PO-BIG's line" in problem["detail"]
        assert "lot 09506000134352/B" in problem["detail"]
        assert f"{MAX_TOTAL:,} units" in problem["detail"]
        assert world.size() == size  # nothing appended
        order = api.get("/v1/orders/PO-BIG", key=keys.dc)
        assert order.status_code == 200, order.text
        assert [line["shipped"] for line in order.json()["lines"]] == [str(MAX_TOTAL)]
        for key in (keys.manager, keys.regulator):
            r = api.get("/v1/reports/inventory-value", key=key)
            assert r.status_code == 200, r.text
    finally:
        api.close()
