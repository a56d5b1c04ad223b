"""Fixtures for the API tests: the app over the test's ledger, real keys, a synchronous
client that talks HTTP to the ASGI app through httpx (no server, no mocks)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from api.app import create_app
from ledger import keys
from ledger.log import Ledger
from ledger.masterdata import create_organisation


class ApiClient:
    """httpx over the ASGI app, driven from synchronous tests."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._runner = asyncio.Runner()
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
