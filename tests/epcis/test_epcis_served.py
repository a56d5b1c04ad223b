"""A supplier's day in EPCIS against a real ``lotledger serve --init`` over HTTP: the
operator registers the sites with their GLNs; the packer captures one EPCIS document
(commissioning, a transformation, a shipment), the retailer captures its receipt; the
retailer's query answers the lot's journey as EPCIS, with the event hash IDs that are in
the log's own entries; a resent document appends nothing."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from ledger.epcis.identifiers import lgtin
from tests.conftest import LETTUCE, SALAD
from tests.journeys.test_journey_manager import Http, served  # noqa: F401 - fixture

PACKER_GLN = "9506000134376"
STORE_GLN = "9506000134383"
ORDER = "urn:epcglobal:cbv:bt:9506000134383:PO-1042"  # the store's purchase order
PACKER, STORE = "urn:epc:id:sgln:9506000.13437.0", "urn:epc:id:sgln:9506000.13438.0"


@pytest.fixture
def http(served: tuple[str, str, list[str]]) -> Iterator[Http]:  # noqa: F811
    with httpx.Client(base_url=served[0], timeout=30) as client:
        yield Http(client)


def at(minutes_ago: int) -> str:
    moment = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=minutes_ago)
    return moment.isoformat().replace("+00:00", "Z")


def document(*events: dict[str, Any]) -> dict[str, Any]:
    return {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": at(0),
        "epcisBody": {"eventList": list(events)},
    }


def capture(http: Http, key: str, doc: dict[str, Any]) -> dict[str, Any]:
    answer = http.client.post(
        "/epcis/v2/capture", content=json.dumps(doc),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/ld+json"},
    )  # fmt: skip
    assert answer.status_code == 202, answer.text
    job = http.ok("GET", answer.headers["Location"], key)
    assert job["success"] is True, job["errors"]
    return job  # type: ignore[no-any-return]


def test_a_suppliers_day_in_epcis(served: tuple[str, str, list[str]], http: Http) -> None:  # noqa: F811
    _, admin, _ = served
    for org, name in (("packer", "Valley Packers"), ("grocer", "Corner Grocer")):
        http.ok("POST", "/v1/organisations", admin, json={"id": org, "name": name})
    for loc, org, kind, gln in (
        ("packhouse", "packer", "packer", PACKER_GLN),
        ("store-1", "grocer", "store", STORE_GLN),
    ):
        body = {"id": loc, "org_id": org, "name": loc, "kind": kind, "gln": gln}
        http.ok("POST", "/v1/locations", admin, json=body)
    for gtin, name in ((LETTUCE, "Romaine lettuce"), (SALAD, "Salad bowl")):
        body = {"gtin": gtin, "org_id": "packer", "description": name, "unit": "kg"}
        http.ok("POST", "/v1/products", admin, json=body)
    packer = http.ok("POST", "/v1/keys", admin, json={"org_id": "packer", "role": "supplier"})
    store = http.ok("POST", "/v1/keys", admin, json={"org_id": "grocer", "role": "store"})
    packer_key, store_key = packer["secret"], store["secret"]

    lettuce, salad = lgtin(LETTUCE, "L1"), lgtin(SALAD, "B1")
    place = {"readPoint": {"id": PACKER}, "bizLocation": {"id": PACKER}}
    day = document(
        {
            "type": "ObjectEvent", "eventTime": at(300), "eventTimeZoneOffset": "+00:00",
            "action": "ADD", "bizStep": "commissioning", **place,
            "quantityList": [{"epcClass": lettuce, "quantity": 80, "uom": "KGM"}],
        },
        {
            "type": "TransformationEvent", "eventTime": at(200), "eventTimeZoneOffset": "+00:00",
            "bizStep": "commissioning", **place,
            "inputQuantityList": [{"epcClass": lettuce, "quantity": 50, "uom": "KGM"}],
            "outputQuantityList": [{"epcClass": salad, "quantity": 48, "uom": "KGM"}],
        },
        {
            "type": "ObjectEvent", "eventTime": at(100), "eventTimeZoneOffset": "+00:00",
            "action": "OBSERVE", "bizStep": "shipping", "disposition": "in_transit", **place,
            "quantityList": [{"epcClass": salad, "quantity": 20, "uom": "KGM"}],
            "bizTransactionList": [{"type": "po", "bizTransaction": ORDER}],
            "destinationList": [{"type": "location", "destination": STORE}],
        },
    )  # fmt: skip
    job = capture(http, packer_key, day)
    size = http.ok("GET", "/v1/log/entries", admin)["tree_size"]
    receipt = document(
        {
            "type": "ObjectEvent", "eventTime": at(50), "eventTimeZoneOffset": "+00:00",
            "action": "OBSERVE", "bizStep": "receiving", "disposition": "in_progress",
            "readPoint": {"id": STORE}, "bizLocation": {"id": STORE},
            "quantityList": [{"epcClass": salad, "quantity": 20, "uom": "KGM"}],
            "sourceList": [{"type": "location", "source": PACKER}],
        }
    )  # fmt: skip
    capture(http, store_key, receipt)

    # The log's own entries (read by the operator: contents need an admin or regulator key)
    # carry the hash IDs the capture job reported.
    page = http.ok("GET", "/v1/log/entries", admin)
    logged = [json.loads(base64.b64decode(e["leaf"]))["event"] for e in page["entries"]]
    assert [e.get("epcis_hash") for e in logged[:3]] == [e["eventID"] for e in job["events"]]

    # The retailer asks for the salad lot's events: the packer's making and shipping of it
    # (one step up the chain), and its own receipt.
    answer = http.call("GET", "/epcis/v2/events", store_key, params={"MATCH_anyEPCClass": salad})
    assert answer.status_code == 200
    assert answer.headers["GS1-EPCIS-Version"] == "2.0.0"
    found = answer.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert [(e["type"], e["bizStep"]) for e in found] == [
        ("TransformationEvent", "commissioning"),
        ("ObjectEvent", "shipping"),
        ("ObjectEvent", "receiving"),
    ]
    assert found[1]["bizTransactionList"] == [{"type": "po", "bizTransaction": ORDER}]
    assert found[1]["destinationList"] == [{"type": "location", "destination": STORE}]
    assert found[0]["eventID"] == job["events"][1]["eventID"]

    # Sent again (a retry after a timeout): the same entries, nothing appended.
    again = capture(http, packer_key, day)
    assert [(e["seq"], e["duplicate"]) for e in again["events"]] == [
        (e["seq"], True) for e in job["events"]
    ]
    after = http.ok("GET", "/v1/log/entries", admin)["tree_size"]
    assert after == size + 1
