"""In-process batched append, against the raw-insert ceiling of the same storage engine.

``events_per_s``: a realistic farm-to-shelf mix (register, ship, receive, ship,
receive, three sales per lot) appended through ``Ledger.append`` in batches: the
whole write path (validation, rules, read models, canonical bytes, hashing, tree
nodes, a signed checkpoint and a durable commit per batch).

``raw_insert_per_s``: the very rows that run wrote (entries with their tree
nodes, lots, stock, shipments, lot history, checkpoints) bulk-inserted into a
fresh database of the same engine, in the same number of transactions, with no
hashing and no checks. ``ratio_to_raw`` is the first over the second.
"""

from __future__ import annotations

import argparse
import gc
import time
from typing import Any

from sqlalchemy import Engine

from ledger.storage.bulk import insert_rows
from ledger.storage.db import make_engine, write_transaction
from ledger.storage.migrate import upgrade
from load.ledger_fixtures import database, lot_journey, open_ledger, supply_chain

TABLES = ("log_entries", "lots", "stock", "shipments", "lot_events", "log_checkpoints")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--events", type=int, default=200_000, help="events to append")
    parser.add_argument("--lots-per-batch", type=int, default=250, help="8 events per lot")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")


def batches(events: int, lots_per_batch: int) -> list[tuple[str, list[dict[str, Any]]]]:
    """Per group of lots: the farm's batch, then the retailer's; one actor per batch."""
    out: list[tuple[str, list[dict[str, Any]]]] = []
    lots = max(1, events // 8)
    for start in range(0, lots, lots_per_batch):
        by_actor: dict[str, list[dict[str, Any]]] = {"farm": [], "retail": []}
        for n in range(start, min(start + lots_per_batch, lots)):
            for actor, e in lot_journey(n):
                by_actor[actor].append(e)
        out += list(by_actor.items())
    return out


def measure(kind: str, args: argparse.Namespace) -> dict[str, float]:
    work = batches(args.events, args.lots_per_batch)
    total = sum(len(b) for _, b in work)
    with database(kind, args.pg_url) as url, open_ledger(url) as ledger:
        supply_chain(ledger)
        # The pre-built batches are the benchmark's own heap, not the service's: keep the
        # collector from rescanning them on every full collection.
        gc.collect()
        gc.freeze()
        start = time.perf_counter()
        for actor, batch in work:
            ledger.append(batch, actor=actor)
        elapsed = time.perf_counter() - start
        gc.unfreeze()
        rows = dump(ledger.engine)
    with database(kind, args.pg_url) as url:
        engine = make_engine(url)
        upgrade(engine)
        raw = raw_insert(engine, rows, len(work))
        engine.dispose()
    ours = total / elapsed
    ceiling = total / raw
    return {
        "events_per_s": round(ours),
        "raw_insert_per_s": round(ceiling),
        "ratio_to_raw": round(ours / ceiling, 3),
        "events": total,
        "batches": len(work),
    }


def dump(engine: Engine) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    out = {}
    with engine.connect() as conn:
        for table in TABLES:
            result = conn.exec_driver_sql(f"SELECT * FROM {table}")  # noqa: S608 - fixed names
            out[table] = (list(result.keys()), [tuple(r) for r in result])
    return out


def raw_insert(
    engine: Engine, rows: dict[str, tuple[list[str], list[tuple[Any, ...]]]], transactions: int
) -> float:
    """Seconds to insert every row, split into ``transactions`` commits."""
    gc.collect()
    start = time.perf_counter()
    for t in range(transactions):
        with write_transaction(engine) as conn:
            for table, (cols, data) in rows.items():
                per = -(-len(data) // transactions)
                insert_rows(conn, table, cols, data[t * per : (t + 1) * per])
    return time.perf_counter() - start


def run(args: argparse.Namespace) -> dict[str, Any]:
    figures: dict[str, Any] = measure("sqlite", args)
    if not args.no_pg:
        figures.update({f"pg_{k}": v for k, v in measure("postgresql", args).items()})
    return figures
