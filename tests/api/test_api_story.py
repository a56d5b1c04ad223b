"""Farm to store over HTTP: master data, keys, events, lot reads and the public log, asserting
what each user of the API would see."""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Any

from ledger import Ledger, create_organisation
from ledger.masterdata import keys
from tests.api_fixtures import ApiClient, client  # noqa: F401 - fixture
from tests.conftest import LETTUCE, SALAD, TOMATO
from verifier.note import VerifierKey, verify_checkpoint
from verifier.proofs import verify_consistency, verify_inclusion

T = "2026-11-{day:02d}T{hour:02d}:00:00+01:00"


def event(etype: str, location: str, day: int, hour: int, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "type": etype,
        "event_time": T.format(day=day, hour=hour),
        "location": location,
        **fields,
    }


def lot(gtin: str, code: str) -> dict[str, str]:
    return {"gtin": gtin, "lot": code}


def post_events(api: ApiClient, key: str, *events: dict[str, Any]) -> dict[str, Any]:
    r = api.post("/v1/events", key=key, json={"events": list(events)})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def test_farm_to_store(ledger: Ledger, client: ApiClient) -> None:  # noqa: F811
    create_organisation(ledger.engine, "operator", "Ledger operator")
    admin = keys.create_key(ledger.engine, "operator", "admin").secret

    # The operator registers the chain's organisations, locations, products and keys.
    for org, name in [
        ("farm", "Green Valley Farm"),
        ("packer", "SunRipe Packers"),
        ("fresh", "FreshCut Salads"),
        ("retail", "Corner Grocer"),
        ("agency", "Food Safety Agency"),
    ]:
        r = client.post("/v1/organisations", key=admin, json={"id": org, "name": name})
        assert r.status_code == 201, r.text
        assert r.json()["name"] == name
    for loc, org, kind, gln in [
        ("field-3", "farm", "farm", "9506000134376"),
        ("packhouse", "packer", "packer", None),
        ("plant", "fresh", "processor", None),
        ("dc", "retail", "distribution_centre", None),
        ("store-1", "retail", "store", None),
        ("store-2", "retail", "store", None),
        ("store-3", "retail", "store", None),
    ]:
        body = {"id": loc, "org_id": org, "name": loc.title(), "kind": kind}
        if gln:
            body["gln"] = gln
        r = client.post("/v1/locations", key=admin, json=body)
        assert r.status_code == 201, r.text
    assert client.get("/v1/locations", key=admin).json()[0] == {
        "id": "dc",
        "org_id": "retail",
        "name": "Dc",
        "kind": "distribution_centre",
        "gln": None,
        "address": None,
    }
    r = client.post(
        "/v1/products",
        key=admin,
        json={
            "gtin": LETTUCE,
            "org_id": "farm",
            "description": "Romaine lettuce",
            "unit": "kg",
            "shelf_life_days": 14,
            "temp_min_c": "0",
            "temp_max_c": "4",
        },
    )
    assert r.status_code == 201, r.text
    assert client.get(f"/v1/products/{LETTUCE}", key=admin).json()["temp_max_c"] == "4"

    def key_for(org: str, role: str) -> str:
        r = client.post("/v1/keys", key=admin, json={"org_id": org, "role": role})
        assert r.status_code == 201, r.text
        secret: str = r.json()["secret"]
        assert secret.startswith("ll_")
        assert r.json()["last4"] == secret[-4:]
        return secret

    farm, packer, fresh = (key_for(o, "supplier") for o in ("farm", "packer", "fresh"))
    dc, store, regulator = (
        key_for("retail", "warehouse"),
        key_for("retail", "store"),
        key_for("agency", "regulator"),
    )
    assert client.get("/v1/me", key=store).json()["org_id"] == "retail"

    # The farm harvests lettuce, the packer packs tomatoes; both ship to the plant.
    first = post_events(
        client,
        farm,
        event("register", "field-3", 16, 6, lot=lot(LETTUCE, "L1"), quantity="1200",
              unit="kg", product="Romaine lettuce", kind="harvest", expiry="2026-11-30"),
        event("ship", "field-3", 16, 14, lot=lot(LETTUCE, "L1"), quantity="1000", unit="kg",
              to_location="plant", reference={"type": "bol", "number": "BOL-1"}),
    )  # fmt: skip
    assert [r["seq"] for r in first["receipts"]] == [0, 1]
    assert first["tree_size"] == 2
    post_events(
        client,
        packer,
        event("register", "packhouse", 16, 7, lot=lot(TOMATO, "T1"), quantity="800",
              unit="kg", product="Vine tomatoes"),
        event("ship", "packhouse", 16, 15, lot=lot(TOMATO, "T1"), quantity="600", unit="kg",
              to_location="plant"),
    )  # fmt: skip
    # The plant receives both and makes salad bowls.
    made = post_events(
        client,
        fresh,
        event("receive", "plant", 17, 5, lot=lot(LETTUCE, "L1"), quantity="1000", unit="kg",
              from_location="field-3"),
        event("receive", "plant", 17, 5, lot=lot(TOMATO, "T1"), quantity="600", unit="kg",
              from_location="packhouse"),
        event("transform", "plant", 17, 9,
              inputs=[{"lot": lot(LETTUCE, "L1"), "quantity": "900", "unit": "kg"},
                      {"lot": lot(TOMATO, "T1"), "quantity": "450.5", "unit": "kg"}],
              outputs=[{"lot": lot(SALAD, "S1"), "quantity": "3600", "unit": "each",
                        "product": "Salad bowl", "expiry": "2099-12-31"}]),
        event("ship", "plant", 17, 14, lot=lot(SALAD, "S1"), quantity="3600", unit="each",
              to_location="dc"),
    )  # fmt: skip
    assert [r["seq"] for r in made["receipts"]] == [4, 5, 6, 7]
    # The DC receives and ships to three stores; the stores receive and sell.
    post_events(
        client,
        dc,
        event("receive", "dc", 18, 4, lot=lot(SALAD, "S1"), quantity="3600", unit="each",
              from_location="plant"),
        *[event("ship", "dc", 18, 10, lot=lot(SALAD, "S1"), quantity="1200", unit="each",
                to_location=s) for s in ("store-1", "store-2", "store-3")],
    )  # fmt: skip
    sold = post_events(
        client,
        store,
        *[event("receive", s, 19, 5, lot=lot(SALAD, "S1"), quantity="1200", unit="each",
                from_location="dc") for s in ("store-1", "store-2", "store-3")],
        event("sell", "store-1", 19, 17, lot=lot(SALAD, "S1"), quantity="250", unit="each"),
        event("sell", "store-2", 19, 17, lot=lot(SALAD, "S1"), quantity="1200", unit="each"),
        event("dispose", "store-3", 19, 18, lot=lot(SALAD, "S1"), quantity="12", unit="each",
              reason="damage"),
    )  # fmt: skip
    assert sold["tree_size"] == 18

    # What the store's organisation sees of the salad lot.
    salad = client.get(f"/v1/lots/{SALAD}/S1", key=store).json()
    assert salad["product"] == "Salad bowl"
    assert salad["org_id"] == "fresh"
    assert salad["status"] == "approved"
    stock = client.get(f"/v1/lots/{SALAD}/S1/stock", key=store).json()
    assert stock["unit"] == "each"
    assert {s["location_id"]: s["on_hand"] for s in stock["locations"]} == {
        "store-1": "950",
        "store-3": "1188",
    }
    assert stock["total"] == "2138"
    history = client.get(f"/v1/lots/{SALAD}/S1/events", key=store).json()["events"]
    assert [(e["seq"], e["event"]["type"], e["actor"]) for e in history] == [
        (7, "ship", "fresh"),  # shipped to retail's DC: it concerns retail
        (8, "receive", "retail"),
        (9, "ship", "retail"),
        (10, "ship", "retail"),
        (11, "ship", "retail"),
        (12, "receive", "retail"),
        (13, "receive", "retail"),
        (14, "receive", "retail"),
        (15, "sell", "retail"),
        (16, "sell", "retail"),
        (17, "dispose", "retail"),
    ]
    # The farm does not see the stores' stock; the regulator sees everything.
    farm_view = client.get(f"/v1/lots/{LETTUCE}/L1/stock", key=farm).json()
    assert farm_view["locations"] == [
        {"location_id": "field-3", "org_id": "farm", "on_hand": "200"}
    ]
    assert client.get(f"/v1/lots/{SALAD}/S1", key=farm).status_code == 404
    everything = client.get(f"/v1/lots/{LETTUCE}/L1/stock", key=regulator).json()
    assert {s["location_id"]: s["on_hand"] for s in everything["locations"]} == {
        "field-3": "200",
        "plant": "100",
    }
    full = client.get(f"/v1/lots/{SALAD}/S1/events", key=regulator).json()["events"]
    assert [e["seq"] for e in full] == [6, *range(7, 18)]
    assert full[0]["event"]["outputs"][0]["quantity"] == "3600"
    tomato = client.get(f"/v1/lots/{TOMATO}/T1/stock", key=regulator).json()
    assert tomato["total"] == "349.5"

    # A cold-chain excursion: the store holds what it has; the lot shows as on hold.
    post_events(
        client,
        store,
        event("observe", "store-1", 20, 8, lot=lot(SALAD, "S1"), readings=[
            {"sensor": "temperature", "value": "9.5", "unit": "Cel",
             "time": T.format(day=20, hour=8)}]),
        event("hold", "store-1", 20, 9, lot=lot(SALAD, "S1"), kind="quality",
              reason="chiller at 9.5 Cel"),
    )  # fmt: skip
    status = client.get(f"/v1/lots/{SALAD}/S1/status", key=regulator).json()
    assert status["status"] == "on_hold"
    assert status["holds"][0]["reason"] == "chiller at 9.5 Cel"
    r = client.post(
        "/v1/events",
        key=store,
        json={"events": [event("sell", "store-1", 20, 10, lot=lot(SALAD, "S1"),
                               quantity="1", unit="each")]},
    )  # fmt: skip
    assert r.status_code == 409
    assert r.json()["type"] == "https://lotledger.dev/problems/lot-on-hold"

    # Anyone can check the log: the checkpoint is signed by the key the log publishes,
    # and every receipt is included in it.
    vkey = VerifierKey.parse(client.get("/v1/log/key").text.strip())
    note = client.get("/v1/log/checkpoint")
    assert note.headers["content-type"].startswith("text/plain")
    checkpoint = verify_checkpoint(note.text, vkey)
    assert checkpoint.size == 20
    for receipt in made["receipts"]:
        proof = client.get(
            "/v1/log/proof/inclusion", params={"index": receipt["seq"], "size": 20}
        ).json()
        verify_inclusion(
            receipt["seq"],
            20,
            bytes.fromhex(receipt["leaf_hash"]),
            [base64.b64decode(h) for h in proof["hashes"]],
            checkpoint.root_hash,
        )
    old = verify_checkpoint(first["checkpoint"], vkey)
    proof = client.get("/v1/log/proof/consistency", params={"first": 2, "second": 20}).json()
    verify_consistency(
        2, 20, old.root_hash, checkpoint.root_hash, [base64.b64decode(h) for h in proof["hashes"]]
    )
    assert client.get("/v1/log/entries", params={"start": 4, "end": 8}).status_code == 401
    page = client.get("/v1/log/entries", params={"start": 4, "end": 8}, key=admin).json()
    assert [e["seq"] for e in page["entries"]] == [4, 5, 6, 7]
    for entry, receipt in zip(page["entries"], made["receipts"], strict=True):
        leaf = base64.b64decode(entry["leaf"])
        assert hashlib.sha256(b"\x00" + leaf).hexdigest() == receipt["leaf_hash"]
    found = client.get("/v1/log/leaf", params={"leaf_hash": made["receipts"][2]["leaf_hash"]})
    assert found.json()["index"] == 6
    assert client.get("/v1/log/checkpoint", params={"size": 2}).text == first["checkpoint"]
