"""Inventory reports from the read models: value and days of supply, ABC classes by sales
value, shrinkage and waste by reason, product and location, and supplier scorecards.

Money is in the currency of the product terms (unit cost for stock, unit price for sales).
An organisation sees its own locations, and the orders it placed or received; None sees all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, or_, select

from ledger.inventory.orders import visible_to
from ledger.inventory.stock import stock_select, today_utc
from ledger.projections.projector import APPROVED
from ledger.quantity import SCALE, format_micro
from ledger.storage.db import read_transaction
from ledger.storage.schema import (
    HoldRecord,
    InventoryDaily,
    Location,
    Lot,
    LotStatusRecord,
    Order,
    OrderLineRecord,
    OrderProgress,
    Product,
    ProductTerms,
    Stock,
)
from ledger.storage.sums import joined, split_sum

DAYS_OF_SUPPLY_WINDOW = 28


def _money(micro_qty: int, micro_price: int | None) -> int:
    return micro_qty * (micro_price or 0) // SCALE


def _own_terms(gtin: Any) -> Any:
    """The join to the product's terms of the organisation owning the joined ``Location``:
    each organisation values its stock at its own cost and price."""
    return and_(ProductTerms.gtin == gtin, ProductTerms.org_id == Location.org_id)


def _own_locations(engine: Engine, viewer: str | None) -> list[str]:
    with read_transaction(engine) as conn:
        stmt = select(Location.id)
        if viewer is not None:
            stmt = stmt.where(Location.org_id == viewer)
        return [r[0] for r in conn.execute(stmt.order_by(Location.id))]


def _product_names(conn: Connection, gtins: Iterable[str]) -> dict[str, tuple[str, str]]:
    """Each GTIN's product name and unit: the product's master data, else the description
    its lots were registered with (a product registered by events only)."""
    wanted = sorted(set(gtins))
    found: dict[str, tuple[str, str]] = {}
    for i in range(0, len(wanted), 400):
        chunk = wanted[i : i + 400]
        for gtin, name, unit in conn.execute(
            select(Product.gtin, Product.description, Product.unit).where(Product.gtin.in_(chunk))
        ):
            found[gtin] = (str(name), str(unit))
        missing = [g for g in chunk if g not in found]
        if missing:
            for gtin, name, unit in conn.execute(
                select(Lot.gtin, func.min(Lot.product), func.min(Lot.unit))
                .where(Lot.gtin.in_(missing))
                .group_by(Lot.gtin)
            ):
                found[gtin] = (str(name), str(unit))
    return found


@dataclass(frozen=True, slots=True)
class ValueLine:
    """One product at one location. ``on_hand`` and ``value`` are all of it; the rest splits
    it: ``expired`` (past its expiry date), ``held`` (on hold, quarantined, recalled or
    damaged, and not expired), ``sellable`` (approved and within its expiry). Quantities in
    the product's unit, values at its unit cost; days of supply are of sellable stock."""

    location_id: str
    gtin: str
    product: str
    unit: str
    on_hand: str
    value: str
    sellable: str
    sellable_value: str
    held: str
    held_value: str
    expired: str
    expired_value: str
    daily_sales: str
    days_of_supply: float | None


def inventory_value(
    engine: Engine, *, viewer: str | None, location: str | None = None, today: date | None = None
) -> list[ValueLine]:
    """Per (location, product): on hand and its value at unit cost, split into sellable,
    held and expired stock, and days of supply of the sellable stock at the mean daily
    sales of the last 28 days (None when it did not sell). A lot is expired the day after
    its expiry date (as a sale of it is refused), whether or not it is also held."""
    day = today or today_utc()
    start = (day - timedelta(days=DAYS_OF_SUPPLY_WINDOW)).isoformat()
    locations = _own_locations(engine, viewer)
    if location is not None:
        locations = [loc for loc in locations if loc == location]
    with read_transaction(engine) as conn:
        stock = conn.execute(
            stock_select(
                Stock.location_id,
                Lot.gtin,
                Stock.on_hand,
                Lot.expiry,
                LotStatusRecord.status,
                ProductTerms.unit_cost,
            ).where(Stock.location_id.in_(locations), Stock.on_hand > 0)
        ).all()
        sales = {
            (loc, g): joined(high, low)
            for loc, g, high, low in conn.execute(
                select(
                    InventoryDaily.location_id,
                    InventoryDaily.gtin,
                    *split_sum(InventoryDaily.quantity),
                )
                .where(
                    InventoryDaily.location_id.in_(locations),
                    InventoryDaily.kind.in_(("sell", "consume")),
                    InventoryDaily.day >= start,
                    InventoryDaily.day < day.isoformat(),
                )
                .group_by(InventoryDaily.location_id, InventoryDaily.gtin)
            )
        }
        names = _product_names(conn, {row[1] for row in stock})
    today_iso = day.isoformat()
    # (location, gtin) -> [sellable, held, expired] quantities, and the unit cost
    split: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    costs: dict[str, int | None] = {}
    for loc, g, on_hand, expiry, status, cost in stock:
        costs[g] = cost
        if expiry is not None and expiry < today_iso:  # ISO dates compare as strings
            split[(loc, g)][2] += int(on_hand)
        elif (status or APPROVED) != APPROVED:
            split[(loc, g)][1] += int(on_hand)
        else:
            split[(loc, g)][0] += int(on_hand)
    out = []
    for (loc, g), (sellable, held, expired) in sorted(split.items()):
        cost = costs[g]
        total = sellable + held + expired
        daily = sales.get((loc, g), 0) // DAYS_OF_SUPPLY_WINDOW
        name, unit = names.get(g, (g, ""))
        out.append(
            ValueLine(
                loc,
                g,
                name,
                unit,
                format_micro(total),
                format_micro(_money(total, cost)),
                format_micro(sellable),
                format_micro(_money(sellable, cost)),
                format_micro(held),
                format_micro(_money(held, cost)),
                format_micro(expired),
                format_micro(_money(expired, cost)),
                format_micro(daily),
                round(sellable / daily, 1) if daily else None,
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class AbcLine:
    gtin: str
    product: str
    quantity: str
    sales_value: str
    share: float
    cumulative_share: float
    abc_class: str


def abc_classes(
    engine: Engine,
    *,
    viewer: str | None,
    start: date,
    end: date,
    a_share: float = 0.8,
    b_share: float = 0.95,
) -> list[AbcLine]:
    """Products ranked by sales value (quantity x unit price) over [start, end): class A
    while the cumulative value (the product included) stays within ``a_share``, B within
    ``b_share``, C the rest; the best seller is always A."""
    locations = _own_locations(engine, viewer)
    with read_transaction(engine) as conn:
        rows = conn.execute(
            select(
                InventoryDaily.gtin, *split_sum(InventoryDaily.quantity), ProductTerms.unit_price
            )
            .join(Location, Location.id == InventoryDaily.location_id)
            .outerjoin(ProductTerms, _own_terms(InventoryDaily.gtin))
            .where(
                InventoryDaily.location_id.in_(locations),
                InventoryDaily.kind.in_(("sell", "consume")),
                InventoryDaily.day >= start.isoformat(),
                InventoryDaily.day < end.isoformat(),
            )
            .group_by(InventoryDaily.gtin, ProductTerms.unit_price)
        ).all()
        names = _product_names(conn, {row[0] for row in rows})
    # Per product: a regulator's view sums each organisation's sales at its own price.
    by_gtin: dict[str, tuple[int, int]] = {}
    for g, high, low, price in rows:
        q = joined(high, low)
        money, qty = by_gtin.get(g, (0, 0))
        by_gtin[g] = (money + _money(q, price), qty + q)
    valued = sorted(((v, g, q) for g, (v, q) in by_gtin.items()), key=lambda r: (-r[0], r[1]))
    total = sum(v for v, _, _ in valued) or 1
    out: list[AbcLine] = []
    running = 0
    for value, g, qty in valued:
        running += value
        share = running / total
        # Inclusive cumulative share; the best seller is always A.
        cls = "A" if share <= a_share or not out else "B" if share <= b_share else "C"
        out.append(
            AbcLine(
                g,
                names.get(g, (g, ""))[0],
                format_micro(qty),
                format_micro(value),
                round(value / total, 4),
                round(running / total, 4),
                cls,
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class ShrinkLine:
    reason: str
    kind: str
    gtin: str
    product: str
    location_id: str
    quantity: str  # a loss is positive; a count that found stock is negative
    value: str


def shrinkage(engine: Engine, *, viewer: str | None, start: date, end: date) -> list[ShrinkLine]:
    """Waste (disposals) and shrinkage (count adjustments, net) by reason, product and
    location over [start, end), valued at unit cost; largest loss first."""
    locations = _own_locations(engine, viewer)
    d = InventoryDaily
    with read_transaction(engine) as conn:
        rows = conn.execute(
            select(
                d.reason,
                d.kind,
                d.gtin,
                d.location_id,
                *split_sum(d.quantity),
                ProductTerms.unit_cost,
            )
            .join(Location, Location.id == d.location_id)
            .outerjoin(ProductTerms, _own_terms(d.gtin))
            .where(
                d.location_id.in_(locations),
                d.kind.in_(("dispose", "adjust")),
                d.day >= start.isoformat(),
                d.day < end.isoformat(),
            )
            .group_by(d.reason, d.kind, d.gtin, d.location_id, ProductTerms.unit_cost)
        ).all()
        names = _product_names(conn, {row[2] for row in rows})
    out = []
    for reason, kind, g, loc, high, low, cost in rows:
        qty = joined(high, low)
        loss = qty if kind == "dispose" else -qty
        out.append(
            ShrinkLine(
                reason,
                kind,
                g,
                names.get(g, (g, ""))[0],
                loc,
                format_micro(loss),
                format_micro(_money(loss, cost)),
            )
        )
    out.sort(key=lambda s: (-float(s.value), -float(s.quantity), s.reason, s.gtin, s.location_id))
    return out


@dataclass
class Scorecard:
    supplier_location: str
    supplier_org: str
    orders: int = 0
    received_orders: int = 0
    on_time: int = 0
    in_full: int = 0
    on_time_in_full: int = 0
    ordered: int = 0
    received: int = 0
    damaged: int = 0
    out_of_temperature: int = 0
    short: int = 0
    over: int = 0
    promised_days: list[int] = field(default_factory=list)
    actual_days: list[int] = field(default_factory=list)
    holds: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        def mean(xs: list[int]) -> float | None:
            return round(sum(xs) / len(xs), 2) if xs else None

        received = self.received_orders
        return {
            "supplier_location": self.supplier_location,
            "supplier_org": self.supplier_org,
            "orders": self.orders,
            "received_orders": received,
            "on_time_in_full": round(self.on_time_in_full / received, 4) if received else None,
            "on_time": round(self.on_time / received, 4) if received else None,
            "in_full": round(self.in_full / received, 4) if received else None,
            "fill_rate": round(self.received / self.ordered, 4) if self.ordered else None,
            "promised_lead_time_days": mean(self.promised_days),
            "actual_lead_time_days": mean(self.actual_days),
            "discrepancies": {
                "short": format_micro(self.short),
                "over": format_micro(self.over),
                "damaged": format_micro(self.damaged),
                "out_of_temperature": format_micro(self.out_of_temperature),
            },
            "holds": dict(sorted(self.holds.items())),
        }


def supplier_scorecards(engine: Engine, *, viewer: str | None) -> list[dict[str, Any]]:
    """Per supplier location, over the orders the viewer can see: on time in full (received
    by the promised date, every line received in full), fill rate (received over ordered,
    on received orders), promised against actual lead time, discrepancies, and the holds
    (by kind, recalls included) ever placed on lots the supplier's organisation registered."""
    cards: dict[str, Scorecard] = {}
    with read_transaction(engine) as conn:
        rows = conn.execute(
            select(
                Order.order_id,
                Order.supplier_location,
                OrderProgress.supplier_org,
                Order.promised_date,
                OrderProgress.placed_day,
                OrderProgress.received_day,
                Order.status,
            )
            .join(OrderProgress, OrderProgress.order_id == Order.order_id)
            .where(visible_to(viewer), Order.status != "cancelled")
        ).all()
        order_ids = [r[0] for r in rows]
        lines: dict[str, list[tuple[int, int, int, int]]] = defaultdict(list)
        for start in range(0, len(order_ids), 400):
            for oid, ordered, received, damaged, warm in conn.execute(
                select(
                    OrderLineRecord.order_id,
                    OrderLineRecord.ordered,
                    OrderLineRecord.received,
                    OrderLineRecord.damaged,
                    OrderLineRecord.out_of_temperature,
                ).where(OrderLineRecord.order_id.in_(order_ids[start : start + 400]))
            ):
                lines[oid].append((ordered, received, damaged, warm))
        orgs = sorted({r[2] for r in rows})
        holds = conn.execute(
            select(Lot.org_id, HoldRecord.kind, func.count())
            .join(Lot, Lot.id == HoldRecord.lot_id)
            .where(or_(*(Lot.org_id == o for o in orgs)) if orgs else Lot.org_id.is_(None))
            .group_by(Lot.org_id, HoldRecord.kind)
        ).all()
    for oid, supplier, org, promised, placed, received_day, _status in rows:
        card = cards.setdefault(supplier, Scorecard(supplier, org))
        card.orders += 1
        if promised and placed:
            card.promised_days.append(
                (date.fromisoformat(promised) - date.fromisoformat(placed)).days
            )
        if received_day is None:
            continue
        card.received_orders += 1
        if placed:
            card.actual_days.append(
                (date.fromisoformat(received_day) - date.fromisoformat(placed)).days
            )
        on_time = promised is None or received_day <= promised
        in_full = all(received >= ordered for ordered, received, _, _ in lines[oid])
        card.on_time += on_time
        card.in_full += in_full
        card.on_time_in_full += on_time and in_full
        for ordered, received, damaged, warm in lines[oid]:
            arrived = received + damaged + warm
            card.ordered += ordered
            card.received += received
            card.damaged += damaged
            card.out_of_temperature += warm
            card.short += max(0, ordered - arrived)
            card.over += max(0, arrived - ordered)
    by_org: dict[str, dict[str, int]] = defaultdict(dict)
    for org, kind, count in holds:
        by_org[org][kind] = int(count)
    for card in cards.values():
        card.holds = by_org.get(card.supplier_org, {})
    return [cards[k].as_dict() for k in sorted(cards)]
