"""What happened to each lot at each location: the ``lot_flows`` read model.

One row per (location, lot) with running totals in micro-units: produced
(registered or made by a transformation), received, shipped out, used (a
transformation's input), sold, consumed, disposed, and the net of count
adjustments. The trace answers "received, on hand, sold or used, disposed" from
it without reading the log.

``flow_deltas`` is pure: given one event (a parsed model or its JSON form) and
a way to find lot ids, it says which totals move. ``FlowAccumulator`` collects a
batch's deltas and writes them with one upsert, in the append's transaction;
``rebuild_flows`` recomputes the table from the log.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, select

from ledger.bulk import placeholders
from ledger.quantity import parse_decimal
from ledger.schema import Entry, Lot

FLOW_COLUMNS = (
    "produced",
    "received",
    "shipped",
    "used",
    "sold",
    "consumed",
    "disposed",
    "adjusted",
)
_COLUMN_INDEX = {c: i for i, c in enumerate(FLOW_COLUMNS)}
_LEAVING = {"sell": "sold", "consume": "consumed", "dispose": "disposed"}

LotIdOf = Callable[[str, str], int]
"""Lot id of (gtin, lot code)."""

FlowDelta = tuple[str, int, str, int]
"""(location, lot id, column, micro-units)."""


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


def _key(ref: Any) -> tuple[str, str]:
    return (_get(ref, "gtin"), _get(ref, "lot"))


def flow_deltas(event: Any, lot_id: LotIdOf) -> list[FlowDelta]:
    """The totals one accepted event moves. ``event`` is a model or the log's JSON object."""
    etype = _get(event, "type")
    location: str = _get(event, "location")
    if etype == "transform":
        out: list[FlowDelta] = [
            (location, lot_id(*_key(_get(i, "lot"))), "used", parse_decimal(_get(i, "quantity")))
            for i in _get(event, "inputs")
        ]
        out += [
            (
                location,
                lot_id(*_key(_get(o, "lot"))),
                "produced",
                parse_decimal(_get(o, "quantity")),
            )
            for o in _get(event, "outputs")
        ]
        return out
    if etype == "adjust":
        variance = parse_decimal(_get(event, "variance"), signed=True)
        return [(location, lot_id(*_key(_get(event, "lot"))), "adjusted", variance)]
    if etype == "receive":
        # Damaged and out-of-temperature parts of a receipt never enter stock.
        accepted = parse_decimal(_get(event, "quantity"))
        for part in ("damaged", "out_of_temperature"):
            refused = _get(event, part)
            if refused is not None:
                accepted -= parse_decimal(refused)
        return [(location, lot_id(*_key(_get(event, "lot"))), "received", accepted)]
    column = {"register": "produced", "ship": "shipped"}.get(etype, _LEAVING.get(etype, ""))
    if not column:
        return []
    return [
        (
            location,
            lot_id(*_key(_get(event, "lot"))),
            column,
            parse_decimal(_get(event, "quantity")),
        )
    ]


class FlowAccumulator:
    """A batch's flow deltas, summed per (location, lot), written with one upsert."""

    def __init__(self) -> None:
        self.totals: dict[tuple[str, int], list[int]] = {}

    def add(self, event: Any, lot_id: LotIdOf) -> None:
        for location, lot, column, delta in flow_deltas(event, lot_id):
            row = self.totals.setdefault((location, lot), [0] * len(FLOW_COLUMNS))
            row[_COLUMN_INDEX[column]] += delta

    def flush(self, conn: Connection) -> None:
        write_flows(conn, self.totals.items())
        self.totals = {}


def write_flows(conn: Connection, totals: Iterable[tuple[tuple[str, int], list[int]]]) -> None:
    """Add ``totals`` to lot_flows (INSERT ... ON CONFLICT DO UPDATE, both engines)."""
    rows = [(loc, lot, *values) for (loc, lot), values in sorted(totals)]
    if not rows:
        return
    cols = ("location_id", "lot_id", *FLOW_COLUMNS)
    sets = ", ".join(f"{c} = lot_flows.{c} + excluded.{c}" for c in FLOW_COLUMNS)
    sql = (
        f"INSERT INTO lot_flows ({', '.join(cols)}) VALUES ({placeholders(conn, len(cols))}) "  # noqa: S608 - fixed names
        f"ON CONFLICT (location_id, lot_id) DO UPDATE SET {sets}"
    )
    conn.exec_driver_sql(sql, rows)


def rebuild_flows(conn: Connection, *, batch: int = 5000) -> None:
    """Recompute lot_flows from the log (the lots table gives the lot ids)."""
    conn.exec_driver_sql("DELETE FROM lot_flows")
    ids: dict[tuple[str, str], int] = {
        (g, code): int(i) for i, g, code in conn.execute(select(Lot.id, Lot.gtin, Lot.lot))
    }

    def lot_id(gtin: str, code: str) -> int:
        return ids[(gtin, code)]

    acc = FlowAccumulator()
    kinds = ("register", "ship", "receive", "transform", "sell", "consume", "dispose", "adjust")
    result = conn.execute(
        select(Entry.leaf_bytes).where(Entry.event_type.in_(kinds)).order_by(Entry.seq),
        execution_options={"yield_per": batch},
    )
    for (data,) in result:
        acc.add(json.loads(data)["event"], lot_id)
    acc.flush(conn)
