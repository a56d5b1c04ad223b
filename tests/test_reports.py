"""Reports by values: inventory value and days of supply, ABC classes, shrinkage and waste,
supplier scorecards."""

from __future__ import annotations

from datetime import date
from typing import Any

from ledger import orders, reports
from ledger.log import Ledger
from ledger.masterdata import create_product
from ledger.terms import set_terms
from tests.conftest import LETTUCE, SALAD, TOMATO, Events
from tests.test_orders import DAY1, DAY2, DAY3, place, shop  # noqa: F401 - the fixture


def _at(day: str) -> dict[str, Any]:
    return {"event_time": f"{day}T12:00:00+01:00"}


def test_value_abc_and_shrinkage(world: Ledger, ev: Events) -> None:
    for gtin, cost, price in ((LETTUCE, "1", "2"), (TOMATO, "2", "3"), (SALAD, "1", "1")):
        create_product(world.engine, gtin, org_id="retail", description=gtin, unit="kg")
        set_terms(world.engine, gtin, unit_cost=cost, unit_price=price)
    dc = "retail-dc"
    world.append(
        [
            ev.register("LET", "100", location=dc, expiry="2027-01-01"),
            ev.register("TOM", "100", location=dc, gtin=TOMATO, expiry="2027-01-01"),
            ev.register("SAL", "100", location=dc, gtin=SALAD, expiry="2027-01-01"),
            ev.leave("sell", "LET", "56", at=dc, **_at("2026-11-10")),  # value 112
            ev.leave("sell", "TOM", "10", at=dc, gtin=TOMATO, **_at("2026-11-12")),  # 30
            ev.leave("sell", "SAL", "8", at=dc, gtin=SALAD, **_at("2026-11-12")),  # 8
            ev.leave("dispose", "SAL", "5", at=dc, gtin=SALAD, reason="spoilage"),
            {**ev.leave("dispose", "TOM", "2", at=dc, gtin=TOMATO), "reason": "damage"},
            {
                **ev._base("adjust", dc, lot={"gtin": LETTUCE, "lot": "LET"}),
                "variance": "-4",
                "unit": "kg",
                "reason": "theft",
            },
        ],
        actor="retail",
    )
    value = {
        v.gtin: v
        for v in reports.inventory_value(world.engine, viewer="retail", today=date(2026, 11, 20))
    }
    assert (value[LETTUCE].on_hand, value[LETTUCE].value) == ("40", "40")
    assert (value[TOMATO].on_hand, value[TOMATO].value) == ("88", "176")
    assert value[LETTUCE].daily_sales == "2"  # 56 over 28 days
    assert value[LETTUCE].days_of_supply == 20.0
    assert reports.inventory_value(world.engine, viewer="farm") == []

    abc = reports.abc_classes(
        world.engine, viewer="retail", start=date(2026, 11, 1), end=date(2026, 11, 20)
    )
    assert [(a.gtin, a.sales_value, a.abc_class) for a in abc] == [
        (LETTUCE, "112", "A"),
        (TOMATO, "30", "B"),
        (SALAD, "8", "C"),
    ]
    shrink = reports.shrinkage(
        world.engine, viewer="retail", start=date(2026, 11, 1), end=date(2026, 11, 30)
    )
    assert [(s.reason, s.gtin, s.quantity, s.value) for s in shrink] == [
        ("spoilage", SALAD, "5", "5"),
        ("theft", LETTUCE, "4", "4"),
        ("damage", TOMATO, "2", "4"),
    ]


def test_supplier_scorecard(shop: Ledger) -> None:  # noqa: F811 - the fixture
    place(shop)
    orders.approve_order(shop, "PO-1", actor="retail", when=DAY1)
    orders.confirm_order(shop, "PO-1", actor="fresh", promised_date=date(2026, 11, 22), when=DAY1)
    orders.ship_order(shop, "PO-1", actor="fresh", when=DAY2)
    orders.receive_order(
        shop,
        "PO-1",
        actor="retail",
        receipts=[
            {"gtin": SALAD, "lot": "EARLY", "quantity": "20", "damaged": "2"},
            {"gtin": SALAD, "lot": "MID", "quantity": "15"},
            {"gtin": SALAD, "lot": "LATE", "quantity": "13", "out_of_temperature": "1"},
        ],
        when=DAY3,
    )
    (card,) = reports.supplier_scorecards(shop.engine, viewer="retail")
    assert card["supplier_location"] == "fresh-plant"
    assert (card["orders"], card["received_orders"]) == (1, 1)
    assert card["on_time"] == 0.0  # received on the 23rd, promised for the 22nd
    assert card["in_full"] == 0.0
    assert card["fill_rate"] == round(45 / 48, 4)
    assert (card["promised_lead_time_days"], card["actual_lead_time_days"]) == (2, 3)
    assert card["discrepancies"] == {
        "short": "0",
        "over": "0",
        "damaged": "2",
        "out_of_temperature": "1",
    }
    assert card["holds"] == {"quality": 1}  # the fixture's held lot
    assert reports.supplier_scorecards(shop.engine, viewer="farm") == []
    assert [
        c["supplier_org"] for c in reports.supplier_scorecards(shop.engine, viewer="fresh")
    ] == ["fresh"]
