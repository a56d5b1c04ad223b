"""Writes across organisations (issue 22): who may observe, hold, receive, count and
release a lot, enforced by the ledger's rules; and a refused batch names every refused
event. Each refusal is a 403 or 409 problem that says why, and nothing is appended."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from api.app import create_app
from ledger import Ledger, TraceStart, create_location, create_organisation
from ledger.masterdata import keys
from ledger.trace.recall import create_recall
from tests.api_fixtures import ApiClient, Keys, make_keys
from tests.conftest import LETTUCE, Events

P = "https://lotledger.dev/problems/"


@pytest.fixture
def rival(world: Ledger) -> str:
    """A second retailer, unrelated to Corner Grocers: its own DC, its store key."""
    create_organisation(world.engine, "rival", "Rival Foods")
    create_location(world.engine, "rival-dc", org_id="rival", name="Rival DC", kind="store")
    return keys.create_key(world.engine, "rival", "store", "test").secret


@pytest.fixture
def http(world: Ledger) -> Iterator[ApiClient]:
    api = ApiClient(create_app(world))
    try:
        yield api
    finally:
        api.close()


@pytest.fixture
def api_keys(world: Ledger) -> Keys:
    return make_keys(world)


@pytest.fixture
def chain(world: Ledger, ev: Events, rival: str) -> Ledger:
    """Lot ONLY-R went from the farm to retail's DC; SHARED to both retailers' DCs."""
    world.append(
        [
            ev.register("ONLY-R", "100"),
            ev.register("SHARED", "100"),
            ev.register("FARM-ONLY", "100"),
            ev.ship("ONLY-R", "40", frm="farm-field-1", to="retail-dc"),
            ev.ship("SHARED", "30", frm="farm-field-1", to="retail-dc"),
            ev.ship("SHARED", "20", frm="farm-field-1", to="rival-dc"),
        ],
        actor="farm",
    )
    world.append(
        [
            ev.receive("ONLY-R", "40", frm="farm-field-1", at="retail-dc"),
            ev.receive("SHARED", "30", frm="farm-field-1", at="retail-dc"),
        ],
        actor="retail",
    )
    world.append([ev.receive("SHARED", "20", frm="farm-field-1", at="rival-dc")], actor="rival")
    return world


def observe(lot: str, at: str) -> dict[str, Any]:
    return Events._base(
        "observe",
        at,
        lot={"gtin": LETTUCE, "lot": lot},
        readings=[{"sensor": "temperature", "value": "4.5", "unit": "Cel", "time": Events.time}],
    )


def refused(
    http: ApiClient,
    ledger: Ledger,
    key: str,
    events: list[dict[str, Any]],
    status: int,
    slug: str,
) -> dict[str, Any]:
    before = ledger.size()
    r = http.post("/v1/events", key=key, json={"events": events})
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["type"] == P + slug
    assert ledger.size() == before  # nothing appended
    return body


def test_observing_a_competitors_lot_is_refused(
    chain: Ledger,
    rival: str,
    ev: Events,
    http: ApiClient,
) -> None:
    body = refused(http, chain, rival, [observe("ONLY-R", "rival-dc")], 403, "forbidden-lot")
    assert "'rival' never made, held, shipped or received lot" in body["detail"]
    assert body["errors"] == [{"index": 0, "field": "lot", "message": body["errors"][0]["message"]}]
    # A lot it did receive it may observe.
    ok = http.post("/v1/events", key=rival, json={"events": [observe("SHARED", "rival-dc")]})
    assert ok.status_code == 201, ok.text


def test_a_hold_on_a_lot_never_touched_is_refused(
    chain: Ledger,
    rival: str,
    ev: Events,
    http: ApiClient,
    api_keys: Keys,
) -> None:
    hold = ev.hold("ONLY-R", at="rival-dc")
    body = refused(http, chain, rival, [hold], 403, "forbidden-lot")
    assert "may not hold it" in body["detail"]
    # Retail still sells its lettuce: no hold got in the way.
    sale = ev.leave("sell", "ONLY-R", "1", at="retail-dc")
    assert http.post("/v1/events", key=api_keys.dc, json={"events": [sale]}).status_code == 201
    # The shared lot it handled it may hold; that hold is its own to release.
    held = http.post("/v1/events", key=rival, json={"events": [ev.hold("SHARED", at="rival-dc")]})
    assert held.status_code == 201, held.text


def test_an_unsolicited_receipt_from_a_competitors_location_is_refused(
    chain: Ledger,
    rival: str,
    ev: Events,
    http: ApiClient,
) -> None:
    # Retail's DC holds ONLY-R but never shipped it to rival: a receipt from there is refused,
    forged = ev.receive("ONLY-R", "5", frm="retail-dc", at="rival-dc", unsolicited=True)
    body = refused(http, chain, rival, [forged], 409, "rule-violation")
    assert body["errors"][0]["field"] == "from_location"
    assert body["detail"] == (
        f"event 0: retail-dc of organisation 'retail' neither made lot {LETTUCE}/ONLY-R nor "
        "ever shipped it to rival-dc: an unsolicited receipt from another organisation comes "
        "from the lot's maker or from a location that shipped it to you"
    )
    # ...and rival still cannot read the lot, or recall it.
    assert http.get(f"/v1/lots/{LETTUCE}/ONLY-R", key=rival).status_code == 404
    assert http.get(f"/v1/lots/{LETTUCE}/ONLY-R/stock", key=rival).status_code == 404
    # From the farm that made it, an unsolicited receipt is a fact worth recording.
    real = ev.receive("FARM-ONLY", "5", frm="farm-field-1", at="rival-dc", unsolicited=True)
    ok = http.post("/v1/events", key=rival, json={"events": [real]})
    assert ok.status_code == 201, ok.text


def test_a_count_that_finds_a_competitors_lot_is_refused(
    chain: Ledger,
    rival: str,
    http: ApiClient,
) -> None:
    found = Events._base(
        "adjust",
        "rival-dc",
        lot={"gtin": LETTUCE, "lot": "ONLY-R"},
        variance="10",
        unit="kg",
        reason="found",
    )
    body = refused(http, chain, rival, [found], 403, "forbidden-lot")
    assert "may not count it" in body["detail"]


def test_release_by_the_placer_or_the_lots_owner(
    chain: Ledger,
    rival: str,
    ev: Events,
    http: ApiClient,
    api_keys: Keys,
) -> None:
    held = http.post("/v1/events", key=rival, json={"events": [ev.hold("SHARED", at="rival-dc")]})
    assert held.status_code == 201
    # Retail neither placed it nor owns the lot.
    body = refused(
        http, chain, api_keys.dc, [ev.release("SHARED", at="retail-dc")], 409, "rule-violation"
    )
    assert "no open hold your organisation may release" in body["detail"]
    # The farm made the lot: it may end a quality hold on it.
    ok = http.post(
        "/v1/events", key=api_keys.farm, json={"events": [ev.release("SHARED", at="farm-field-1")]}
    )
    assert ok.status_code == 201, ok.text
    status = http.get(f"/v1/lots/{LETTUCE}/SHARED/status", key=rival).json()
    assert (status["status"], status["holds"]) == ("approved", [])


def test_a_recall_hold_only_where_the_recall_reaches(
    chain: Ledger,
    rival: str,
    ev: Events,
    http: ApiClient,
    api_keys: Keys,
) -> None:
    # A hold naming a recall does not open another organisation's lot.
    forged = {**ev.hold("ONLY-R", at="rival-dc"), "kind": "recall", "recall_id": "R-FAKE"}
    refused(http, chain, rival, [forged], 403, "forbidden-lot")
    # Nor does a genuine-looking anchor on its own lot: ONLY-R is not in SHARED's trace.
    anchor = {**ev.hold("SHARED", at="rival-dc"), "kind": "recall", "recall_id": "R-FAKE"}
    refused(http, chain, rival, [anchor, forged], 403, "forbidden-lot")
    # The farm's recall of SHARED holds it at both retailers (each their own stock).
    recall = create_recall(
        chain,
        actor="farm",
        starts=[TraceStart(LETTUCE, "SHARED")],
        reason="Listeria",
        classification="I",
    )
    assert recall.holds_appended == 1
    for key in (rival, api_keys.dc):
        status = http.get(f"/v1/lots/{LETTUCE}/SHARED/status", key=key).json()
        assert status["status"] == "recalled"
    # Its owner cannot lift another organisation's recall hold... only the recaller can.
    body = refused(
        http,
        chain,
        api_keys.dc,
        [ev.release("SHARED", at="retail-dc")],
        409,
        "rule-violation",
    )
    assert "a recall hold only by the recalling organisation" in body["detail"]


def test_a_refused_batch_names_every_refused_event(
    chain: Ledger,
    rival: str,
    ev: Events,
    http: ApiClient,
) -> None:
    events = [
        ev.leave("sell", "SHARED", "1", at="rival-dc"),  # fine
        ev.leave("sell", "SHARED", "500", at="rival-dc"),  # more than on hand
        observe("ONLY-R", "rival-dc"),  # a lot it never handled
        ev.leave("sell", "SHARED", "1", at="retail-dc"),  # another organisation's location
        ev.leave("sell", "NOPE", "1", at="rival-dc"),  # an unknown lot
    ]
    body = refused(http, chain, rival, events, 409, "insufficient-stock")
    assert [(e["index"], e["field"], e["type"].removeprefix(P)) for e in body["errors"]] == [
        (1, "quantity", "insufficient-stock"),
        (2, "lot", "forbidden-lot"),
        (3, "location", "forbidden-location"),
        (4, "lot", "validation-error"),
    ]
    assert "cannot sell 500 kg" in body["errors"][0]["message"]
    assert body["detail"].endswith("(and 3 more)")
    # The one good event goes through alone, judged against the same stock.
    ok = http.post("/v1/events", key=rival, json={"events": events[:1]})
    assert ok.status_code == 201


def test_replay_rebuilds_after_the_new_rules(
    chain: Ledger,
    rival: str,
    ev: Events,
    http: ApiClient,
    table_dump: Any,
) -> None:
    http.post("/v1/events", key=rival, json={"events": [ev.hold("SHARED", at="rival-dc")]})
    create_recall(
        chain, actor="farm", starts=[TraceStart(LETTUCE, "SHARED")], reason="x", classification="II"
    )
    before = {t: table_dump(t) for t in ("holds", "lot_states", "stock")}
    chain.replay()
    assert {t: table_dump(t) for t in before} == before
