"""Stock reads and stock rules that need more than one event: on hand, in transit, expiry
alerts, first-expired-first-out allocation, and stock counts.

Everything here reads the read models the projector maintains (``stock``, ``lots``,
``lot_states``, ``shipments``) and ``product_terms``. A lot's *removal date* is the
day it must leave the shelf: its expiry less the product's ``removal_days`` (1 by
default). Only approved lots whose removal date has not passed are pickable.

Reads take a ``viewer`` like ``ledger.trace.lots``: an organisation sees its own locations
(another organisation's location is reported as not found); None sees everything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from operator import itemgetter
from typing import Annotated, Any, NamedTuple

from pydantic import Field
from sqlalchemy import Connection, Engine, and_, or_, select
from sqlalchemy.orm import aliased

from ledger.errors import (
    BatchRejected,
    EventValidationError,
    InsufficientStock,
    NotFound,
    Problem,
    StaleCount,
)
from ledger.events.rules import ENDED_ORDER_STATUSES
from ledger.ids import new_event_id
from ledger.log.service import AppendResult, Ledger
from ledger.projections.projector import APPROVED, LotStatus
from ledger.quantity import SCALE, format_micro, parse_decimal
from ledger.storage.db import read_transaction
from ledger.storage.schema import (
    Location,
    Lot,
    LotStatusRecord,
    Order,
    OrderLot,
    ProductTerms,
    Shipment,
    Stock,
)
from verifier.gs1 import IdentifierError, validate_gtin

DEFAULT_REMOVAL_DAYS = 1
COUNT_REASONS = ("count", "damage", "theft", "spoilage", "found", "other")
#: How often a count is computed again when the stock changed under it before giving up.
COUNT_ATTEMPTS = 5


class StockItem(NamedTuple):
    """One lot on hand at one location (a tuple: a location holds thousands). Less its
    location, it is an item of the API's stock document: the ``Field`` metadata is OpenAPI's."""

    location_id: str
    gtin: str
    lot: str
    product: str
    unit: str
    on_hand: Annotated[str, Field(examples=["120.5"])]
    status: Annotated[
        LotStatus, Field(description="approved (sellable), on_hold, damaged, quarantined, recalled")
    ]
    expiry: str | None
    removal_date: Annotated[str | None, Field(description="the day it must leave the shelf")]
    pickable: Annotated[bool, Field(description="approved and not past its removal date")]


@dataclass(frozen=True, slots=True)
class InTransit:
    """A shipment not (fully) received: shipped less received so far."""

    seq: int
    shipment_id: str | None
    gtin: str
    lot: str
    unit: str
    from_location: str
    to_location: str
    shipped: str
    received: str
    in_transit: str
    order_id: str | None


@dataclass(frozen=True, slots=True)
class Allocation:
    """Part of a line taken from one lot, first expired first out."""

    gtin: str
    lot: str
    unit: str
    quantity: str
    expiry: str | None
    removal_date: str | None


def _gtin(value: str, index: int) -> str:
    try:
        return validate_gtin(value)
    except IdentifierError as exc:
        raise EventValidationError([Problem(index, "gtin", str(exc))]) from None


def today_utc() -> date:
    return datetime.now(UTC).date()


def removal_date(expiry: str | None, removal_days: int | None) -> str | None:
    return None if expiry is None else _removal(expiry, removal_days)


@lru_cache(maxsize=4096)
def _removal(expiry: str, removal_days: int | None) -> str:
    days = DEFAULT_REMOVAL_DAYS if removal_days is None else removal_days
    return (date.fromisoformat(expiry) - timedelta(days=days)).isoformat()


def check_location(conn: Connection, location_id: str, viewer: str | None) -> str:
    """The location's organisation; NotFound when it does not exist or the viewer may not see it."""
    org = conn.execute(
        select(Location.org_id).where(Location.id == location_id)
    ).scalar_one_or_none()
    if org is None or (viewer is not None and org != viewer):
        raise NotFound(f"location {location_id!r} does not exist or is not yours")
    return str(org)


def stock_select(*columns: Any) -> Any:
    """``columns`` of stock rows joined to their lot, its status (if any) and the product's
    terms (if any) of the organisation that owns the stock's location: what sellable and
    pickable stock is judged by."""
    holder = aliased(Location)
    return (
        select(*columns)
        .select_from(Stock)
        .join(Lot, Lot.id == Stock.lot_id)
        .join(holder, holder.id == Stock.location_id)
        .outerjoin(LotStatusRecord, LotStatusRecord.lot_id == Stock.lot_id)
        .outerjoin(
            ProductTerms, and_(ProductTerms.gtin == Lot.gtin, ProductTerms.org_id == holder.org_id)
        )
    )


def _stock_query(location_id: str) -> Any:
    return stock_select(
        Stock.lot_id,
        Stock.on_hand,
        Lot.gtin,
        Lot.lot,
        Lot.product,
        Lot.unit,
        Lot.expiry,
        LotStatusRecord.status,
        ProductTerms.removal_days,
    ).where(Stock.location_id == location_id, Stock.on_hand != 0)


def location_stock(
    engine: Engine,
    location_id: str,
    *,
    viewer: str | None,
    gtin: str | None = None,
    today: date | None = None,
) -> list[StockItem]:
    """Every lot on hand at the location, soonest removal first. Three plain queries (stock
    with its lots; the few lots not approved; the removal days of the products present)
    rather than one with outer joins: this is read for locations of 10,000 lots. The rows
    come off the DB-API cursor as plain tuples and become ``StockItem`` tuples without a
    Python-level call per row; the sort keys are C-level item getters."""
    day = (today or today_utc()).isoformat()
    stmt = (
        select(Stock.lot_id, Stock.on_hand, Lot.gtin, Lot.lot, Lot.product, Lot.unit, Lot.expiry)
        .join(Lot, Lot.id == Stock.lot_id)
        .where(Stock.location_id == location_id, Stock.on_hand != 0)
    )
    if gtin is not None:
        stmt = stmt.where(Lot.gtin == gtin)
    with read_transaction(engine) as conn:
        owner = check_location(conn, location_id, viewer)
        # Every column is a plain int or str: the driver's tuples need no result processing.
        result = conn.execute(stmt)
        rows: Sequence[tuple[Any, ...]] = result.cursor.fetchall()
        result.close()
        # lot_states is sparse (lots ever held): walk it, not the location's stock.
        states: dict[int, str] = dict(
            conn.execute(
                select(LotStatusRecord.lot_id, LotStatusRecord.status)
                .join(
                    Stock,
                    and_(Stock.lot_id == LotStatusRecord.lot_id, Stock.location_id == location_id),
                )
                .where(LotStatusRecord.status != APPROVED)
            ).all()
        )
        removal_days = product_removal_days(conn, owner, {row[2] for row in rows})
    new = tuple.__new__
    fmt: dict[int, str] = {}  # locations hold many equal quantities
    removal_of = _removal
    days_of = removal_days.get
    state_of = states.get
    dated: list[StockItem] = []
    undated: list[StockItem] = []
    for lot_id, on_hand, g, code, product, unit, expiry in rows:
        status = state_of(lot_id, APPROVED)
        text = fmt.get(on_hand)
        if text is None:
            text = fmt[on_hand] = _quantity_text(on_hand)
        if expiry is None:
            pickable = status == APPROVED
            undated.append(new(StockItem, (location_id, g, code, product, unit, text,
                                           status, None, None, pickable)))  # fmt: skip
        else:
            removal = removal_of(expiry, days_of(g))
            pickable = status == APPROVED and removal >= day
            dated.append(new(StockItem, (location_id, g, code, product, unit, text,
                                         status, expiry, removal, pickable)))  # fmt: skip
    # Soonest removal first, then product and lot; lots without an expiry last.
    dated.sort(key=_BY_REMOVAL)
    undated.sort(key=_BY_LOT)
    dated += undated
    return dated


_BY_REMOVAL = itemgetter(8, 1, 2)
_BY_LOT = itemgetter(1, 2)


def product_removal_days(conn: Connection, org_id: str, gtins: set[str]) -> dict[str, int]:
    """The removal days of each product in ``org_id``'s terms (the stock holder's)."""
    found: dict[str, int] = {}
    ordered = sorted(gtins)
    for start in range(0, len(ordered), 400):
        found.update(
            conn.execute(
                select(ProductTerms.gtin, ProductTerms.removal_days).where(
                    ProductTerms.org_id == org_id,
                    ProductTerms.gtin.in_(ordered[start : start + 400]),
                )
            ).all()
        )
    return found


def _quantity_text(micro: int) -> str:
    whole, frac = divmod(micro, SCALE)
    return str(whole) if frac == 0 and micro >= 0 else format_micro(micro)


def expiry_alerts(
    engine: Engine, location_id: str, *, viewer: str | None, days: int, today: date | None = None
) -> list[StockItem]:
    """Stock at the location whose expiry falls within ``days`` of today (or has passed)."""
    day = today or today_utc()
    limit = (day + timedelta(days=days)).isoformat()
    return [
        item
        for item in location_stock(engine, location_id, viewer=viewer, today=day)
        if item.expiry is not None and item.expiry <= limit
    ]


def in_transit(engine: Engine, location_id: str, *, viewer: str | None) -> list[InTransit]:
    """Open shipments to or from the location. A shipment of a closed or cancelled order
    is no longer in transit: what did not arrive was short."""
    with read_transaction(engine) as conn:
        check_location(conn, location_id, viewer)
        rows = conn.execute(
            select(
                Shipment.seq,
                Shipment.shipment_id,
                Lot.gtin,
                Lot.lot,
                Lot.unit,
                Shipment.from_location,
                Shipment.to_location,
                Shipment.quantity,
                Shipment.received,
                OrderLot.order_id,
                Order.status,
            )
            .join(Lot, Lot.id == Shipment.lot_id)
            .outerjoin(OrderLot, OrderLot.seq == Shipment.seq)
            .outerjoin(Order, Order.order_id == OrderLot.order_id)
            .where(
                or_(Shipment.to_location == location_id, Shipment.from_location == location_id),
                Shipment.received < Shipment.quantity,
            )
            .order_by(Shipment.seq)
        ).all()
    return [
        InTransit(
            int(seq),
            sid,
            g,
            code,
            unit,
            frm,
            to,
            format_micro(qty),
            format_micro(recv),
            format_micro(qty - recv),
            order_id,
        )
        for seq, sid, g, code, unit, frm, to, qty, recv, order_id, status in rows
        if status not in ENDED_ORDER_STATUSES
    ]


def allocate(
    conn: Connection,
    location_id: str,
    gtin: str,
    quantity: int,
    *,
    deliver_on: str,
    partial: bool = False,
) -> list[Allocation]:
    """Take ``quantity`` (micro-units) of ``gtin`` from the location's approved lots, first
    expired first out, splitting across lots; never a held, recalled or expired lot, nor one
    that must leave the shelf before ``deliver_on``. InsufficientStock when there is not
    enough, unless ``partial`` (then what there is)."""
    rows = conn.execute(
        _stock_query(location_id).where(
            Lot.gtin == gtin,
            Stock.on_hand > 0,
            or_(LotStatusRecord.status.is_(None), LotStatusRecord.status == APPROVED),
        )
    ).all()
    candidates = []
    for lot_id, on_hand, g, code, _product, unit, expiry, _status, removal_days in rows:
        removal = removal_date(expiry, removal_days)
        if removal is None or removal >= deliver_on:
            candidates.append(
                (
                    removal or "9999-12-31",
                    expiry or "",
                    lot_id,
                    on_hand,
                    g,
                    code,
                    unit,
                    expiry,
                    removal,
                )
            )
    candidates.sort()
    picked: list[Allocation] = []
    remaining = quantity
    for _r, _e, _id, on_hand, g, code, unit, expiry, removal in candidates:
        if remaining <= 0:
            break
        take = min(on_hand, remaining)
        picked.append(Allocation(g, code, unit, format_micro(take), expiry, removal))
        remaining -= take
    if remaining > 0 and not partial:
        available = quantity - remaining
        raise InsufficientStock(
            0,
            f"cannot allocate {format_micro(quantity)} of {gtin} at {location_id}: only "
            f"{format_micro(available)} is approved and not expiring before {deliver_on}",
            "quantity",
            {"requested": format_micro(quantity), "available": format_micro(available)},
        )
    return picked


def pick_list(
    engine: Engine,
    location_id: str,
    lines: Sequence[tuple[str, str]],
    *,
    viewer: str | None,
    deliver_on: date | None = None,
) -> list[Allocation]:
    """First-expired-first-out picks for (gtin, quantity) lines at the location."""
    day = (deliver_on or today_utc()).isoformat()
    with read_transaction(engine) as conn:
        check_location(conn, location_id, viewer)
        picks: list[Allocation] = []
        for gtin, qty in lines:
            picks += allocate(conn, location_id, gtin, parse_decimal(qty), deliver_on=day)
    return picks


def record_count(
    ledger: Ledger,
    location_id: str,
    counts: Sequence[tuple[str, str, str]],
    *,
    actor: str,
    reason: str = "count",
    when: datetime | None = None,
) -> tuple[list[dict[str, Any]], AppendResult | None]:
    """A stock count: for each counted (gtin, lot, quantity) whose count differs from the
    stock on hand, an adjust event with the variance, the counted quantity and ``reason``.
    Returns the events and the append's result (None when every count matched).

    The variance is read outside the append's transaction, so each event also states the
    quantity counted: the write path applies it only if the stock on hand still gives that
    variance. When the stock changed in between (a concurrent count of the same lot, a
    sale), the count is computed again against the new stock, so the stock ends at what
    was counted and two concurrent counts never both adjust."""
    if reason not in COUNT_REASONS:
        raise EventValidationError(
            [Problem(0, "reason", f"{reason!r} is not one of {', '.join(COUNT_REASONS)}")]
        )
    moment = when or datetime.now(UTC)
    keys = [(_gtin(g, i), code) for i, (g, code, _) in enumerate(counts)]
    counted: list[int] = []
    for index, (_, _, text) in enumerate(counts):
        try:
            counted.append(parse_decimal(text))
        except ValueError as exc:
            raise EventValidationError([Problem(index, "quantity", str(exc))]) from None
    for attempt in range(COUNT_ATTEMPTS):
        events = _count_events(ledger, location_id, keys, counted, actor, reason, moment)
        if not events:
            return events, None
        try:
            return events, ledger.append(events, actor=actor, now=when)
        except (StaleCount, BatchRejected) as exc:  # several lots' counts can all be stale
            if attempt == COUNT_ATTEMPTS - 1 or not (
                isinstance(exc, StaleCount) or exc.all_of(StaleCount)
            ):
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _count_events(
    ledger: Ledger,
    location_id: str,
    keys: list[tuple[str, str]],
    counted: list[int],
    actor: str,
    reason: str,
    moment: datetime,
) -> list[dict[str, Any]]:
    with read_transaction(ledger.engine) as conn:
        check_location(conn, location_id, actor)
        rows = conn.execute(
            select(Lot.gtin, Lot.lot, Lot.unit, Stock.on_hand)
            .outerjoin(Stock, and_(Stock.lot_id == Lot.id, Stock.location_id == location_id))
            .where(Lot.lot.in_([code for _, code in keys]))
        ).all()
    known = {(g, code): (unit, on_hand or 0) for g, code, unit, on_hand in rows}
    events: list[dict[str, Any]] = []
    for index, ((g, code), quantity) in enumerate(zip(keys, counted, strict=True)):
        if (g, code) not in known:
            raise EventValidationError([Problem(index, "lot", f"unknown lot {g}/{code}")])
        unit, on_hand = known[(g, code)]
        variance = quantity - on_hand
        if variance == 0:
            continue
        events.append(
            {
                "event_id": new_event_id(),
                "type": "adjust",
                "event_time": moment.isoformat(timespec="seconds"),
                "location": location_id,
                "lot": {"gtin": g, "lot": code},
                "variance": format_micro(variance),
                "counted": format_micro(quantity),
                "unit": unit,
                "reason": reason,
            }
        )
    return events
