"""The real service: ``lotledger serve --workers 2`` on a free port, appended to concurrently
over HTTP from threads; the log stays one unbroken chain and includes every receipt."""

from __future__ import annotations

import base64
import http.client
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from ledger import Ledger, Settings
from tests.api.test_processes import assert_unbroken_chain
from tests.api_fixtures import Keys, api_keys, serve  # noqa: F401 - fixture
from tests.conftest import Events
from verifier.note import VerifierKey, verify_checkpoint
from verifier.proofs import verify_inclusion


@pytest.fixture
def service(world: Ledger, settings: Settings, api_keys: Keys) -> Iterator[str]:  # noqa: F811
    yield from serve(settings, workers=2)


def test_two_workers_append_concurrently(
    world: Ledger,
    service: str,
    api_keys: Keys,  # noqa: F811
) -> None:
    threads, rounds = 8, 12
    ev = Events()

    def writer(n: int) -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = []
        with httpx.Client(base_url=service, timeout=60) as http:
            auth = {"Authorization": f"Bearer {api_keys.farm}"}
            for r in range(rounds):
                batch = [ev.register(f"W{n}R{r}B{b}", "10") for b in range(1 + r % 3)]
                answer = http.post("/v1/events", json={"events": batch}, headers=auth)
                assert answer.status_code == 201, answer.text
                got += answer.json()["receipts"]
        return got

    with ThreadPoolExecutor(threads) as pool:
        receipts = [r for chunk in pool.map(writer, range(threads)) for r in chunk]

    total = threads * sum(1 + r % 3 for r in range(rounds))
    assert len(receipts) == total
    assert sorted(r["seq"] for r in receipts) == list(range(total)), "gaps or duplicate seq"
    leaves = assert_unbroken_chain(world)
    assert len(leaves) == total

    with httpx.Client(base_url=service, timeout=30) as http:
        key = VerifierKey.parse(http.get("/v1/log/key").text.strip())
        checkpoint = verify_checkpoint(http.get("/v1/log/checkpoint").text, key)
        assert checkpoint.size == total
        for receipt in receipts:
            proof = http.get(
                "/v1/log/proof/inclusion", params={"index": receipt["seq"], "size": total}
            ).json()
            verify_inclusion(
                receipt["seq"],
                total,
                bytes.fromhex(receipt["leaf_hash"]),
                [base64.b64decode(h) for h in proof["hashes"]],
                checkpoint.root_hash,
            )
            assert leaves[receipt["seq"]].hex() == receipt["leaf_hash"]


def test_an_idle_keep_alive_connection_outlasts_a_pause_between_scans(
    world: Ledger, settings: Settings
) -> None:
    """A phone or client that pauses six seconds between requests reuses its connection
    (uvicorn's own 5 s default closed it under the client: a reset instead of an answer)."""
    base = serve(settings, workers=1)
    url = next(base)
    try:
        conn = http.client.HTTPConnection(url.removeprefix("http://"), timeout=10)
        conn.request("GET", "/v1/log/key")
        first = conn.getresponse()
        key = first.read()
        assert first.status == 200
        sock = conn.sock
        time.sleep(6)
        conn.request("GET", "/v1/log/key")
        again = conn.getresponse()
        assert (again.status, again.read()) == (200, key)
        assert conn.sock is sock  # the same connection, not a new one
        conn.close()
    finally:
        base.close()
