"""``python -m load run``: a seeded service, locust against it, targets, an audit.

1. A fresh ledger: a temp data directory with SQLite, or a fresh schema in the PostgreSQL
   database ``--database-url`` names (dropped afterwards).
2. ``lotledger init`` and ``lotledger demo --json`` seed it and give the API keys.
3. ``lotledger serve`` on a free 127.0.0.1 port (``--workers N``).
4. The config file for ``load/locustfile.py``: the keys, the service's own locations and
   products (``GET /v1/locations``, ``/v1/products``) and the demo's lots.
5. locust, headless, in a subprocess (never imported here: its gevent monkey-patching
   does not belong in this process), writing its CSV and HTML report.
6. The audit, while the service still runs: the verifier re-hashes and chains every log
   entry up to the latest signed checkpoint (``verifier.audit.audit_url``), and every
   receipt the locust users were acknowledged with must be the entry at its seq.
7. The service stops; ``summary.json`` and the last line of output hold the figures.

Exit status: 0 when every request succeeded, every endpoint met its p99 target and the
audit passed; 1 otherwise; 2 when the service or locust could not be run at all.
"""

from __future__ import annotations

import argparse
import base64
import csv
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from load.ledger_fixtures import database
from verifier.audit import audit_url, http_fetch
from verifier.errors import VerificationError
from verifier.hashing import leaf_hash
from verifier.note import VerifierKey

ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
RESULTS = Path(__file__).resolve().parent / "results"
USER_CLASSES = ("SupplierUser", "WarehouseUser", "StoreUser", "RegulatorUser", "ManagerUser")

#: p99 targets in milliseconds, by endpoint class (issue 8).
TARGETS_MS = {"scan": 250.0, "read": 250.0, "write": 500.0}


class RunError(Exception):
    """The service or locust could not be run (exit status 2)."""


def endpoint_class(name: str) -> str:
    """``write`` for a POST, ``scan`` for the resolver and the scanner page, ``read`` for
    any other GET."""
    method, _, path = name.partition(" ")
    if method != "GET":
        return "write"
    return "scan" if path.startswith(("/01/", "/scan")) else "read"


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive whole number")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--users", type=_positive, default=200, help="concurrent users (200)")
    parser.add_argument("--duration", type=_positive, default=60, help="seconds of load (60)")
    parser.add_argument(
        "--spawn-rate", type=float, help="users started per second (default: users/10, 1..20)"
    )
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL URL: the run uses a fresh schema in it (default: SQLite in a temp dir)",
    )
    parser.add_argument("--workers", type=_positive, default=1, help="service worker processes (1)")
    parser.add_argument(
        "--without",
        action="append",
        default=[],
        choices=USER_CLASSES,
        metavar="CLASS",
        help=f"leave a user class out of the mix (repeatable): {', '.join(USER_CLASSES)}",
    )
    parser.add_argument(
        "--think",
        type=float,
        default=1.0,
        help="multiply every user's think time by this (1; 0.5 doubles the pace)",
    )
    parser.add_argument(
        "--out-dir", type=Path, help="where reports go (default load/results/<UTC timestamp>)"
    )


# -- the service ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env() -> dict[str, str]:
    """This environment without LOTLEDGER_ settings: the command line says everything."""
    return {k: v for k, v in os.environ.items() if not k.startswith("LOTLEDGER_")}


def _lotledger(*args: str, timeout: float = 300) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RunError(f"lotledger {args[0]} failed ({done.returncode}): {done.stderr.strip()}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@contextmanager
def fresh_database(database_url: str | None, data_dir: Path) -> Iterator[str]:
    """SQLite in ``data_dir``, or a new schema in the PostgreSQL database, dropped after."""
    if not database_url:
        yield f"sqlite:///{data_dir / 'lotledger.db'}"
        return
    with database("postgresql", pg_url=database_url) as url:
        yield url


@contextmanager
def service(
    data_dir: Path, database_url: str, workers: int, log: Path
) -> Iterator[tuple[str, int]]:
    """``lotledger serve`` on a free loopback port: its base URL once it answers, and its
    process group (the service and its workers)."""
    port = free_port()
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "api.cli",
                "serve",
                "--data-dir",
                str(data_dir),
                "--database-url",
                database_url,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the workers stop with it
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(base, proc, log)
            yield base, proc.pid
        finally:
            _stop(proc)


def _wait_until_up(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RunError(f"the service exited ({proc.returncode}): {log.read_text()[-2000:]}")
        with (
            suppress(OSError),
            urllib.request.urlopen(f"{base}/v1/log/checkpoint", timeout=2),  # noqa: S310
        ):
            return
        time.sleep(0.2)
    raise RunError(f"the service did not answer within 60 s: {log.read_text()[-2000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)  # the group this runner started
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def group_cpu_seconds(pgid: int) -> float:
    """CPU time (user + system) used so far by the live processes of a process group."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[2]) == pgid:  # pgrp; utime and stime are fields 14 and 15 of stat
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def machine_busy_seconds() -> float:
    """CPU time the whole machine has been busy (not idle, not waiting for I/O), all cores."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _get(url: str, key: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - our service
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            body = response.read()
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise
    return json.loads(body)


def _regulator_key(demo: dict[str, Any]) -> str:
    """The demo's regulator key: it reads every lot, and the log's entries."""
    return str(next(v for k, v in demo["keys"].items() if k.endswith("/regulator")))


def load_config(
    base: str, demo: dict[str, Any], receipts_dir: Path, think: float = 1.0
) -> dict[str, Any]:
    """What the locust users need, from the demo's output and the service's directory."""
    regulator = _regulator_key(demo)
    products = _get(f"{base}/v1/products", regulator)
    demo_lots = []
    for code in sorted({code for codes in demo["lots"].values() for code in codes}):
        for product in products:
            lot = _get(f"{base}/v1/lots/{product['gtin']}/{urllib.parse.quote(code)}", regulator)
            if lot is not None:
                demo_lots.append({"gtin": lot["gtin"], "lot": lot["lot"]})
    if not demo_lots:
        raise RunError("the demo's lots were not found through the API")
    return {
        "keys": demo["keys"],
        "locations": _get(f"{base}/v1/locations", regulator),
        "products": products,
        "demo_lots": demo_lots,
        "receipts_dir": str(receipts_dir),
        "think_scale": think,
    }


# -- locust ---------------------------------------------------------------------------


def run_locust(
    base: str, config: Path, out: Path, users: int, duration: int, rate: float, classes: list[str]
) -> int:
    env = {**_env(), "LOTLEDGER_LOAD_CONFIG": str(config)}
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--users",
        str(users),
        "--spawn-rate",
        str(rate),
        "--run-time",
        f"{duration}s",
        "--stop-timeout",
        "10",
        "--host",
        base,
        "--csv",
        str(out / "locust"),
        "--html",
        str(out / "report.html"),
        "--only-summary",
        "--loglevel",
        "WARNING",
        *classes,
    ]
    with (out / "locust.log").open("w") as log:
        try:
            done = subprocess.run(
                command,
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=duration + 180,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise RunError(f"locust did not stop within {duration + 180} s") from None
    return done.returncode


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


def parse_stats(path: Path) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Per-endpoint figures and the aggregate, from locust's ``*_stats.csv``."""
    endpoints: dict[str, dict[str, Any]] = {}
    total: dict[str, Any] = {}
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            figures = {
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "requests_per_s": round(_number(row["Requests/s"]), 2),
                "p50_ms": _number(row["50%"]),
                "p95_ms": _number(row["95%"]),
                "p99_ms": _number(row["99%"]),
                "max_ms": round(_number(row["Max Response Time"]), 1),
            }
            if row["Name"] == "Aggregated":
                total = figures
            else:
                endpoints[row["Name"]] = {"class": endpoint_class(row["Name"]), **figures}
    return endpoints, total


def missed_targets(endpoints: dict[str, dict[str, Any]]) -> list[str]:
    return [
        f"{name}: p99 {e['p99_ms']:.0f} ms over {TARGETS_MS[e['class']]:.0f} ms ({e['class']})"
        for name, e in sorted(endpoints.items())
        if e["p99_ms"] >= TARGETS_MS[e["class"]]
    ]


def failure_messages(path: Path, limit: int = 10) -> list[str]:
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [f"{r['Occurrences']}x {r['Method']} {r['Name']}: {r['Error']}"[:400] for r in rows][
        :limit
    ]


# -- the audit ------------------------------------------------------------------------


@dataclass
class Audit:
    ok: bool = False
    tree_size: int = 0
    entries_checked: int = 0
    acknowledged: int = 0
    missing: list[str] = field(default_factory=list)
    error: str = ""
    unacknowledged: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "tree_size": self.tree_size,
            "entries_checked": self.entries_checked,
            "acknowledged_writes": self.acknowledged,
            "missing": self.missing[:10],
            "unacknowledged_entries": self.unacknowledged,
            "error": self.error,
            "seconds": round(self.seconds, 2),
        }


def audit(base: str, receipts_dir: Path, state: Path, seeded: int, api_key: str) -> Audit:
    """Verify the whole log from scratch and find every acknowledged receipt in it.

    The entries answer only a regulator or admin key: ``api_key`` is the demo's regulator's.
    """
    began = time.monotonic()
    result = Audit()
    key_text = urllib.request.urlopen(f"{base}/v1/log/key", timeout=30).read().decode()  # noqa: S310
    key = VerifierKey.parse(key_text.strip())
    leaves: dict[int, bytes] = {}
    entries: dict[int, bytes] = {}

    def fetch(url: str) -> bytes:
        body = http_fetch(url, api_key=api_key)
        if "/v1/log/entries?" not in url:
            return body
        for entry in json.loads(body)["entries"]:
            leaf = base64.b64decode(entry["leaf"])
            leaves[entry["seq"]] = leaf_hash(leaf)
            entries[entry["seq"]] = leaf
        return body

    try:
        report = audit_url(base, key, state_path=state, fetch=fetch)
    except (VerificationError, OSError, ValueError) as exc:
        result.error = f"{type(exc).__name__}: {exc}"
        result.seconds = time.monotonic() - began
        return result
    result.tree_size = report.tree_size
    result.entries_checked = report.entries_checked
    told: set[int] = set()
    for path in sorted(receipts_dir.glob("receipts-*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            receipt = json.loads(line)
            result.acknowledged += 1
            told.add(receipt["seq"])
            if leaves.get(receipt["seq"]) != bytes.fromhex(receipt["leaf_hash"]):
                result.missing.append(f"seq {receipt['seq']} leaf {receipt['leaf_hash']}")
    # Entries after the seed that no POST /v1/events receipt names: a recall's holds and
    # disposals, and writes whose answer was cut off when locust stopped or failed.
    for seq in sorted(set(entries) - told):
        if seq >= seeded:
            doc = json.loads(entries[seq])
            kind = f"{doc['actor']}/{doc['event']['type']}"
            result.unacknowledged[kind] = result.unacknowledged.get(kind, 0) + 1
    result.ok = not result.missing and report.tree_size == len(leaves)
    if report.tree_size != len(leaves):
        result.error = f"audited {len(leaves)} entries of a log of {report.tree_size}"
    result.seconds = time.monotonic() - began
    return result


# -- the run --------------------------------------------------------------------------


def _load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def run(args: argparse.Namespace) -> int:
    out: Path = args.out_dir or RESULTS / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out.mkdir(parents=True, exist_ok=True)
    classes = [c for c in USER_CLASSES if c not in args.without]
    if not classes:
        print("python -m load run: every user class is left out", file=sys.stderr)
        return 2
    rate = args.spawn_rate or max(1.0, min(20.0, args.users / 10))
    summary: dict[str, Any] = {
        "users": args.users,
        "duration_s": args.duration,
        "spawn_rate": rate,
        "think_scale": args.think,
        "database": "postgresql" if args.database_url else "sqlite",
        "workers": args.workers,
        "user_classes": classes,
        "load_average_before": _load_average(),
        "report_dir": str(out),
    }
    try:
        with tempfile.TemporaryDirectory(prefix="lotledger-load-") as tmp:
            data = Path(tmp) / "data"
            with fresh_database(args.database_url, data) as url:
                _lotledger("init", "--data-dir", str(data), "--database-url", url, "--json")
                demo = _lotledger("demo", "--data-dir", str(data), "--database-url", url, "--json")
                with service(data, url, args.workers, out / "service.log") as (base, pgid):
                    receipts = Path(tmp) / "receipts"
                    config = Path(tmp) / "load-config.json"
                    config.write_text(json.dumps(load_config(base, demo, receipts, args.think)))
                    print(
                        f"seeded the demo ({demo['tree_size']} entries); {args.users} users for "
                        f"{args.duration} s against {base} ({summary['database']}, "
                        f"{args.workers} worker(s))",
                        file=sys.stderr,
                        flush=True,
                    )
                    service_cpu, locust_cpu = group_cpu_seconds(pgid), children_cpu_seconds()
                    busy = machine_busy_seconds()
                    began = time.monotonic()
                    code = run_locust(base, config, out, args.users, args.duration, rate, classes)
                    summary["load_average_after"] = _load_average()
                    summary["cpu_s"] = {
                        "wall": round(time.monotonic() - began, 1),
                        "service": round(group_cpu_seconds(pgid) - service_cpu, 1),
                        "locust": round(children_cpu_seconds() - locust_cpu, 1),
                        "machine": round(machine_busy_seconds() - busy, 1),
                        "cores": os.cpu_count(),
                    }
                    checked = audit(
                        base,
                        receipts,
                        Path(tmp) / "audit-state.json",
                        demo["tree_size"],
                        _regulator_key(demo),
                    )
    except (RunError, OSError, subprocess.SubprocessError) as exc:
        print(f"python -m load run: {exc}", file=sys.stderr)
        return 2
    stats = out / "locust_stats.csv"
    if not stats.exists():
        print(
            f"python -m load run: locust wrote no statistics; see {out / 'locust.log'}",
            file=sys.stderr,
        )
        return 2
    endpoints, total = parse_stats(stats)
    missed = missed_targets(endpoints)
    failures = int(total.get("failures", 0))
    summary.update(
        {
            "requests": total.get("requests", 0),
            "requests_per_s": total.get("requests_per_s", 0.0),
            "failures": failures,
            "p50_ms": total.get("p50_ms"),
            "p95_ms": total.get("p95_ms"),
            "p99_ms": total.get("p99_ms"),
            "targets_p99_ms": TARGETS_MS,
            "missed_targets": missed,
            "failure_examples": failure_messages(out / "locust_failures.csv"),
            "locust_exit": code,
            "audit": checked.as_dict(),
            "endpoints": endpoints,
        }
    )
    # locust exits 1 when any request failed, counting those of its stopping phase too.
    ok = failures == 0 and code == 0 and not missed and checked.ok and summary["requests"] > 0
    summary["passed"] = ok
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    _explain(summary, checked)
    print(json.dumps(summary, separators=(",", ":")), flush=True)
    return 0 if ok else 1


def _explain(summary: dict[str, Any], checked: Audit) -> None:
    """A human reading before the JSON line: the figures, each miss, the audit."""
    print(f"{'endpoint':52} {'class':6} {'reqs':>7} {'fail':>5} {'p50':>6} {'p95':>6} {'p99':>6}")
    for name, e in sorted(summary["endpoints"].items()):
        print(
            f"{name[:52]:52} {e['class']:6} {e['requests']:7} {e['failures']:5} "
            f"{e['p50_ms']:6.0f} {e['p95_ms']:6.0f} {e['p99_ms']:6.0f}"
        )
    print(
        f"{summary['requests']} requests, {summary['requests_per_s']} requests/s, "
        f"{summary['failures']} failures; load average {summary['load_average_after']}"
    )
    cpu = summary["cpu_s"]
    print(
        f"CPU seconds over {cpu['wall']} s of wall time on {cpu['cores']} cores: "
        f"service {cpu['service']}, locust {cpu['locust']}, the whole machine {cpu['machine']} "
        "(the rest: the database server, other processes)"
    )
    for line in summary["missed_targets"]:
        print(f"MISSED {line}")
    for line in summary["failure_examples"]:
        print(f"FAILED {line}")
    if summary["locust_exit"] != 0:
        print(f"FAILED locust exited with {summary['locust_exit']}; see its log in the reports")
    if checked.ok:
        print(
            f"AUDIT VERIFIED: {checked.tree_size} entries re-hashed, chained and matched to the "
            f"signed checkpoint; all {checked.acknowledged} acknowledged writes are in the log"
        )
    else:
        print(
            f"AUDIT FAILED: {checked.error or ''} {len(checked.missing)} acknowledged writes "
            f"missing {checked.missing[:3]}"
        )
    print(f"reports: {summary['report_dir']}")
