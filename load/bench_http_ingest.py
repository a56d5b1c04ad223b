"""Ingest over HTTP: ``python -m load.bench http-ingest [--json]``.

Starts the service itself (``lotledger serve``) on 127.0.0.1 with a fresh data
directory, and measures, with a minimal keep-alive HTTP/1.1 client (so that the
client costs as little CPU as possible on the same machine):

- batched ingest, batches of 500 register events, one worker, SQLite: one client
  (``batch_events_per_s``, each batch sent when the previous one is answered), then 2 and
  4 concurrent clients (``batch_events_per_s_2_clients``, ``..._4_clients``, each on a
  fresh ledger and service, so on the same log sizes as the one-client run): the writer
  merges batches that queue while it commits (group commit), and the database's work,
  done without the GIL, can overlap the Python work of the next batch; and one client
  again with time-ordered event ids (``batch_events_per_s_uuid7_ids``: UUIDv7, which the
  service makes for its own events and the README recommends), since random ids (v4, the
  other runs) put each event's idempotency-index entry on a page of its own;
- single-event appends from concurrent connections, one worker, SQLite: rate, p50, p99;
- the same single-event appends against PostgreSQL with 2 workers (and 1, to compare).

Every request body is encoded before the clock starts. Beside the rates it reports the
CPU time the service (every process of it) and this client spent per request, and the
load average before and after, since the client shares the machine with the service.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ledger import Ledger, Settings, create_location, create_organisation
from ledger.config import normalize_url
from ledger.ids import new_event_id
from ledger.masterdata import keys

GTIN = "09506000134352"
ROOT = Path(__file__).resolve().parent.parent


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--batch-events", type=int, default=50_000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument(
        "--batch-clients",
        type=int,
        nargs="*",
        default=[2, 4],
        help="also measure batched ingest with this many concurrent clients (none: skip)",
    )
    parser.add_argument("--singles", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--skip-pg", action="store_true")


def _random_id() -> str:
    return str(uuid.uuid4())


def _event(n: int, prefix: str, new_id: Callable[[], str] = _random_id) -> dict[str, Any]:
    return {
        "event_id": new_id(),
        "type": "register",
        "event_time": "2026-11-20T08:00:00+01:00",
        "location": "bench-farm",
        "lot": {"gtin": GTIN, "lot": f"{prefix}{n:09d}"},
        "quantity": "100",
        "unit": "kg",
        "product": "Romaine lettuce",
        "kind": "harvest",
    }


def _prepare(data_dir: Path, url: str) -> str:
    settings = Settings(data_dir, url, "bench.lotledger.example/log", None, None)
    ledger = Ledger.open(settings)
    try:
        create_organisation(ledger.engine, "bench", "Bench Farm")
        create_location(ledger.engine, "bench-farm", org_id="bench", name="Farm", kind="farm")
        return keys.create_key(ledger.engine, "bench", "supplier").secret
    finally:
        ledger.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of process ``pid`` and its children (uvicorn's workers), from /proc."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if stat.parent.name == str(pid) or fields[1] == str(pid):
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


class _Cpu:
    """CPU seconds the service and this client spend between ``start`` and ``stop``."""

    def __init__(self, server_pid: int) -> None:
        self.pid = server_pid

    def start(self) -> None:
        self.server0, self.client0 = _cpu_seconds(self.pid), time.process_time()

    def per_request_ms(self, requests: int) -> dict[str, float]:
        server = _cpu_seconds(self.pid) - self.server0
        client = time.process_time() - self.client0
        return {
            "server_cpu_ms": round(server / requests * 1000, 3),
            "client_cpu_ms": round(client / requests * 1000, 3),
        }


@contextmanager
def _service(data_dir: Path, url: str, workers: int) -> Iterator[tuple[int, int]]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOTLEDGER_")}
    log = (data_dir.parent / f"serve-{port}.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--data-dir", str(data_dir),
         "--database-url", url, "--port", str(port), "--workers", str(workers),
         "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"service did not start, see {log.name}") from None
                time.sleep(0.2)
        time.sleep(0.5 * workers)  # let every worker finish starting
        yield port, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


class _Conn:
    """A keep-alive HTTP/1.1 connection that POSTs pre-encoded JSON and reads the status."""

    def __init__(self, port: int, key: str) -> None:
        self.port = port
        self.head = (
            f"POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
        ).encode()

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def post(self, body: bytes) -> int:
        self.writer.write(self.head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        status_line = await self.reader.readline()
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return int(status_line.split()[1])

    def close(self) -> None:
        self.writer.close()


async def _run_bodies(port: int, key: str, bodies: list[bytes], concurrency: int) -> list[float]:
    """POST every body over ``concurrency`` connections; the latency of each, in seconds."""
    queue = list(reversed(bodies))
    latencies: list[float] = []

    async def worker() -> None:
        conn = _Conn(port, key)
        await conn.open()
        try:
            while queue:
                body = queue.pop()
                start = time.perf_counter()
                status = await conn.post(body)
                latencies.append(time.perf_counter() - start)
                if status != 201:
                    raise RuntimeError(f"append answered {status}")
        finally:
            conn.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


def _bodies(
    count: int, size: int, prefix: str, new_id: Callable[[], str] = _random_id
) -> list[bytes]:
    return [
        json.dumps({"events": [_event(i + j, prefix, new_id) for j in range(size)]}).encode()
        for i in range(0, count, size)
    ]


def _singles(
    port: int, key: str, count: int, concurrency: int, prefix: str, cpu: _Cpu
) -> dict[str, float]:
    asyncio.run(_run_bodies(port, key, _bodies(200, 1, prefix + "W"), concurrency))  # warm up
    bodies = _bodies(count, 1, prefix)
    cpu.start()
    start = time.perf_counter()
    latencies = asyncio.run(_run_bodies(port, key, bodies, concurrency))
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "per_s": round(count / elapsed),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
        **cpu.per_request_ms(count),
    }


@contextmanager
def _pg_schema(url: str) -> Iterator[str]:
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalize_url(url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield (
            make_url(normalize_url(url))
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _timed_batches(
    port: int,
    pid: int,
    key: str,
    args: argparse.Namespace,
    clients: int,
    new_id: Callable[[], str] = _random_id,
) -> tuple[float, _Cpu, int]:
    """``--batch-events`` in batches from ``clients`` connections, after a warm-up: the
    seconds they took, the CPU meter started with them, and the number of requests."""
    cpu = _Cpu(pid)
    bodies = _bodies(args.batch_events, args.batch_size, "B", new_id)
    asyncio.run(_run_bodies(port, key, _bodies(1000, args.batch_size, "WB"), 1))
    cpu.start()
    start = time.perf_counter()
    asyncio.run(_run_bodies(port, key, bodies, clients))
    return time.perf_counter() - start, cpu, len(bodies)


def run(args: argparse.Namespace) -> dict[str, object]:
    figures: dict[str, object] = {"load_average_before": list(os.getloadavg())}
    with tempfile.TemporaryDirectory(prefix="lotledger-bench-") as tmp:
        data = Path(tmp) / "sqlite"
        url = f"sqlite:///{data / 'lotledger.db'}"
        key = _prepare(data, url)
        with _service(data, url, workers=1) as (port, pid):
            elapsed, cpu, requests = _timed_batches(port, pid, key, args, 1)
            figures["batch_events_per_s"] = round(args.batch_events / elapsed)
            figures["batch_request_ms"] = round(elapsed / requests * 1000, 2)
            for name, value in cpu.per_request_ms(requests).items():
                figures[f"batch_{name}"] = value
            single = _singles(port, key, args.singles, args.concurrency, "S", cpu)
            for name, value in single.items():
                figures[f"single_{name}"] = value
            sequential = _singles(port, key, args.singles // 4, 1, "Q", cpu)
            figures["single_sequential_per_s"] = sequential["per_s"]
            figures["single_sequential_p99_ms"] = sequential["p99_ms"]
        for clients in args.batch_clients:
            # Each on a fresh ledger, like the one-client run: the same log sizes.
            data = Path(tmp) / f"sqlite-{clients}-clients"
            url = f"sqlite:///{data / 'lotledger.db'}"
            key = _prepare(data, url)
            with _service(data, url, workers=1) as (port, pid):
                elapsed, cpu, requests = _timed_batches(port, pid, key, args, clients)
                server_ms = cpu.per_request_ms(requests)["server_cpu_ms"]  # while it runs
            figures[f"batch_events_per_s_{clients}_clients"] = round(args.batch_events / elapsed)
            figures[f"batch_server_cpu_ms_{clients}_clients"] = server_ms
        # The same one-client run with time-ordered event ids (UUIDv7, as the service makes
        # its own and the README recommends to clients): the idempotency index then grows
        # at its end instead of at a random page per event.
        data = Path(tmp) / "sqlite-uuid7"
        url = f"sqlite:///{data / 'lotledger.db'}"
        key = _prepare(data, url)
        with _service(data, url, workers=1) as (port, pid):
            elapsed, cpu, requests = _timed_batches(port, pid, key, args, 1, new_event_id)
        figures["batch_events_per_s_uuid7_ids"] = round(args.batch_events / elapsed)
        if not args.skip_pg:
            for workers in (1, 2):
                with _pg_schema(args.pg_url) as pg:
                    pg_data = Path(tmp) / f"pg{workers}"
                    key = _prepare(pg_data, pg)
                    with _service(pg_data, pg, workers=workers) as (port, pid):
                        single = _singles(port, key, args.singles, args.concurrency, "P", _Cpu(pid))
                    name = "pg_2_workers" if workers == 2 else "pg_1_worker"
                    figures[f"{name}_single_per_s"] = single["per_s"]
                    figures[f"{name}_single_p99_ms"] = single["p99_ms"]
                    figures[f"{name}_single_server_cpu_ms"] = single["server_cpu_ms"]
    figures["load_average_after"] = list(os.getloadavg())
    figures["concurrency"] = args.concurrency
    figures["batch_size"] = args.batch_size
    if not getattr(args, "quiet", False):
        print(json.dumps(figures), file=sys.stderr)
    return figures
