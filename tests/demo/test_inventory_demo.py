"""The demo's weeks of sales and orders: suggestions and reports are meaningful out of the
box, and the history replays to the same tables."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from ledger import Ledger
from ledger.demo import data as demo_data
from ledger.demo.inventory import RANGE, STORES, load_inventory_demo
from ledger.inventory import reports
from ledger.inventory.replenishment import suggest
from ledger.masterdata import registry as masterdata

TODAY = datetime(2026, 11, 24, 9, tzinfo=UTC)


def test_demo_history_gives_suggestions_and_reports(
    ledger: Ledger, table_dump: Callable[[str], list[tuple[Any, ...]]]
) -> None:
    for org, name in demo_data.ORGANISATIONS:
        masterdata.create_organisation(ledger.engine, org, name)
    for loc, org, name, kind, gln in demo_data.LOCATIONS:
        masterdata.create_location(ledger.engine, loc, org_id=org, name=name, kind=kind, gln=gln)
    load_inventory_demo(ledger, weeks=4, today=TODAY)
    waiting = suggest(ledger.engine, [STORES[-1]], viewer="cornergrocer", today=TODAY.date())
    assert len(waiting) >= 4  # the third store ordered nothing last week
    cases = {p.gtin: p.case for p in RANGE}
    assert all(int(s.quantity) % cases[s.gtin] == 0 for s in waiting)
    window = {"start": date(2026, 10, 1), "end": TODAY.date()}
    abc = reports.abc_classes(ledger.engine, viewer="cornergrocer", **window)
    assert {a.abc_class for a in abc} == {"A", "B", "C"}
    cards = reports.supplier_scorecards(ledger.engine, viewer="cornergrocer")
    assert [c["supplier_location"] for c in cards] == ["cg-dc", "fc-plant"]
    assert all(c["received_orders"] > 0 for c in cards)
    assert reports.shrinkage(ledger.engine, viewer="cornergrocer", **window)
    tables = ("stock", "lot_states", "inventory_daily", "orders", "order_lines", "order_lots")
    kept = {t: table_dump(t) for t in tables}
    ledger.replay()
    assert {t: table_dump(t) for t in tables} == kept
