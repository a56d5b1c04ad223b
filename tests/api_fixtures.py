"""Fixtures for the API tests: the app over the test's ledger, real keys, a synchronous
client that talks HTTP to the ASGI app through httpx (no server, no mocks), and ``serve``,
a real ``lotledger serve`` process on a free 127.0.0.1 port for the end-to-end journeys."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from ledger import Ledger, Settings, create_organisation
from ledger.masterdata import keys


class ApiClient:
    """httpx over the ASGI app, driven from synchronous tests."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._runner = asyncio.Runner()
        # A client a test leaves open still closes its event loop (and the loop's socket
        # pair) when collected: an unclosed one warns at some later test, failing that one.
        weakref.finalize(self, self._runner.close)
        transport = httpx.ASGITransport(app=app)
        self._client = httpx.AsyncClient(transport=transport, base_url="http://lotledger.test")

    def request(
        self, method: str, url: str, *, key: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        return self._runner.run(self._client.request(method, url, headers=headers, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)

    def close(self) -> None:
        self._runner.run(self._client.aclose())
        self._runner.close()


@dataclass
class Keys:
    admin: str
    farm: str  # supplier of "farm"
    fresh: str  # supplier of "fresh" (the processor)
    dc: str  # warehouse of "retail"
    store: str  # store of "retail"
    manager: str  # manager of "retail"
    regulator: str  # regulator of "agency"

    def by_role(self) -> dict[str, str]:
        return {
            "admin": self.admin,
            "supplier": self.farm,
            "warehouse": self.dc,
            "store": self.store,
            "manager": self.manager,
            "regulator": self.regulator,
        }


def make_keys(ledger: Ledger) -> Keys:
    """Keys for the ``world`` fixture's organisations plus an operator and an agency."""
    create_organisation(ledger.engine, "operator", "Ledger operator")
    create_organisation(ledger.engine, "agency", "Food Safety Agency")

    def new(org: str, role: str) -> str:
        return keys.create_key(ledger.engine, org, role, "test").secret

    return Keys(
        admin=new("operator", "admin"),
        farm=new("farm", "supplier"),
        fresh=new("fresh", "supplier"),
        dc=new("retail", "warehouse"),
        store=new("retail", "store"),
        manager=new("retail", "manager"),
        regulator=new("agency", "regulator"),
    )


@pytest.fixture
def client(ledger: Ledger) -> Iterator[ApiClient]:
    api = ApiClient(create_app(ledger))
    try:
        yield api
    finally:
        api.close()


@pytest.fixture
def api_keys(world: Ledger) -> Keys:
    return make_keys(world)


def log_size(ledger: Ledger) -> int:
    return ledger.size()


ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(
    settings: Settings, *extra: str, workers: int = 1, log: Path | None = None
) -> Iterator[str]:
    """A real ``lotledger serve`` on ``settings``' data directory and database (plus ``extra``
    options such as ``--init``), on a free port; yields its base URL once it answers, stops
    it afterwards. Its output goes to ``log`` (beside the data directory by default), which
    the caller may read, e.g. for the admin key ``--init`` prints. Use as
    ``for base in serve(...)`` or ``yield from serve(...)`` in a fixture."""
    port = free_port()
    log = log or settings.data_dir.parent / f"serve-{port}.log"
    out = log.open("w+")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOTLEDGER_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", *extra,
         "--data-dir", str(settings.data_dir), "--database-url", settings.database_url,
         "--port", str(port), "--workers", str(workers), "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        # Generous: on a loaded two-core machine, imports and migrations on PostgreSQL
        # have taken over a minute.
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{base}/v1/log/key", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            code = proc.poll()
            if code is not None or time.monotonic() > deadline:
                out.seek(0)
                why = f"exited with {code}" if code is not None else "no answer in 180 s"
                pytest.fail(f"the service did not start ({why}): {out.read()}")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        out.close()
