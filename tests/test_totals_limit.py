"""Stored running totals never pass MAX_TOTAL: the event that would is refused (409
total-over-limit), the batch is atomic, and the reports still answer afterwards."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.errors import TotalOverLimit
from ledger.log import Ledger
from ledger.quantity import MAX_QUANTITY, MAX_TOTAL
from ledger.reports import inventory_value
from tests.conftest import LETTUCE, Events

STEPS = MAX_TOTAL // MAX_QUANTITY  # 1000 adjusts of a billion each reach the limit


def found(ev: Events, variance: str) -> dict[str, Any]:
    return ev._base(
        "adjust",
        "farm-field-1",
        lot={"gtin": LETTUCE, "lot": "BIG"},
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
