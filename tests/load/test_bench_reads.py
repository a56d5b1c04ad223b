"""``python -m load.bench reads``, for real and tiny: a served demo with a few lots added
through the API, every read endpoint timed as each role over 127.0.0.1.

The figures are not asserted (CONVENTIONS 16): only that each is there, for every endpoint
and role the benchmark names, that nothing was skipped or failed on this code, and that
the seed it wrote went through the API.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from load.bench_reads import percentile

ROOT = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("LOTLEDGER_TEST_DATABASE_URL", "")

ENDPOINTS = {
    "GET /v1/trace?lot=[lot]&direction=forward": {"manager", "regulator"},
    "GET /v1/trace?lot=[lot]&direction=backward": {"manager", "regulator"},
    "GET /v1/lots/[gtin]/[lot]/events": {"manager", "store", "regulator"},
    "GET /v1/lots/[gtin]/[lot]/status": {"manager", "store", "regulator"},
    "GET /v1/stock/[location]": {"manager", "store", "regulator"},
    "GET /v1/reports/inventory-value": {"manager", "store", "regulator"},
    "GET /v1/recalls/[id]": {"manager", "regulator"},
    "GET /v1/log/checkpoint": {"public"},
}


def test_a_tiny_run_times_every_read_endpoint_as_each_role() -> None:
    command = [sys.executable, "-m", "load.bench", "reads", "--json"]
    command += ["--lots", "6", "--rounds", "3", "--warmup", "1"]
    if PG_URL:
        command += ["--database-url", PG_URL]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOTLEDGER_")}
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=170, check=False
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])

    assert figures["database"] == ("postgresql" if PG_URL else "sqlite")
    assert figures["lots_added"] == 6
    # The demo's log, then 6 registers, ships and receives and the recall's holds.
    assert figures["tree_size"] > 1000 + 18
    assert figures["recall_id"]
    assert figures["skipped"] == {}
    assert figures["failures"] == {}

    endpoints = figures["endpoints"]
    assert set(endpoints) == set(ENDPOINTS)
    for name, roles in ENDPOINTS.items():
        entry = endpoints[name]
        assert set(entry["roles"]) == roles, name
        assert entry["requests"] == 3 * len(roles), name
        assert 0 < entry["p50_ms"] <= entry["p95_ms"], name
        for role, by_role in entry["roles"].items():
            assert by_role["requests"] == 3, (name, role)
            assert by_role["path"].startswith("/v1/"), (name, role)
    # The store reads its own store's stock; the manager and the regulator the retailer's DC.
    stock = endpoints["GET /v1/stock/[location]"]["roles"]
    assert stock["store"]["path"] != stock["manager"]["path"] == stock["regulator"]["path"]
    assert figures["requests"] == sum(e["requests"] for e in endpoints.values())
    assert 0 < figures["read_p50_ms"] <= figures["read_p95_ms"]


def test_nearest_rank_percentile() -> None:
    ms = [float(n) for n in range(1, 21)]
    assert percentile(ms, 0.5) == 10.0
    assert percentile(ms, 0.95) == 19.0
    assert percentile([4.0], 0.95) == 4.0
