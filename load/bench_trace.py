"""Trace and recall at chain scale: ``python -m load.bench trace [--json] [--events N]``.

Generates a ledger through ``Ledger.append`` (batches of 10,000): one organisation
with 2,000 locations (100 farms, 100 plants, 200 DCs, 1,600 stores) and about one
lot per 10 events, in seven levels (harvest, then six transformation levels).
Every lot goes to a DC and on to two stores where some of it is sold; lots of
levels 0-5 also go to a plant where two-input transformations make the next
level. A few "hot" harvest lots feed many first-level transformations, so their
forward trace reaches thousands of (lot, location) nodes.

Figures: ``events``, ``lots``, ``locations``, ``trace_nodes`` (forward answer
size), ``trace_p95_ms`` (forward trace of a hot lot), ``backward_nodes``,
``backward_p95_ms`` (backward trace of last-level lots from a store),
``recall_s`` (trace, holds appended, FSMA spreadsheet written as CSV and XLSX),
``generate_s`` and ``flows_rebuild_s`` (lot_flows rebuilt from the log, needed
until the projector writes it in the append).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text

from ledger.flows import rebuild_flows
from ledger.fsma import fsma_rows, to_csv, to_xlsx
from ledger.log import MAX_BATCH, Ledger
from ledger.recall import create_recall, recall_trace
from ledger.schema import Location, Organisation
from ledger.trace import TraceStart, trace
from load.ledger_fixtures import database, open_ledger

GTIN = "09506000134352"
LEVELS = 7  # harvest + transformation depth 6
HOT = 5
TIME = "2026-11-20T08:00:00+01:00"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--events", type=int, default=1_000_000, help="ledger size to generate")
    parser.add_argument("--db", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--queries", type=int, default=20, help="traces timed per direction")
    parser.add_argument("--hot-fanout", type=int, default=40, help="level-1 uses of a hot lot")
    parser.add_argument("--seed", type=int, default=204)


def _ev(etype: str, location: str, lot: str, qty: str, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "type": etype,
        "event_time": TIME,
        "location": location,
        "lot": {"gtin": GTIN, "lot": lot},
        "quantity": qty,
        "unit": "kg",
        **fields,
    }


def _locations(ledger: Ledger) -> dict[str, list[str]]:
    sites = {
        "farm": [f"farm-{i}" for i in range(100)],
        "plant": [f"plant-{i}" for i in range(100)],
        "dc": [f"dc-{i}" for i in range(200)],
        "store": [f"store-{i}" for i in range(1600)],
    }
    with ledger.engine.begin() as conn:
        conn.execute(insert(Organisation).values(id="chain", name="Chain", created_at=TIME))
        conn.execute(
            insert(Location),
            [
                {"id": loc, "org_id": "chain", "name": loc, "kind": kind}
                for kind, locs in sites.items()
                for loc in locs
            ],
        )
    return sites


def _hot_plant(sites: dict[str, list[str]], hot: list[str], lot: str) -> str:
    return sites["plant"][hot.index(lot) * 7 % 100]


def generate(  # noqa: PLR0915 - one generator, read top to bottom
    ledger: Ledger, events: int, hot_fanout: int, seed: int
) -> dict[str, Any]:
    """Append about ``events`` events; return the lots to trace and the counts."""
    rng = random.Random(seed)
    sites = _locations(ledger)
    total_lots = max(events // 10, LEVELS * 20)
    per_level = [int(total_lots * 0.4)] + [int(total_lots * 0.1)] * (LEVELS - 1)
    appended = 0

    def flush(wave: list[dict[str, Any]]) -> None:
        nonlocal appended
        for i in range(0, len(wave), MAX_BATCH):
            ledger.append(wave[i : i + MAX_BATCH], actor="chain")
        appended += len(wave)

    at: dict[str, str] = {}  # lot -> where it was made
    pools: dict[str, list[str]] = {}  # plant -> lots received there for the next level
    hot = [f"H{i}" for i in range(HOT)]
    level_lots: list[list[str]] = []
    for level in range(LEVELS):
        made: list[str] = []
        wave: list[dict[str, Any]] = []
        if level == 0:
            for n in range(per_level[0]):
                lot = hot[n] if n < HOT else f"A{n}"
                farm = sites["farm"][n % 100]
                wave.append(_ev("register", farm, lot, "100000", product="Romaine", kind="harvest"))
                at[lot] = farm
                made.append(lot)
        else:
            for n in range(per_level[level]):
                plant = sites["plant"][n % 100]
                if level == 1 and n < HOT * hot_fanout:  # the hot lots feed many transforms
                    plant = _hot_plant(sites, hot, hot[n % HOT])
                pool = pools.get(plant) or []
                if not pool:
                    continue
                inputs = sorted(set(rng.sample(pool, min(2, len(pool)))))
                if level == 1 and n < HOT * hot_fanout:
                    inputs = sorted({hot[n % HOT], inputs[0]})
                lot = f"{'ABCDEFG'[level]}{n}"
                wave.append(
                    {
                        "event_id": str(uuid.uuid4()),
                        "type": "transform",
                        "event_time": TIME,
                        "location": plant,
                        "inputs": [
                            {"lot": {"gtin": GTIN, "lot": i}, "quantity": "1", "unit": "kg"}
                            for i in inputs
                        ],
                        "outputs": [
                            {
                                "lot": {"gtin": GTIN, "lot": lot},
                                "quantity": "100000",
                                "unit": "kg",
                                "product": f"Salad level {level}",
                            }
                        ],
                    }
                )
                at[lot] = plant
                made.append(lot)
        flush(wave)
        level_lots.append(made)
        # Onwards: to a plant for the next level, to a DC, and on to a store.
        ship_p, recv_p, ship_d, recv_d, ship_s, recv_s, sell = ([] for _ in range(7))
        pools = {}
        for lot in made:
            origin = at[lot]
            if level < LEVELS - 1:
                plant = _hot_plant(sites, hot, lot) if lot in hot else rng.choice(sites["plant"])
                if plant != origin:
                    ship_p.append(_ev("ship", origin, lot, "1000", to_location=plant))
                    recv_p.append(_ev("receive", plant, lot, "1000", from_location=origin))
                pools.setdefault(plant, []).append(lot)
            dc = rng.choice(sites["dc"])
            ship_d.append(_ev("ship", origin, lot, "500", to_location=dc))
            recv_d.append(_ev("receive", dc, lot, "500", from_location=origin))
            for store in rng.sample(sites["store"], 2):
                ship_s.append(_ev("ship", dc, lot, "100", to_location=store))
                recv_s.append(_ev("receive", store, lot, "100", from_location=dc))
                sell.append(_ev("sell", store, lot, "3"))
        for wave in (ship_p, recv_p, ship_d, recv_d, ship_s, recv_s, sell):
            flush(wave)
    lots = sum(len(x) for x in level_lots)
    return {
        "events": appended,
        "lots": lots,
        "locations": sum(len(v) for v in sites.values()),
        "hot": hot,
        "last": level_lots[-1],
    }


def _p95(samples: list[float]) -> float:
    if len(samples) < 2:
        return samples[0] * 1000
    return statistics.quantiles(samples, n=20, method="inclusive")[18] * 1000


def measure(ledger: Ledger, args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    shape = generate(ledger, args.events, args.hot_fanout, args.seed)
    figures: dict[str, Any] = {
        "events": shape["events"],
        "lots": shape["lots"],
        "locations": shape["locations"],
        "generate_s": round(time.perf_counter() - started, 1),
    }
    started = time.perf_counter()
    with ledger.engine.begin() as conn:
        rebuild_flows(conn)
    figures["flows_rebuild_s"] = round(time.perf_counter() - started, 1)

    forward: list[float] = []
    sizes: list[int] = []
    for q in range(args.queries):
        start = TraceStart(GTIN, shape["hot"][q % HOT])
        t0 = time.perf_counter()
        result = trace(ledger.engine, [start], "forward")
        forward.append(time.perf_counter() - t0)
        sizes.append(len(result.nodes))
    rng = random.Random(args.seed + 1)
    backward: list[float] = []
    back_sizes: list[int] = []
    for _ in range(args.queries):
        lot = rng.choice(shape["last"])
        with ledger.engine.connect() as conn:
            store = conn.execute(
                text(
                    "SELECT s.to_location FROM shipments s JOIN lots l ON l.id = s.lot_id "
                    "WHERE l.lot = :lot AND s.to_location LIKE 'store-%' "
                    "ORDER BY s.to_location LIMIT 1"
                ),
                {"lot": lot},
            ).scalar_one()
        t0 = time.perf_counter()
        result = trace(ledger.engine, [TraceStart(GTIN, lot, store)], "backward")
        backward.append(time.perf_counter() - t0)
        back_sizes.append(len(result.nodes))
    figures.update(
        trace_nodes=max(sizes),
        trace_p95_ms=round(_p95(forward), 1),
        trace_p50_ms=round(statistics.median(forward) * 1000, 1),
        backward_nodes=max(back_sizes),
        backward_p95_ms=round(_p95(backward), 1),
        backward_p50_ms=round(statistics.median(backward) * 1000, 1),
    )

    with tempfile.TemporaryDirectory(prefix="lotledger-recall-") as tmp:
        t0 = time.perf_counter()
        recall = create_recall(
            ledger,
            actor="chain",
            starts=[TraceStart(GTIN, shape["hot"][0])],
            reason="benchmark recall",
            classification="I",
        )
        rows = fsma_rows(ledger.engine, recall_trace(ledger, recall.id))
        Path(tmp, "recall.csv").write_text(to_csv(rows), encoding="utf-8")
        Path(tmp, "recall.xlsx").write_bytes(to_xlsx(rows))
        figures["recall_s"] = round(time.perf_counter() - t0, 2)
    figures["recall_holds"] = recall.holds_appended
    figures["recall_rows"] = len(rows)
    return figures


def run(args: argparse.Namespace) -> dict[str, Any]:
    with database(args.db) as url, open_ledger(url) as ledger:
        return measure(ledger, args)


if __name__ == "__main__":  # until load/bench.py lists "trace"
    import json
    import sys

    parser = argparse.ArgumentParser(prog="python -m load.bench_trace")
    add_arguments(parser)
    parsed = parser.parse_args(sys.argv[1:])
    parsed.quiet = True
    print(json.dumps(run(parsed), sort_keys=True))
