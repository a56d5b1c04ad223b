"""The manager's journey, end to end, against a real ``lotledger serve --init`` on a fresh
data directory over HTTP, nothing mocked: the operator sets up a farm and a retailer, the
farm registers a lettuce lot and ships it to two stores, one store receives it and sells
some; the retailer's manager recalls the lot, follows the progress (a store with the lot
still in transit cannot confirm), and downloads the recall as CSV, XLSX and JSON; the
same answer from ``lotledger recall`` in the shell, from another directory."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from ledger import Settings
from tests.api_fixtures import serve
from tests.conftest import LETTUCE

ROOT = Path(__file__).resolve().parents[2]
LOT = "L2311A"
PRODUCT = "Romaine lettuce, whole head"


@pytest.fixture
def served(tmp_path: Path, database_url: str) -> Iterator[tuple[str, str, list[str]]]:
    """``lotledger serve --init`` on a fresh data directory: the base URL, the admin key it
    printed, and the database options for the command line."""
    data = tmp_path / "fresh-data"
    log = tmp_path / "serve.log"
    settings = Settings(data, database_url, "journey.test/log", None, None)
    for base in serve(settings, "--init", log=log):
        found = re.search(r"admin key\s+(\S+)", log.read_text(encoding="utf-8"))
        assert found, "serve --init prints the first admin key"
        yield base, found[1], ["--data-dir", str(data), "--database-url", database_url]


class Http:
    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def call(self, method: str, url: str, key: str, **kw: Any) -> httpx.Response:
        return self.client.request(method, url, headers={"Authorization": f"Bearer {key}"}, **kw)

    def ok(self, method: str, url: str, key: str, **kw: Any) -> Any:
        r = self.call(method, url, key, **kw)
        assert r.status_code in (200, 201), f"{method} {url}: {r.status_code} {r.text}"
        return r.json()


def event(etype: str, location: str, minutes_ago: int, **fields: Any) -> dict[str, Any]:
    moment = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return {
        "event_id": str(uuid.uuid4()),
        "type": etype,
        "event_time": moment.isoformat(timespec="seconds"),
        "location": location,
        "lot": {"gtin": LETTUCE, "lot": LOT},
        "unit": "kg",
        **fields,
    }


def cell_text(value: Any) -> str:
    """A cell as text, numbers normalised: a spreadsheet's 40 (or 40.0) and a CSV's "40"
    read alike."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int | float):
        return format(Decimal(str(value)).normalize(), "f")
    return str(value)


def lot_rows(rows: list[list[str]]) -> list[list[str]]:
    return [r for r in rows if any(LOT in c for c in r)]


def numbers(rows: list[list[str]]) -> set[str]:
    out = set()
    for row in rows:
        for c in row:
            try:
                out.add(format(Decimal(c).normalize(), "f"))
            except InvalidOperation:
                continue
    return out


def test_a_manager_recalls_a_lot_that_reached_a_store(
    served: tuple[str, str, list[str]], tmp_path: Path
) -> None:
    base, admin, db = served
    with httpx.Client(base_url=base, timeout=60) as client:
        journey(Http(client), admin, db, tmp_path)


def journey(http: Http, admin: str, db: list[str], tmp_path: Path) -> None:
    for org, name in (("greenvalley", "Green Valley Farm"), ("cornergrocer", "Corner Grocer")):
        http.ok("POST", "/v1/organisations", admin, json={"id": org, "name": name})
    for loc, org, name, kind in (
        ("gv-field-3", "greenvalley", "Green Valley, field 3", "farm"),
        ("cg-store-1", "cornergrocer", "Corner Grocer, High Street", "store"),
        ("cg-store-2", "cornergrocer", "Corner Grocer, Station Road", "store"),
    ):
        body = {"id": loc, "org_id": org, "name": name, "kind": kind}
        http.ok("POST", "/v1/locations", admin, json=body)
    http.ok("POST", "/v1/products", admin, json={
        "gtin": LETTUCE, "org_id": "greenvalley", "description": PRODUCT, "unit": "kg",
        "shelf_life_days": 14,
    })  # fmt: skip
    keys = {
        (org, role): http.ok("POST", "/v1/keys", admin, json={"org_id": org, "role": role})[
            "secret"
        ]
        for org, role in (
            ("greenvalley", "supplier"),
            ("cornergrocer", "store"),
            ("cornergrocer", "manager"),
        )
    }
    farm, store = keys[("greenvalley", "supplier")], keys[("cornergrocer", "store")]
    manager = keys[("cornergrocer", "manager")]

    # The farm harvests 100 kg and ships 40 to each store; store 1 receives and sells 5.
    http.ok("POST", "/v1/events", farm, json={"events": [
        event("register", "gv-field-3", 300, quantity="100", product=PRODUCT, kind="harvest"),
        event("ship", "gv-field-3", 240, quantity="40", to_location="cg-store-1"),
        event("ship", "gv-field-3", 235, quantity="40", to_location="cg-store-2"),
    ]})  # fmt: skip
    http.ok("POST", "/v1/events", store, json={"events": [
        event("receive", "cg-store-1", 120, quantity="40", from_location="gv-field-3"),
        event("sell", "cg-store-1", 60, quantity="5"),
    ]})  # fmt: skip

    # The manager recalls the lot: every place that still has some is held.
    made = http.ok("POST", "/v1/recalls", manager, json={
        "lots": [{"gtin": LETTUCE, "lot": LOT}], "reason": "Listeria found in field 3",
        "classification": "I", "id": "R-2026-42",
    })  # fmt: skip
    assert made["holds_appended"] == 1
    places = {loc["location"]: loc for loc in made["locations"]}
    assert sorted(places) == ["cg-store-1", "cg-store-2", "gv-field-3"]
    row = {k: places["cg-store-2"][k] for k in ("at_risk", "received", "in_transit", "on_hand")}
    assert row == {"at_risk": "40", "received": "0", "in_transit": "40", "on_hand": "0"}
    item = places["cg-store-1"]["items"][0]
    assert (item["product"], item["received"], item["on_hand"], item["sold_or_used"]) == (
        PRODUCT, "40", "35", "5"
    )  # fmt: skip
    farm_row = places["gv-field-3"]["items"][0]
    assert (farm_row["produced"], farm_row["shipped"], farm_row["on_hand"]) == ("100", "80", "20")
    assert made["progress"]["at_risk"] == "95"  # 20 at the farm, 35 on a shelf, 40 on a truck
    assert made["progress"]["in_transit"] == "40"

    # The same answer from the shell, run in another directory, pointed at the data.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOTLEDGER_")}
    shell = subprocess.run(
        [sys.executable, "-m", "api.cli", "recall", f"{LETTUCE}/{LOT}", *db, "--csv"],
        cwd=elsewhere, env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
        check=False, timeout=120,
    )  # fmt: skip
    assert shell.returncode == 0, shell.stderr
    table = {r["location"]: r for r in csv.DictReader(io.StringIO(shell.stdout))}
    assert (table["cg-store-2"]["in_transit"], table["cg-store-2"]["product"]) == ("40", PRODUCT)
    assert (table["cg-store-1"]["on_hand"], table["gv-field-3"]["shipped"]) == ("35", "80")
    assert list(elsewhere.iterdir()) == []

    # Store 2 cannot confirm while the lettuce is on its way; it receives it, then confirms.
    early = http.call(
        "POST", "/v1/recalls/R-2026-42/confirmations", store, json={"location": "cg-store-2"}
    )
    assert early.status_code == 409, early.text
    assert early.headers["content-type"].startswith("application/problem+json")
    assert "40 kg" in early.json()["detail"]
    assert "in transit" in early.json()["detail"]
    http.ok("POST", "/v1/events", store, json={"events": [
        event("receive", "cg-store-2", 10, quantity="40", from_location="gv-field-3"),
    ]})  # fmt: skip
    for location in ("cg-store-2", "cg-store-1"):
        body = {"location": location}
        http.ok("POST", "/v1/recalls/R-2026-42/confirmations", store, json=body)
    state = http.ok("GET", "/v1/recalls/R-2026-42", manager)
    assert state["progress"]["recovered"] == "75"  # 35 + 40 disposed of at the stores
    assert state["progress"]["outstanding"] == ["gv-field-3"]
    assert state["progress"]["complete"] is False
    stores = {loc["location"]: loc for loc in state["locations"]}
    assert [stores[s]["complete"] for s in ("cg-store-1", "cg-store-2")] == [True, True]
    closing = http.call("POST", "/v1/recalls/R-2026-42/close", manager)
    assert closing.status_code == 409
    assert "gv-field-3" in closing.json()["detail"]

    # Downloads: CSV, XLSX and JSON, each with the lot's events and their quantities.
    got = http.call("GET", "/v1/recalls/R-2026-42/export.csv", manager)
    assert got.status_code == 200, got.text
    assert got.headers["content-type"].startswith("text/csv")
    csv_rows = lot_rows(list(csv.reader(io.StringIO(got.content.decode("utf-8-sig")))))
    # harvest, two shipments, two receipts at least (sales and disposals as the writer sees fit)
    assert len(csv_rows) >= 5
    assert {"100", "40"} <= numbers(csv_rows)
    assert any(LETTUCE in c for r in csv_rows for c in r)
    assert any("cg-store-2" in c or "Station Road" in c for r in csv_rows for c in r)

    got = http.call("GET", "/v1/recalls/R-2026-42/export.xlsx", manager)
    assert got.status_code == 200, got.text
    book = load_workbook(io.BytesIO(got.content))
    xlsx_rows = lot_rows(
        [
            [cell_text(c) for c in row]
            for ws in book.worksheets
            for row in ws.iter_rows(values_only=True)
        ]
    )
    assert len(xlsx_rows) >= len(csv_rows)  # the same events (a summary sheet may add more)
    assert {"100", "40"} <= numbers(xlsx_rows)

    doc = http.ok("GET", "/v1/recalls/R-2026-42/export.json", manager)
    assert doc["recall"]["id"] == "R-2026-42"
    assert doc["recall"]["progress"]["recovered"] == "75"
    nodes = {n["location"]: n for n in doc["trace"]["nodes"]}
    assert nodes["cg-store-2"]["quantities"]["received"] == "40"
    assert nodes["cg-store-1"]["quantities"]["sold_or_used"] == "5"
    assert nodes["gv-field-3"]["product"] == PRODUCT

    # The progress table for a spreadsheet.
    got = http.call("GET", "/v1/recalls/R-2026-42/progress.csv", manager)
    assert got.status_code == 200, got.text
    progress = list(csv.DictReader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert [(r["location"], r["product"], r["complete"]) for r in progress] == [
        ("cg-store-1", PRODUCT, "yes"),
        ("cg-store-2", PRODUCT, "yes"),
        ("gv-field-3", PRODUCT, "no"),
    ]
    assert [r["disposed"] for r in progress] == ["35", "40", "0"]
