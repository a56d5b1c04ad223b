"""Business rules and read models, applied one batch at a time.

``BatchProjector`` loads the state a batch touches (lots, locations, stock,
open shipments, orders) in a few set queries, applies each event in order in
memory, refusing any that the state forbids, and writes every change back with
bulk statements. The same code serves live appends and replays of the log, so a
rebuild gives the same tables (the tests check it). Time-dependent rules use
the entry's ``recorded_at``, never the wall clock, so a replay is deterministic.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection, bindparam, insert, select, update

from ledger import events as ev
from ledger.bulk import insert_rows, upsert_rows
from ledger.errors import EventValidationError, InsufficientStock, LotOnHold, Problem, RuleViolation
from ledger.quantity import format_micro, parse_decimal
from ledger.schema import (
    HoldRecord,
    Location,
    Lot,
    Order,
    Shipment,
    Stock,
    Transformation,
)

_CHUNK = 400  # keys per IN (...) query: well under SQLite's bound-parameter limit
LOT_ID_SHIFT = 7  # lot id = (seq << 7) | output position; transforms have <= 100 outputs


def lot_id_for(seq: int, position: int = 0) -> int:
    return (seq << LOT_ID_SHIFT) | position


@dataclass(slots=True)
class LotState:
    id: int
    gtin: str
    lot: str
    product: str
    unit: str
    org_id: str
    origin_location: str
    expiry: str | None
    registered_seq: int
    open_holds: int
    new: bool = False
    dirty: bool = False


@dataclass(slots=True)
class ShipmentState:
    seq: int
    lot_id: int
    from_location: str
    to_location: str
    shipment_id: str | None
    quantity: int
    received: int
    new: bool = False
    dirty: bool = False


@dataclass(slots=True)
class OrderState:
    order_id: str
    buyer_location: str
    supplier_location: str
    status: str
    placed_seq: int
    promised_date: str | None
    new: bool = False
    dirty: bool = False


@dataclass(slots=True)
class Applied:
    """One event to apply: its position in the request, its seq, who wrote it."""

    index: int
    seq: int
    actor: str
    recorded_at: str
    event: BaseModel


@dataclass
class BatchProjector:
    conn: Connection
    lots: dict[tuple[str, str], LotState | None] = field(default_factory=dict)
    locations: dict[str, str | None] = field(default_factory=dict)  # id -> org id
    stock: dict[tuple[str, int], int] = field(default_factory=dict)
    stock_dirty: set[tuple[str, int]] = field(default_factory=set)
    shipments: dict[tuple[int, str, str], list[ShipmentState]] = field(default_factory=dict)
    new_shipments: list[ShipmentState] = field(default_factory=list)
    orders: dict[str, OrderState | None] = field(default_factory=dict)
    lot_events: list[tuple[int, int]] = field(default_factory=list)
    new_holds: list[dict[str, Any]] = field(default_factory=list)
    releases: list[tuple[int, str, int]] = field(default_factory=list)  # lot id, org, seq
    transformations: list[dict[str, Any]] = field(default_factory=list)
    first_seq: int = 0

    # -- loading ------------------------------------------------------------------

    def preload(self, batch: Sequence[Applied]) -> None:
        """Load, in set queries, everything the batch's events refer to."""
        if batch:
            self.first_seq = batch[0].seq
        lot_keys: set[tuple[str, str]] = set()
        location_ids: set[str] = set()
        order_ids: set[str] = set()
        for item in batch:
            e = item.event
            lot_keys.update(ev.event_lots(e))
            location_ids.add(e.location)  # type: ignore[attr-defined]
            for attr in ("to_location", "from_location", "supplier_location"):
                value = e.__dict__.get(attr)  # fields live in __dict__; a miss is cheap
                if value is not None:
                    location_ids.add(value)
            order_id = e.__dict__.get("order_id")
            if order_id is not None:
                order_ids.add(order_id)
        self._load_locations(location_ids)
        self._load_lots(lot_keys)
        self._load_orders(order_ids)
        pairs = {
            (item.event.location, lot.id)  # type: ignore[attr-defined]
            for item in batch
            for key in ev.event_lots(item.event)
            if (lot := self.lots.get(key)) is not None
        }
        self._load_stock(pairs)
        self._load_open_shipments(
            {
                (lot.id, e.from_location, e.location)
                for item in batch
                if isinstance(e := item.event, ev.Receive)
                and (lot := self.lots.get(e.lot.key)) is not None
            }
        )

    def _load_locations(self, ids: Iterable[str]) -> None:
        missing = [i for i in ids if i not in self.locations]
        for chunk in _chunks(missing):
            rows = self.conn.execute(
                select(Location.id, Location.org_id).where(Location.id.in_(chunk))
            )
            self.locations.update((r[0], r[1]) for r in rows)
        for i in missing:
            self.locations.setdefault(i, None)

    def _load_lots(self, keys: Iterable[tuple[str, str]]) -> None:
        missing = [k for k in keys if k not in self.lots]
        cols = (
            Lot.id,
            Lot.gtin,
            Lot.lot,
            Lot.product,
            Lot.unit,
            Lot.org_id,
            Lot.origin_location,
            Lot.expiry,
            Lot.registered_seq,
            Lot.open_holds,
        )
        wanted = set(missing)
        codes = sorted({lot for _, lot in missing})
        for chunk in _chunks(codes):
            for row in self.conn.execute(select(*cols).where(Lot.lot.in_(chunk))):
                if (row[1], row[2]) in wanted:
                    self.lots[(row[1], row[2])] = LotState(*row)
        for k in missing:
            self.lots.setdefault(k, None)

    def _load_orders(self, ids: Iterable[str]) -> None:
        missing = [i for i in ids if i not in self.orders]
        cols = (
            Order.order_id,
            Order.buyer_location,
            Order.supplier_location,
            Order.status,
            Order.placed_seq,
            Order.promised_date,
        )
        for chunk in _chunks(missing):
            for row in self.conn.execute(select(*cols).where(Order.order_id.in_(chunk))):
                self.orders[row[0]] = OrderState(*row)
        for i in missing:
            self.orders.setdefault(i, None)

    def _load_stock(self, pairs: Iterable[tuple[str, int]]) -> None:
        missing = {p for p in pairs if p not in self.stock}
        lot_ids = sorted({lot_id for _, lot_id in missing})
        for chunk in _chunks(lot_ids):
            rows = self.conn.execute(
                select(Stock.location_id, Stock.lot_id, Stock.on_hand).where(
                    Stock.lot_id.in_(chunk)
                )
            )
            for loc, lot_id, on_hand in rows:
                if (loc, lot_id) in missing:
                    self.stock[(loc, lot_id)] = on_hand
        for p in missing:
            self.stock.setdefault(p, 0)

    def _load_open_shipments(self, keys: set[tuple[int, str, str]]) -> None:
        """Open shipments (not fully received) for each (lot, from, to) the batch receives."""
        missing = {k for k in keys if k not in self.shipments}
        cols = (
            Shipment.seq,
            Shipment.lot_id,
            Shipment.from_location,
            Shipment.to_location,
            Shipment.shipment_id,
            Shipment.quantity,
            Shipment.received,
        )
        for key in missing:
            self.shipments[key] = []
        lot_ids = sorted({k[0] for k in missing})
        for chunk in _chunks(lot_ids):
            rows = self.conn.execute(
                select(*cols)
                .where(Shipment.lot_id.in_(chunk), Shipment.received < Shipment.quantity)
                .order_by(Shipment.seq)
            )
            for row in rows:
                key = (row[1], row[2], row[3])
                if key in missing:
                    self.shipments[key].append(ShipmentState(*row))
        # Shipments made earlier in this batch come after every stored one.
        for shipment in self.new_shipments:
            key = (shipment.lot_id, shipment.from_location, shipment.to_location)
            if key in missing:
                self.shipments[key].append(shipment)

    def _open_shipments(self, lot_id: int, origin: str, dest: str) -> list[ShipmentState]:
        key = (lot_id, origin, dest)
        if key not in self.shipments:
            self._load_open_shipments({key})
        return self.shipments[key]

    # -- applying -----------------------------------------------------------------

    def apply_all(self, batch: Sequence[Applied]) -> None:
        self.preload(batch)
        for item in batch:
            self.apply(item)

    def apply(self, item: Applied) -> None:
        e = item.event
        self._own_location(item, e.location)  # type: ignore[attr-defined]
        handler = getattr(self, f"_on_{e.type}")  # type: ignore[attr-defined]
        handler(item, e)

    def _own_location(self, item: Applied, location: str, field_name: str = "location") -> None:
        org = self._known_location(item, location, field_name)
        if org != item.actor:
            raise RuleViolation(
                item.index,
                f"location {location!r} belongs to another organisation; "
                "you can only record events at your own locations",
                field_name,
            )

    def _known_location(self, item: Applied, location: str, field_name: str) -> str:
        if location not in self.locations:
            self._load_locations([location])
        org = self.locations[location]
        if org is None:
            raise EventValidationError(
                [Problem(item.index, field_name, f"unknown location {location!r}")]
            )
        return org

    def _lot(self, item: Applied, ref: ev.LotRef, field_name: str = "lot") -> LotState:
        if ref.key not in self.lots:
            self._load_lots([ref.key])
        lot = self.lots[ref.key]
        if lot is None:
            raise EventValidationError(
                [
                    Problem(
                        item.index,
                        field_name,
                        f"unknown lot {ref.gtin}/{ref.lot}: register it first",
                    )
                ]
            )
        return lot

    def _check_unit(
        self, item: Applied, lot: LotState, unit: str, field_name: str = "unit"
    ) -> None:
        if unit != lot.unit:
            raise EventValidationError(
                [
                    Problem(
                        item.index,
                        field_name,
                        f"lot {lot.gtin}/{lot.lot} is counted in {lot.unit!r}, not {unit!r}",
                    )
                ]
            )

    def _not_held(self, item: Applied, lot: LotState, action: str) -> None:
        if lot.open_holds > 0:
            raise LotOnHold(
                item.index,
                f"lot {lot.gtin}/{lot.lot} is on hold and cannot be {action}",
                "lot",
                {"gtin": lot.gtin, "lot": lot.lot},
            )

    def _take(
        self,
        item: Applied,
        location: str,
        lot: LotState,
        qty: int,
        action: str,
        field_name: str = "quantity",
    ) -> None:
        key = (location, lot.id)
        if key not in self.stock:
            self._load_stock([key])
        on_hand = self.stock[key]
        if qty > on_hand:
            raise InsufficientStock(
                item.index,
                f"cannot {action} {format_micro(qty)} {lot.unit} of lot {lot.gtin}/{lot.lot} at "
                f"{location}: {format_micro(on_hand)} on hand",
                field_name,
                {"on_hand": format_micro(on_hand), "requested": format_micro(qty)},
            )
        self._add(location, lot, -qty)

    def _add(self, location: str, lot: LotState, qty: int) -> None:
        key = (location, lot.id)
        if key not in self.stock:
            self._load_stock([key])
        self.stock[key] += qty
        self.stock_dirty.add(key)

    def _touch(self, item: Applied, lot: LotState) -> None:
        self.lot_events.append((lot.id, item.seq))

    def _new_lot(
        self,
        item: Applied,
        position: int,
        ref: ev.LotRef,
        product: str,
        unit: str,
        expiry: str | None,
        field_name: str,
    ) -> LotState:
        if ref.key not in self.lots:
            self._load_lots([ref.key])
        if self.lots[ref.key] is not None:
            raise RuleViolation(
                item.index, f"lot {ref.gtin}/{ref.lot} is already registered", field_name
            )
        lot = LotState(
            id=lot_id_for(item.seq, position),
            gtin=ref.gtin,
            lot=ref.lot,
            product=product,
            unit=unit,
            org_id=item.actor,
            origin_location=item.event.location,  # type: ignore[attr-defined]
            expiry=expiry,
            registered_seq=item.seq,
            open_holds=0,
            new=True,
        )
        self.lots[ref.key] = lot
        self.stock[(lot.origin_location, lot.id)] = 0
        return lot

    def _on_register(self, item: Applied, e: ev.Register) -> None:
        lot = self._new_lot(item, 0, e.lot, e.product, e.unit, e.expiry, "lot")
        self._add(e.location, lot, parse_decimal(e.quantity))
        self._touch(item, lot)

    def _on_ship(self, item: Applied, e: ev.Ship) -> None:
        lot = self._lot(item, e.lot)
        self._check_unit(item, lot, e.unit)
        self._known_location(item, e.to_location, "to_location")
        if e.to_location == e.location:
            raise EventValidationError(
                [Problem(item.index, "to_location", "a shipment must go to another location")]
            )
        self._not_held(item, lot, "shipped")
        qty = parse_decimal(e.quantity)
        self._take(item, e.location, lot, qty, "ship")
        shipment = ShipmentState(
            item.seq, lot.id, e.location, e.to_location, e.shipment_id, qty, 0, new=True
        )
        self.new_shipments.append(shipment)
        # Receipts later in this batch must see it; their keys were preloaded.
        key = (lot.id, e.location, e.to_location)
        if key in self.shipments:
            self.shipments[key].append(shipment)
        self._touch(item, lot)

    def _on_receive(self, item: Applied, e: ev.Receive) -> None:
        lot = self._lot(item, e.lot)
        self._check_unit(item, lot, e.unit)
        self._known_location(item, e.from_location, "from_location")
        qty = parse_decimal(e.quantity)
        open_ = [
            s
            for s in self._open_shipments(lot.id, e.from_location, e.location)
            if s.received < s.quantity and (e.shipment_id is None or s.shipment_id == e.shipment_id)
        ]
        if not open_ and not e.unsolicited:
            raise RuleViolation(
                item.index,
                f"no open shipment of lot {lot.gtin}/{lot.lot} from {e.from_location} to "
                f"{e.location}"
                + (f" with shipment_id {e.shipment_id!r}" if e.shipment_id else "")
                + '; if the sender recorded none, send "unsolicited": true',
                "lot",
            )
        remaining = qty
        for s in open_:  # oldest first; an over-receipt lands on the last one
            take = min(remaining, s.quantity - s.received)
            if s is open_[-1]:
                take = remaining
            s.received += take
            s.dirty = True
            remaining -= take
            if remaining == 0:
                break
        self._add(e.location, lot, qty)
        self._touch(item, lot)

    def _on_transform(self, item: Applied, e: ev.Transform) -> None:
        inputs: list[tuple[LotState, int]] = []
        for i, inp in enumerate(e.inputs):
            lot = self._lot(item, inp.lot, f"inputs.{i}.lot")
            self._check_unit(item, lot, inp.unit, f"inputs.{i}.unit")
            self._not_held(item, lot, "used")
            qty = parse_decimal(inp.quantity)
            self._take(item, e.location, lot, qty, "use", f"inputs.{i}.quantity")
            inputs.append((lot, qty))
            self._touch(item, lot)
        seen: set[tuple[str, str]] = set()
        for j, out in enumerate(e.outputs):
            if out.lot.key in seen or any(out.lot.key == i.lot.key for i in e.inputs):
                raise EventValidationError(
                    [
                        Problem(
                            item.index,
                            f"outputs.{j}.lot",
                            "each output must be a new, distinct lot",
                        )
                    ]
                )
            seen.add(out.lot.key)
            lot = self._new_lot(
                item, j, out.lot, out.product, out.unit, out.expiry, f"outputs.{j}.lot"
            )
            self._add(e.location, lot, parse_decimal(out.quantity))
            self._touch(item, lot)
            for in_lot, qty in inputs:
                self.transformations.append(
                    {
                        "seq": item.seq,
                        "input_lot_id": in_lot.id,
                        "output_lot_id": lot.id,
                        "location_id": e.location,
                        "input_quantity": qty,
                    }
                )

    def _leave(
        self, item: Applied, e: ev.Sell | ev.Consume | ev.Dispose, action: str, held_ok: bool
    ) -> None:
        lot = self._lot(item, e.lot)
        self._check_unit(item, lot, e.unit)
        if not held_ok:
            self._not_held(item, lot, action)
        self._take(item, e.location, lot, parse_decimal(e.quantity), _VERB[action])
        self._touch(item, lot)

    def _on_sell(self, item: Applied, e: ev.Sell) -> None:
        self._leave(item, e, "sold", held_ok=False)

    def _on_consume(self, item: Applied, e: ev.Consume) -> None:
        self._leave(item, e, "used", held_ok=False)

    def _on_dispose(self, item: Applied, e: ev.Dispose) -> None:
        self._leave(item, e, "disposed", held_ok=True)

    def _on_adjust(self, item: Applied, e: ev.Adjust) -> None:
        lot = self._lot(item, e.lot)
        self._check_unit(item, lot, e.unit)
        variance = parse_decimal(e.variance, signed=True)
        if variance < 0:
            self._take(item, e.location, lot, -variance, "count down", "variance")
        else:
            self._add(e.location, lot, variance)
        self._touch(item, lot)

    def _on_hold(self, item: Applied, e: ev.Hold) -> None:
        lot = self._lot(item, e.lot)
        lot.open_holds += 1
        lot.dirty = True
        self.new_holds.append(
            {
                "seq": item.seq,
                "lot_id": lot.id,
                "org_id": item.actor,
                "kind": e.kind,
                "reason": e.reason,
                "recall_id": e.recall_id,
                "released_seq": None,
            }
        )
        self._touch(item, lot)

    def _on_release(self, item: Applied, e: ev.Release) -> None:
        lot = self._lot(item, e.lot)
        released = 0
        for hold in self.new_holds:
            if (
                hold["lot_id"] == lot.id
                and hold["org_id"] == item.actor
                and hold["released_seq"] is None
            ):
                hold["released_seq"] = item.seq
                released += 1
        stored = self.conn.execute(
            select(HoldRecord.seq).where(
                HoldRecord.lot_id == lot.id,
                HoldRecord.org_id == item.actor,
                HoldRecord.released_seq.is_(None),
                HoldRecord.seq < self.first_seq,
            )
        ).all()
        already = sum(1 for r in self.releases if r[0] == lot.id and r[1] == item.actor)
        if not already:
            released += len(stored)
        if released == 0:
            raise RuleViolation(
                item.index,
                f"lot {lot.gtin}/{lot.lot} has no open hold placed by your organisation",
                "lot",
            )
        self.releases.append((lot.id, item.actor, item.seq))
        lot.open_holds -= released
        lot.dirty = True
        self._touch(item, lot)

    def _on_observe(self, item: Applied, e: ev.Observe) -> None:
        if e.lot is not None:
            self._touch(item, self._lot(item, e.lot))

    def _order(
        self, item: Applied, order_id: str, allowed: tuple[str, ...], action: str
    ) -> OrderState:
        if order_id not in self.orders:
            self._load_orders([order_id])
        order = self.orders[order_id]
        if order is None:
            raise EventValidationError(
                [Problem(item.index, "order_id", f"unknown order {order_id!r}")]
            )
        if order.status not in allowed:
            raise RuleViolation(
                item.index,
                f"order {order_id!r} is {order.status} and cannot be {action}",
                "order_id",
            )
        return order

    def _on_order_placed(self, item: Applied, e: ev.OrderPlaced) -> None:
        self._known_location(item, e.supplier_location, "supplier_location")
        if e.order_id not in self.orders:
            self._load_orders([e.order_id])
        if self.orders[e.order_id] is not None:
            raise RuleViolation(item.index, f"order {e.order_id!r} already exists", "order_id")
        self.orders[e.order_id] = OrderState(
            e.order_id, e.location, e.supplier_location, "placed", item.seq, None, new=True
        )

    def _on_order_confirmed(self, item: Applied, e: ev.OrderConfirmed) -> None:
        order = self._order(item, e.order_id, ("placed",), "confirmed")
        if e.location != order.supplier_location:
            raise RuleViolation(
                item.index, "only the supplier's location confirms an order", "location"
            )
        order.status, order.promised_date, order.dirty = "confirmed", e.promised_date, True

    def _on_order_cancelled(self, item: Applied, e: ev.OrderCancelled) -> None:
        order = self._order(item, e.order_id, ("placed", "confirmed"), "cancelled")
        if e.location not in (order.buyer_location, order.supplier_location):
            raise RuleViolation(
                item.index, "only the buyer or the supplier cancels an order", "location"
            )
        order.status, order.dirty = "cancelled", True

    def _on_order_fulfilled(self, item: Applied, e: ev.OrderFulfilled) -> None:
        order = self._order(item, e.order_id, ("placed", "confirmed"), "fulfilled")
        if e.location not in (order.buyer_location, order.supplier_location):
            raise RuleViolation(
                item.index, "only the buyer or the supplier fulfils an order", "location"
            )
        order.status, order.dirty = "fulfilled", True

    # -- writing back -------------------------------------------------------------

    def flush(self) -> None:
        conn = self.conn
        lots = [v for v in self.lots.values() if v is not None]
        insert_rows(conn, "lots", _LOT_COLS, [_tuple(lot, _LOT_COLS) for lot in lots if lot.new])
        changed = [
            {"b_id": lot.id, "b_holds": lot.open_holds} for lot in lots if lot.dirty and not lot.new
        ]
        if changed:
            conn.execute(
                update(Lot).where(Lot.id == _b("b_id")).values(open_holds=_b("b_holds")), changed
            )
        upsert_rows(
            conn,
            "stock",
            ("location_id", "lot_id", "on_hand"),
            ("location_id", "lot_id"),
            [(loc, lot_id, self.stock[(loc, lot_id)]) for loc, lot_id in sorted(self.stock_dirty)],
        )
        insert_rows(
            conn, "shipments", _SHIP_COLS, [_tuple(s, _SHIP_COLS) for s in self.new_shipments]
        )
        received = [
            {"b_seq": s.seq, "b_recv": s.received}
            for group in self.shipments.values()
            for s in group
            if s.dirty and not s.new
        ]
        if received:
            conn.execute(
                update(Shipment).where(Shipment.seq == _b("b_seq")).values(received=_b("b_recv")),
                received,
            )
        if self.new_holds:
            conn.execute(insert(HoldRecord), self.new_holds)
        for lot_id, org, seq in self.releases:
            conn.execute(
                update(HoldRecord)
                .where(
                    HoldRecord.lot_id == lot_id,
                    HoldRecord.org_id == org,
                    HoldRecord.released_seq.is_(None),
                    HoldRecord.seq < self.first_seq,
                )
                .values(released_seq=seq)
            )
        if self.transformations:
            conn.execute(insert(Transformation), self.transformations)
        orders = [o for o in self.orders.values() if o is not None]
        new_orders = [_row(o, _ORDER_COLS) for o in orders if o.new]
        if new_orders:
            conn.execute(insert(Order), new_orders)
        changed_orders = [
            {"b_id": o.order_id, "b_status": o.status, "b_date": o.promised_date}
            for o in orders
            if o.dirty and not o.new
        ]
        if changed_orders:
            conn.execute(
                update(Order)
                .where(Order.order_id == _b("b_id"))
                .values(status=_b("b_status"), promised_date=_b("b_date")),
                changed_orders,
            )
        # A transform touching a lot as input and output, or twice, is one row.
        insert_rows(conn, "lot_events", ("lot_id", "seq"), sorted(set(self.lot_events)))


_VERB = {"sold": "sell", "used": "use", "disposed": "dispose"}
_LOT_COLS = (
    "id",
    "gtin",
    "lot",
    "product",
    "unit",
    "org_id",
    "origin_location",
    "expiry",
    "registered_seq",
    "open_holds",
)
_SHIP_COLS = (
    "seq",
    "lot_id",
    "from_location",
    "to_location",
    "shipment_id",
    "quantity",
    "received",
)
_ORDER_COLS = (
    "order_id",
    "buyer_location",
    "supplier_location",
    "status",
    "placed_seq",
    "promised_date",
)


def _row(obj: object, cols: tuple[str, ...]) -> dict[str, Any]:
    return {c: getattr(obj, c) for c in cols}


def _tuple(obj: object, cols: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(getattr(obj, c) for c in cols)


def _b(name: str) -> Any:
    return bindparam(name)


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]
