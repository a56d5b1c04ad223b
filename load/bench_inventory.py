"""Inventory reads in process: one location's stock, and replenishment suggestions.

``stock_10k_lots_ms``: ``ledger.inventory.stock.location_stock`` for a location holding
``--lots`` lots (10,000), each registered there through ``Ledger.append``, a tenth of
them held; the median of 20 reads of the full answer (every lot, sorted, with status and
removal date). ``stock_10k_lots_http_ms``: the same answer as an API caller gets it,
``GET /v1/stock/{location}`` through the ASGI app (httpx's ASGI transport: key check,
read, JSON body of about 2 MB, no socket); the median of 20.

``suggest_store_s`` and ``suggest_200_stores_s``: ``ledger.inventory.replenishment.suggest`` for one
store of ``--products`` products (500), and for ``--stores`` stores (200) of as many, with
``--days`` (56) days of sales history each (70 % of the lines sell daily with a weekly
pattern, 30 % now and then), stock in two lots per (store, product), some held, and
ordering terms. Writing 100,000 series of history through the log would take the
benchmark far longer than what it measures, so these read models (lots, stock,
lot_states, inventory_daily) and the terms are bulk-inserted as the projector would have
written them; the suggestion code reads them exactly as it does in service.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
import uuid
from datetime import date, timedelta
from typing import Any

import httpx

from api.app import create_app
from ledger import Ledger, create_location, create_organisation, location_stock
from ledger.inventory.replenishment import suggest
from ledger.masterdata import keys
from ledger.storage.bulk import insert_rows
from ledger.storage.db import write_transaction
from load.ledger_fixtures import database, open_ledger
from verifier.gs1 import check_digit

TODAY = date(2026, 11, 20)
WEEKLY = (0.9, 0.85, 0.95, 1.0, 1.35, 1.6, 0.6)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lots", type=int, default=10_000)
    parser.add_argument("--products", type=int, default=500)
    parser.add_argument("--stores", type=int, default=200)
    parser.add_argument("--days", type=int, default=56)
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test")


def gtin(n: int) -> str:
    body = f"095060{n:07d}"
    return body + str(check_digit(body))


def stock_location(ledger: Ledger, lots: int) -> float:
    create_organisation(ledger.engine, "acme", "Acme")
    create_location(ledger.engine, "big-dc", org_id="acme", name="Big DC", kind="warehouse")
    events: list[dict[str, Any]] = []
    for n in range(lots):
        ref = {"gtin": gtin(n % 500), "lot": f"L{n:07d}"}
        base = {"event_time": "2026-11-20T08:00:00+01:00", "location": "big-dc", "lot": ref}
        events.append(
            {
                **base,
                "event_id": str(uuid.uuid4()),
                "type": "register",
                "quantity": "120",
                "unit": "each",
                "product": "Product",
                "expiry": (TODAY + timedelta(days=n % 60)).isoformat(),
            }
        )
        if n % 10 == 0:
            events.append(
                {
                    **base,
                    "event_id": str(uuid.uuid4()),
                    "type": "hold",
                    "kind": "quality",
                    "reason": "sampling",
                }
            )
    for start in range(0, len(events), 5000):
        ledger.append(events[start : start + 5000], actor="acme")
    timings = []
    for _ in range(20):
        begin = time.perf_counter()
        found = location_stock(ledger.engine, "big-dc", viewer=None, today=TODAY)
        timings.append(time.perf_counter() - begin)
    assert len(found) == lots
    return statistics.median(timings) * 1000


def stock_over_http(ledger: Ledger, lots: int) -> float:
    """GET /v1/stock/big-dc through the app, body read in full; ``stock_location`` first."""
    secret = keys.create_key(ledger.engine, "acme", "warehouse", "bench").secret
    app = create_app(ledger)

    async def measure() -> list[float]:
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {secret}"}
        timings = []
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for _ in range(21):
                begin = time.perf_counter()
                got = await client.get("/v1/stock/big-dc", headers=headers)
                body = got.content
                timings.append(time.perf_counter() - begin)
                assert got.status_code == 200
                assert body.count(b'"lot":') == lots
        return timings[1:]  # the first request builds the app's routes and schemas

    return statistics.median(asyncio.run(measure())) * 1000


def suggestion_world(ledger: Ledger, stores: int, products: int, days: int) -> list[str]:
    rng = random.Random(5)
    create_organisation(ledger.engine, "chain", "Chain")
    create_location(ledger.engine, "chain-dc", org_id="chain", name="DC", kind="warehouse")
    names = [f"shop-{s:03d}" for s in range(stores)]
    for name in names:
        create_location(ledger.engine, name, org_id="chain", name=name, kind="store")
    gtins = [gtin(p) for p in range(products)]
    first = TODAY - timedelta(days=days)
    day_names = [(first + timedelta(days=d)).isoformat() for d in range(days)]
    terms = [
        ("chain", g, 12_000_000, 24_000_000, 1_500_000, 2_900_000, 1, "chain-dc", 2) for g in gtins
    ]
    lots, stock, states, sales = [], [], [], []
    lot_id = 1
    for s, name in enumerate(names):
        for p, g in enumerate(gtins):
            slow = p % 10 >= 7
            mean = 0.4 if slow else 3 + (p % 17)
            for k in range(2):
                expiry = (TODAY + timedelta(days=(p + k * 5) % 20)).isoformat()
                lots.append((lot_id, g, f"S{s}P{p}K{k}", "Product", "each", "chain", name,
                             expiry, lot_id, 0))  # fmt: skip
                stock.append((name, lot_id, rng.randint(0, int(mean * 4) + 1) * 1_000_000))
                if (s + p + k) % 23 == 0:
                    states.append((lot_id, "on_hold", 1, 0, 0, 0, lot_id))
                lot_id += 1
            for d, day in enumerate(day_names):
                if slow:
                    qty = rng.randint(1, 3) if rng.random() < 0.2 else 0
                else:
                    qty = max(0, round(rng.gauss(mean * WEEKLY[(first.weekday() + d) % 7], 1.5)))
                if qty:
                    sales.append((name, g, day, "sell", "", qty * 1_000_000))
    with write_transaction(ledger.engine) as conn:
        insert_rows(conn, "product_terms", ("org_id", "gtin", "case_pack", "min_order",
                    "unit_cost", "unit_price", "removal_days", "supplier_location",
                    "lead_time_days"), terms)  # fmt: skip
        insert_rows(conn, "lots", ("id", "gtin", "lot", "product", "unit", "org_id",
                    "origin_location", "expiry", "registered_seq", "open_holds"), lots)  # fmt: skip
        insert_rows(conn, "stock", ("location_id", "lot_id", "on_hand"), stock)
        insert_rows(conn, "lot_states", ("lot_id", "status", "quality", "damage", "quarantine",
                    "recall", "changed_seq"), states)  # fmt: skip
        for start in range(0, len(sales), 100_000):
            insert_rows(conn, "inventory_daily", ("location_id", "gtin", "day", "kind", "reason",
                        "quantity"), sales[start : start + 100_000])  # fmt: skip
    return names


def timed_suggest(ledger: Ledger, stores: list[str], days: int) -> tuple[float, int]:
    begin = time.perf_counter()
    found = suggest(ledger.engine, stores, viewer=None, today=TODAY, history_days=days)
    return time.perf_counter() - begin, len(found)


def run(args: argparse.Namespace) -> dict[str, object]:
    figures: dict[str, object] = {"engine": args.engine}
    with database(args.engine, args.pg_url) as url, open_ledger(url) as ledger:
        figures["stock_10k_lots_ms"] = round(stock_location(ledger, args.lots), 2)
        figures["stock_10k_lots_http_ms"] = round(stock_over_http(ledger, args.lots), 2)
    with database(args.engine, args.pg_url) as url, open_ledger(url) as ledger:
        names = suggestion_world(ledger, args.stores, args.products, args.days)
        one, count_one = timed_suggest(ledger, names[:1], args.days)
        every, count_all = timed_suggest(ledger, names, args.days)
    figures.update(
        suggest_store_s=round(one, 3),
        suggest_200_stores_s=round(every, 2),
        suggestions_one_store=count_one,
        suggestions_all_stores=count_all,
        series_all_stores=args.stores * args.products,
    )
    return figures
