"""The demo is dated from today and ends today, whatever the hour: its salad bowls are on
the shelves before their expiry, nothing is in the future, and two loads on the same day
write the same lots and events apart from the times."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ledger import Ledger, location_stock
from ledger.demo.data import LETTUCE, SALAD, STORES, load_demo
from ledger.demo.inventory import DemoClock
from ledger.masterdata.directory import get_product
from ledger.trace.lots import get_lot
from tests.conftest import fresh_database, make_settings

ROOT = Path(__file__).resolve().parents[2]
DAY = date(2026, 12, 3)
EARLY = datetime(2026, 12, 3, 0, 0, 30, tzinfo=UTC)
LATE = datetime(2026, 12, 3, 23, 50, tzinfo=UTC)
_TIMES = ("event_time", "time", "promised_date")


def _timeless(value: Any) -> Any:
    """An event without its clock times (and ids the service made from them)."""
    if isinstance(value, dict):
        return tuple(
            sorted(
                (k, _timeless(v))
                for k, v in value.items()
                if k not in (*_TIMES, "event_id", "shipment_id")
            )
        )
    if isinstance(value, list):
        return tuple(_timeless(v) for v in value)
    return value


def _events(ledger: Ledger) -> list[dict[str, Any]]:
    return [e.envelope()["event"] for e in ledger.iter_entries()]


def test_the_demo_ends_today_with_fresh_salad_on_the_shelves(
    ledger: Ledger, tmp_path: Path
) -> None:
    result = load_demo(ledger, today=EARLY)
    assert result.today == DAY.isoformat()
    assert result.lots["salad"] == ["S2308A", "S2309A", "S2310A", "S2311A"]
    assert result.lots["lettuce"][-1] == "L2311A"  # the README's example lot
    assert result.excursion_lot == "S2310A"
    events = _events(ledger)
    assert len(events) == result.events == result.tree_size == ledger.size()
    times = [datetime.fromisoformat(e["event_time"].replace("Z", "+00:00")) for e in events]
    assert max(times) <= EARLY  # run 30 s after midnight: today's part of the story is in
    assert max(times).date() == DAY
    assert sum(t.date() == DAY for t in times) > 10  # receipts, sales, a count: today
    assert min(times).date() == DAY - timedelta(days=41)  # six weeks of the grocery range
    # The newest bowls reached every store this morning and are days from their expiry.
    newest = get_lot(ledger.engine, SALAD, "S2311A", viewer=None, today=DAY)
    assert newest.status == "approved"
    assert newest.expiry == (DAY + timedelta(days=4)).isoformat()
    for store in STORES:
        lines = [
            s
            for s in location_stock(ledger.engine, store, viewer=None, today=DAY)
            if (s.gtin, s.lot) == (SALAD, "S2311A")
        ]
        assert len(lines) == 1
        assert lines[0].status == "approved"
        assert lines[0].pickable
        assert 800 <= int(lines[0].on_hand) < 1200  # 1200 received, today's sales gone
    # The bowls' labels carry their net weight (AI 3103); lettuce is sold by weight.
    assert get_product(ledger.engine, SALAD).net_weight_kg == "0.25"
    assert get_product(ledger.engine, LETTUCE).net_weight_kg is None
    held = get_lot(ledger.engine, SALAD, "S2310A", viewer=None, today=DAY)
    assert held.status == "on_hold"
    assert "cold-chain excursion" in held.holds[0].reason
    # The keys work, and the exports name what the README uses.
    variables = result.variables()
    assert variables["LETTUCE_LOT"] == "L2311A"
    assert variables["SALAD_LOT"] == "S2311A"
    assert variables["LOG_KEY"] == str(ledger.verifier_key)
    assert variables["STORE_KEY"].startswith("ll_")

    # The same day, late in the evening: the same lots and events, at other times.
    late_dir = tmp_path / "late"
    late_dir.mkdir()
    with fresh_database(late_dir) as url:
        late = Ledger.open(make_settings(late_dir, url))
        try:
            again = load_demo(late, today=LATE)
            late_events = _events(late)
        finally:
            late.close()
    assert again.lots == result.lots
    assert Counter(_timeless(e) for e in late_events) == Counter(_timeless(e) for e in events)
    assert max(e["event_time"] for e in late_events) <= "2026-12-03T23:50:00Z"


def test_todays_hours_are_spread_over_the_part_of_today_gone() -> None:
    clock = DemoClock(datetime(2026, 12, 3, 9, 0, tzinfo=UTC))
    assert clock.at(date(2026, 12, 2), 17) == datetime(2026, 12, 2, 17, tzinfo=UTC)
    assert clock.at(DAY, 0) == datetime(2026, 12, 3, tzinfo=UTC)
    seventeen = clock.at(DAY, 17)
    assert datetime(2026, 12, 3, 6, 22, tzinfo=UTC) <= seventeen < clock.now
    assert clock.at(DAY, 5) < clock.at(DAY, 5, 1) < seventeen < clock.at(DAY, 23, 59) < clock.now
    with pytest.raises(ValueError, match="does not go past today"):
        clock.at(DAY + timedelta(days=1), 0)


@pytest.mark.parametrize("weeks", ["0", "9", "four"])
def test_the_command_refuses_a_number_of_weeks_it_cannot_write(tmp_path: Path, weeks: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", "demo", "--data-dir", str(tmp_path), "--weeks", weeks],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "weeks" in done.stderr
    assert not (tmp_path / "lotledger.db").exists()  # refused before opening anything
