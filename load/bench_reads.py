"""``python -m load.bench reads``: the read endpoints users hit most, timed over HTTP.

1. A fresh ledger (a temp data directory with SQLite, or a fresh schema in the PostgreSQL
   database ``--database-url`` names), ``lotledger init`` and ``lotledger demo --json``,
   then ``lotledger serve`` on a free 127.0.0.1 port: ``load.runner``'s helpers.
2. ``--lots N`` more lots through the API, so the reads are not trivially small: the
   farm that grows the demo's first product registers them and ships each to the
   retailer's distribution centre, whose warehouse receives it. With extra lots and no
   recall yet, the retailer's manager opens one on the last of them (``GET
   /v1/recalls/{id}`` is then measured too).
3. With the demo's manager, store and regulator keys, one keep-alive connection from this
   process, sequential requests: ``--warmup`` rounds, then ``--rounds`` rounds, each
   round one request of every (endpoint, role) in turn, so a change in the machine's load
   touches every figure alike.

Figures: per endpoint ``p50_ms``, ``p95_ms``, ``requests`` (and the same per role), and
over every timed request ``read_p50_ms``, ``read_p95_ms``, ``requests``. An endpoint the
service does not have, or a role may not read, is left out and named under ``skipped``
with what the service answered: the script relies only on the CLI (``init``, ``demo
--json``, ``serve``) and the HTTP API, so that it runs unchanged against an older
checkout of the service (to compare the cost of a change in authorization, say).
Measured, never asserted.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from load.runner import RunError, _lotledger, fresh_database, service

ROLES = ("manager", "store", "regulator")
LOT_QUANTITY = "600"
BATCH = 100  # events a POST /v1/events while adding lots


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is not a whole number of 0 or more")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lots", type=_count, default=300, help="lots added through the API after the demo (300)"
    )
    parser.add_argument(
        "--rounds", type=_count, default=60, help="timed requests of each endpoint and role (60)"
    )
    parser.add_argument("--warmup", type=_count, default=5, help="untimed rounds before them (5)")
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL URL: the run uses a fresh schema in it (default: SQLite in a temp dir)",
    )


# -- HTTP -----------------------------------------------------------------------------


class Client:
    """One keep-alive HTTP/1.1 connection to the service; reconnects once if it drops."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)

    def request(
        self, method: str, path: str, key: str | None = None, body: Any = None
    ) -> tuple[int, bytes]:
        headers = {"Accept": "application/json"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=data, headers=headers)
                response = self.conn.getresponse()
                return response.status, response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def json(self, method: str, path: str, key: str | None = None, body: Any = None) -> Any:
        status, data = self.request(method, path, key, body)
        if status >= 300:
            raise RunError(f"{method} {path} answered {status}: {data[:300]!r}")
        return json.loads(data)

    def close(self) -> None:
        self.conn.close()


def _why(status: int, data: bytes) -> str:
    """What the service said, in a line: a problem's title and detail, or the status."""
    try:
        problem = json.loads(data)
    except ValueError:
        return f"{status}"
    if isinstance(problem, dict):
        said = problem.get("detail") or problem.get("title") or ""
        return f"{status} {said}".strip()[:200]
    return f"{status}"


# -- the seed -------------------------------------------------------------------------


def _key(keys: dict[str, str], role: str) -> tuple[str, str] | None:
    """(org, key) of the demo's first key with this role, or None."""
    found = sorted(k for k in keys if k.endswith(f"/{role}"))
    return (found[0].split("/")[0], keys[found[0]]) if found else None


def _moment(seconds_ago: int) -> str:
    moment = datetime.now(UTC) - timedelta(seconds=seconds_ago)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _event(etype: str, location: str, gtin: str, lot: str, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "type": etype,
        "location": location,
        "lot": {"gtin": gtin, "lot": lot},
        **fields,
    }


def _post_events(client: Client, key: str, events: list[dict[str, Any]]) -> None:
    for i in range(0, len(events), BATCH):
        client.json("POST", "/v1/events", key, {"events": events[i : i + BATCH]})


@dataclass
class Seed:
    """What the timed reads need: each role's key, lots and location."""

    keys: dict[str, str]  # role -> key
    orgs: dict[str, str]  # role -> organisation
    locations: list[dict[str, Any]]
    products: list[dict[str, Any]]
    demo_lots: dict[str, list[str]]  # product name -> lot codes, from the demo
    added: list[tuple[str, str]] = field(default_factory=list)  # (gtin, lot) through the API
    recall_id: str | None = None
    notes: list[str] = field(default_factory=list)


def add_lots(client: Client, seed: Seed, demo_keys: dict[str, str], count: int) -> None:
    """``count`` lots of a farm's product registered, shipped to the retailer's DC and
    received there, in batches."""
    farm = next((loc for loc in seed.locations if loc["kind"] in ("farm", "packer")), None)
    warehouse = _key(demo_keys, "warehouse")
    if farm is None or warehouse is None:
        seed.notes.append("no farm or no warehouse key in the demo: no lots added")
        return
    supplier = demo_keys.get(f"{farm['org_id']}/supplier")
    product = next((p for p in seed.products if p["org_id"] == farm["org_id"]), None)
    dc = next(
        (
            loc
            for loc in seed.locations
            if loc["org_id"] == warehouse[0] and loc["kind"] == "distribution_centre"
        ),
        None,
    )
    if supplier is None or product is None or dc is None:
        seed.notes.append("the demo has no farm product, supplier key or DC: no lots added")
        return
    gtin, unit = product["gtin"], product["unit"]
    codes = [f"RB{i:05d}" for i in range(count)]
    expiry = (date.today() + timedelta(days=10)).isoformat()
    registered = [
        _event(
            "register", farm["id"], gtin, code, event_time=_moment(3), quantity=LOT_QUANTITY,
            unit=unit, product=product["description"], kind="harvest", expiry=expiry,
        )
        for code in codes
    ]  # fmt: skip
    shipped = [
        _event(
            "ship", farm["id"], gtin, code, event_time=_moment(2), quantity=LOT_QUANTITY,
            unit=unit, to_location=dc["id"], reference={"type": "bol", "number": f"BOL-{code}"},
        )
        for code in codes
    ]  # fmt: skip
    received = [
        _event(
            "receive", dc["id"], gtin, code, event_time=_moment(1), quantity=LOT_QUANTITY,
            unit=unit, from_location=farm["id"],
        )
        for code in codes
    ]  # fmt: skip
    _post_events(client, supplier, registered)
    _post_events(client, supplier, shipped)
    _post_events(client, warehouse[1], received)
    seed.added = [(gtin, code) for code in codes]


def find_recall(client: Client, seed: Seed) -> None:
    """An existing recall's id; else, with lots added, one the manager opens on the last."""
    manager = seed.keys.get("manager")
    if manager is None:
        return
    status, data = client.request("GET", "/v1/recalls", manager)
    if status == 200 and json.loads(data):
        seed.recall_id = str(json.loads(data)[0]["id"])
        return
    if status != 200 or not seed.added:
        seed.notes.append(f"no recall to read (GET /v1/recalls: {_why(status, data)})")
        return
    gtin, lot = seed.added[-1]
    body = {
        "lots": [{"gtin": gtin, "lot": lot}],
        "reason": "read benchmark",
        "classification": "II",
    }
    status, data = client.request("POST", "/v1/recalls", manager, body)
    if status == 201:
        seed.recall_id = str(json.loads(data)["id"])
    else:
        seed.notes.append(f"no recall to read (POST /v1/recalls: {_why(status, data)})")


# -- what is timed --------------------------------------------------------------------


def _lot_path(gtin: str, lot: str) -> str:
    return f"{gtin}/{quote(lot, safe='')}"


def _visible_lot(
    client: Client, seed: Seed, role: str, prefer: list[str]
) -> tuple[str, str] | None:
    """The first lot of the preferred products (the demo's newest lot of each first) that
    the role may read."""
    by_name = {p["description"].lower(): p["gtin"] for p in seed.products}
    for name in prefer:
        gtin = next((g for d, g in by_name.items() if name in d), None)
        for code in sorted(seed.demo_lots.get(name, []), reverse=True):
            if gtin is not None:
                status, _ = client.request(
                    "GET", f"/v1/lots/{_lot_path(gtin, code)}", seed.keys[role]
                )
                if status == 200:
                    return gtin, code
    return None


def _location(seed: Seed, role: str) -> str | None:
    """A store's key reads its store; a manager's and a regulator's, the retailer's DC."""
    kind = "store" if role == "store" else "distribution_centre"
    org = seed.orgs.get(role) if role != "regulator" else seed.orgs.get("manager")
    for loc in seed.locations:
        if loc["kind"] == kind and (org is None or loc["org_id"] == org):
            return str(loc["id"])
    return None


def targets(client: Client, seed: Seed) -> dict[str, dict[str, str | None]]:
    """Endpoint name -> role -> path (None: nothing that role may read there)."""
    out: dict[str, dict[str, str | None]] = {}
    trace_roles = [r for r in ("manager", "regulator") if r in seed.keys]
    # The manager traces its own salad lots (a lot its organisation never handled is 404
    # to it); the regulator the farm's lettuce forward and the salad backward.
    forward = {"manager": ["salad", "lettuce"], "regulator": ["lettuce", "tomato", "salad"]}
    backward = {"manager": ["salad"], "regulator": ["salad", "lettuce"]}
    for name, direction, prefer in (
        ("GET /v1/trace?lot=[lot]&direction=forward", "forward", forward),
        ("GET /v1/trace?lot=[lot]&direction=backward", "backward", backward),
    ):
        out[name] = {}
        for role in trace_roles:
            found = _visible_lot(client, seed, role, prefer[role])
            out[name][role] = (
                f"/v1/trace?lot={quote(f'{found[0]}/{found[1]}', safe='')}&direction={direction}"
                if found
                else None
            )
    lots = {role: _visible_lot(client, seed, role, ["salad", "lettuce"]) for role in seed.keys}
    for name, tail in (
        ("GET /v1/lots/[gtin]/[lot]/events", "/events"),
        ("GET /v1/lots/[gtin]/[lot]/status", "/status"),
    ):
        out[name] = {
            role: f"/v1/lots/{_lot_path(*found)}{tail}" if found else None
            for role, found in lots.items()
        }
    out["GET /v1/stock/[location]"] = {
        role: f"/v1/stock/{quote(loc, safe='')}" if (loc := _location(seed, role)) else None
        for role in seed.keys
    }
    out["GET /v1/reports/inventory-value"] = dict.fromkeys(seed.keys, "/v1/reports/inventory-value")
    if seed.recall_id is not None:
        out["GET /v1/recalls/[id]"] = {
            role: f"/v1/recalls/{quote(seed.recall_id, safe='')}" for role in trace_roles
        }
    out["GET /v1/log/checkpoint"] = {"public": "/v1/log/checkpoint"}
    return out


def percentile(sorted_ms: list[float], q: float) -> float:
    """The nearest-rank percentile of an ascending list."""
    return sorted_ms[max(0, math.ceil(q * len(sorted_ms)) - 1)]


def _figures(ms: list[float]) -> dict[str, Any]:
    ms = sorted(ms)
    return {
        "requests": len(ms),
        "p50_ms": round(statistics.median(ms), 3),
        "p95_ms": round(percentile(ms, 0.95), 3),
    }


def measure(
    client: Client, seed: Seed, plan: dict[str, dict[str, str | None]], rounds: int, warmup: int
) -> dict[str, Any]:
    skipped: dict[str, str] = {}
    series: list[tuple[str, str, str, str | None]] = []  # endpoint, role, path, key
    for name, by_role in plan.items():
        for role, path in by_role.items():
            label = f"{name} as {role}"
            if path is None:
                skipped[label] = "nothing this role may read there"
                continue
            key = seed.keys.get(role)
            status, data = client.request("GET", path, key)
            if status != 200:
                skipped[label] = _why(status, data)
                continue
            series.append((name, role, path, key))
    timings: dict[tuple[str, str], list[float]] = {(n, r): [] for n, r, _, _ in series}
    paths = {(n, r): p for n, r, p, _ in series}
    failures: dict[str, int] = {}
    for round_ in range(warmup + rounds):
        for name, role, path, key in series:
            began = time.perf_counter()
            status, _ = client.request("GET", path, key)
            elapsed = (time.perf_counter() - began) * 1000
            if status != 200:
                failures[f"{name} as {role}: {status}"] = (
                    failures.get(f"{name} as {role}: {status}", 0) + 1
                )
            elif round_ >= warmup:
                timings[(name, role)].append(elapsed)
    endpoints: dict[str, Any] = {}
    every: list[float] = []
    for (name, role), ms in timings.items():
        if not ms:
            continue
        every += ms
        entry = endpoints.setdefault(name, {"roles": {}, "_ms": []})
        entry["roles"][role] = {"path": paths[(name, role)], **_figures(ms)}
        entry["_ms"] += ms
    for entry in endpoints.values():
        entry.update(_figures(entry.pop("_ms")))
    result: dict[str, Any] = {"endpoints": endpoints, "skipped": skipped, "failures": failures}
    if every:
        total = _figures(every)
        result.update(
            requests=total["requests"], read_p50_ms=total["p50_ms"], read_p95_ms=total["p95_ms"]
        )
    else:
        result.update(requests=0, read_p50_ms=None, read_p95_ms=None)
    return result


# -- the run --------------------------------------------------------------------------


def _load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def run(args: argparse.Namespace) -> dict[str, object]:
    figures: dict[str, Any] = {
        "database": "postgresql" if args.database_url else "sqlite",
        "rounds": args.rounds,
        "warmup": args.warmup,
        "load_average_before": _load_average(),
    }
    with tempfile.TemporaryDirectory(prefix="lotledger-bench-reads-") as tmp:
        data = Path(tmp) / "data"
        with fresh_database(args.database_url, data) as url:
            _lotledger("init", "--data-dir", str(data), "--database-url", url, "--json")
            demo = _lotledger("demo", "--data-dir", str(data), "--database-url", url, "--json")
            with service(data, url, 1, Path(tmp) / "service.log") as (base, _pgid):
                client = Client(base)
                try:
                    figures.update(_against(client, demo, args))
                finally:
                    client.close()
    figures["load_average_after"] = _load_average()
    if not getattr(args, "quiet", False):
        for name, entry in sorted(figures["endpoints"].items()):
            p50, p95 = entry["p50_ms"], entry["p95_ms"]
            print(f"{name:48} p50 {p50:8.2f}  p95 {p95:8.2f} ms", file=sys.stderr)
        for name, why in sorted(figures["skipped"].items()):
            print(f"skipped {name}: {why}", file=sys.stderr)
    return figures


def _against(client: Client, demo: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    demo_keys: dict[str, str] = demo["keys"]
    keys, orgs = {}, {}
    for role in ROLES:
        found = _key(demo_keys, role)
        if found is not None:
            orgs[role], keys[role] = found
    reader = keys.get("regulator") or next(iter(keys.values()))
    seed = Seed(
        keys=keys,
        orgs=orgs,
        locations=client.json("GET", "/v1/locations", reader),
        products=client.json("GET", "/v1/products", reader),
        demo_lots={name.lower(): list(codes) for name, codes in demo.get("lots", {}).items()},
    )
    if args.lots:
        add_lots(client, seed, demo_keys, args.lots)
    find_recall(client, seed)
    status, note = client.request("GET", "/v1/log/checkpoint")
    lines = note.decode(errors="replace").splitlines()
    tree_size = int(lines[1]) if status == 200 and len(lines) > 1 and lines[1].isdigit() else None
    result = measure(client, seed, targets(client, seed), args.rounds, args.warmup)
    return {
        "lots_added": len(seed.added),
        "tree_size": tree_size,
        "recall_id": seed.recall_id,
        "notes": seed.notes,
        **result,
    }
