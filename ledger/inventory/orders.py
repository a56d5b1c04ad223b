"""Purchase orders: every step is an event on the log; these helpers build and append them,
and read the order read models (``orders``, ``order_progress``, ``order_lines``,
``order_lots``).

Lifecycle: ``order_placed`` (status ``placed``, or ``awaiting_approval`` with its reason
when its value at the known prices is over the buyer's approval limit, a sent price differs
from the known one or a line has no known price) → ``order_approved`` (``approved``) →
``order_confirmed`` (``confirmed``, promised date) → ship events citing the order
(``reference`` type "po": ``shipped``; ``ship_order`` allocates first expired first out) →
receive events citing it (``received``, with damaged and out-of-temperature parts) →
``order_closed`` or ``order_cancelled``. An organisation sees the orders it placed or that
were placed with it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy import Connection, Engine, or_, select

from ledger.errors import NotFound, RuleViolation
from ledger.ids import new_event_id
from ledger.inventory.stock import Allocation, allocate, in_transit
from ledger.log.service import Ledger
from ledger.quantity import format_micro, parse_decimal
from ledger.storage.db import read_transaction
from ledger.storage.schema import Lot, Order, OrderLineRecord, OrderLot, OrderProgress
from verifier.gs1 import validate_gtin

OPEN_STATUSES = ("awaiting_approval", "placed", "approved", "confirmed", "shipped")


# The views are also the API's response bodies: the ``Field`` descriptions are OpenAPI's.


@dataclass(frozen=True, slots=True)
class LineView:
    gtin: str
    unit: str
    ordered: str
    unit_price: str
    shipped: str
    received: Annotated[str, Field(description="accepted into stock")]
    damaged: str
    out_of_temperature: str
    short: Annotated[str, Field(description="ordered but never arrived")]
    over: Annotated[str, Field(description="arrived beyond what was ordered")]


@dataclass(frozen=True, slots=True)
class OrderLotView:
    seq: int
    direction: str
    gtin: str
    lot: str
    location_id: str
    quantity: str
    damaged: str
    out_of_temperature: str


@dataclass(frozen=True, slots=True)
class OrderView:
    order_id: str
    buyer_location: str
    supplier_location: str
    buyer_org: str
    supplier_org: str
    status: Annotated[
        str,
        Field(
            description="awaiting_approval, placed, approved, confirmed, shipped, received, "
            "closed, fulfilled or cancelled"
        ),
    ]
    promised_date: str | None
    value: str
    approval_required: bool
    approval_reason: Annotated[
        str | None,
        Field(
            description="why it awaits a manager: its value at the known prices over the "
            "approval limit, a sent unit price other than the known one, a line with no "
            "known price"
        ),
    ]
    approved_seq: int | None
    placed_day: str
    confirmed_day: str | None
    shipped_day: str | None
    received_day: str | None
    closed_day: str | None
    note: str | None
    lines: list[LineView]
    lots: Annotated[
        list[OrderLotView], Field(description="every lot shipped or received against it")
    ]


def _event(etype: str, location: str, when: datetime | None, **fields: Any) -> dict[str, Any]:
    moment = when or datetime.now(UTC)
    event = {
        "event_id": new_event_id(),
        "type": etype,
        "event_time": moment.isoformat(timespec="seconds"),
        "location": location,
    }
    event.update({k: v for k, v in fields.items() if v is not None})
    return event


def _order_columns() -> tuple[Any, ...]:
    p = OrderProgress
    return (
        Order.order_id,
        Order.buyer_location,
        Order.supplier_location,
        p.buyer_org,
        p.supplier_org,
        Order.status,
        Order.promised_date,
        p.value,
        p.approval_required,
        p.approved_seq,
        p.placed_day,
        p.confirmed_day,
        p.shipped_day,
        p.received_day,
        p.closed_day,
        p.note,
        p.approval_reason,
    )


def visible_to(viewer: str | None) -> Any:
    if viewer is None:
        return True
    return or_(OrderProgress.buyer_org == viewer, OrderProgress.supplier_org == viewer)


def _view(row: Any, lines: list[LineView], lots: list[OrderLotView]) -> OrderView:
    return OrderView(
        order_id=row[0],
        buyer_location=row[1],
        supplier_location=row[2],
        buyer_org=row[3],
        supplier_org=row[4],
        status=row[5],
        promised_date=row[6],
        value=format_micro(row[7]),
        approval_required=bool(row[8]),
        approval_reason=row[16],
        approved_seq=row[9],
        placed_day=row[10],
        confirmed_day=row[11],
        shipped_day=row[12],
        received_day=row[13],
        closed_day=row[14],
        note=row[15],
        lines=lines,
        lots=lots,
    )


def _line(row: Any) -> LineView:
    _, gtin, unit, ordered, price, shipped, received, damaged, warm = row
    arrived = received + damaged + warm
    return LineView(
        gtin,
        unit,
        format_micro(ordered),
        format_micro(price),
        format_micro(shipped),
        format_micro(received),
        format_micro(damaged),
        format_micro(warm),
        format_micro(max(0, ordered - arrived)),
        format_micro(max(0, arrived - ordered)),
    )


def _load(conn: Connection, order_id: str, viewer: str | None) -> OrderView:
    row = conn.execute(
        select(*_order_columns())
        .join(OrderProgress, OrderProgress.order_id == Order.order_id)
        .where(Order.order_id == order_id, visible_to(viewer))
    ).first()
    if row is None:
        raise NotFound(f"order {order_id!r} does not exist or is not yours")
    line_cols = list(OrderLineRecord.__table__.c)
    lines = [
        _line(r)
        for r in conn.execute(
            select(*line_cols)
            .where(OrderLineRecord.order_id == order_id)
            .order_by(OrderLineRecord.gtin)
        )
    ]
    lots = [
        OrderLotView(
            int(seq),
            direction,
            gtin,
            code,
            loc,
            format_micro(qty),
            format_micro(damaged),
            format_micro(warm),
        )
        for seq, direction, gtin, code, loc, qty, damaged, warm in conn.execute(
            select(
                OrderLot.seq,
                OrderLot.direction,
                Lot.gtin,
                Lot.lot,
                OrderLot.location_id,
                OrderLot.quantity,
                OrderLot.damaged,
                OrderLot.out_of_temperature,
            )
            .join(Lot, Lot.id == OrderLot.lot_id)
            .where(OrderLot.order_id == order_id)
            .order_by(OrderLot.seq)
        )
    ]
    return _view(row, lines, lots)


def get_order(engine: Engine, order_id: str, *, viewer: str | None) -> OrderView:
    """An order with its lines (ordered, shipped, received, short, over, damaged, warm) and
    every lot that was shipped or received against it."""
    with read_transaction(engine) as conn:
        return _load(conn, order_id, viewer)


def list_orders(
    engine: Engine,
    *,
    viewer: str | None,
    location: str | None = None,
    status: str | None = None,
    limit: int = 500,
) -> list[OrderView]:
    """Orders the viewer placed or that were placed with it, newest first (no lines)."""
    stmt = (
        select(*_order_columns())
        .join(OrderProgress, OrderProgress.order_id == Order.order_id)
        .where(visible_to(viewer))
    )
    if location is not None:
        stmt = stmt.where(
            or_(Order.buyer_location == location, Order.supplier_location == location)
        )
    if status is not None:
        stmt = stmt.where(Order.status == status)
    with read_transaction(engine) as conn:
        rows = conn.execute(stmt.order_by(Order.placed_seq.desc()).limit(limit)).all()
    return [_view(r, [], []) for r in rows]


def orders_for_lot(engine: Engine, gtin: str, lot: str, *, viewer: str | None) -> list[str]:
    """The orders that carried a lot (shipped or received against them): for a recall."""
    with read_transaction(engine) as conn:
        rows = conn.execute(
            select(OrderLot.order_id)
            .join(Lot, Lot.id == OrderLot.lot_id)
            .join(OrderProgress, OrderProgress.order_id == OrderLot.order_id)
            .where(Lot.gtin == validate_gtin(gtin), Lot.lot == lot, visible_to(viewer))
            .distinct()
            .order_by(OrderLot.order_id)
        ).all()
    return [r[0] for r in rows]


# -- steps ------------------------------------------------------------------------


def place_order(
    ledger: Ledger,
    *,
    actor: str,
    buyer_location: str,
    supplier_location: str,
    lines: Sequence[dict[str, str]],
    order_id: str | None = None,
    when: datetime | None = None,
) -> OrderView:
    """Append ``order_placed``; lines are dicts of gtin, quantity, unit and optional
    unit_price."""
    order_id = order_id or f"PO-{uuid.uuid4().hex[:12].upper()}"
    event = _event(
        "order_placed",
        buyer_location,
        when,
        order_id=order_id,
        supplier_location=supplier_location,
        lines=[{k: v for k, v in line.items() if v is not None} for line in lines],
    )
    ledger.append([event], actor=actor, now=when)
    return get_order(ledger.engine, order_id, viewer=actor)


def _step(
    ledger: Ledger,
    order_id: str,
    etype: str,
    side: str,
    *,
    actor: str,
    when: datetime | None,
    **fields: Any,
) -> OrderView:
    order = get_order(ledger.engine, order_id, viewer=actor)
    location = order.buyer_location if side == "buyer" else order.supplier_location
    ledger.append(
        [_event(etype, location, when, order_id=order_id, **fields)], actor=actor, now=when
    )
    return get_order(ledger.engine, order_id, viewer=actor)


def approve_order(
    ledger: Ledger,
    order_id: str,
    *,
    actor: str,
    note: str | None = None,
    when: datetime | None = None,
) -> OrderView:
    return _step(ledger, order_id, "order_approved", "buyer", actor=actor, when=when, note=note)


def confirm_order(
    ledger: Ledger, order_id: str, *, actor: str, promised_date: date, when: datetime | None = None
) -> OrderView:
    return _step(
        ledger,
        order_id,
        "order_confirmed",
        "supplier",
        actor=actor,
        when=when,
        promised_date=promised_date.isoformat(),
    )


def cancel_order(
    ledger: Ledger, order_id: str, *, actor: str, reason: str, when: datetime | None = None
) -> OrderView:
    order = get_order(ledger.engine, order_id, viewer=actor)
    side = "buyer" if order.buyer_org == actor else "supplier"
    return _step(ledger, order_id, "order_cancelled", side, actor=actor, when=when, reason=reason)


def close_order(
    ledger: Ledger,
    order_id: str,
    *,
    actor: str,
    reason: str | None = None,
    when: datetime | None = None,
) -> OrderView:
    return _step(ledger, order_id, "order_closed", "buyer", actor=actor, when=when, reason=reason)


def ship_order(
    ledger: Ledger,
    order_id: str,
    *,
    actor: str,
    when: datetime | None = None,
    deliver_on: date | None = None,
    partial: bool = False,
) -> tuple[OrderView, list[Allocation]]:
    """Ship what is still to ship of every line from the supplier's stock, first expired
    first out (never a held, recalled or expired lot, nor one that must leave the shelf
    before ``deliver_on``, by default the promised date), one ship event per lot. With
    ``partial``, ship what there is (the rest stays to ship, or ends short when the order
    is closed); otherwise InsufficientStock unless every line can be shipped in full."""
    moment = when or datetime.now(UTC)
    with read_transaction(ledger.engine) as conn:
        order = _load(conn, order_id, actor)
        if order.supplier_org != actor:
            raise NotFound(f"order {order_id!r} was not placed with you")
        day = (
            deliver_on.isoformat()
            if deliver_on is not None
            else max(order.promised_date or "", moment.date().isoformat())
        )
        picks: list[Allocation] = []
        for line in order.lines:
            remaining = parse_decimal(line.ordered) - parse_decimal(line.shipped)
            if remaining > 0:
                picks += allocate(
                    conn,
                    order.supplier_location,
                    line.gtin,
                    remaining,
                    deliver_on=day,
                    partial=partial,
                )
    if not picks:
        raise RuleViolation(0, f"order {order_id!r} has nothing left to ship", "order_id")
    shipment_id = f"{order_id}/{moment:%Y%m%d%H%M%S}"
    events = [
        _event(
            "ship",
            order.supplier_location,
            moment,
            lot={"gtin": p.gtin, "lot": p.lot},
            quantity=p.quantity,
            unit=p.unit,
            to_location=order.buyer_location,
            shipment_id=shipment_id,
            reference={"type": "po", "number": order_id},
        )
        for p in picks
    ]
    ledger.append(events, actor=actor, now=when)
    return get_order(ledger.engine, order_id, viewer=actor), picks


def receive_order(
    ledger: Ledger,
    order_id: str,
    *,
    actor: str,
    receipts: Sequence[dict[str, str]] | None = None,
    when: datetime | None = None,
) -> OrderView:
    """Receive against the order. ``receipts`` are dicts of gtin, lot, quantity (what
    arrived) and optional damaged and out_of_temperature (parts of it refused); by default,
    everything of the order still in transit arrives in full."""
    order = get_order(ledger.engine, order_id, viewer=actor)
    if order.buyer_org != actor:
        raise NotFound(f"order {order_id!r} was not placed by you")
    if receipts is None:
        receipts = [
            {"gtin": t.gtin, "lot": t.lot, "quantity": t.in_transit, "unit": t.unit}
            for t in in_transit(ledger.engine, order.buyer_location, viewer=actor)
            if t.order_id == order_id
        ]
    if not receipts:
        raise RuleViolation(0, f"nothing of order {order_id!r} is in transit", "order_id")
    units = {line.gtin: line.unit for line in order.lines}
    events = [
        _event(
            "receive",
            order.buyer_location,
            when,
            lot={"gtin": validate_gtin(r["gtin"]), "lot": r["lot"]},
            quantity=r["quantity"],
            unit=r.get("unit") or units.get(validate_gtin(r["gtin"]), "each"),
            from_location=order.supplier_location,
            reference={"type": "po", "number": order_id},
            damaged=r.get("damaged"),
            out_of_temperature=r.get("out_of_temperature"),
        )
        for r in receipts
    ]
    ledger.append(events, actor=actor, now=when)
    return get_order(ledger.engine, order_id, viewer=actor)
