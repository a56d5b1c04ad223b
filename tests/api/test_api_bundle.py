"""GET /v1/lots/{gtin}/{lot}/bundle: a lot's provenance, verified offline by lotledger-verify.

A bundle follows the visibility rule: a regulator's is full; an organisation's holds only
the entries it may see (its own, and those at, from or to its locations) and says so.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from ledger import Ledger, create_location, create_organisation
from ledger.masterdata import keys
from tests.api_fixtures import ApiClient, Keys, api_keys, client  # noqa: F401 - fixtures
from tests.conftest import LETTUCE, SALAD, TOMATO, Events
from verifier.bundle import Bundle, VerifiedProvenance, render_timeline, verify_bundle
from verifier.note import VerifierKey


def salad_chain(world: Ledger, ev: Events) -> None:
    world.append(
        [
            ev.register("LET1", "100"),
            ev.register("TOM1", "60", gtin=TOMATO),
            ev.register("OTHER", "5"),
            ev.ship("LET1", "40", frm="farm-field-1", to="fresh-plant"),
            ev.ship("TOM1", "60", frm="farm-field-1", to="fresh-plant", gtin=TOMATO),
        ],
        actor="farm",
    )
    world.append(
        [
            ev.receive("LET1", "40", frm="farm-field-1", at="fresh-plant"),
            ev.receive("TOM1", "60", frm="farm-field-1", at="fresh-plant", gtin=TOMATO),
            Events._base(
                "transform",
                "fresh-plant",
                inputs=[
                    {"lot": {"gtin": LETTUCE, "lot": "LET1"}, "quantity": "30", "unit": "kg"},
                    {"lot": {"gtin": TOMATO, "lot": "TOM1"}, "quantity": "20", "unit": "kg"},
                ],
                outputs=[
                    {
                        "lot": {"gtin": SALAD, "lot": "SAL1"},
                        "quantity": "60",
                        "unit": "kg",
                        "product": "Garden salad",
                    }
                ],
            ),
            ev.ship("SAL1", "50", frm="fresh-plant", to="store-1", gtin=SALAD),
        ],
        actor="fresh",
    )
    world.append(
        [
            ev.receive("SAL1", "50", frm="fresh-plant", at="store-1", gtin=SALAD),
            ev.leave("sell", "SAL1", "3", at="store-1", gtin=SALAD),
        ],
        actor="retail",
    )


def verify_file(path: Path, key: object) -> subprocess.CompletedProcess[str]:
    """``lotledger-verify bundle PATH --key KEY``, run as its own process."""
    return subprocess.run(
        [sys.executable, "-m", "verifier.cli", "bundle", str(path), "--key", str(key)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_bundle_of_a_salad_lot_verifies_and_tells_its_provenance(
    world: Ledger,
    ev: Events,
    client: ApiClient,  # noqa: F811 - the fixture imported above
    api_keys: Keys,  # noqa: F811
    tmp_path: Path,
) -> None:
    salad_chain(world, ev)
    response = client.get(f"/v1/lots/{SALAD}/SAL1/bundle", key=api_keys.regulator)
    assert response.status_code == 200, response.text
    raw: dict[str, Any] = response.json()
    assert (raw["format"], raw["version"], raw["scope"]) == ("lotledger-bundle", 2, "full")
    assert raw["lot"] == {"gtin": SALAD, "lot": "SAL1"}

    key = VerifierKey.parse(client.get("/v1/log/key").text.strip())
    provenance = verify_bundle(Bundle.from_json(json.dumps(raw)), key)
    types = [e.event["type"] for e in provenance.entries]
    # Backward to both farm lots' registrations, forward to the store's sale; not the
    # unrelated lot the farm also registered.
    assert types.count("register") == 2
    assert "transform" in types
    assert types[-1] == "sell"
    lots = {e.event.get("lot", {}).get("lot") for e in provenance.entries}
    assert "OTHER" not in lots
    assert provenance.tree_size == world.size()
    timeline = render_timeline(provenance)
    assert f"{len(provenance.entries)} entries verified" in timeline
    assert timeline.count("[verified]") == len(provenance.entries) == 10
    assert "scope: full (every entry of the lot's trace)" in timeline

    path = tmp_path / "bundle.json"
    path.write_text(response.text)
    done = verify_file(path, key)
    assert done.returncode == 0, done.stderr
    assert "VERIFIED" in done.stdout

    # One changed byte in one leaf, and the verifier refuses the bundle, naming the entry.
    raw["entries"][1]["leaf"] = raw["entries"][1]["leaf"][:-4] + (
        "AAAA" if not raw["entries"][1]["leaf"].endswith("AAAA") else "BBBB"
    )
    path.write_text(json.dumps(raw))
    done = verify_file(path, key)
    assert done.returncode == 1
    assert "FAILED" in done.stdout + done.stderr


def test_bundle_errors(world: Ledger, client: ApiClient, api_keys: Keys) -> None:  # noqa: F811
    bad = client.get("/v1/lots/09506000134353/L1/bundle", key=api_keys.regulator)
    assert bad.status_code == 400
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert "check digit" in bad.json()["detail"]
    unknown = client.get(f"/v1/lots/{LETTUCE}/NOPE/bundle", key=api_keys.manager)
    assert unknown.status_code == 404
    assert unknown.json()["type"].endswith("/not-found")


def two_retailers(world: Ledger, ev: Events) -> dict[str, str]:
    """The salad chain, and a second retailer that buys from the same lot of salad and
    sells some: the two retailers' manager keys."""
    salad_chain(world, ev)
    create_organisation(world.engine, "other", "Other Foods")
    create_location(world.engine, "other-store", org_id="other", name="Other shop", kind="store")
    world.append(
        [ev.ship("SAL1", "7.25", frm="fresh-plant", to="other-store", gtin=SALAD)],
        actor="fresh",
    )
    world.append(
        [
            ev.receive("SAL1", "7.25", frm="fresh-plant", at="other-store", gtin=SALAD),
            ev.leave("sell", "SAL1", "1.75", at="other-store", gtin=SALAD),
        ],
        actor="other",
    )
    return {
        org: keys.create_key(world.engine, org, "manager", "test").secret
        for org in ("retail", "other")
    }


def _verified(client: ApiClient, raw: dict[str, Any]) -> VerifiedProvenance:  # noqa: F811
    key = VerifierKey.parse(client.get("/v1/log/key").text.strip())
    return verify_bundle(Bundle.from_json(json.dumps(raw)), key)


def _places(provenance: VerifiedProvenance) -> set[str]:
    return {
        str(e.event.get(field))
        for e in provenance.entries
        for field in ("location", "to_location", "from_location")
        if field in e.event
    }


def test_a_retailers_bundle_holds_only_what_it_may_see(
    world: Ledger,
    ev: Events,
    client: ApiClient,  # noqa: F811
    api_keys: Keys,  # noqa: F811
    tmp_path: Path,
) -> None:
    managers = two_retailers(world, ev)
    answer = client.get(f"/v1/lots/{SALAD}/SAL1/bundle", key=managers["retail"])
    assert answer.status_code == 200, answer.text
    raw = answer.json()
    assert raw["scope"] == "visible to retail"
    mine = _verified(client, raw)  # every entry it holds is proven in the signed log
    # The processor's shipment to the retailer's store, its receipt and its sale: nothing
    # of the other retailer, of the farm, or of the processor's own making.
    assert [(e.actor, e.event["type"]) for e in mine.entries] == [
        ("fresh", "ship"),
        ("retail", "receive"),
        ("retail", "sell"),
    ]
    assert _places(mine) == {"fresh-plant", "store-1"}
    held = json.dumps([[e.actor, dict(e.event)] for e in mine.entries])
    for marker in ("other", "7.25", "1.75"):  # the other retailer's id and quantities
        assert marker not in held

    theirs = _verified(
        client, client.get(f"/v1/lots/{SALAD}/SAL1/bundle", key=managers["other"]).json()
    )
    assert theirs.scope == "visible to other"
    assert [(e.actor, e.event["type"], e.event.get("quantity")) for e in theirs.entries] == [
        ("fresh", "ship", "7.25"),
        ("other", "receive", "7.25"),
        ("other", "sell", "1.75"),
    ]
    assert "store-1" not in _places(theirs)

    # The regulator's bundle is full: both retailers' entries, the farm's and the plant's.
    full = _verified(
        client, client.get(f"/v1/lots/{SALAD}/SAL1/bundle", key=api_keys.regulator).json()
    )
    assert full.scope == "full"
    assert {"store-1", "other-store", "farm-field-1", "fresh-plant"} <= _places(full)
    assert len(full.entries) == 13

    # The verifier says whose view a file holds.
    path = tmp_path / "mine.json"
    path.write_text(answer.text)
    key = client.get("/v1/log/key").text.strip()
    done = verify_file(path, key)
    assert done.returncode == 0, done.stderr
    assert "scope: visible to retail (only the entries retail may see" in done.stdout
    assert "3 entries verified" in done.stdout


def test_a_bundle_needs_a_key_and_a_lot_the_caller_may_see(
    world: Ledger,
    ev: Events,
    client: ApiClient,  # noqa: F811
    api_keys: Keys,  # noqa: F811
) -> None:
    two_retailers(world, ev)
    path = f"/v1/lots/{SALAD}/SAL1/bundle"
    anonymous = client.get(path)
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("application/problem+json")
    assert "needs an API key" in anonymous.json()["detail"]
    admin = client.get(path, key=api_keys.admin)
    assert admin.status_code == 403
    assert "allowed roles" in admin.json()["detail"]
    # The retailer never handled the farm's lettuce (it bought the salad made of it): to
    # it, that lot does not exist, as in a trace. The farm sees its own lot ...
    unseen = client.get(f"/v1/lots/{LETTUCE}/LET1/bundle", key=api_keys.manager)
    assert unseen.status_code == 404
    assert unseen.json()["detail"] == f"unknown lot {LETTUCE}/LET1"
    farm = _verified(
        client, client.get(f"/v1/lots/{LETTUCE}/LET1/bundle", key=api_keys.farm).json()
    )
    # ... and, one step down, the plant's receipt of what it shipped there; not the salad
    # made of it, nor anything a store did.
    assert [(e.actor, e.event["type"]) for e in farm.entries] == [
        ("farm", "register"),
        ("farm", "ship"),
        ("fresh", "receive"),
    ]
    assert client.get(path, key=api_keys.farm).status_code == 404
