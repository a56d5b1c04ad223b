# ruff: noqa: F811 - pytest fixtures imported by name are parameters of the tests
"""Bounds and parsing at the edge, over HTTP, on SQLite and PostgreSQL alike: every number
and date a client sends is held to a documented limit and refused with a 422 problem naming
the field and the limit (never a 500, nothing written); JSON bodies must be JSON in UTF-8
(415 otherwise); malformed JSON says where; an empty batch says it is empty; a float
quantity says to send a decimal string; every schema error of a batch is listed."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from ledger import Ledger
from ledger.quantity import MAX_ORDER_VALUE, MAX_PRICE, MAX_QUANTITY
from tests.api_fixtures import ApiClient, Keys, api_keys, client  # noqa: F401 - fixtures
from tests.conftest import LETTUCE, Events

PROBLEMS = "https://lotledger.dev/problems/"


def _problem(r: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = r.json()
    assert body["type"] == PROBLEMS + slug
    assert body["status"] == status
    return body


def _fields(body: dict[str, Any]) -> list[tuple[int | None, str]]:
    return [(e["index"], e["field"]) for e in body["errors"]]


def _append(client: ApiClient, key: str, *events: dict[str, Any]) -> httpx.Response:
    return client.post("/v1/events", key=key, json={"events": list(events)})


def _product(client: ApiClient, keys: Keys) -> None:
    r = client.post(
        "/v1/products",
        key=keys.admin,
        json={"gtin": LETTUCE, "org_id": "farm", "description": "Romaine", "unit": "kg"},
    )
    assert r.status_code == 201, r.text


# -- quantities ---------------------------------------------------------------------------


def test_quantity_at_the_limit_is_recorded_and_sums_stay_exact(
    world: Ledger, client: ApiClient, api_keys: Keys, ev: Events
) -> None:
    assert MAX_QUANTITY == 10**9
    _product(client, api_keys)
    r = client.request(
        "PUT",
        f"/v1/replenishment/terms/{LETTUCE}",
        key=api_keys.manager,
        json={"unit_cost": str(MAX_PRICE), "case_pack": "1"},
    )
    assert r.status_code == 200, r.text
    lots = [f"MAX{i}" for i in range(3)]
    r = _append(client, api_keys.farm, *(ev.register(lot, "1000000000") for lot in lots))
    assert r.status_code == 201, r.text
    # A sale of the smallest quantity leaves the rest exact.
    r = _append(client, api_keys.farm, ev.leave("sell", "MAX0", "0.000001", at="farm-field-1"))
    assert r.status_code == 201, r.text
    stock = client.get(f"/v1/lots/{LETTUCE}/MAX0/stock", key=api_keys.regulator)
    assert stock.json()["total"] == "999999999.999999"
    # The inventory report sums the three lots (3 * 10^15 micro-units) without overflow.
    r = client.get("/v1/reports/inventory-value", key=api_keys.regulator)
    assert r.status_code == 200, r.text
    lines = [line for line in r.json() if line["gtin"] == LETTUCE]
    assert [line["on_hand"] for line in lines] == ["2999999999.999999"]


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("1000000000.000001", "is over the limit: a quantity is at most 1000000000"),
        ("9999999999999", "is over the limit: a quantity is at most 1000000000"),
        ("9223372036854.775807", "is over the limit: a quantity is at most 1000000000"),
        ("99999999999999", "is not a decimal quantity"),
        ("1e9", "is not a decimal quantity"),
        ("0.0000001", "is not a decimal quantity"),
    ],
)
def test_quantity_over_the_limit_is_refused(
    world: Ledger,
    client: ApiClient,
    api_keys: Keys,
    ev: Events,
    quantity: str,
    message: str,
) -> None:
    r = _append(client, api_keys.farm, ev.register("BIG", "1"), ev.register("BIG2", quantity))
    body = _problem(r, 422, "validation-error")
    assert _fields(body) == [(1, "quantity")]
    assert message in body["errors"][0]["message"]
    assert world.size() == 0


def test_signed_and_other_quantities_are_bounded(
    world: Ledger, client: ApiClient, api_keys: Keys, ev: Events
) -> None:
    assert _append(client, api_keys.farm, ev.register("ADJ", "10")).status_code == 201
    too_big = ev.leave("adjust", "ADJ", "1", at="farm-field-1", reason="count")
    too_big.pop("quantity")
    too_big["variance"] = "-1000000000.5"
    body = _problem(_append(client, api_keys.farm, too_big), 422, "validation-error")
    assert _fields(body) == [(0, "variance")]
    assert "at most 1000000000" in body["errors"][0]["message"]
    assert world.size() == 1


def test_a_json_number_quantity_asks_for_a_decimal_string(
    world: Ledger, client: ApiClient, api_keys: Keys, ev: Events
) -> None:
    for number in (120.5, 120):
        r = _append(client, api_keys.farm, ev.register("F1", number))  # type: ignore[arg-type]
        body = _problem(r, 422, "validation-error")
        assert _fields(body) == [(0, "quantity")]
        assert body["errors"][0]["message"].startswith(
            'must be a decimal string such as "120.5", not a JSON number'
        )
        assert '"120.5"' in body["detail"]
    # A number where a non-decimal string is expected says so, without the decimal advice.
    event = ev.register("F2")
    event["lot"]["lot"] = 12345
    body = _problem(_append(client, api_keys.farm, event), 422, "validation-error")
    assert body["errors"] == [
        {"index": 0, "field": "lot.lot", "message": "must be a string, not a JSON number"}
    ]
    assert world.size() == 0


# -- prices and orders -------------------------------------------------------------------


def _order(client: ApiClient, key: str, quantity: str, price: str | None) -> httpx.Response:
    line: dict[str, Any] = {"gtin": LETTUCE, "quantity": quantity, "unit": "kg"}
    if price is not None:
        line["unit_price"] = price
    return client.post(
        "/v1/orders",
        key=key,
        json={"buyer_location": "store-1", "supplier_location": "farm-field-1", "lines": [line]},
    )


def test_order_prices_and_values_are_bounded(
    world: Ledger, client: ApiClient, api_keys: Keys
) -> None:
    _product(client, api_keys)
    size = world.size()
    # The probe: quantity and price of 13 digits each (a 500 before).
    body = _problem(
        _order(client, api_keys.store, "9999999999999", "9999999999999"), 422, "validation-error"
    )
    assert {e["field"] for e in body["errors"]} == {"lines.0.quantity", "lines.0.unit_price"}
    body = _problem(_order(client, api_keys.store, "1", "1000000.000001"), 422, "validation-error")
    assert _fields(body) == [(0, "lines.0.unit_price")]
    assert "a unit price is at most 1000000" in body["errors"][0]["message"]
    # Each within its bound, but quantity x price over the order limit.
    body = _problem(
        _order(client, api_keys.store, "1000000000", "1000000"), 422, "validation-error"
    )
    assert "over the limit of 10000000000" in body["detail"]
    assert world.size() == size
    # Exactly at the limits: accepted, the value exact.
    assert MAX_ORDER_VALUE == 10_000 * MAX_PRICE
    r = _order(client, api_keys.store, "10000", str(MAX_PRICE))
    assert r.status_code == 201, r.text
    assert r.json()["value"] == "10000000000"
    # A float price asks for a decimal string.
    r = client.post(
        "/v1/orders",
        key=api_keys.store,
        json={
            "buyer_location": "store-1",
            "supplier_location": "farm-field-1",
            "lines": [{"gtin": LETTUCE, "quantity": "1", "unit": "kg", "unit_price": 2.5}],
        },
    )
    body = _problem(r, 422, "validation-error")
    assert body["errors"][0]["field"] == "lines.0.unit_price"
    assert body["errors"][0]["message"].startswith("must be a decimal string")


def test_terms_prices_are_bounded(world: Ledger, client: ApiClient, api_keys: Keys) -> None:
    _product(client, api_keys)
    r = client.request(
        "PUT",
        f"/v1/replenishment/terms/{LETTUCE}",
        key=api_keys.manager,
        json={"unit_cost": "1000000.5"},
    )
    body = _problem(r, 422, "validation-error")
    assert "unit_cost" in body["detail"]
    assert "a unit price is at most 1000000" in body["detail"]


# -- dates -------------------------------------------------------------------------------


def test_query_dates_are_bounded(world: Ledger, client: ApiClient, api_keys: Keys) -> None:
    base = f"/v1/trace?gtin={LETTUCE}"
    body = _problem(
        client.get(f"{base}&from=0001-01-01&to=9999-12-31", key=api_keys.manager),
        422,
        "validation-error",
    )
    assert _fields(body) == [(0, "from"), (0, "to")]
    assert body["errors"][1]["message"] == (
        "9999-12-31 is outside the dates the ledger records (1970-01-01 to 2199-12-31)"
    )
    r = client.get(f"{base}&from=1970-01-01&to=2199-12-31", key=api_keys.manager)
    assert r.status_code == 200, r.text
    r = client.get(
        f"{base}&from=1970-01-01T00:00:00Z&to=2199-12-31T23:59:59Z", key=api_keys.manager
    )
    assert r.status_code == 200, r.text
    body = _problem(
        client.get("/v1/reports/abc?start=1969-12-31", key=api_keys.manager),
        422,
        "validation-error",
    )
    assert _fields(body) == [(0, "start")]
    r = client.get("/v1/reports/abc?start=2026-01-01&end=2199-12-31", key=api_keys.manager)
    assert r.status_code == 200, r.text


def test_event_dates_are_bounded(
    world: Ledger, client: ApiClient, api_keys: Keys, ev: Events
) -> None:
    body = _problem(
        _append(
            client,
            api_keys.farm,
            ev.register("D1", event_time="9999-12-31T00:00:00Z"),
            ev.register("D2", expiry="9999-12-31"),
            ev.register("D3", production_date="0001-01-01"),
        ),
        422,
        "validation-error",
    )
    assert _fields(body) == [(0, "event_time"), (1, "expiry"), (2, "production_date")]
    assert "outside the dates the ledger records (1970-01-01 to 2199-12-31)" in body["detail"]
    ok = _append(
        client,
        api_keys.farm,
        ev.register("D4", event_time="1970-01-01T00:00:00Z", expiry="2199-12-31"),
    )
    assert ok.status_code == 201, ok.text
    assert world.size() == 1


# -- page sizes --------------------------------------------------------------------------


def test_page_sizes_are_bounded(
    world: Ledger, client: ApiClient, api_keys: Keys, ev: Events
) -> None:
    assert _append(client, api_keys.farm, ev.register("P1")).status_code == 201
    url = f"/v1/lots/{LETTUCE}/P1/events"
    body = _problem(client.get(f"{url}?limit=1001", key=api_keys.farm), 422, "validation-error")
    assert body["errors"][0]["field"] == "limit"
    assert "1000" in body["errors"][0]["message"]
    assert len(client.get(f"{url}?limit=1000", key=api_keys.farm).json()["events"]) == 1
    body = _problem(client.get(f"{url}?limit=0", key=api_keys.farm), 422, "validation-error")
    assert body["errors"][0]["field"] == "limit"
    body = _problem(
        client.get("/v1/recalls?limit=100000", key=api_keys.manager), 422, "validation-error"
    )
    assert body["errors"][0]["field"] == "limit"
    body = _problem(
        client.get("/v1/log/entries?start=-1", key=api_keys.regulator), 422, "validation-error"
    )
    assert body["errors"][0]["field"] == "start"


# -- bodies ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "encode", "says"),
    [
        ("text/plain", "utf-8", "the body is text/plain"),
        ("application/x-www-form-urlencoded", "utf-8", "application/x-www-form-urlencoded"),
        ("multipart/form-data; boundary=x", "utf-8", "multipart/form-data"),
        (None, "utf-8", "no Content-Type"),
        ("application/json; charset=utf-16", "utf-16", "charset=utf-16"),
        ("application/json; charset=iso-8859-1", "utf-8", "charset=iso-8859-1"),
        ("application/json", "utf-16", "encoded as UTF-16"),
        ("application/json", "utf-16-be", "UTF-16 or UTF-32"),
        ("application/json", "utf-32", "encoded as UTF-32"),
        ("application/json", "utf-8-sig", "UTF-8 with a byte-order mark"),
    ],
)
def test_json_endpoints_refuse_other_media_types(
    world: Ledger,
    client: ApiClient,
    api_keys: Keys,
    ev: Events,
    content_type: str | None,
    encode: str,
    says: str,
) -> None:
    bodies = [
        ("POST", "/v1/events", api_keys.farm, {"events": [ev.register("M1")]}),
        ("POST", "/v1/organisations", api_keys.admin, {"id": "acme", "name": "Acme"}),
        ("PUT", "/v1/orders/policy", api_keys.manager, {"approval_limit": "100"}),
        ("POST", "/v1/labels/sheet", api_keys.farm, {"lots": [f"{LETTUCE}/M1"]}),
    ]
    for method, url, key, doc in bodies:
        headers = {} if content_type is None else {"Content-Type": content_type}
        r = client.request(
            method, url, key=key, content=json.dumps(doc).encode(encode), headers=headers
        )
        body = _problem(r, 415, "unsupported-media-type")
        assert says in body["detail"], (url, body["detail"])
        assert r.headers["accept-post"] == "application/json"
    assert world.size() == 0
    assert client.get("/v1/organisations/acme", key=api_keys.admin).status_code == 404


def test_json_variants_and_charset_utf8_are_accepted(
    world: Ledger, client: ApiClient, api_keys: Keys, ev: Events
) -> None:
    for n, content_type in enumerate(
        ("application/json; charset=UTF-8", "application/ld+json", "Application/JSON")
    ):
        doc = {"events": [ev.register(f"V{n}")]}
        r = client.post(
            "/v1/events",
            key=api_keys.farm,
            content=json.dumps(doc).encode(),
            headers={"Content-Type": content_type},
        )
        assert r.status_code == 201, (content_type, r.text)
    assert world.size() == 3


def test_malformed_json_says_where(world: Ledger, client: ApiClient, api_keys: Keys) -> None:
    doc = b'{"events": [\n  {"type": "register",\n   "quantity": "1",,\n  }\n]}'
    for url, key in (("/v1/events", api_keys.farm), ("/v1/organisations", api_keys.admin)):
        r = client.post(url, key=key, content=doc, headers={"Content-Type": "application/json"})
        body = _problem(r, 400, "malformed-json")
        assert (body["line"], body["column"]) == (3, 20), url
        assert body["detail"] == (
            "the request body is not valid JSON: Expecting property name enclosed in double "
            "quotes at line 3, column 20"
        )
    r = client.post(
        "/v1/organisations",
        key=api_keys.admin,
        content=b'{"id": "x", "name": "caf\xe9"}',
        headers={"Content-Type": "application/json"},
    )
    body = _problem(r, 400, "malformed-json")
    assert body["detail"].startswith("the request body is not valid UTF-8: byte 0xe9 at offset 24")
    assert world.size() == 0


def test_empty_batch_says_it_is_empty(world: Ledger, client: ApiClient, api_keys: Keys) -> None:
    body = _problem(
        client.post("/v1/events", key=api_keys.farm, json={"events": []}), 422, "validation-error"
    )
    assert body["detail"] == "the batch is empty: send 1 to 10,000 events"
    assert "event 0" not in body["detail"]
    assert body["errors"] == [{"index": None, "field": "events", "message": "the batch is empty"}]


def test_every_schema_error_of_a_batch_is_listed(
    world: Ledger, client: ApiClient, api_keys: Keys, ev: Events
) -> None:
    bad_unit = ev.register("S3")
    bad_unit["unit"] = "bushel"
    extra = ev.register("S4")
    extra["colour"] = "green"
    r = _append(
        client,
        api_keys.farm,
        ev.register("S0", 1.5),  # type: ignore[arg-type]
        ev.register("S1"),
        ev.register("S2", "2000000000", expiry="9999-01-01"),
        bad_unit,
        extra,
    )
    body = _problem(r, 422, "validation-error")
    assert _fields(body) == [
        (0, "quantity"),
        (2, "quantity"),
        (2, "expiry"),
        (3, "unit"),
        (4, "colour"),
    ]
    assert body["detail"].endswith("(and 4 more)")
    assert world.size() == 0
