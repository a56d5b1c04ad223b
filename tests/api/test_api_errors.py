"""Bad input gets the documented 4xx problem, and the log is unchanged."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from api.limits import MAX_BATCH, MAX_BODY_BYTES
from api.routers import events as events_router
from ledger import Ledger
from tests.api_fixtures import ApiClient, Keys, api_keys, client  # noqa: F401 - fixtures
from tests.conftest import Events

PROBLEMS = "https://lotledger.dev/problems/"


def _good(ev: Events) -> list[dict[str, Any]]:
    return [ev.register("G1"), ev.register("G2")]


def _with(event: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**event, **changes}


BAD_EVENTS: list[tuple[str, Any, int, str, str]] = [
    # (id, third event given the builder, status, problem type, failing field)
    ("wrong check digit", lambda ev: ev.register("B1", gtin="09506000134353"), 422,
     "validation-error", "lot.gtin"),
    ("negative quantity", lambda ev: ev.register("B1", qty="-5"), 422, "validation-error",
     "quantity"),
    ("non-numeric quantity", lambda ev: ev.register("B1", qty="lots"), 422, "validation-error",
     "quantity"),
    ("quantity as a JSON number", lambda ev: ev.register("B1", qty=5), 422, "validation-error",
     "quantity"),
    ("unknown lot", lambda ev: ev.ship("NEVER", "1", frm="farm-field-1", to="retail-dc"), 422,
     "validation-error", "lot"),
    ("unknown location", lambda ev: ev.register("B1", location="nowhere"), 422,
     "validation-error", "location"),
    ("far in the future", lambda ev: _with(ev.register("B1"), event_time="2999-01-01T00:00:00Z"),
     422, "validation-error", "event_time"),
    ("more than on hand", lambda ev: ev.ship("G1", "101", frm="farm-field-1", to="retail-dc"),
     409, "insufficient-stock", "quantity"),
    ("another organisation's location", lambda ev: ev.register("B1", location="retail-dc"), 403,
     "forbidden-location", "location"),
    ("unknown event type", lambda ev: _with(ev.register("B1"), type="teleport"), 422,
     "validation-error", "event"),
]  # fmt: skip


@pytest.fixture
def farm(world: Ledger, api_keys: Keys) -> str:  # noqa: F811
    return api_keys.farm


@pytest.mark.parametrize(
    ("third", "status", "slug", "field"),
    [case[1:] for case in BAD_EVENTS],
    ids=[case[0] for case in BAD_EVENTS],
)
def test_bad_event_in_a_batch(
    world: Ledger,
    client: ApiClient,  # noqa: F811
    farm: str,
    ev: Events,
    third: Any,
    status: int,
    slug: str,
    field: str,
) -> None:
    before = world.latest_checkpoint()
    r = client.post("/v1/events", key=farm, json={"events": [*_good(ev), third(ev)]})
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["type"] == PROBLEMS + slug
    assert problem["status"] == status
    assert problem["detail"]
    assert [(e["index"], e["field"]) for e in problem["errors"]][:1] == [(2, field)]
    assert world.latest_checkpoint() == before, "the batch was not all or nothing"


def test_every_failing_event_is_listed(
    world: Ledger,
    client: ApiClient,  # noqa: F811
    farm: str,
    ev: Events,
) -> None:
    batch = [ev.register("A1", qty="0"), ev.register("A2"), ev.register("A3", gtin="123")]
    problem = client.post("/v1/events", key=farm, json={"events": batch}).json()
    assert [(e["index"], e["field"]) for e in problem["errors"]] == [
        (0, "quantity"),
        (2, "lot.gtin"),
    ]
    assert world.size() == 0


@pytest.mark.parametrize(
    ("body", "status", "slug"),
    [
        (b'{"events": [', 400, "malformed-json"),
        (b"\xff\xfe", 415, "unsupported-media-type"),  # a UTF-16 byte-order mark
        (b'{"events": ["\xff"]}', 400, "malformed-json"),
        (b"[" * 100_000, 400, "malformed-json"),
        (b"[]", 422, "validation-error"),
        (b'{"events": {}}', 422, "validation-error"),
        (b'{"events": []}', 422, "validation-error"),
        (b'{"events": [], "extra": 1}', 422, "validation-error"),
        (b'{"events": [1, "two", null]}', 422, "validation-error"),
        (b'{"events": [{"product": "a\\u0000b"}]}', 422, "validation-error"),
    ],
    ids=["truncated", "utf-16 mark", "not utf-8", "deeply nested", "bare array", "not a list",
         "empty", "extra field", "not objects", "NUL character"],
)  # fmt: skip
def test_malformed_bodies(
    world: Ledger,
    client: ApiClient,  # noqa: F811
    farm: str,
    body: bytes,
    status: int,
    slug: str,
) -> None:
    r = client.post(
        "/v1/events", key=farm, content=body, headers={"content-type": "application/json"}
    )
    assert r.status_code == status, r.text
    assert r.json()["type"] == PROBLEMS + slug
    assert world.size() == 0


def test_oversized_batch(
    world: Ledger,
    client: ApiClient,  # noqa: F811
    farm: str,
    ev: Events,
) -> None:
    events = [ev.register(f"Z{i}") for i in range(MAX_BATCH + 1)]
    r = client.post("/v1/events", key=farm, json={"events": events})
    assert r.status_code == 413
    assert r.json()["type"] == PROBLEMS + "batch-too-large"
    assert r.json()["limit_events"] == MAX_BATCH
    assert world.size() == 0


def test_oversized_body_declared_and_streamed(
    world: Ledger,
    client: ApiClient,  # noqa: F811
    farm: str,
) -> None:
    big = b'{"events": [' + b" " * MAX_BODY_BYTES + b"]}"
    r = client.post("/v1/events", key=farm, content=big)
    assert r.status_code == 413
    assert r.json()["type"] == PROBLEMS + "request-too-large"
    assert str(MAX_BODY_BYTES) in r.json()["detail"]

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"events": ['
        for _ in range(9):
            yield b" " * (1024 * 1024)
        yield b"]}"

    streamed = client.post(
        "/v1/events", key=farm, content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413
    assert streamed.json()["type"] == PROBLEMS + "request-too-large"
    assert world.size() == 0


def test_idempotent_and_conflicting_ids(
    world: Ledger,
    client: ApiClient,  # noqa: F811
    farm: str,
    ev: Events,
) -> None:
    first = ev.register("I1")
    created = client.post("/v1/events", key=farm, json={"events": [first]})
    assert created.status_code == 201
    again = client.post("/v1/events", key=farm, json={"events": [first]})
    assert again.status_code == 200
    assert again.json()["receipts"] == [{**created.json()["receipts"][0], "duplicate": True}]
    changed = {**first, "quantity": "99"}
    r = client.post("/v1/events", key=farm, json={"events": [ev.register("I2"), changed]})
    assert r.status_code == 409
    problem = r.json()
    assert problem["type"] == PROBLEMS + "idempotency-conflict"
    assert problem["errors"][0]["index"] == 1
    assert problem["errors"][0]["field"] == "event_id"
    assert problem["seq"] == 0
    assert world.size() == 1


def test_request_validation_is_a_problem(
    world: Ledger,
    client: ApiClient,  # noqa: F811
    api_keys: Keys,  # noqa: F811
) -> None:
    r = client.post("/v1/organisations", key=api_keys.admin, json={"id": "bad id!", "name": ""})
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert {e["field"] for e in r.json()["errors"]} == {"id", "name"}
    r = client.post(
        "/v1/organisations",
        key=api_keys.admin,
        content=b"{nope",
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400
    assert r.json()["type"] == PROBLEMS + "malformed-json"
    r = client.post(
        "/v1/locations",
        key=api_keys.admin,
        json={"id": "x1", "org_id": "farm", "name": "X", "kind": "farm", "gln": "9506000134377"},
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "gln"
    dup = client.post("/v1/organisations", key=api_keys.admin, json={"id": "farm", "name": "F"})
    assert dup.status_code == 409
    assert "already exists" in dup.json()["detail"]


@pytest.mark.parametrize(
    ("path", "status", "slug"),
    [
        ("/v1/log/entries?start=5", 400, "invalid-range"),
        ("/v1/log/entries?start=0&end=-1", 422, "validation-error"),
        ("/v1/log/proof/inclusion?index=0&size=0", 400, "invalid-range"),
        ("/v1/log/proof/inclusion?index=0&size=99999999999", 400, "invalid-range"),
        ("/v1/log/proof/consistency?first=2&second=1", 400, "invalid-range"),
        ("/v1/log/proof/inclusion?index=x&size=1", 422, "validation-error"),
        ("/v1/log/leaf?leaf_hash=zz", 400, "invalid-hash"),
        ("/v1/log/leaf?leaf_hash=" + "0" * 64, 404, "not-found"),
        ("/v1/log/checkpoint?size=7", 404, "not-found"),
        ("/v1/nothing-here", 404, "not-found"),
        ("/v1/log/leaf?leaf_hash=%00", 422, "validation-error"),
    ],
)
def test_log_requests_outside_the_tree(
    world: Ledger,
    client: ApiClient,  # noqa: F811
    api_keys: Keys,  # noqa: F811
    path: str,
    status: int,
    slug: str,
) -> None:
    r = client.get(path, key=api_keys.regulator)  # the entries need one; the rest ignore it
    assert r.status_code == status, r.text
    assert r.json()["type"] == PROBLEMS + slug
    assert json.loads(r.text)["status"] == status


def test_a_large_batch_is_checked_and_appended_like_a_small_one(
    world: Ledger,
    client: ApiClient,  # noqa: F811
    farm: str,
    ev: Events,
) -> None:
    """Past _VALIDATE_INLINE events the route validates on a pool thread: same answers."""
    size = events_router._VALIDATE_INLINE + 200
    batch = [ev.register(f"L{i}") for i in range(size)]
    batch[size - 3] = ev.register("BAD", gtin="09506000134353")
    batch[size - 1] = {**batch[0]}  # the first event again
    problem = client.post("/v1/events", key=farm, json={"events": batch}).json()
    assert problem["type"] == PROBLEMS + "validation-error"
    assert [(e["index"], e["field"]) for e in problem["errors"]] == [(size - 3, "lot.gtin")]
    batch[size - 3] = ev.register(f"L{size - 3}")
    problem = client.post("/v1/events", key=farm, json={"events": batch}).json()
    assert [(e["index"], e["field"]) for e in problem["errors"]] == [(size - 1, "event_id")]
    assert world.size() == 0
    batch[size - 1] = ev.register(f"L{size - 1}")
    r = client.post("/v1/events", key=farm, json={"events": batch})
    assert r.status_code == 201, r.text
    receipts = r.json()["receipts"]
    assert [x["seq"] for x in receipts] == list(range(size))
    assert [x["event_id"] for x in receipts] == [e["event_id"] for e in batch]
    assert world.size() == size
