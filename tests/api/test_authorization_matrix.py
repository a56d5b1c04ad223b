"""The authorization matrix (issues 15 and 22), generated from the route table.

Every operation of the OpenAPI document is called as every role of two unrelated retailers
(admin, manager, store, and the auditor role: ``regulator``), about their own lot, the
other's, and a lot both bought from one farm; and with no key, a malformed key and a
revoked key. Each answer must be one the document states (never a 500); a secured
operation answers 401 without a valid key; the lot and stock reads answer 200 for a lot
the caller handled and 404 for the other's; and no body a retailer gets holds the other
retailer's location ids, lot code or quantities. One app and one set-up for all of it.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from api.app import create_app
from ledger import Ledger, create_location, create_organisation, create_product
from ledger.masterdata import keys
from tests.api_fixtures import ApiClient
from tests.conftest import LETTUCE, fresh_database, make_settings

TIME = "2026-11-20T08:00:00+01:00"
ORGS = ("north", "south")
ROLES = ("admin", "manager", "store", "regulator")  # regulator: the auditor role
# Quantities no timestamp, hash or base64 text can hold ("." never follows two digits
# that follow two more in an RFC 3339 time), each met by one retailer only.
PRIVATE: dict[str, dict[str, list[str]]] = {
    "north": {
        "locations": ["north-dc", "north-store"],
        "lots": ["N-ONLY"],
        "quantities": ["1234.5678", "4567.891", "23.4568"],
    },
    "south": {
        "locations": ["south-dc", "south-store"],
        "lots": ["S-ONLY"],
        "quantities": ["2345.6789", "5678.912", "34.5679"],
    },
}
OWN_LOT = {"north": "N-ONLY", "south": "S-ONLY"}
SHARED = "SHARED"
# Endpoints public by design (the transparency log's commitments: checkpoint, key, proofs
# and leaf lookup; the resolver a QR code opens; health and docs): no key, and not scoped.
PUBLIC = re.compile(r"^/(v1/log/(checkpoint|key|proof/|leaf)|tile/\{level\}|01/|healthz|readyz|$)")
# The log's contents, every organisation's movements: the auditor role and the operator.
LOG_CONTENTS = dict.fromkeys(
    ("/v1/log/entries", "/v1/log/export", "/tile/entries/{tile}"), ("admin", "regulator")
)
# Shared directories every role reads: they name every organisation's locations.
DIRECTORY = {"/v1/locations", "/v1/products", "/v1/products/{gtin}"}
# Reads of one lot: 200 for a lot the caller handled, 404 for one it never did.
LOT_READS = {
    "/v1/lots/{gtin}/{lot}": ("manager", "store", "regulator"),
    "/v1/lots/{gtin}/{lot}/status": ("manager", "store", "regulator"),
    "/v1/lots/{gtin}/{lot}/stock": ("manager", "store", "regulator"),
    "/v1/lots/{gtin}/{lot}/events": ("manager", "store", "regulator"),
    "/v1/lots/{gtin}/{lot}/bundle": ("manager", "store", "regulator"),
    "/v1/lots/{gtin}/{lot}/label.zpl": ("admin", "manager", "store", "regulator"),
    "/v1/trace": ("manager", "regulator"),
    "/v1/trace/export.{fmt}": ("manager", "regulator"),
}
STOCK_READS = {"/v1/stock/{location}", "/v1/stock/{location}/in-transit"}


@dataclass
class World:
    api: ApiClient
    ledger: Ledger
    keys: dict[tuple[str, str], str]  # (org, role) -> secret
    revoked: str
    openapi: dict[str, Any]


def _event(etype: str, location: str, lot: str, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "type": etype,
        "event_time": TIME,
        "location": location,
        "lot": {"gtin": LETTUCE, "lot": lot},
        "unit": "kg",
        **fields,
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    directory = tmp_path_factory.mktemp("matrix")
    with fresh_database(directory) as url:
        ledger = Ledger.open(make_settings(directory, url))
        try:
            yield _build(ledger)
        finally:
            ledger.close()


def _build(ledger: Ledger) -> World:
    engine = ledger.engine
    create_organisation(engine, "farm", "Hill Farm")
    create_location(engine, "farm-1", org_id="farm", name="Hill Farm field", kind="farm")
    create_product(engine, LETTUCE, org_id="farm", description="Romaine lettuce", unit="kg")
    for org in ORGS:
        create_organisation(engine, org, f"{org.title()} Retail")
        create_location(
            engine, f"{org}-dc", org_id=org, name=f"{org} DC", kind="distribution_centre"
        )
        create_location(engine, f"{org}-store", org_id=org, name=f"{org} shop", kind="store")
    n, s = PRIVATE["north"]["quantities"], PRIVATE["south"]["quantities"]
    farm = [
        _event("register", "farm-1", lot, quantity="90000", product="Romaine", kind="harvest")
        for lot in ("N-ONLY", "S-ONLY", SHARED)
    ]
    farm += [
        _event("ship", "farm-1", "N-ONLY", quantity=n[0], to_location="north-dc"),
        _event("ship", "farm-1", "S-ONLY", quantity=s[0], to_location="south-dc"),
        _event("ship", "farm-1", SHARED, quantity=n[1], to_location="north-dc"),
        _event("ship", "farm-1", SHARED, quantity=s[1], to_location="south-dc"),
    ]
    ledger.append(farm, actor="farm")
    for org, q in (("north", n), ("south", s)):
        own = OWN_LOT[org]
        ledger.append(
            [
                _event("receive", f"{org}-dc", own, quantity=q[0], from_location="farm-1"),
                _event("receive", f"{org}-dc", SHARED, quantity=q[1], from_location="farm-1"),
                _event("ship", f"{org}-dc", SHARED, quantity="100", to_location=f"{org}-store"),
                _event(
                    "receive", f"{org}-store", SHARED, quantity="100", from_location=f"{org}-dc"
                ),
                _event("sell", f"{org}-store", SHARED, quantity=q[2]),
            ],
            actor=org,
        )
    secrets = {
        (org, role): keys.create_key(engine, org, role, "matrix").secret
        for org in ORGS
        for role in ROLES
    }
    revoked = keys.create_key(engine, "north", "manager", "revoked")
    keys.revoke_key(engine, revoked.info.id)
    app = create_app(ledger)
    return World(ApiClient(app), ledger, secrets, revoked.secret, app.openapi())


def _operations(openapi: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, ops in sorted(openapi["paths"].items())
        for method, op in sorted(ops.items())
    ]


def _url(path: str, org: str, lot: str, other: str) -> str:
    """The operation's path filled in for ``org``'s request about ``lot``: locations,
    organisations and ids are the lot's side's (the other's for the other's lot)."""
    side = other if lot == OWN_LOT[other] else org
    values = {
        "gtin": LETTUCE,
        "lot": lot,
        "location": f"{side}-dc",
        "org_id": side,
        "order_id": "PO-NONE",
        "recall_id": "R-NONE",
        "capture_id": "0" * 32,
        "level": "0",
        "tile": "000.p/1",
        "event_id": "ni:///sha-256;" + "0" * 64 + "?ver=CBV2.0",
        "key_id": "0" * 32,
        "fmt": "csv" if path.startswith("/v1/trace") else "json",
        "path": f"{LETTUCE}/10/{lot}",
    }
    url = re.sub(r"\{(\w+)(?::path)?\}", lambda m: values[m.group(1)], path)
    if path.startswith("/v1/trace"):
        url += f"?lot={LETTUCE}/{lot}"
    return url


def _body(method: str, path: str, org: str, lot: str) -> dict[str, Any] | None:
    if method not in ("POST", "PUT"):
        return None
    if path == "/v1/events":  # an observation of the lot at one's own store
        reading = {"sensor": "temperature", "value": "4", "unit": "Cel", "time": TIME}
        event = _event("observe", f"{org}-store", lot, readings=[reading])
        event.pop("unit")
        return {"events": [event]}
    return {}


def _call(w: World, method: str, url: str, key: str | None, body: Any) -> Any:
    kwargs: dict[str, Any] = {"key": key}
    if body is not None:
        kwargs["json"] = body
    return w.api.request(method, url, **kwargs)


def _documented(op: dict[str, Any]) -> set[int]:
    return {int(code) for code in op.get("responses", {}) if code.isdigit()}


def _leaks(text: str, other: str, path: str, asked: str = "") -> list[str]:
    """The other retailer's markers in ``text``, less what the caller itself sent
    (``asked``: a problem's ``instance`` and detail name the lot code asked about)."""
    markers = PRIVATE[other]
    found = [m for m in markers["lots"] + markers["quantities"] if m in text]
    if path not in DIRECTORY:
        found += [m for m in markers["locations"] if m in text]
    return [m for m in found if m not in asked]


def test_without_a_valid_key(world: World) -> None:
    for method, path, op in _operations(world.openapi):
        url = _url(path, "north", SHARED, "south")
        body = _body(method, path, "north", SHARED)
        for key in (None, "ll_" + "x" * 43, "not-a-key", world.revoked):
            r = _call(world, method, url, key, body)
            assert r.status_code != 500, (method, path, key, r.text)
            if op.get("security") and not PUBLIC.match(path):
                assert r.status_code == 401, (method, path, key, r.status_code, r.text)
                assert r.headers["content-type"].startswith("application/problem+json")
                assert r.json()["type"] == "https://lotledger.dev/problems/unauthorized"
            else:
                assert r.status_code in _documented(op) | {200}, (method, path, r.status_code)


@pytest.mark.parametrize("org", ORGS)
def test_every_role_every_lot(world: World, org: str) -> None:
    other = next(o for o in ORGS if o != org)
    checked = 0
    for role in ROLES:
        key = world.keys[(org, role)]
        sees_all = role == "regulator"
        for lot, whose in ((OWN_LOT[org], "own"), (OWN_LOT[other], "other"), (SHARED, "shared")):
            for method, path, op in _operations(world.openapi):
                url = _url(path, org, lot, other)
                body = _body(method, path, org, lot)
                r = _call(world, method, url, key, body)
                where = (role, whose, method, url)
                assert r.status_code != 500, (*where, r.text)
                assert r.status_code in _documented(op) | {200}, (*where, r.status_code, r.text)
                reads_log = role in LOG_CONTENTS.get(path, ())
                if not sees_all and not reads_log and not PUBLIC.match(path):
                    leaked = _leaks(r.text, other, path, url + json.dumps(body))
                    assert not leaked, (*where, leaked, r.text[:500])
                if path in LOT_READS and method == "GET":
                    if role not in LOT_READS[path]:
                        expected = 403
                    elif sees_all or whose != "other" or (role == "admin" and "label" in path):
                        # (labels: "any key that may see the lot; admin", who prints them)
                        expected = 200
                    else:
                        expected = 404
                    assert r.status_code == expected, (*where, r.status_code, r.text[:300])
                if path in LOG_CONTENTS:
                    assert r.status_code == (200 if reads_log else 403), (*where, r.text[:300])
                if path in STOCK_READS and role in ("manager", "store"):
                    assert r.status_code == (404 if whose == "other" else 200), where
                if path == "/v1/events" and role in ("manager", "store"):
                    # Observing the other's lot is refused; one's own and the shared one not.
                    assert r.status_code == (403 if whose == "other" else 201), (*where, r.text)
                checked += 1
    assert checked == len(ROLES) * 3 * len(_operations(world.openapi))


def test_a_shared_lots_trace_shows_each_retailer_its_side(world: World) -> None:
    for org in ORGS:
        other = next(o for o in ORGS if o != org)
        r = world.api.get(f"/v1/trace?lot={LETTUCE}/{SHARED}", key=world.keys[(org, "manager")])
        nodes = {n["location"]: n for n in r.json()["nodes"]}
        assert set(nodes) == {"farm-1", f"{org}-dc", f"{org}-store"}
        farm = nodes["farm-1"]
        assert farm["visibility"] == "partner"
        shipped = PRIVATE[org]["quantities"][1]
        assert (farm["quantities"]["shipped"], farm["quantities"]["on_hand"]) == (shipped, None)
        assert nodes[f"{org}-store"]["quantities"]["sold"] == PRIVATE[org]["quantities"][2]
        assert not _leaks(r.text, other, "/v1/trace")
    # The auditor role sees both sides, whole.
    r = world.api.get(f"/v1/trace?lot={LETTUCE}/{SHARED}", key=world.keys[("north", "regulator")])
    assert {n["location"] for n in r.json()["nodes"]} == {
        "farm-1",
        *(f"{o}-{kind}" for o in ORGS for kind in ("dc", "store")),
    }
