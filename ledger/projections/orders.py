"""Purchase orders in the projector: the order rules and read models (``orders``,
``order_progress``, ``order_lines``, ``order_lots``), as a mixin of ``BatchProjector``.

Every step of an order is an event. ``order_placed`` needs approval when the ledger said
so when it was appended (``approval_required``, with its ``approval_reason``:
``ledger.events.completion``), so the projector reads no master data; ship and receive
events citing an order of this ledger (``reference`` type "po") are checked against its
route, status and products and counted on its lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, insert, select, update

from ledger.errors import EventValidationError, Problem, RuleViolation, TotalOverLimit
from ledger.events import models as ev
from ledger.events.rules import DEFAULT_APPROVAL_LIMIT, order_value
from ledger.quantity import MAX_TOTAL_MICRO, parse_decimal
from ledger.storage.bulk import insert_rows, upsert_rows
from ledger.storage.schema import Order, OrderLineRecord, OrderProgress

if TYPE_CHECKING:
    from ledger.projections.state import Applied, LotState

_CHUNK = 400


@dataclass(slots=True)
class LineState:
    unit: str
    ordered: int
    unit_price: int
    shipped: int = 0
    received: int = 0
    damaged: int = 0
    out_of_temperature: int = 0
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
    # order_progress; ``progress`` is None for an order placed before it existed.
    progress: dict[str, Any] | None = None
    progress_new: bool = False
    lines: dict[str, LineState] = field(default_factory=dict)


class OrderRules:
    """The order events' handlers and write-back; ``BatchProjector`` provides the state."""

    if TYPE_CHECKING:
        conn: Connection
        orders: dict[str, OrderState | None]
        locations: dict[str, str | None]
        order_lots: list[tuple[Any, ...]]

        def _known_location(self, item: Applied, location: str, field_name: str) -> str: ...

        def _over_limit(
            self,
            item: Applied,
            lot: LotState,
            location: str,
            what: str,
            total: int,
            field_name: str,
        ) -> TotalOverLimit: ...

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
        progress_cols = [OrderProgress.__table__.c[c] for c in _PROGRESS_COLS[1:]]
        for chunk in _chunks(missing):
            rows = self.conn.execute(
                select(*cols, OrderProgress.order_id, *progress_cols)
                .outerjoin(OrderProgress, OrderProgress.order_id == Order.order_id)
                .where(Order.order_id.in_(chunk))
            )
            for row in rows:
                order = OrderState(*row[:6])
                if row[6] is not None:
                    order.progress = dict(zip(_PROGRESS_COLS, row[6:], strict=True))
                self.orders[row[0]] = order
            line_cols = [OrderLineRecord.__table__.c[c] for c in _LINE_COLS]
            for row in self.conn.execute(
                select(*line_cols).where(OrderLineRecord.order_id.in_(chunk))
            ):
                found = self.orders.get(row[0])
                if found is not None:
                    found.lines[row[1]] = LineState(*row[2:])
        for i in missing:
            self.orders.setdefault(i, None)

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
        supplier_org = self._known_location(item, e.supplier_location, "supplier_location")
        if e.supplier_location == e.location:
            raise EventValidationError(
                [Problem(item.index, "supplier_location", "an order goes to another location")]
            )
        if e.order_id not in self.orders:
            self._load_orders([e.order_id])
        if self.orders[e.order_id] is not None:
            raise RuleViolation(item.index, f"order {e.order_id!r} already exists", "order_id")
        lines: dict[str, LineState] = {}
        for n, line in enumerate(e.lines):
            if line.gtin in lines:
                raise EventValidationError(
                    [Problem(item.index, f"lines.{n}.gtin", "each product once per order")]
                )
            # Prices and the approval decision were fixed when the order was appended
            # (ledger.events.completion): nothing here reads master data, so a replay agrees.
            price = parse_decimal(line.unit_price) if line.unit_price is not None else 0
            lines[line.gtin] = LineState(line.unit, parse_decimal(line.quantity), price, new=True)
        value = order_value((line.ordered, line.unit_price) for line in lines.values())
        needs_approval = (
            e.approval_required
            if e.approval_required is not None
            else value > DEFAULT_APPROVAL_LIMIT  # an order logged before the field existed
        )
        order = OrderState(
            e.order_id,
            e.location,
            e.supplier_location,
            "awaiting_approval" if needs_approval else "placed",
            item.seq,
            None,
            new=True,
            lines=lines,
        )
        order.progress = _new_progress(
            e.order_id, item.actor, supplier_org, value, needs_approval, e.event_time[:10]
        )
        order.progress["approval_reason"] = e.approval_reason if needs_approval else None
        order.progress_new = True
        self.orders[e.order_id] = order

    def _progress(self, order: OrderState) -> dict[str, Any]:
        if order.progress is None:  # an order placed before order_progress existed
            buyer = self.locations.get(order.buyer_location) or ""
            supplier = self.locations.get(order.supplier_location) or ""
            order.progress = _new_progress(order.order_id, buyer, supplier, 0, False, "")
            order.progress_new = True
        return order.progress

    def _on_order_approved(self, item: Applied, e: ev.OrderApproved) -> None:
        order = self._order(item, e.order_id, ("awaiting_approval",), "approved")
        if e.location != order.buyer_location:
            raise RuleViolation(
                item.index, "a manager at the buying location approves an order", "location"
            )
        progress = self._progress(order)
        progress["approved_seq"], progress["note"] = item.seq, e.note
        order.status, order.dirty = "approved", True

    def _on_order_confirmed(self, item: Applied, e: ev.OrderConfirmed) -> None:
        order = self._order(item, e.order_id, ("placed", "approved"), "confirmed")
        if e.location != order.supplier_location:
            raise RuleViolation(
                item.index, "only the supplier's location confirms an order", "location"
            )
        self._progress(order)["confirmed_day"] = e.event_time[:10]
        order.status, order.promised_date, order.dirty = "confirmed", e.promised_date, True

    def _on_order_cancelled(self, item: Applied, e: ev.OrderCancelled) -> None:
        order = self._order(
            item, e.order_id, ("awaiting_approval", "placed", "approved", "confirmed"), "cancelled"
        )
        if e.location not in (order.buyer_location, order.supplier_location):
            raise RuleViolation(
                item.index, "only the buyer or the supplier cancels an order", "location"
            )
        progress = self._progress(order)
        progress["closed_day"], progress["note"] = e.event_time[:10], e.reason
        order.status, order.dirty = "cancelled", True

    def _on_order_fulfilled(self, item: Applied, e: ev.OrderFulfilled) -> None:
        order = self._order(
            item,
            e.order_id,
            ("placed", "approved", "confirmed", "shipped", "received"),
            "fulfilled",
        )
        if e.location not in (order.buyer_location, order.supplier_location):
            raise RuleViolation(
                item.index, "only the buyer or the supplier fulfils an order", "location"
            )
        self._progress(order)["closed_day"] = e.event_time[:10]
        order.status, order.dirty = "fulfilled", True

    def _on_order_closed(self, item: Applied, e: ev.OrderClosed) -> None:
        order = self._order(
            item, e.order_id, ("placed", "approved", "confirmed", "shipped", "received"), "closed"
        )
        if e.location != order.buyer_location:
            raise RuleViolation(item.index, "the buying location closes an order", "location")
        progress = self._progress(order)
        progress["closed_day"], progress["note"] = e.event_time[:10], e.reason
        order.status, order.dirty = "closed", True

    def _order_movement(
        self,
        item: Applied,
        order_id: str,
        lot: LotState,
        direction: str,
        qty: int,
        damaged: int,
        warm: int,
    ) -> None:
        """A ship or receive event citing a purchase order of this ledger: check it fits the
        order and count it on the order's line. A reference to an unknown (outside) order
        is only a reference."""
        if order_id not in self.orders:
            self._load_orders([order_id])
        order = self.orders[order_id]
        if order is None:
            return
        e = item.event
        if direction == "ship":
            route = (e.location, e.to_location)  # type: ignore[attr-defined]
            allowed: tuple[str, ...] = ("placed", "approved", "confirmed", "shipped", "received")
        else:
            route = (e.from_location, e.location)  # type: ignore[attr-defined]
            allowed = ("shipped", "received")
        if route != (order.supplier_location, order.buyer_location):
            raise RuleViolation(
                item.index,
                f"order {order_id!r} goes from {order.supplier_location} to "
                f"{order.buyer_location}, not from {route[0]} to {route[1]}",
                "reference",
            )
        if order.status not in allowed:
            verb = "shipped against" if direction == "ship" else "received against"
            raise RuleViolation(
                item.index,
                f"order {order_id!r} is {order.status} and cannot be {verb}",
                "reference",
            )
        line = order.lines.get(lot.gtin)
        if line is None:
            raise RuleViolation(
                item.index, f"order {order_id!r} has no line for product {lot.gtin}", "lot"
            )
        progress = self._progress(order)
        day = e.event_time[:10]  # type: ignore[attr-defined]
        # The line's stored totals, each within MAX_TOTAL like every stored total.
        if direction == "ship":
            totals = {"shipped": line.shipped + qty}
        else:
            totals = {
                "received": line.received + qty - damaged - warm,
                "damaged": line.damaged + damaged,
                "out_of_temperature": line.out_of_temperature + warm,
            }
        for name, total in totals.items():
            if total > MAX_TOTAL_MICRO:
                what = f"the {name} total of order {order_id}'s line for {lot.gtin}"
                raise self._over_limit(item, lot, e.location, what, total, "quantity")  # type: ignore[attr-defined]
        if direction == "ship":
            line.shipped = totals["shipped"]
            progress["shipped_day"] = progress["shipped_day"] or day
            order.status = "shipped" if order.status != "received" else order.status
        else:
            line.received = totals["received"]
            line.damaged = totals["damaged"]
            line.out_of_temperature = totals["out_of_temperature"]
            progress["received_day"] = day
            order.status = "received"
        line.dirty = order.dirty = True
        self.order_lots.append(
            (item.seq, order_id, lot.id, direction, e.location, qty, damaged, warm)  # type: ignore[attr-defined]
        )

    def _flush_orders(self) -> None:
        conn = self.conn
        orders = [o for o in self.orders.values() if o is not None]
        if not orders:
            return
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
        touched = [o for o in orders if (o.new or o.dirty) and o.progress is not None]
        upsert_rows(
            conn,
            "order_progress",
            _PROGRESS_COLS,
            ("order_id",),
            [tuple(o.progress[c] for c in _PROGRESS_COLS) for o in touched if o.progress],
        )
        upsert_rows(
            conn,
            "order_lines",
            _LINE_COLS,
            ("order_id", "gtin"),
            [
                (o.order_id, gtin, *_tuple(line, _LINE_COLS[2:]))
                for o in orders
                for gtin, line in o.lines.items()
                if line.new or line.dirty
            ],
        )
        insert_rows(conn, "order_lots", _ORDER_LOT_COLS, self.order_lots)


_ORDER_COLS = (
    "order_id",
    "buyer_location",
    "supplier_location",
    "status",
    "placed_seq",
    "promised_date",
)


_PROGRESS_COLS = (
    "order_id",
    "buyer_org",
    "supplier_org",
    "value",
    "approval_required",
    "approved_seq",
    "placed_day",
    "confirmed_day",
    "shipped_day",
    "received_day",
    "closed_day",
    "note",
    "approval_reason",
)
_LINE_COLS = (
    "order_id",
    "gtin",
    "unit",
    "ordered",
    "unit_price",
    "shipped",
    "received",
    "damaged",
    "out_of_temperature",
)
_ORDER_LOT_COLS = (
    "seq",
    "order_id",
    "lot_id",
    "direction",
    "location_id",
    "quantity",
    "damaged",
    "out_of_temperature",
)


def _new_progress(
    order_id: str, buyer: str, supplier: str, value: int, approval: bool, day: str
) -> dict[str, Any]:
    progress: dict[str, Any] = dict.fromkeys(_PROGRESS_COLS)
    progress.update(
        order_id=order_id,
        buyer_org=buyer,
        supplier_org=supplier,
        value=value,
        approval_required=int(approval),
        placed_day=day,
    )
    return progress


def _row(obj: object, cols: tuple[str, ...]) -> dict[str, Any]:
    return {c: getattr(obj, c) for c in cols}


def _tuple(obj: object, cols: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(getattr(obj, c) for c in cols)


def _b(name: str) -> Any:
    return bindparam(name)


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]
