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

from pydantic import BaseModel
from sqlalchemy import Connection, select

from ledger.quantity import parse_decimal
from ledger.storage.bulk import placeholders
from ledger.storage.schema import Entry, Lot

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
#: The one column each single-lot event type moves by its ``quantity``.
_COLUMN_OF = {
    "register": "produced",
    "ship": "shipped",
    "sell": "sold",
    "consume": "consumed",
    "dispose": "disposed",
}

LotIdOf = Callable[[str, str], int]
"""Lot id of (gtin, lot code)."""

FlowDelta = tuple[str, int, str, int]
"""(location, lot id, column, micro-units)."""


class _Attributes:
    """``get`` over an object's attributes, for an event that is neither a dict nor a model."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def get(self, name: str) -> Any:
        return getattr(self.obj, name, None)


def _fields(obj: Any) -> Any:
    """Something with ``get(name)`` over ``obj``'s fields: a dict, a model or any object."""
    if type(obj) is dict:  # the log's JSON; checked first, it skips the slower ABC check
        return obj
    if isinstance(obj, BaseModel):
        return obj.__dict__  # a model's fields live in its __dict__
    return obj if isinstance(obj, Mapping) else _Attributes(obj)


def _lot_of(obj: Any, lot_id: LotIdOf) -> int:
    ref = _fields(_fields(obj).get("lot"))
    return lot_id(ref.get("gtin"), ref.get("lot"))


def flow_deltas(event: Any, lot_id: LotIdOf) -> list[FlowDelta]:
    """The totals one accepted event moves. ``event`` is a model or the log's JSON object."""
    fields = _fields(event)
    etype = fields.get("type")
    location: str = fields.get("location")
    if etype == "transform":
        out: list[FlowDelta] = [
            (location, _lot_of(i, lot_id), "used", parse_decimal(_fields(i).get("quantity")))
            for i in fields.get("inputs")
        ]
        out += [
            (location, _lot_of(o, lot_id), "produced", parse_decimal(_fields(o).get("quantity")))
            for o in fields.get("outputs")
        ]
        return out
    if etype == "adjust":
        variance = parse_decimal(fields.get("variance"), signed=True)
        return [(location, _lot_of(fields, lot_id), "adjusted", variance)]
    if etype == "receive":
        # Damaged and out-of-temperature parts of a receipt never enter stock.
        accepted = parse_decimal(fields.get("quantity"))
        for part in ("damaged", "out_of_temperature"):
            refused = fields.get(part)
            if refused is not None:
                accepted -= parse_decimal(refused)
        return [(location, _lot_of(fields, lot_id), "received", accepted)]
    column = _COLUMN_OF.get(etype)
    if column is None:
        return []
    return [(location, _lot_of(fields, lot_id), column, parse_decimal(fields.get("quantity")))]


class FlowAccumulator:
    """A batch's flow deltas, summed per (location, lot), written with one upsert."""

    def __init__(self) -> None:
        self.totals: dict[tuple[str, int], list[int]] = {}

    def add(self, event: Any, lot_id: LotIdOf) -> None:
        self.add_deltas(flow_deltas(event, lot_id))

    def add_deltas(self, deltas: Iterable[FlowDelta]) -> None:
        for location, lot, column, delta in deltas:
            row = self.totals.setdefault((location, lot), [0] * len(FLOW_COLUMNS))
            row[_COLUMN_INDEX[column]] += delta

    def total(self, location: str, lot: int, column: str) -> int:
        """What this batch has added so far to one total."""
        row = self.totals.get((location, lot))
        return 0 if row is None else row[_COLUMN_INDEX[column]]

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
