"""Locations named by GLN in events: a GLN resolves to the location registered with it, the
log records that location's id, and an unknown or mistyped GLN is refused with a message
that names it. Through the ledger and through the API."""

from __future__ import annotations

import base64
import json

import pytest

from api.app import create_app
from ledger import EventValidationError, Ledger, create_location
from ledger.trace import lots
from tests.api_fixtures import ApiClient, make_keys
from tests.conftest import Events

FIELD_GLN = "9506000134376"  # farm-gln-field, farm
DC_GLN = "4012345000016"  # retail-gln-dc, retail
STORE_GLN = "4012345000023"  # retail-gln-store, retail
NOBODY_GLN = "4012345000030"  # valid check digit, registered on no location
MISTYPED_GLN = "4012345000031"  # check digit should be 0


@pytest.fixture
def glns(world: Ledger) -> Ledger:
    for loc, org, gln in [
        ("farm-gln-field", "farm", FIELD_GLN),
        ("retail-gln-dc", "retail", DC_GLN),
        ("retail-gln-store", "retail", STORE_GLN),
    ]:
        create_location(
            world.engine,
            loc,
            org_id=org,
            name=loc.title(),
            kind="farm" if org == "farm" else "store",
            gln=gln,
        )
    return world


def logged_event(ledger: Ledger, seq: int) -> dict[str, object]:
    event: dict[str, object] = ledger.entries(seq, seq + 1)[0].envelope()["event"]
    return event


def test_a_gln_names_its_location_and_the_log_records_the_id(glns: Ledger, ev: Events) -> None:
    ledger = glns
    register = ev.register("G1", "100", location=FIELD_GLN)
    ship = ev.ship("G1", "60", frm=FIELD_GLN, to=DC_GLN)
    ledger.append([register, ship], actor="farm")
    receive = ev.receive("G1", "60", frm=FIELD_GLN, at=DC_GLN)
    onward = ev.ship("G1", "25", frm="retail-gln-dc", to=STORE_GLN)
    ledger.append([receive, onward], actor="retail")

    assert logged_event(ledger, 0)["location"] == "farm-gln-field"
    assert (logged_event(ledger, 1)["location"], logged_event(ledger, 1)["to_location"]) == (
        "farm-gln-field",
        "retail-gln-dc",
    )
    assert (logged_event(ledger, 2)["location"], logged_event(ledger, 2)["from_location"]) == (
        "retail-gln-dc",
        "farm-gln-field",
    )
    assert logged_event(ledger, 3)["to_location"] == "retail-gln-store"
    stock = {
        line.location_id: line.on_hand
        for line in lots.lot_stock(ledger.engine, register["lot"]["gtin"], "G1", viewer=None)
    }
    assert stock == {"farm-gln-field": "40", "retail-gln-dc": "35"}
    # The shipment to the store is open under the store's id: the store receives it by id.
    ledger.append(
        [ev.receive("G1", "25", frm="retail-gln-dc", at="retail-gln-store")], actor="retail"
    )

    # The same events sent again, naming the locations the other way, are the same events.
    size = ledger.size()
    again = ledger.append(
        [ship | {"location": "farm-gln-field", "to_location": "retail-gln-dc"}], actor="farm"
    )
    assert again.receipts[0].duplicate
    assert again.receipts[0].seq == 1
    assert ledger.append([register], actor="farm").receipts[0].seq == 0
    assert ledger.size() == size


def test_unknown_and_mistyped_glns_are_named(glns: Ledger, ev: Events) -> None:
    ledger = glns
    ledger.append([ev.register("G2", "10", location=FIELD_GLN)], actor="farm")
    with pytest.raises(EventValidationError) as caught:
        ledger.append(
            [
                ev.ship("G2", "1", frm=FIELD_GLN, to=NOBODY_GLN),
                ev.ship("G2", "1", frm=MISTYPED_GLN, to=DC_GLN),
            ],
            actor="farm",
        )
    problems = [(p.index, p.field, p.message) for p in caught.value.problems]
    assert problems == [
        (
            0,
            "to_location",
            f"unknown GLN {NOBODY_GLN}: no location is registered with it "
            "(give the location's id, or register the GLN on its location)",
        ),
        (
            1,
            "location",
            f"unknown location '{MISTYPED_GLN}': no location has this id, and as a GLN "
            "its check digit should be 0",
        ),
    ]
    assert ledger.size() == 1


def test_a_location_id_of_thirteen_digits_wins_over_a_gln(glns: Ledger, ev: Events) -> None:
    ledger = glns
    # A location whose id is the digits of another location's GLN: the id is what it names.
    create_location(ledger.engine, DC_GLN, org_id="farm", name="Odd id", kind="farm")
    ledger.append([ev.register("G3", "10", location=DC_GLN)], actor="farm")
    assert logged_event(ledger, 0)["location"] == DC_GLN


def test_a_gln_of_another_organisation_is_still_not_yours(glns: Ledger, ev: Events) -> None:
    client = ApiClient(create_app(glns))
    try:
        keys = make_keys(glns)
        r = client.post(
            "/v1/events",
            key=keys.farm,
            json={"events": [ev.register("G4", "10", location=DC_GLN)]},
        )
        assert r.status_code == 403, r.text
        assert r.json()["type"].endswith("/forbidden-location")
        assert "'retail-gln-dc' belongs to another organisation" in r.json()["detail"]
        r = client.post(
            "/v1/events",
            key=keys.farm,
            json={"events": [ev.register("G4", "10", location=NOBODY_GLN)]},
        )
        assert r.status_code == 422
        body = r.json()
        assert body["errors"] == [
            {
                "index": 0,
                "field": "location",
                "message": f"unknown GLN {NOBODY_GLN}: no location is registered with it "
                "(give the location's id, or register the GLN on its location)",
            }
        ]
        r = client.post(
            "/v1/events",
            key=keys.farm,
            json={"events": [ev.register("G4", "10", location=FIELD_GLN)]},
        )
        assert r.status_code == 201, r.text
        page = client.get("/v1/log/entries", params={"start": 0, "end": 1}, key=keys.regulator)
        leaf = page.json()["entries"][0]
        entry = json.loads(base64.b64decode(leaf["leaf"]))
        assert entry["event"]["location"] == "farm-gln-field"
    finally:
        client.close()


def test_an_order_names_its_supplier_by_gln(glns: Ledger, ev: Events) -> None:
    order = ev._base(
        "order_placed",
        STORE_GLN,
        order_id="PO-GLN-1",
        supplier_location=FIELD_GLN,
        lines=[{"gtin": "09506000134352", "quantity": "10", "unit": "kg", "unit_price": "2"}],
    )
    glns.append([order], actor="retail")
    logged = logged_event(glns, 0)
    assert (logged["location"], logged["supplier_location"]) == (
        "retail-gln-store",
        "farm-gln-field",
    )
