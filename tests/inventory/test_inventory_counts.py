"""Stock counts state what they counted: an adjust computed against stock that has changed
since is refused (409 stale-count), so two concurrent counts of the same lot adjust once
and the stock ends at the counted quantity."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import text

from ledger import Ledger, location_stock
from ledger.errors import StaleCount
from ledger.inventory.stock import record_count
from ledger.storage.db import is_sqlite, write_transaction
from tests.api_fixtures import ApiClient, Keys, api_keys, client  # noqa: F401 - fixtures
from tests.conftest import LETTUCE, Events


def on_hand(ledger: Ledger, location: str = "farm-field-1") -> dict[str, str]:
    return {s.lot: s.on_hand for s in location_stock(ledger.engine, location, viewer=None)}


def adjust(ev: Events, lot: str, variance: str, counted: str) -> dict[str, Any]:
    event = ev._base(
        "adjust",
        "farm-field-1",
        lot={"gtin": LETTUCE, "lot": lot},
        variance=variance,
        unit="kg",
        reason="count",
    )
    event["counted"] = counted
    return event


def adjustments(ledger: Ledger) -> list[tuple[str, str]]:
    logged = [json.loads(e.leaf_bytes)["event"] for e in ledger.entries(0, ledger.size())]
    return [(e["variance"], e["counted"]) for e in logged if e["type"] == "adjust"]


def test_an_adjust_computed_against_changed_stock_is_refused(world: Ledger, ev: Events) -> None:
    world.append([ev.register("L1", "100")], actor="farm")
    first = adjust(ev, "L1", "-3", "97")
    second = adjust(ev, "L1", "-3", "97")  # a second counter who also saw 100
    world.append([first], actor="farm")
    with pytest.raises(StaleCount) as caught:
        world.append([second], actor="farm")
    assert caught.value.field == "variance"
    assert caught.value.details == {"on_hand": "97", "counted": "97"}
    assert "computed against 100 on hand; 97 is on hand now" in caught.value.message
    assert on_hand(world) == {"L1": "97"}
    assert world.size() == 2
    # Stated against the stock as it is now, it applies; a count of zero is allowed.
    world.append([adjust(ev, "L1", "-97", "0")], actor="farm")
    assert on_hand(world) == {}
    world.replay()
    assert on_hand(world) == {}


@contextmanager
def _log_locked(ledger: Ledger) -> Iterator[None]:
    """Hold the log head's write lock, as a long append would."""
    with write_transaction(ledger.engine) as conn:
        if not is_sqlite(conn):
            conn.execute(text("SELECT tree_size FROM log_head WHERE id = 1 FOR UPDATE"))
        yield


def _wait_until_blocked(ledger: Ledger, writers: int) -> None:
    """Until ``writers`` sessions wait on the head lock (PostgreSQL); SQLite cannot say, so
    give the counting threads a moment to read the stock and reach the append."""
    if is_sqlite(ledger.engine):
        time.sleep(1.0)
        return
    query = text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
    for _ in range(300):
        with ledger.engine.connect() as conn:
            if conn.execute(query).scalar_one() >= writers:
                return
        time.sleep(0.1)


def test_two_concurrent_counts_adjust_once(world: Ledger, ev: Events) -> None:
    world.append([ev.register("L1", "100")], actor="farm")
    results: list[Any] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def count() -> None:
        start.wait()
        try:
            results.append(record_count(world, "farm-field-1", [(LETTUCE, "L1", "150")],
                                        actor="farm", reason="found"))  # fmt: skip
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)

    threads = [threading.Thread(target=count) for _ in range(2)]
    # Both counts read 100 on hand while the log is locked, then both try to append +50.
    with _log_locked(world):
        for t in threads:
            t.start()
        _wait_until_blocked(world, 2)
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert on_hand(world) == {"L1": "150"}
    assert adjustments(world) == [("50", "150")]
    # One count appended the adjustment; the other found the stock already at 150.
    assert sorted(len(events) for events, _ in results) == [0, 1]
    world.replay()
    assert on_hand(world) == {"L1": "150"}


def test_a_stale_count_over_http_is_a_409_problem(
    world: Ledger,
    client: ApiClient,  # noqa: F811
    api_keys: Keys,  # noqa: F811
    ev: Events,
) -> None:
    world.append([ev.register("L1", "100")], actor="farm")
    world.append([adjust(ev, "L1", "-3", "97")], actor="farm")
    refused = client.post(
        "/v1/events", json={"events": [adjust(ev, "L1", "-3", "97")]}, key=api_keys.farm
    )
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["type"].endswith("/stale-count")
    assert problem["details"] == {"on_hand": "97", "counted": "97"}
    assert problem["errors"][0]["field"] == "variance"
    counted = client.post(
        "/v1/stock/farm-field-1/counts",
        json={"counts": [{"gtin": LETTUCE, "lot": "L1", "quantity": "90"}]},
        key=api_keys.farm,
    )
    assert counted.status_code == 201
    assert [(a["variance"], a["counted"]) for a in counted.json()["adjustments"]] == [("-7", "90")]
    assert on_hand(world) == {"L1": "90"}
