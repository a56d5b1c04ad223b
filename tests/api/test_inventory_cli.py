"""``lotledger stock``, ``orders`` and ``replenish`` on a test database."""

from __future__ import annotations

import json
from typing import Any

import pytest

from api.cli import main
from ledger import Ledger, Settings, create_product
from tests.conftest import SALAD, Events


def run(capsys: pytest.CaptureFixture[str], settings: Settings, *args: str) -> Any:
    code = main([*args, "--data-dir", str(settings.data_dir), "--database-url",
                 settings.database_url, "--json"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)


def test_stock_orders_and_terms_from_the_command_line(
    world: Ledger, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    create_product(world.engine, SALAD, org_id="fresh", description="Salad", unit="each")
    lot = Events().register("C1", "40", gtin=SALAD, location="fresh-plant", expiry="2027-01-01")
    lot.update(unit="each", product="Salad")
    world.append([lot], actor="fresh")
    terms = run(capsys, settings, "replenish", "terms", SALAD, "--org", "retail",
                "--case-pack", "12",
                "--supplier", "fresh-plant")  # fmt: skip
    assert (terms["case_pack"], terms["supplier_location"]) == ("12", "fresh-plant")
    pairs = ["retail-dc=1", "fresh-plant=3"]
    assert run(capsys, settings, "replenish", "suppliers", SALAD, *pairs, "--org", "retail") == [
        {"supplier_location": "retail-dc", "lead_time_days": 1},
        {"supplier_location": "fresh-plant", "lead_time_days": 3},
    ]
    assert (
        run(capsys, settings, "replenish", "suppliers", SALAD, "--org", "retail")[0][
            "lead_time_days"
        ]
        == 1
    )
    assert (
        run(capsys, settings, "replenish", "suppliers", SALAD, "--org", "retail", "--clear") == []
    )
    assert run(capsys, settings, "orders", "policy", "--org", "retail", "--limit", "10") == {
        "org_id": "retail",
        "approval_limit": "10",
    }
    placed = run(capsys, settings, "orders", "place", "--org", "retail", "--buyer", "store-1",
                 "--supplier", "fresh-plant", "--order-id", "PO-C", f"{SALAD}=24@0.5")  # fmt: skip
    assert (placed["status"], placed["value"]) == ("awaiting_approval", "12")
    run(capsys, settings, "orders", "approve", "PO-C", "--org", "retail")
    run(capsys, settings, "orders", "confirm", "PO-C", "--org", "fresh", "--promised", "2026-12-01")
    shipped = run(capsys, settings, "orders", "ship", "PO-C", "--org", "fresh")
    assert [(x["lot"], x["quantity"]) for x in shipped["lots"]] == [("C1", "24")]
    received = run(capsys, settings, "orders", "receive", "PO-C", "--org", "retail")
    assert received["lines"][0]["received"] == "24"
    stock = run(capsys, settings, "stock", "show", "store-1")
    assert [(s["lot"], s["on_hand"], s["status"]) for s in stock] == [("C1", "24", "approved")]
    counted = run(capsys, settings, "stock", "count", "store-1", "--org", "retail",
                  "--reason", "damage", f"{SALAD}/C1=20")  # fmt: skip
    assert [c["variance"] for c in counted] == ["-4"]
    assert [o["order_id"] for o in run(capsys, settings, "orders", "list", "--org", "fresh")] == [
        "PO-C"
    ]
