"""Trace and recall at chain scale: ``python -m load.bench trace [--json] [--events N]``.

Generates a ledger through ``Ledger.append`` (batches of 10,000): one organisation
with 2,000 locations (100 farms, 100 plants, 200 DCs, 1,600 stores) and about one
lot per 10 events, in seven levels (harvest, then six transformation levels).
Every lot goes to a DC and on to two stores where some of it is sold; lots of
levels 0-5 also go to a plant where two-input transformations make the next
level. Five "hot" harvest lots feed ``--hot-fanout`` first-level transformations
each, so their forward trace reaches thousands of (lot, location) nodes; one more,
``HB``, feeds ``--big-fanout``: the biggest answer the generator makes.

A generated SQLite ledger is kept under ``CACHE``, keyed by the parameters and by
the sources of the generator and the write path (every ``ledger`` module but the
read-only ones), and copied from there on the next run; the copy's tree size is
checked against the generator's count. ``--no-cache`` always generates.

Figures: ``events``, ``lots``, ``locations``; ``trace_nodes`` (the largest hot
answer; ``trace_nodes_min`` the smallest), ``trace_p95_ms`` and ``trace_p50_ms``
(forward trace of the hot lots in turn); ``biggest_nodes``, ``biggest_p95_ms`` and
``biggest_p50_ms`` (forward trace of ``HB``); ``backward_nodes``, ``backward_p95_ms``
(backward trace of last-level lots from a store); ``recall_s`` (a complete recall of
a hot lot: trace, holds appended, FSMA spreadsheet written as CSV and XLSX), split
into ``recall_create_s`` (trace, holds, recall record), ``recall_rows_s`` (the
recall's trace again and the spreadsheet's rows), ``recall_csv_s``, ``recall_xlsx_s``;
``generate_s`` (the generation's time, also when the ledger came from the cache,
``generated_from_cache``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text

from ledger import Ledger, Settings, TraceStart
from ledger.lineage.graph import Direction, trace
from ledger.log.service import MAX_BATCH
from ledger.log.signing import KEY_FILE
from ledger.storage.schema import Head, Location, Organisation
from ledger.trace.fsma import fsma_rows, to_csv, to_xlsx
from ledger.trace.recall import create_recall, recall_trace
from load.ledger_fixtures import ORIGIN, database, open_ledger

GTIN = "09506000134352"
LEVELS = 7  # harvest + transformation depth 6
HOT = 5  # hot lots of --hot-fanout level-1 uses each, traced in turn
BIG = "HB"  # one more hot lot, of --big-fanout uses: the biggest answer the generator makes
TIME = "2026-11-20T08:00:00+01:00"
CACHE = Path(tempfile.gettempdir()) / "lotledger-bench-cache"
# What decides the generated database's bytes: the generator and the write path. The read
# side (trace, recall, exports) is left out, so changing it keeps the cache.
_READ_ONLY = {"trace.py", "recall.py", "fsma.py", "export.py", "reports.py", "forecast.py"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--events", type=int, default=1_000_000, help="ledger size to generate")
    parser.add_argument("--db", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--queries", type=int, default=20, help="traces timed per direction")
    parser.add_argument("--hot-fanout", type=int, default=14, help="level-1 uses of a hot lot")
    parser.add_argument(
        "--big-fanout", type=int, default=40, help="level-1 uses of the biggest hot lot"
    )
    parser.add_argument("--seed", type=int, default=204)
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help=f"always generate (SQLite ledgers are otherwise kept under {CACHE})",
    )


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
    ledger: Ledger, events: int, hot_fanout: int, big_fanout: int, seed: int
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
    hot = [*(f"H{i}" for i in range(HOT)), BIG]
    # The level-1 transformations that take a hot lot as an input, interleaved.
    fanouts = [hot_fanout] * HOT + [big_fanout]
    uses = [h for k in range(max(fanouts)) for h, f in zip(hot, fanouts, strict=True) if k < f]
    level_lots: list[list[str]] = []
    for level in range(LEVELS):
        made: list[str] = []
        wave: list[dict[str, Any]] = []
        if level == 0:
            for n in range(per_level[0]):
                lot = hot[n] if n < len(hot) else f"A{n}"
                farm = sites["farm"][n % 100]
                wave.append(_ev("register", farm, lot, "100000", product="Romaine", kind="harvest"))
                at[lot] = farm
                made.append(lot)
        else:
            for n in range(per_level[level]):
                plant = sites["plant"][n % 100]
                if level == 1 and n < len(uses):  # the hot lots feed many transforms
                    plant = _hot_plant(sites, hot, uses[n])
                pool = pools.get(plant) or []
                if not pool:
                    continue
                inputs = sorted(set(rng.sample(pool, min(2, len(pool)))))
                if level == 1 and n < len(uses):
                    inputs = sorted({uses[n], inputs[0]})
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
        "hot": hot[:HOT],
        "big": BIG,
        "last": level_lots[-1],
    }


def _p95(samples: list[float]) -> float:
    if len(samples) < 2:
        return samples[0] * 1000
    return statistics.quantiles(samples, n=20, method="inclusive")[18] * 1000


def _timed_traces(
    ledger: Ledger, starts: list[TraceStart], direction: Direction
) -> tuple[list[float], list[int]]:
    times: list[float] = []
    sizes: list[int] = []
    for start in starts:
        t0 = time.perf_counter()
        result = trace(ledger.engine, [start], direction)
        times.append(time.perf_counter() - t0)
        sizes.append(len(result.nodes))
    return times, sizes


def measure(ledger: Ledger, shape: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "events": shape["events"],
        "lots": shape["lots"],
        "locations": shape["locations"],
    }
    hot = [TraceStart(GTIN, shape["hot"][q % HOT]) for q in range(args.queries)]
    forward, sizes = _timed_traces(ledger, hot, "forward")
    big = [TraceStart(GTIN, shape["big"])] * max(2, args.queries // 2)
    biggest, big_sizes = _timed_traces(ledger, big, "forward")
    rng = random.Random(args.seed + 1)
    back: list[TraceStart] = []
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
        back.append(TraceStart(GTIN, lot, store))
    backward, back_sizes = _timed_traces(ledger, back, "backward")
    figures.update(
        trace_nodes=max(sizes),
        trace_nodes_min=min(sizes),
        trace_p95_ms=round(_p95(forward), 1),
        trace_p50_ms=round(statistics.median(forward) * 1000, 1),
        biggest_nodes=max(big_sizes),
        biggest_p95_ms=round(_p95(biggest), 1),
        biggest_p50_ms=round(statistics.median(biggest) * 1000, 1),
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
        t1 = time.perf_counter()
        rows = fsma_rows(ledger.engine, recall_trace(ledger, recall.id))
        t2 = time.perf_counter()
        Path(tmp, "recall.csv").write_text(to_csv(rows), encoding="utf-8")
        t3 = time.perf_counter()
        Path(tmp, "recall.xlsx").write_bytes(to_xlsx(rows))
        t4 = time.perf_counter()
    figures.update(
        recall_s=round(t4 - t0, 2),
        recall_create_s=round(t1 - t0, 2),
        recall_rows_s=round(t2 - t1, 2),
        recall_csv_s=round(t3 - t2, 2),
        recall_xlsx_s=round(t4 - t3, 2),
        recall_nodes=len(recall_trace(ledger, recall.id).nodes),
        recall_holds=recall.holds_appended,
        recall_rows=len(rows),
    )
    return figures


def _cache_key(args: argparse.Namespace) -> str:
    """The parameters and the sources that decide the generated ledger."""
    digest = hashlib.sha256(
        json.dumps([args.events, args.hot_fanout, args.big_fanout, args.seed]).encode()
    )
    root = Path(__file__).resolve().parent.parent
    sources = [Path(__file__).resolve(), *sorted((root / "ledger").rglob("*.py"))]
    for path in sources:
        if path.name not in _READ_ONLY or path.parent.name != "ledger":
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


@contextmanager
def _sqlite_ledger(args: argparse.Namespace) -> Iterator[tuple[Ledger, dict[str, Any]]]:
    """A generated SQLite ledger, copied from the cache when the same parameters and sources
    made one before (the benchmark appends a recall, so it never runs on the cached file)."""
    cached = CACHE / f"trace-{_cache_key(args)}"
    with tempfile.TemporaryDirectory(prefix="lotledger-bench-") as tmp:
        data = Path(tmp)
        settings = Settings(data, f"sqlite:///{data / 'bench.db'}", ORIGIN, None, None)
        hit = not args.no_cache and (cached / "shape.json").exists()
        if hit:
            for name in ("bench.db", KEY_FILE):
                shutil.copy(cached / name, data / name)
                # Flush the copy now: its writeback would otherwise stall the recall's commit.
                with (data / name).open("rb+") as fh:
                    os.fsync(fh.fileno())
            shape = json.loads((cached / "shape.json").read_text())
        started = time.perf_counter()
        ledger = Ledger.open(settings)
        try:
            if not hit:
                shape = generate(ledger, args.events, args.hot_fanout, args.big_fanout, args.seed)
                shape["generate_s"] = round(time.perf_counter() - started, 1)
            with ledger.engine.connect() as conn:
                size = conn.execute(select(Head.tree_size)).scalar_one()
            if size != shape["events"]:
                raise RuntimeError(f"{cached}: {size} entries, expected {shape['events']}")
            if not hit and not args.no_cache:
                _store(ledger, data, cached, shape)
            shape["cached"] = hit
            yield ledger, shape
        finally:
            ledger.close()


def _store(ledger: Ledger, data: Path, cached: Path, shape: dict[str, Any]) -> None:
    with ledger.engine.connect() as conn:  # fold the WAL into the file before copying it
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    CACHE.mkdir(exist_ok=True)
    part = Path(tempfile.mkdtemp(prefix=f"{cached.name}-", dir=CACHE))
    for name in ("bench.db", KEY_FILE):
        shutil.copy(data / name, part / name)
    (part / "shape.json").write_text(json.dumps(shape))
    try:
        os.rename(part, cached)
    except OSError:  # another run stored it first
        shutil.rmtree(part)


def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.db == "sqlite":
        with _sqlite_ledger(args) as (ledger, shape):
            figures = measure(ledger, shape, args)
    else:
        with database(args.db) as url, open_ledger(url) as ledger:
            started = time.perf_counter()
            shape = generate(ledger, args.events, args.hot_fanout, args.big_fanout, args.seed)
            shape["generate_s"] = round(time.perf_counter() - started, 1)
            shape["cached"] = False
            figures = measure(ledger, shape, args)
    figures["generate_s"] = shape.get("generate_s")
    figures["generated_from_cache"] = shape["cached"]
    return figures


if __name__ == "__main__":  # until load/bench.py lists "trace"
    import json
    import sys

    parser = argparse.ArgumentParser(prog="python -m load.bench_trace")
    add_arguments(parser)
    parsed = parser.parse_args(sys.argv[1:])
    parsed.quiet = True
    print(json.dumps(run(parsed), sort_keys=True))
