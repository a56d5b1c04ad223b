"""EPCIS 2.0 over HTTP: capture documents as one atomic batch, read them back as EPCIS.

The supply chain is the ``world`` fixture's, with two sites that carry the GLNs GS1's own
example documents name, so that those documents are captured exactly as GS1 wrote them.
"""

from __future__ import annotations

import copy
import json
import logging
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jsonschema_rs
import pytest
from epcis_event_hash_generator.__main__ import epcis_hash_from_file
from sqlalchemy import select

from ledger import Ledger, create_location, create_product
from ledger.epcis.document import schema
from ledger.epcis.identifiers import gln_of_location, lot_class
from ledger.storage.schema import EpcisEventHash
from tests.api_fixtures import ApiClient, Keys, api_keys, client  # noqa: F401 - fixtures
from tests.conftest import SALAD

VENDOR = Path(__file__).parent / "vendor" / "gs1"
GS1_EXAMPLES = sorted(VENDOR.glob("*.jsonld"))
CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]
# The GS1 examples' sites: the sender's (4012345.00225.0) and the receiver's (0614141.00888.0).
SENDER_SGLN = "urn:epc:id:sgln:4012345.00225.0"
RECEIVER_SGLN = "urn:epc:id:sgln:0614141.00888.0"
CARROTS = "04012345123456"
VALIDATOR = jsonschema_rs.validator_for(schema(), validate_formats=True)


@pytest.fixture
def sites(world: Ledger) -> Ledger:
    create_location(
        world.engine, "farm-packhouse", org_id="farm", name="Farm packhouse", kind="packer",
        gln=gln_of_location(SENDER_SGLN),
    )  # fmt: skip
    create_location(
        world.engine, "retail-inbound", org_id="retail", name="Retail inbound dock",
        kind="distribution_centre", gln=gln_of_location(RECEIVER_SGLN),
    )  # fmt: skip
    return world


@pytest.fixture
def carrot_farm(sites: Ledger) -> Ledger:
    """``sites``, with the farm's carrots (GTIN 04012345123456) registered."""
    create_product(sites.engine, CARROTS, org_id="farm", description="Carrots", unit="kg")
    return sites


def epcis_document(*events: dict[str, Any]) -> dict[str, Any]:
    return {
        "@context": CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-20T07:00:00Z",
        "epcisBody": {"eventList": list(events)},
    }


def object_event(
    action: str, step: str, disposition: str, time: str, epc_class: str, quantity: float,
    **fields: Any,
) -> dict[str, Any]:  # fmt: skip
    return {
        "type": "ObjectEvent",
        "eventTime": time,
        "eventTimeZoneOffset": "+02:00",
        "action": action,
        "bizStep": step,
        "disposition": disposition,
        "readPoint": {"id": SENDER_SGLN},
        "bizLocation": {"id": SENDER_SGLN},
        "quantityList": [{"epcClass": epc_class, "quantity": quantity, "uom": "KGM"}],
        **fields,
    }


def commissioning(epc_class: str, quantity: float) -> dict[str, Any]:
    return object_event(
        "ADD", "commissioning", "active", "2013-06-07T08:00:00.000+02:00", epc_class, quantity,
        ilmd={"cbvmda:itemExpirationDate": "2013-07-01"},
    )  # fmt: skip


def shipping(epc_class: str, quantity: float) -> dict[str, Any]:
    return object_event(
        "OBSERVE", "shipping", "in_transit", "2013-06-07T16:00:00.000+02:00", epc_class, quantity,
        bizTransactionList=[
            {"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:0614141000012:PO-4711"},
            {"type": "bol", "bizTransaction": "urn:epcglobal:cbv:bt:4012345000009:BOL-88"},
        ],
        destinationList=[{"type": "location", "destination": RECEIVER_SGLN}],
    )  # fmt: skip


def capture(client: ApiClient, key: str, document: dict[str, Any]) -> dict[str, Any]:  # noqa: F811
    answer = client.post(
        "/epcis/v2/capture",
        key=key,
        content=json.dumps(document),
        headers={"Content-Type": "application/ld+json"},
    )
    assert answer.status_code == 202, answer.text
    assert answer.headers["GS1-EPCIS-Version"] == "2.0.0"
    assert answer.headers["GS1-CBV-Version"] == "2.0.0"
    job = client.get(answer.headers["Location"], key=key)
    assert job.status_code == 200
    assert job.json() == answer.json()
    return job.json()  # type: ignore[no-any-return]


def query(client: ApiClient, key: str, **params: str) -> dict[str, Any]:  # noqa: F811
    answer = client.get("/epcis/v2/events", key=key, params=params)
    assert answer.status_code == 200, answer.text
    document = answer.json()
    assert VALIDATOR.is_valid(document), [e.message for e in VALIDATOR.iter_errors(document)]
    return document  # type: ignore[no-any-return]


def events_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    return document["epcisBody"]["queryResults"]["resultsBody"]["eventList"]  # type: ignore[no-any-return]


def reference_hashes(tmp_path: Path, document: dict[str, Any]) -> list[str]:
    path = tmp_path / f"{uuid.uuid4()}.jsonld"
    path.write_text(json.dumps(document))
    logging.disable(logging.CRITICAL)
    try:
        hashes, _ = epcis_hash_from_file(str(path))
    finally:
        logging.disable(logging.NOTSET)
    return list(hashes)


@pytest.mark.filterwarnings("ignore:open_text is deprecated:DeprecationWarning")
@pytest.mark.parametrize("example", GS1_EXAMPLES, ids=lambda p: p.name)
def test_gs1_example_is_captured_as_the_receipt_of_a_captured_shipment(
    example: Path,
    sites: Ledger,
    client: ApiClient,  # noqa: F811
    api_keys: Keys,  # noqa: F811
    tmp_path: Path,
) -> None:
    received = json.loads(example.read_text())
    (receipt,) = received["epcisBody"]["eventList"]
    epc_class = receipt["quantityList"][0]["epcClass"]
    lot = lot_class(epc_class)
    create_product(sites.engine, lot.gtin, org_id="farm", description="Carrots, washed", unit="kg")

    # The supplier commissions the lot and ships 200 kg of it to the retailer's dock.
    sent = epcis_document(commissioning(epc_class, 500), shipping(epc_class, 200))
    job = capture(client, api_keys.farm, sent)
    assert job["success"] is True, job["errors"]
    assert [e["duplicate"] for e in job["events"]] == [False, False]
    assert [e["eventID"] for e in job["events"]] == reference_hashes(tmp_path, sent)

    # The retailer sends GS1's document as GS1 wrote it.
    job = capture(client, api_keys.dc, received)
    assert job["success"] is True, job["errors"]
    assert [e["eventID"] for e in job["events"]] == reference_hashes(tmp_path, received)
    receipt_seq = job["events"][0]["seq"]
    entry = sites.entries(receipt_seq, receipt_seq + 1)[0].envelope()
    assert entry["event"]["type"] == "receive"
    assert entry["event"]["epcis_hash"] == job["events"][0]["eventID"]
    assert entry["event"]["from_location"] == "farm-packhouse"
    assert (entry["event"]["quantity"], entry["event"]["unit"]) == ("200", "kg")
    stock = client.get("/v1/stock/retail-inbound", key=api_keys.dc).json()["items"]
    assert [(s["gtin"], s["lot"], s["on_hand"]) for s in stock] == [(lot.gtin, lot.lot, "200")]

    # The retailer's query by lot shows the lot's whole journey to it, as EPCIS.
    found = events_of(query(client, api_keys.dc, MATCH_anyEPCClass=epc_class))
    assert [(e["type"], e["bizStep"]) for e in found] == [
        ("ObjectEvent", "commissioning"),
        ("ObjectEvent", "shipping"),
        ("ObjectEvent", "receiving"),
    ]
    assert found[0]["ilmd"] == {"cbvmda:itemExpirationDate": "2013-07-01"}
    assert found[1]["bizTransactionList"] == [
        {"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:0614141000012:PO-4711"}
    ]
    assert found[1]["destinationList"] == [{"type": "location", "destination": RECEIVER_SGLN}]
    assert found[2]["eventID"] == job["events"][0]["eventID"]
    assert found[2]["sourceList"] == [{"type": "location", "source": SENDER_SGLN}]
    assert lot_class(found[2]["quantityList"][0]["epcClass"]) == lot
    assert found[2]["quantityList"][0]["quantity"] == 200

    # One event by its hash ID; the same through EQ_eventID.
    # The eventID holds "?" and "/": a client percent-encodes it into the path.
    one = client.get(f"/epcis/v2/events/{quote(found[2]['eventID'], safe='')}", key=api_keys.dc)
    assert one.status_code == 200
    assert one.json() == found[2]
    by_id = events_of(query(client, api_keys.dc, EQ_eventID=found[2]["eventID"]))
    assert by_id == [found[2]]


def test_a_resent_document_is_answered_as_duplicates_and_appends_nothing(
    carrot_farm: Ledger,
    client: ApiClient,  # noqa: F811
    api_keys: Keys,  # noqa: F811
) -> None:
    epc_class = "urn:epc:class:lgtin:4012345.012345.L7"
    sent = epcis_document(commissioning(epc_class, 500), shipping(epc_class, 200))
    first = capture(client, api_keys.farm, sent)
    size = carrot_farm.size()

    again = capture(client, api_keys.farm, sent)
    assert again["success"] is True
    assert [(e["seq"], e["duplicate"]) for e in again["events"]] == [
        (e["seq"], True) for e in first["events"]
    ]
    # The same event under a new eventID is still the same event: same hash, not appended.
    renamed = copy.deepcopy(sent)
    renamed["epcisBody"]["eventList"][1]["eventID"] = f"urn:uuid:{uuid.uuid4()}"
    third = capture(client, api_keys.farm, renamed)
    assert [e["duplicate"] for e in third["events"]] == [True, True]
    assert third["events"][1]["seq"] == first["events"][1]["seq"]
    assert carrot_farm.size() == size


def test_one_bad_event_in_the_middle_appends_nothing_and_is_pointed_at(
    carrot_farm: Ledger,
    client: ApiClient,  # noqa: F811
    api_keys: Keys,  # noqa: F811
) -> None:
    good = "urn:epc:class:lgtin:4012345.012345.L8"
    size = carrot_farm.size()

    # A GTIN whose check digit is wrong (Digital Link form), between two good events.
    bad = "https://id.gs1.org/01/04012345123457/10/L8"
    job = capture(
        client,
        api_keys.farm,
        epcis_document(commissioning(good, 500), shipping(bad, 20), shipping(good, 10)),
    )
    assert job["success"] is False
    assert [(e["eventIndex"], e["pointer"]) for e in job["errors"]] == [
        (1, "/epcisBody/eventList/1/quantityList/0/epcClass")
    ]
    assert "check digit" in job["errors"][0]["detail"]

    # Well formed, but more than is on hand: the ledger's rule, pointed at the same way.
    job = capture(
        client,
        api_keys.farm,
        epcis_document(commissioning(good, 500), shipping(good, 900), shipping(good, 10)),
    )
    assert job["success"] is False
    assert [e["eventIndex"] for e in job["errors"]] == [1]
    assert job["errors"][0]["type"].endswith("/insufficient-stock")
    assert job["errors"][0]["pointer"].startswith("/epcisBody/eventList/1/quantityList/0")

    # Not EPCIS: the schema's own error, with the pointer to the field.
    broken = epcis_document(commissioning(good, 500), shipping(good, 20))
    broken["epcisBody"]["eventList"][1]["eventTime"] = "yesterday"
    job = capture(client, api_keys.farm, broken)
    assert [(e["eventIndex"], e["pointer"]) for e in job["errors"]] == [
        (1, "/epcisBody/eventList/1/eventTime")
    ]
    assert carrot_farm.size() == size


def test_capture_only_at_the_callers_own_locations(
    carrot_farm: Ledger,
    client: ApiClient,  # noqa: F811
    api_keys: Keys,  # noqa: F811
) -> None:
    job = capture(
        client,
        api_keys.dc,
        epcis_document(commissioning("urn:epc:class:lgtin:4012345.012345.L9", 5)),
    )
    assert job["success"] is False
    assert job["errors"][0]["status"] == 403
    assert job["errors"][0]["pointer"] == "/epcisBody/eventList/0/bizLocation/id"
    # Another organisation's capture job is not found.
    other = client.get(f"/epcis/v2/capture/{job['captureID']}", key=api_keys.farm)
    assert other.status_code == 404
    assert other.headers["Content-Type"] == "application/problem+json"


def test_bad_requests_get_problems_not_errors(
    sites: Ledger,
    client: ApiClient,  # noqa: F811
    api_keys: Keys,  # noqa: F811
) -> None:
    answer = client.post(
        "/epcis/v2/capture", key=api_keys.farm, content=b"<epcis/>",
        headers={"Content-Type": "application/xml"},
    )  # fmt: skip
    assert answer.status_code == 415
    answer = client.post(
        "/epcis/v2/capture", key=api_keys.farm, content=b'{"type": ',
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert answer.status_code == 400
    assert answer.json()["type"].endswith("/malformed-json")
    # JSON, but not an EPCIS document at all: refused at once, no capture job.
    answer = client.post("/epcis/v2/capture", key=api_keys.farm, json={"events": []})
    assert answer.status_code == 400
    (error,) = answer.json()["errors"]
    assert (error["field"], error["message"]) == (
        "/type",
        'an EPCIS document has "type": "EPCISDocument"',
    )
    answer = client.get(
        "/epcis/v2/events", key=api_keys.dc, params={"EQ_bizLocation": "urn:epc:id:sgln:1.2"}
    )
    assert answer.status_code == 400
    assert answer.json()["parameter"] == "EQ_bizLocation"
    answer = client.get("/epcis/v2/events", key=api_keys.dc, params={"nextPageToken": "xyz"})
    assert answer.status_code == 400


def test_paging_follows_next_page_tokens_to_every_event(
    carrot_farm: Ledger,
    client: ApiClient,  # noqa: F811
    api_keys: Keys,  # noqa: F811
) -> None:
    lots = [f"urn:epc:class:lgtin:4012345.012345.P{n}" for n in range(5)]
    capture(client, api_keys.farm, epcis_document(*(commissioning(c, 10) for c in lots)))
    seen: list[str] = []
    params = {"EQ_bizStep": "commissioning", "perPage": "2"}
    while True:
        answer = client.get("/epcis/v2/events", key=api_keys.farm, params=params)
        assert answer.status_code == 200
        seen += [e["quantityList"][0]["epcClass"] for e in events_of(answer.json())]
        link = answer.headers.get("Link")
        if link is None:
            break
        assert link.endswith('rel="next"')
        params = {**params, "nextPageToken": link.split("nextPageToken=")[1].split(">")[0]}
    assert [lot_class(c).lot for c in seen] == [f"P{n}" for n in range(5)]
    # The retailer never handled these lots: it sees none of the farm's commissioning.
    assert events_of(query(client, api_keys.dc, EQ_bizStep="commissioning")) == []


def test_a_transformation_consumes_its_inputs_into_new_lots(
    carrot_farm: Ledger,
    client: ApiClient,  # noqa: F811
    api_keys: Keys,  # noqa: F811
) -> None:
    create_product(carrot_farm.engine, SALAD, org_id="farm", description="Carrot salad", unit="kg")
    carrots = "urn:epc:class:lgtin:4012345.012345.C1"
    salad = f"https://id.gs1.org/01/{SALAD}/10/S1"
    transformation = {
        "type": "TransformationEvent",
        "eventTime": "2013-06-07T12:00:00.000+02:00",
        "eventTimeZoneOffset": "+02:00",
        "bizStep": "commissioning",
        "readPoint": {"id": SENDER_SGLN},
        "bizLocation": {"id": SENDER_SGLN},
        "inputQuantityList": [{"epcClass": carrots, "quantity": 120, "uom": "KGM"}],
        "outputQuantityList": [{"epcClass": salad, "quantity": 100.5, "uom": "KGM"}],
        "ilmd": {"cbvmda:itemExpirationDate": "2013-06-14"},
    }
    job = capture(
        client, api_keys.farm, epcis_document(commissioning(carrots, 500), transformation)
    )
    assert job["success"] is True, job["errors"]
    stock = client.get("/v1/stock/farm-packhouse", key=api_keys.farm).json()["items"]
    assert sorted((s["lot"], s["on_hand"], s["expiry"]) for s in stock) == [
        ("C1", "380", "2013-07-01"),
        ("S1", "100.5", "2013-06-14"),
    ]
    # MATCH_anyEPCClass finds the carrots as input; MATCH_epcClass only where they are the
    # event's own quantityList.
    any_class = events_of(query(client, api_keys.farm, MATCH_anyEPCClass=carrots))
    assert [e["type"] for e in any_class] == ["ObjectEvent", "TransformationEvent"]
    made = any_class[1]
    assert made["inputQuantityList"] == [{"epcClass": carrots, "quantity": 120, "uom": "KGM"}]
    assert lot_class(made["outputQuantityList"][0]["epcClass"]).lot == "S1"
    assert made["outputQuantityList"][0]["quantity"] == 100.5
    own_class = events_of(query(client, api_keys.farm, MATCH_epcClass=carrots))
    assert [e["type"] for e in own_class] == ["ObjectEvent"]
    only = events_of(query(client, api_keys.farm, eventType="TransformationEvent"))
    assert [e["eventID"] for e in only] == [made["eventID"]]


def test_the_hash_index_is_rebuilt_from_the_log(
    carrot_farm: Ledger,
    client: ApiClient,  # noqa: F811
    api_keys: Keys,  # noqa: F811
) -> None:
    epc_class = "urn:epc:class:lgtin:4012345.012345.R1"
    sent = epcis_document(commissioning(epc_class, 50), shipping(epc_class, 20))
    first = capture(client, api_keys.farm, sent)

    def index() -> list[tuple[str, str, int]]:
        with carrot_farm.engine.connect() as conn:
            rows = conn.execute(
                select(
                    EpcisEventHash.org_id, EpcisEventHash.event_hash, EpcisEventHash.seq
                ).order_by(EpcisEventHash.seq)
            )
            return [(str(o), str(h), int(s)) for o, h, s in rows]

    before = index()
    assert before == [("farm", e["eventID"], e["seq"]) for e in first["events"]]
    carrot_farm.replay()
    assert index() == before
    again = capture(client, api_keys.farm, sent)
    assert [e["duplicate"] for e in again["events"]] == [True, True]
