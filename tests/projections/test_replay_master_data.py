"""Replay depends on the log alone: changing master data (a product's shelf life, its unit
cost, a buyer's approval limit) after events were appended changes nothing a replay
rebuilds, because the ledger wrote those decisions into the events when it appended them."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import update

from ledger import EventValidationError, Ledger, create_product, location_stock, set_terms
from ledger.inventory import orders
from ledger.masterdata.terms import set_approval_limit
from ledger.storage.db import write_transaction
from ledger.storage.schema import READ_MODEL_TABLES, Product
from tests.conftest import LETTUCE, SALAD, Events

Dump = Callable[[str], list[tuple[Any, ...]]]
DAY1 = datetime.fromisoformat("2026-11-20T08:00:00+01:00")


def _set_shelf_life(ledger: Ledger, gtin: str, days: int) -> None:
    """What an administrator's edit of the product does to the products table."""
    with write_transaction(ledger.engine) as conn:
        conn.execute(update(Product).where(Product.gtin == gtin).values(shelf_life_days=days))


def _logged_events(ledger: Ledger) -> list[dict[str, Any]]:
    return [json.loads(e.leaf_bytes)["event"] for e in ledger.entries(0, ledger.size())]


def _all_tables(dump: Dump) -> dict[str, list[tuple[Any, ...]]]:
    return {t: dump(t) for t in READ_MODEL_TABLES}


@pytest.fixture
def products(world: Ledger) -> Ledger:
    create_product(
        world.engine, LETTUCE, org_id="farm", description="Romaine", unit="kg",
        shelf_life_days=10,
    )  # fmt: skip
    create_product(
        world.engine, SALAD, org_id="fresh", description="Garden salad", unit="kg",
        shelf_life_days=6,
    )  # fmt: skip
    set_terms(world.engine, "retail", SALAD, unit_cost="2.5")
    set_approval_limit(world.engine, "retail", "100")
    return world


def test_shelf_life_changed_after_append_changes_no_expiry(
    products: Ledger, ev: Events, table_dump: Dump
) -> None:
    register = ev.register("L1", "50", location="farm-field-1")  # no expiry given
    produced = ev.register("L2", "30", location="farm-field-1", production_date="2026-11-15")
    products.append([register, produced], actor="farm")
    products.append([ev.ship("L1", "50", frm="farm-field-1", to="fresh-plant")], actor="farm")
    products.append([ev.receive("L1", "50", frm="farm-field-1", at="fresh-plant")], actor="fresh")
    transform = {
        "event_id": "0b8d5a4e-8f7c-4a53-9f43-2c6f5fb0a002",
        "type": "transform",
        "event_time": ev.time,
        "location": "fresh-plant",
        "inputs": [{"lot": {"gtin": LETTUCE, "lot": "L1"}, "quantity": "40", "unit": "kg"}],
        "outputs": [
            {
                "lot": {"gtin": SALAD, "lot": "S1"},
                "quantity": "30",
                "unit": "kg",
                "product": "Garden salad",
            }
        ],
    }
    products.append([transform], actor="fresh")

    # The ledger wrote the derived expiries into the logged events.
    logged = _logged_events(products)
    assert logged[0]["expiry"] == "2026-11-30"  # event date 2026-11-20 + 10 days
    assert logged[1]["expiry"] == "2026-11-25"  # production date 2026-11-15 + 10 days
    assert logged[4]["outputs"][0]["expiry"] == "2026-11-26"  # 2026-11-20 + 6 days

    before = _all_tables(table_dump)
    _set_shelf_life(products, LETTUCE, 3)
    _set_shelf_life(products, SALAD, 30)
    products.replay()
    assert _all_tables(table_dump) == before
    stock = {(s.lot, s.expiry) for s in location_stock(products.engine, "fresh-plant", viewer=None)}
    assert stock == {("L1", "2026-11-30"), ("S1", "2026-11-26")}
    # A later lot takes the new shelf life; the old ones keep theirs.
    products.append([ev.register("L3", "5", location="farm-field-1")], actor="farm")
    field = {s.lot: s.expiry for s in location_stock(products.engine, "farm-field-1", viewer=None)}
    assert field == {"L2": "2026-11-25", "L3": "2026-11-23"}


def test_resending_an_event_the_ledger_completed_is_a_duplicate(
    products: Ledger, ev: Events
) -> None:
    register = ev.register("L1", "50", location="farm-field-1")
    first = products.append([register], actor="farm")
    _set_shelf_life(products, LETTUCE, 3)  # the completion would now differ
    again = products.append([register], actor="farm")
    assert again.receipts[0].duplicate
    assert again.receipts[0].seq == first.receipts[0].seq
    assert products.size() == 1


def test_cost_and_limit_changed_after_append_change_no_order(
    products: Ledger, ev: Events, table_dump: Dump
) -> None:
    products.append(
        [ev.register("S1", "100", gtin=SALAD, location="fresh-plant", expiry="2026-12-30")],
        actor="fresh",
    )
    placed = orders.place_order(
        products,
        actor="retail",
        buyer_location="store-1",
        supplier_location="fresh-plant",
        lines=[{"gtin": SALAD, "quantity": "48", "unit": "kg"}],
        order_id="PO-1",
        when=DAY1,
    )
    assert (placed.status, placed.value, placed.approval_required) == (
        "awaiting_approval",
        "120",
        True,
    )
    logged = _logged_events(products)[-1]
    assert logged["approval_required"] is True
    assert logged["lines"][0]["unit_price"] == "2.5"
    orders.approve_order(products, "PO-1", actor="retail", when=DAY1)

    before = _all_tables(table_dump)
    # The buyer's limit rises above the order, and the product costs four times as much:
    # a replay reading master data would refuse the approval and value the order at 480.
    set_approval_limit(products.engine, "retail", "1000")
    set_terms(products.engine, "retail", SALAD, unit_cost="10")
    products.replay()
    assert _all_tables(table_dump) == before
    view = orders.get_order(products.engine, "PO-1", viewer=None)
    assert (view.status, view.value, view.approval_required) == ("approved", "120", True)
    assert [line.unit_price for line in view.lines] == ["2.5"]


def test_a_client_cannot_decide_approval(products: Ledger, ev: Events) -> None:
    order = {
        "event_id": "0b8d5a4e-8f7c-4a53-9f43-2c6f5fb0a001",
        "type": "order_placed",
        "event_time": ev.time,
        "location": "store-1",
        "order_id": "PO-9",
        "supplier_location": "fresh-plant",
        "lines": [{"gtin": SALAD, "quantity": "480", "unit": "kg"}],
        "approval_required": False,
    }
    with pytest.raises(EventValidationError) as caught:
        products.append([order], actor="retail")
    assert [(p.index, p.field) for p in caught.value.problems] == [(0, "approval_required")]
    assert products.size() == 0
    del order["approval_required"]
    products.append([order], actor="retail")
    assert orders.get_order(products.engine, "PO-9", viewer=None).status == "awaiting_approval"
