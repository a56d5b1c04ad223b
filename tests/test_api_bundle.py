"""GET /v1/lots/{gtin}/{lot}/bundle: a lot's provenance, verified offline by lotledger-verify."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from ledger.log import Ledger
from tests.api_fixtures import ApiClient, client  # noqa: F401 - fixture
from tests.conftest import LETTUCE, SALAD, TOMATO, Events
from verifier.bundle import Bundle, render_timeline, verify_bundle
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
                        "quantity": "50",
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


def test_bundle_of_a_salad_lot_verifies_and_tells_its_provenance(
    world: Ledger,
    ev: Events,
    client: ApiClient,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> None:
    salad_chain(world, ev)
    response = client.get(f"/v1/lots/{SALAD}/SAL1/bundle")
    assert response.status_code == 200, response.text
    raw: dict[str, Any] = response.json()
    assert raw["format"] == "lotledger-bundle"
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

    path = tmp_path / "bundle.json"
    path.write_text(response.text)
    done = subprocess.run(
        [sys.executable, "-m", "verifier.cli", "bundle", str(path), "--key", str(key)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "VERIFIED" in done.stdout

    # One changed byte in one leaf, and the verifier refuses the bundle, naming the entry.
    raw["entries"][1]["leaf"] = raw["entries"][1]["leaf"][:-4] + (
        "AAAA" if not raw["entries"][1]["leaf"].endswith("AAAA") else "BBBB"
    )
    path.write_text(json.dumps(raw))
    done = subprocess.run(
        [sys.executable, "-m", "verifier.cli", "bundle", str(path), "--key", str(key)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "FAILED" in done.stdout + done.stderr


def test_bundle_errors(world: Ledger, client: ApiClient) -> None:  # noqa: F811
    bad = client.get("/v1/lots/09506000134353/L1/bundle")
    assert bad.status_code == 400
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert "check digit" in bad.json()["detail"]
    unknown = client.get(f"/v1/lots/{LETTUCE}/NOPE/bundle")
    assert unknown.status_code == 404
    assert unknown.json()["type"].endswith("/not-found")
