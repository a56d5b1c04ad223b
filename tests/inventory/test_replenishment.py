"""Forecasts against a naive forecast on synthetic demand; suggestions that respect case
packs, minimum orders, open orders and held or expiring stock, and explain their numbers."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, date, datetime, time, timedelta
from statistics import NormalDist
from typing import Any

import numpy as np
import pytest

from api.app import create_app
from ledger import EventValidationError, Ledger, create_product, set_terms
from ledger.inventory import orders
from ledger.inventory.forecast import forecast
from ledger.inventory.replenishment import accept, suggest
from ledger.masterdata.terms import SupplierTerms, set_suppliers, suppliers_of
from tests.api_fixtures import ApiClient, make_keys
from tests.conftest import SALAD, TOMATO

TODAY = date(2026, 11, 20)
PATTERN = np.array([8.0, 9.0, 10.0, 11.0, 16.0, 22.0, 6.0])  # Monday .. Sunday


def test_weekly_forecast_beats_naive_and_sizes_safety_from_errors() -> None:
    rng = np.random.default_rng(7)
    n, days = 300, 63
    weekday = (np.arange(days) + 3) % 7  # the series start on a Thursday
    y = np.maximum(0.0, PATTERN[weekday][None, :] + rng.normal(0, 2.0, (n, days)))
    train, test = y[:, :56], y[:, 56:]
    f = forecast(train)
    assert set(f.method) == {"weekly"}
    mae = np.abs(f.daily - test).mean()
    naive_last_week = np.abs(train[:, -7:] - test).mean()
    naive_mean = np.abs(train.mean(axis=1)[:, None] - test).mean()
    assert mae < 0.85 * naive_last_week
    assert mae < 0.5 * naive_mean
    # The error spread is near the noise (2.0), far below raw demand's spread (~5).
    assert 1.6 < f.sigma.mean() < 2.8
    assert f.sigma.mean() < 0.6 * train.std(axis=1).mean()


def test_intermittent_forecast_uses_croston_and_beats_naive() -> None:
    rng = np.random.default_rng(11)
    n, days = 300, 84
    y = np.where(rng.random((n, days)) < 0.2, rng.poisson(4, (n, days)) + 1, 0).astype(float)
    train, test = y[:, :77], y[:, 77:]
    f = forecast(train)
    assert set(f.method) == {"intermittent"}
    true_rate = 0.2 * 5
    assert abs(f.daily.mean() - true_rate) < 0.15
    mse = ((f.daily - test) ** 2).mean()
    naive = ((train[:, -7:] - test) ** 2).mean()
    assert mse < 0.6 * naive


def _event(etype: str, location: str, day: date, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "type": etype,
        "event_time": f"{day.isoformat()}T18:00:00+01:00",
        "location": location,
        **fields,
    }


@pytest.fixture
def store(world: Ledger) -> Ledger:
    """store-1 sold salads (weekly pattern) and tomatoes (now and then) for 8 weeks."""
    for gtin, desc in ((SALAD, "Garden salad"), (TOMATO, "Tomatoes")):
        create_product(world.engine, gtin, org_id="retail", description=desc, unit="each")
        set_terms(
            world.engine,
            "retail",
            gtin,
            case_pack="12",
            min_order="24",
            unit_cost="1.5",
            supplier_location="retail-dc",
            lead_time_days=2,
        )
    rng = np.random.default_rng(3)
    start = TODAY - timedelta(days=56)
    salads = [
        round(PATTERN[(start + timedelta(d)).weekday()] + rng.normal(0, 1.5)) for d in range(56)
    ]
    tomatoes = [int(rng.random() < 0.25) * 3 for _ in range(56)]
    lots = [("SAL", SALAD, sum(salads) + 5), ("TOM", TOMATO, sum(tomatoes) + 1)]
    events = [
        _event(
            "register", "store-1", start, lot={"gtin": g, "lot": code}, quantity=str(q),
            unit="each", product=code, expiry="2027-06-30",
        )
        for code, g, q in lots
    ]  # fmt: skip
    for d in range(56):
        for code, g, series in (("SAL", SALAD, salads), ("TOM", TOMATO, tomatoes)):
            if series[d] > 0:
                events.append(
                    _event("sell", "store-1", start + timedelta(d), lot={"gtin": g, "lot": code},
                           quantity=str(series[d]), unit="each")
                )  # fmt: skip
    world.append(events, actor="retail")
    return world


def by_gtin(ledger: Ledger) -> dict[str, Any]:
    return {s.gtin: s for s in suggest(ledger.engine, ["store-1"], viewer="retail", today=TODAY)}


def test_suggestions_respect_case_pack_and_minimum_and_explain(store: Ledger) -> None:
    found = by_gtin(store)
    salad, tomato = found[SALAD], found[TOMATO]
    x = salad.explain
    assert x["method"] == "weekly"
    assert x["on_hand_sellable"] == 5
    assert x["position"] == 5
    assert x["lead_time_days"] == 2
    assert x["lead_time_source"].startswith("quoted")
    # Friday, Saturday, Sunday: the order covers lead time (Fri, Sat) plus one review day.
    assert 40 < x["demand_over_lead_time_and_review"] < 56
    assert x["order_up_to"] == pytest.approx(
        x["demand_over_lead_time_and_review"] + x["safety_stock"], abs=0.01
    )
    assert x["raw_quantity"] == pytest.approx(x["order_up_to"] - x["position"], abs=0.01)
    assert salad.quantity == str(math.ceil(x["raw_quantity"] / 12) * 12)
    # The slow seller needs little, but the minimum order is 24 (two cases).
    assert tomato.explain["method"] == "intermittent"
    assert tomato.explain["raw_quantity"] < 24
    assert tomato.quantity == "24"
    assert tomato.supplier_location == "retail-dc"


def test_held_and_expiring_stock_is_not_sellable(store: Ledger) -> None:
    before = by_gtin(store)[SALAD]
    store.append(
        [
            _event("register", "store-1", TODAY, lot={"gtin": SALAD, "lot": "HELD"},
                   quantity="500", unit="each", product="salad", expiry="2027-01-31"),
            _event("hold", "store-1", TODAY, lot={"gtin": SALAD, "lot": "HELD"},
                   kind="quality", reason="lab test"),
            _event("register", "store-1", TODAY, lot={"gtin": SALAD, "lot": "OLD"},
                   quantity="300", unit="each", product="salad", expiry="2026-11-21"),
        ],
        actor="retail",
    )  # fmt: skip
    after = by_gtin(store)[SALAD]
    assert after.explain["on_hand_held"] == 500
    assert after.explain["expiring_before_delivery"] == 300  # leaves the shelf on 11-20
    assert after.quantity == before.quantity


def test_accepted_suggestions_become_orders_and_are_not_raised_twice(store: Ledger) -> None:
    first = by_gtin(store)
    placed = accept(store, "store-1", actor="retail", today=TODAY)
    (order,) = placed  # one supplier, one order with both lines
    assert order.supplier_location == "retail-dc"
    assert {(line.gtin, line.ordered) for line in order.lines} == {
        (SALAD, first[SALAD].quantity),
        (TOMATO, "24"),
    }
    assert order.value == str(1.5 * (int(first[SALAD].quantity) + 24)).removesuffix(".0")
    assert by_gtin(store) == {}  # the open order covers the need
    explained = suggest(store.engine, ["store-1"], viewer="retail", today=TODAY, only_needed=False)
    assert {s.gtin: s.explain["on_order"] for s in explained}[TOMATO] == 24
    # Once the order is cancelled, the need is back.
    orders.cancel_order(store, order.order_id, actor="retail", reason="wrong week")
    assert by_gtin(store)[SALAD].quantity == first[SALAD].quantity


def test_other_organisations_get_no_suggestions_for_the_store(store: Ledger) -> None:
    with pytest.raises(Exception, match="not yours"):
        suggest(store.engine, ["store-1"], viewer="farm", today=TODAY)


def _received_order(ledger: Ledger, gtin: str, supplier: str, placed: date, days: int) -> None:
    """An order of ``gtin`` from store-1 to ``supplier`` that arrived ``days`` after placing."""
    at = datetime.combine(placed, time(9), tzinfo=UTC)
    lot = f"F{uuid.uuid4().hex[:6].upper()}"
    ledger.append(
        [_event("register", supplier, placed, lot={"gtin": gtin, "lot": lot}, quantity="24",
                unit="each", product=lot, expiry="2027-06-30")],
        actor="fresh", now=at + timedelta(hours=10),
    )  # fmt: skip
    order = orders.place_order(
        ledger, actor="retail", buyer_location="store-1", supplier_location=supplier,
        lines=[{"gtin": gtin, "quantity": "24", "unit": "each"}], when=at + timedelta(hours=10),
    )  # fmt: skip
    orders.ship_order(ledger, order.order_id, actor="fresh", when=at + timedelta(hours=11))
    orders.receive_order(ledger, order.order_id, actor="retail", when=at + timedelta(days=days))


def test_products_from_several_suppliers_with_a_lead_time_each(store: Ledger) -> None:
    set_suppliers(store.engine, "retail", SALAD, [("retail-dc", 1), ("fresh-plant", 4)])
    salad = by_gtin(store)[SALAD]
    assert salad.supplier_location == "retail-dc"  # the preferred one
    assert salad.explain["lead_time_days"] == 1
    assert salad.explain["lead_time_source"] == "quoted (no received orders yet)"
    assert salad.explain["suppliers"] == [
        {"supplier_location": "retail-dc", "quoted_lead_time_days": 1},
        {"supplier_location": "fresh-plant", "quoted_lead_time_days": 4},
    ]
    # Tomatoes keep their terms' one supplier.
    assert by_gtin(store)[TOMATO].explain["suppliers"] == [
        {"supplier_location": "retail-dc", "quoted_lead_time_days": 2}
    ]
    # fresh-plant delivered salads in 3 days and tomatoes in 1: once it is preferred, the
    # salads' lead time is its own, not the supplier's mean over every product.
    _received_order(store, SALAD, "fresh-plant", date(2026, 11, 2), 3)
    _received_order(store, TOMATO, "fresh-plant", date(2026, 11, 9), 1)
    _received_order(store, TOMATO, "fresh-plant", date(2026, 11, 12), 1)
    set_suppliers(store.engine, "retail", SALAD, [("fresh-plant", 4), ("retail-dc", 1)])
    set_suppliers(store.engine, "retail", TOMATO, [("fresh-plant", 2)])
    found = by_gtin(store)
    assert found[SALAD].supplier_location == "fresh-plant"
    assert found[SALAD].explain["lead_time_days"] == 3
    assert found[SALAD].explain["lead_time_source"] == (
        "actual mean of 1 received orders of this product"
    )
    every = suggest(store.engine, ["store-1"], viewer="retail", today=TODAY, only_needed=False)
    (tomato,) = [s for s in every if s.gtin == TOMATO]  # well stocked now: nothing to order
    assert (tomato.quantity, tomato.explain["lead_time_days"]) == ("0", 1)
    # Accepting orders the salads from fresh-plant.
    placed = accept(store, "store-1", actor="retail", gtins=[SALAD], today=TODAY)
    assert [(o.supplier_location, [line.gtin for line in o.lines]) for o in placed] == [
        ("fresh-plant", [SALAD])
    ]


def test_suppliers_are_checked_and_replaced_whole(store: Ledger) -> None:
    set_suppliers(store.engine, "retail", SALAD, [("retail-dc", 1)])
    with pytest.raises(EventValidationError) as caught:
        set_suppliers(
            store.engine,
            "retail",
            SALAD,
            [("fresh-plant", 2), ("nowhere", 2), ("fresh-plant", 400)],
        )
    assert [p.field for p in caught.value.problems] == [
        "suppliers.2.supplier_location",
        "suppliers.2.lead_time_days",
    ]
    with pytest.raises(EventValidationError) as caught:
        set_suppliers(store.engine, "retail", SALAD, [("fresh-plant", 2), ("nowhere", 2)])
    assert [(p.field, p.message) for p in caught.value.problems] == [
        ("suppliers.1.supplier_location", "unknown location 'nowhere'")
    ]
    assert suppliers_of(store.engine, "retail", SALAD) == [
        SupplierTerms("retail-dc", 1)
    ]  # unchanged
    assert set_suppliers(store.engine, "retail", SALAD, []) == []
    assert by_gtin(store)[SALAD].supplier_location == "retail-dc"  # the terms' supplier


BULK = "09506000134352"  # a GTIN of its own: a sack sold now and then, once in bulk


def test_intermittent_lumpy_demand_is_not_over_ordered_and_names_its_supplier(
    store: Ledger,
) -> None:
    # A slow seller (10 to 20 every 8 to 11 days) whose first sale was a bulk buy of 120,
    # over a 14-day lead time: the old levels, from Croston's rate and a normal spread of
    # the lumpy daily errors, asked for hundreds.
    create_product(store.engine, BULK, org_id="farm", description="Rice, 5 kg sack", unit="each")
    set_terms(store.engine, "retail", BULK, lead_time_days=14)  # no supplier in the terms
    start = TODAY - timedelta(days=56)
    sales = [(1, 120), (9, 10), (20, 20), (28, 10), (37, 20), (45, 10), (53, 20)]
    lot = {"gtin": BULK, "lot": "RICE1"}
    store.append(
        [_event("register", "store-1", start, lot=lot, quantity=str(sum(q for _, q in sales)),
                unit="each", product="Rice", expiry="2027-06-30")]
        + [_event("sell", "store-1", start + timedelta(d), lot=lot, quantity=str(q), unit="each")
           for d, q in sales],
        actor="retail",
    )  # fmt: skip
    history = np.zeros((1, 56))
    for d, q in sales:
        history[0, d] = q
    old = forecast(history)
    cover = 14 + 1
    old_order_up_to = float(
        old.daily[0].mean() * cover + NormalDist().inv_cdf(0.95) * old.sigma[0] * math.sqrt(cover)
    )
    assert old.method[0] == "intermittent"
    assert old_order_up_to > 250  # what the old code suggested with nothing on hand

    found = by_gtin(store)
    rice = found[BULK]
    assert "Regular demand" in found[SALAD].explain["explanation"]
    x = rice.explain
    assert x["method"] == "intermittent"
    sums = np.convolve(history[0, 1:], np.ones(cover), "valid")  # since the first sale
    assert x["intermittent"]["windows"] == len(sums) == 41
    assert x["intermittent"]["max_demand_over_window"] == sums.max() == 130
    # 95% of the 15-day windows since the first sale saw at most this much: what is ordered.
    q95 = float(np.quantile(sums, 0.95, method="inverted_cdf"))
    assert x["order_up_to"] == q95
    assert 20 <= float(rice.quantity) == q95 <= 40  # covers two sales, not the one bulk buy
    assert x["position"] == 0
    assert "Intermittent demand" in x["explanation"]
    assert "95% of those windows" in x["explanation"]
    # No ordering terms name a supplier: the product's registering organisation is named
    # (at its location), but nothing is ordered from it unasked.
    assert rice.supplier_location is None
    assert rice.supplier == {
        "location": "farm-field-1",
        "location_name": "Farm Field 1",
        "org_id": "farm",
        "org_name": "Green Valley Farm",
        "source": "the product's registering organisation (no ordering terms name a supplier)",
    }
    assert BULK not in {line.gtin for o in accept(store, "store-1", actor="retail", today=TODAY)
                        for line in o.lines}  # fmt: skip

    # The terms' supplier is named by its names, and over HTTP too.
    set_terms(store.engine, "retail", BULK, lead_time_days=14, supplier_location="retail-dc")
    keys = make_keys(store)
    api = ApiClient(create_app(store))
    try:
        r = api.get("/v1/replenishment/store-1", key=keys.manager)
    finally:
        api.close()
    assert r.status_code == 200, r.text
    rice_now = next(s for s in r.json() if s["gtin"] == BULK)
    assert (rice_now["supplier_location"], rice_now["quantity"]) == ("retail-dc", rice.quantity)
    assert rice_now["supplier"] == {
        "location": "retail-dc",
        "location_name": "Retail Dc",
        "org_id": "retail",
        "org_name": "Corner Grocers",
        "source": "product terms",
    }
