"""The verifier's recall, computed from a verified export alone, equals the service's."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from ledger import Ledger, TraceStart, write_export
from ledger.demo.data import load_demo
from ledger.lineage.graph import trace
from tests.conftest import LETTUCE
from tests.trace.test_trace import SITES, _realize, site_world, supply_programs  # noqa: F401 - fixture
from verifier.recall import recall_from_export

#: The quantities both sides define the same way, per (gtin, lot, location).
SHARED = ("received", "on_hand", "sold_or_used", "disposed", "shipped", "produced")


def server_answer(
    ledger: Ledger, lot: tuple[str, str], direction: str, at: str | None
) -> dict[tuple[str, str, str], dict[str, str]]:
    result = trace(ledger.engine, [TraceStart(lot[0], lot[1], at)], direction)  # type: ignore[arg-type]
    out = {}
    for node in result.as_dict()["nodes"]:
        q = node["quantities"]
        out[(node["gtin"], node["lot"], node["location"])] = {k: q[k] for k in SHARED}
    return out


def verifier_answer(
    ledger: Ledger, lot: tuple[str, str], direction: str, at: str | None
) -> dict[tuple[str, str, str], dict[str, str]]:
    export = io.BytesIO()
    write_export(ledger, export)
    export.seek(0)
    answer = recall_from_export(export, ledger.verifier_key, [lot], direction=direction, at=at)
    return {(r.gtin, r.lot, r.location): {k: r.quantities[k] for k in SHARED} for r in answer.rows}


def test_demo_recalls_agree(ledger: Ledger) -> None:
    load_demo(ledger, today=datetime(2026, 6, 2, 12, tzinfo=UTC))
    with ledger.engine.connect() as conn:
        lots = conn.execute(
            text(
                "SELECT gtin, lot FROM lots WHERE lower(product) LIKE '%lettuce%' "
                "ORDER BY id LIMIT 3"
            )
        ).all()
        salads = conn.execute(
            text(
                "SELECT gtin, lot FROM lots WHERE lower(product) LIKE '%salad%' ORDER BY id LIMIT 2"
            )
        ).all()
    assert lots
    assert salads
    for gtin, code in lots:
        server = server_answer(ledger, (gtin, code), "forward", None)
        assert len(server) > 2, "a lettuce lot of the demo reaches salads and stores"
        assert server == verifier_answer(ledger, (gtin, code), "forward", None)
    for gtin, code in salads:
        server = server_answer(ledger, (gtin, code), "backward", None)
        assert server == verifier_answer(ledger, (gtin, code), "backward", None)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(program=supply_programs(), pick=st.integers(0, 1000), loc_pick=st.integers(0, 4))
def test_random_supply_graphs_agree(
    site_world: Ledger,  # noqa: F811 - the fixture imported above
    program: list[tuple[Any, ...]],
    pick: int,
    loc_pick: int,
) -> None:
    events = _realize(program)
    run = uuid.uuid4().hex[:6].upper()
    for e in events:  # fresh lot codes per example in the shared database
        for ref in [e.get("lot")] + [x["lot"] for x in e.get("inputs", []) + e.get("outputs", [])]:
            if ref is not None and not ref["lot"].startswith(run):
                ref["lot"] = run + ref["lot"]
    for e in events:
        site_world.append([e], actor="acme")
    nodes = sorted({(e["lot"]["lot"], e["location"]) for e in events if "lot" in e})
    lot, _ = nodes[pick % len(nodes)]
    at = SITES[loc_pick]
    placed = {(e["lot"]["lot"], e["location"]) for e in events if "lot" in e}
    if (lot, at) not in placed:
        at = next(loc for code, loc in nodes if code == lot)
    for direction in ("forward", "backward"):
        server = server_answer(site_world, (LETTUCE, lot), direction, at)
        assert server == verifier_answer(site_world, (LETTUCE, lot), direction, at)
