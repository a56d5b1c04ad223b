"""Reports by values: inventory value and days of supply, ABC classes, shrinkage and waste,
supplier scorecards."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from api.app import create_app
from api.cli import main
from ledger import Ledger, Settings, create_product, set_terms
from ledger.inventory import orders, reports
from tests.api_fixtures import ApiClient, make_keys
from tests.conftest import LETTUCE, SALAD, TOMATO, Events
from tests.inventory.test_orders import DAY1, DAY2, DAY3, place, shop  # noqa: F401 - the fixture


def _at(day: str) -> dict[str, Any]:
    return {"event_time": f"{day}T12:00:00+01:00"}


def test_value_abc_and_shrinkage(world: Ledger, ev: Events) -> None:
    for gtin, cost, price in ((LETTUCE, "1", "2"), (TOMATO, "2", "3"), (SALAD, "1", "1")):
        create_product(world.engine, gtin, org_id="retail", description=gtin, unit="kg")
        set_terms(world.engine, "retail", gtin, unit_cost=cost, unit_price=price)
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


def test_inventory_value_splits_sellable_held_and_expired(
    world: Ledger, ev: Events, capsys: pytest.CaptureFixture[str], settings: Settings
) -> None:
    create_product(world.engine, LETTUCE, org_id="retail", description="Romaine", unit="kg")
    create_product(world.engine, TOMATO, org_id="retail", description="Vine tomatoes", unit="kg")
    for gtin in (LETTUCE, TOMATO):
        set_terms(world.engine, "retail", gtin, unit_cost="2")
    dc = "retail-dc"
    salad = ev.register("SAL", "7", location=dc, gtin=SALAD, expiry="2099-01-01")
    salad["product"] = "House salad"  # no product master data: the lots' own description
    world.append(
        [
            ev.register("FRESH", "30", location=dc, expiry="2099-01-01"),
            ev.register("OLD", "10", location=dc, expiry="2026-11-25"),
            ev.register("HELD", "20", location=dc, expiry="2099-01-01"),
            ev.register("TOMX", "5", location=dc, gtin=TOMATO, expiry="2026-11-25"),
            salad,
            ev.hold("HELD", at=dc),
            ev.hold("TOMX", at=dc, gtin=TOMATO),  # held and expired: expired
            ev.leave("sell", "FRESH", "14", at=dc, **_at("2026-11-20")),
        ],
        actor="retail",
    )
    found = {
        v.gtin: v
        for v in reports.inventory_value(world.engine, viewer="retail", today=date(2026, 12, 1))
    }
    lettuce, tomato = found[LETTUCE], found[TOMATO]
    assert (lettuce.product, lettuce.unit) == ("Romaine", "kg")
    assert (lettuce.on_hand, lettuce.value) == ("46", "92")
    assert (lettuce.sellable, lettuce.sellable_value) == ("16", "32")
    assert (lettuce.held, lettuce.held_value) == ("20", "40")
    assert (lettuce.expired, lettuce.expired_value) == ("10", "20")
    assert lettuce.daily_sales == "0.5"  # 14 over 28 days
    assert lettuce.days_of_supply == 32.0  # of the 16 sellable, not of all 46
    assert (tomato.product, tomato.sellable, tomato.held, tomato.expired) == (
        "Vine tomatoes", "0", "0", "5"
    )  # fmt: skip
    assert tomato.days_of_supply is None
    assert (found[SALAD].product, found[SALAD].sellable) == ("House salad", "7")
    # The day of its expiry a lot is still sellable, as a sale of it is.
    on_the_day = reports.inventory_value(world.engine, viewer="retail", today=date(2026, 11, 25))
    assert {v.gtin: v.expired for v in on_the_day} == {LETTUCE: "0", TOMATO: "0", SALAD: "0"}

    # Every report names the products it lists.
    abc = reports.abc_classes(
        world.engine, viewer="retail", start=date(2026, 11, 1), end=date(2026, 12, 1)
    )
    assert [(a.gtin, a.product) for a in abc] == [(LETTUCE, "Romaine")]
    world.append(
        [ev.leave("dispose", "SAL", "1", at=dc, gtin=SALAD, reason="spoilage")], actor="retail"
    )
    shrink = reports.shrinkage(
        world.engine, viewer="retail", start=date(2026, 11, 1), end=date(2099, 1, 1)
    )
    assert [(x.gtin, x.product, x.quantity) for x in shrink] == [(SALAD, "House salad", "1")]

    # Over HTTP (today is after 2026-11-25) and from the shell, the same split and names.
    keys = make_keys(world)
    api = ApiClient(create_app(world))
    try:
        r = api.get("/v1/reports/inventory-value", key=keys.manager)
        assert r.status_code == 200, r.text
        lines = {line["gtin"]: line for line in r.json()}
    finally:
        api.close()
    assert {k: lines[LETTUCE][k] for k in ("product", "sellable", "held", "expired")} == {
        "product": "Romaine", "sellable": "16", "held": "20", "expired": "10"
    }  # fmt: skip
    assert (lines[LETTUCE]["held_value"], lines[LETTUCE]["expired_value"]) == ("40", "20")
    code = main(["stock", "report", "value", "--org", "retail", "--json", "--data-dir",
                 str(settings.data_dir), "--database-url", settings.database_url])  # fmt: skip
    assert code == 0
    shown = {line["gtin"]: line for line in json.loads(capsys.readouterr().out)}
    assert shown[TOMATO]["product"] == "Vine tomatoes"
    assert (shown[TOMATO]["expired"], shown[TOMATO]["expired_value"]) == ("5", "10")
    assert (shown[SALAD]["product"], shown[SALAD]["sellable"]) == ("House salad", "6")
