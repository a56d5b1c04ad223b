"""The ``lotledger`` command line: init, keys, demo; the demo's data as its users see it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from api.app import create_app
from api.cli import main
from ledger import Ledger, Settings
from tests.api_fixtures import ApiClient
from tests.conftest import SALAD


def run(capsys: pytest.CaptureFixture[str], settings: Settings, *args: str) -> Any:
    code = main([*args, "--data-dir", str(settings.data_dir), "--database-url",
                 settings.database_url, "--json"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)


def test_init_keys_and_demo(capsys: pytest.CaptureFixture[str], settings: Settings) -> None:
    init = run(capsys, settings, "init")
    assert init["admin_key"].startswith("ll_")
    assert (settings.data_dir / "signing.key").exists()
    created = run(capsys, settings, "keys", "create", "--org", "operator", "--role", "regulator")
    listed = run(capsys, settings, "keys", "list")
    assert [k["role"] for k in listed] == ["admin", "regulator"] or {k["role"] for k in listed} == {
        "admin",
        "regulator",
    }
    assert all("secret" not in k for k in listed)
    revoked = run(capsys, settings, "keys", "revoke", created["id"])
    assert revoked["revoked_at"] is not None

    demo = run(capsys, settings, "demo")
    assert demo["tree_size"] == demo["events"] > 80
    assert len(demo["lots"]["salad"]) == 4

    ledger = Ledger.open(settings)
    client = ApiClient(create_app(ledger))
    try:
        regulator = demo["keys"]["foodagency/regulator"]
        store = demo["keys"]["cornergrocer/store"]
        farm = demo["keys"]["greenvalley/supplier"]
        excursion = demo["excursion_lot"]
        status = client.get(f"/v1/lots/{SALAD}/{excursion}/status", key=regulator).json()
        assert status["status"] == "on_hold"
        assert "cold-chain excursion" in status["holds"][0]["reason"]
        events = client.get(f"/v1/lots/{SALAD}/{excursion}/events", key=regulator).json()
        observed = [e["event"] for e in events["events"] if e["event"]["type"] == "observe"]
        assert observed[0]["readings"][-1]["value"] == "9.5"
        oldest = demo["lots"]["salad"][0]
        assert client.get(f"/v1/lots/{SALAD}/{oldest}", key=store).json()["status"] == "expired"
        stock = client.get(f"/v1/lots/{SALAD}/{demo['lots']['salad'][-1]}/stock", key=store)
        assert {s["location_id"] for s in stock.json()["locations"]} <= {
            "cg-store-1",
            "cg-store-2",
            "cg-store-3",
            "cg-dc",
        }
        assert client.get(f"/v1/lots/{SALAD}/{oldest}", key=farm).status_code == 404
        assert client.get("/v1/me", key=demo["keys"]["operator/admin"]).json()["role"] == "admin"
        assert client.get("/v1/me", key=created["secret"]).status_code == 401
    finally:
        client.close()
        ledger.close()
    # A second demo load refuses, and says why.
    code = main(["demo", "--data-dir", str(settings.data_dir), "--database-url",
                 settings.database_url])  # fmt: skip
    assert code == 1
    assert "already loaded" in capsys.readouterr().err
