"""``lotledger recall``: the recall lookup from the shell, as a table, CSV and JSON, on the
demo; every quantity the API gives (produced, received, shipped, in transit, on hand, sold
or used, disposed) and each lot's product name."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from decimal import Decimal

import pytest

from api.cli import main
from ledger import Ledger
from ledger.demo.data import LETTUCE, SALAD
from tests.api.test_api_trace import Demo, nodes_by, open_demo
from tests.conftest import fresh_database, make_settings


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    directory = tmp_path_factory.mktemp("demo")
    with fresh_database(directory) as url:
        settings = make_settings(directory, url)
        ledger = Ledger.open(settings)
        try:
            yield from open_demo(ledger, settings)
        finally:
            ledger.close()


def test_cli_recall_lookup(capsys: pytest.CaptureFixture[str], demo: Demo) -> None:
    lettuce, salad = demo.data.lots["lettuce"][0], demo.data.lots["salad"][0]
    settings = demo.settings
    assert settings is not None
    db = ["--data-dir", str(settings.data_dir), "--database-url", settings.database_url]
    assert main(["recall", f"{LETTUCE}/{lettuce}", *db, "--json"]) == 0
    api = demo.api.get(f"/v1/trace?lot={LETTUCE}/{lettuce}", key=demo.regulator).json()
    assert json.loads(capsys.readouterr().out) == api

    assert main(["recall", f"{LETTUCE}/{lettuce}", "--max-depth", "4", *db]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [re.split(r"\s{2,}", ln.strip()) for ln in lines[:-1]]
    assert rows[0] == [
        "lot", "product", "location", "depth", "produced", "received", "shipped", "in transit",
        "on hand", "sold/used", "disposed", "path",
    ]  # fmt: skip
    assert lines[-1] == "7 nodes, 2 lots, 6 locations (forward)"
    table = {(cells[0], cells[2]): cells[1:2] + cells[3:11] for cells in rows[1:]}
    assert table[(f"{LETTUCE}/{lettuce}", "gv-field-3")][:3] == [
        api["nodes"][0]["product"], "0", api["nodes"][0]["quantities"]["produced"]
    ]  # fmt: skip
    assert table[(f"{LETTUCE}/{lettuce}", "fc-plant")][1:] == [
        "1", "0", "1000", "0", "0", "0", "900", "100"
    ]  # fmt: skip
    store = nodes_by(api)[(salad, "cg-store-1")]["quantities"]
    assert table[(f"{SALAD}/{salad}", "cg-store-1")][1:] == [
        "4", "0", "1200", store["shipped"], store["in_transit"], store["on_hand"],
        store["sold_or_used"], store["disposed"],
    ]  # fmt: skip
    row = next(ln for ln in lines if ln.startswith(f"{SALAD}/{salad}  ") and "cg-store-1  " in ln)
    assert row.endswith(
        f"{lettuce}@gv-field-3 > {lettuce}@fc-plant > {salad}@fc-plant > {salad}@cg-dc"
        f" > {salad}@cg-store-1"
    )
    # --csv: the same table, one row per node, with every quantity the API gives.
    assert main(["recall", f"{LETTUCE}/{lettuce}", *db, "--csv"]) == 0
    found = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(found) == len(api["nodes"])
    for got, node in zip(found, api["nodes"], strict=True):
        q = node["quantities"]
        assert (got["gtin"], got["lot"], got["location"], got["product"]) == (
            node["gtin"], node["lot"], node["location"], node["product"]
        )  # fmt: skip
        for name in ("produced", "received", "shipped", "in_transit", "on_hand", "disposed"):
            assert Decimal(got[name]) == Decimal(q[name]), (name, got, q)
        assert Decimal(got["sold_or_used"]) == Decimal(q["sold_or_used"])
    backward = main(["recall", f"{SALAD}/{salad}@cg-store-1", "--direction", "backward", *db])
    assert backward == 0
    assert capsys.readouterr().out.splitlines()[-1] == "7 nodes, 3 lots, 5 locations (backward)"

    assert main(["recall", "not-a-lot", *db]) == 2
    assert "not GTIN/LOT: not-a-lot" in capsys.readouterr().err
    assert main(["recall", f"{LETTUCE}/NOPE", *db]) == 1
    assert "unknown lot" in capsys.readouterr().err
