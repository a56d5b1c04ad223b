"""Replenishment suggestions per (location, product), computed for all series at once.

For every product a location sells or holds:

1. forecast daily demand from the sales history (``ledger.inventory.forecast``: weekly seasonal
   smoothing, or Croston-SBA for intermittent sellers);
2. lead time L: the supplier's *actual* mean lead time (placed to received) over its
   received orders, else the product's quoted lead time; review period R (1 day);
3. safety stock SS = z(service level) x sigma x sqrt(L + R), sigma being the spread of the
   forecast's one-step errors;
4. reorder point = demand over L + SS; order-up-to level = demand over L + R + SS;
5. position = sellable stock (approved, not leaving the shelf before the delivery) + in
   transit + on order (open orders not yet shipped);
6. when position <= reorder point: order-up-to - position, raised to the minimum order
   quantity, rounded up to whole case packs.

Every suggestion carries the numbers it came from. An open order counts in the position, so
a need that an order already covers is never suggested twice. ``accept`` turns suggestions
into purchase orders (one per supplier) in one call.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from statistics import NormalDist
from typing import Annotated, Any

import numpy as np
import numpy.typing as npt
from pydantic import Field
from sqlalchemy import Connection, Engine, bindparam, select

from ledger.errors import EventValidationError, Problem, RuleViolation
from ledger.inventory.forecast import Forecast, demand_within, forecast
from ledger.inventory.orders import OPEN_STATUSES, OrderView, place_order
from ledger.inventory.stock import check_location, removal_date, stock_select, today_utc
from ledger.log.service import Ledger
from ledger.projections.projector import APPROVED
from ledger.quantity import SCALE, format_micro
from ledger.storage.db import read_transaction
from ledger.storage.schema import (
    InventoryDaily,
    Location,
    Lot,
    LotStatusRecord,
    Order,
    OrderLineRecord,
    OrderLot,
    OrderProgress,
    Organisation,
    Product,
    ProductSupplier,
    ProductTerms,
    Shipment,
    Stock,
)

REVIEW_DAYS = 1
DEFAULT_LEAD_DAYS = 2
#: Fewer observed windows than this (a short history against a long lead time): an
#: intermittent series keeps the forecast's levels, still capped at the observed maximum.
MIN_WINDOWS = 14
HISTORY_DAYS = 56
_CHUNK = 400


@dataclass(frozen=True, slots=True)
class Suggestion:
    location_id: str
    gtin: str
    product: str
    unit: str
    supplier_location: str | None
    quantity: Annotated[  # "0" when nothing needs ordering
        str, Field(description="rounded to the case pack, at least the minimum order")
    ]
    explain: Annotated[
        dict[str, Any],
        Field(
            description="forecast method and numbers, lead time (actual or quoted), safety "
            "stock, reorder point, order-up-to level, sellable/held/expiring stock, in transit, "
            "on order; `explanation` says in words how the quantity came about"
        ),
    ]
    supplier: Annotated[
        dict[str, Any] | None,
        Field(
            description="who supplies it: location, location_name, org_id, org_name and "
            "source (preferred supplier, product terms, or the product's registering "
            "organisation when no terms name one: shown, not ordered from)"
        ),
    ] = None


@dataclass
class _Terms:
    case_pack: float = 1.0
    min_order: float = 0.0
    unit_cost: int = 0
    removal_days: int | None = None
    supplier_location: str | None = None
    lead_time_days: int = DEFAULT_LEAD_DAYS
    #: Every supplier of the product, preferred first, with its quoted lead time: the
    #: ``product_suppliers`` rows, or else the terms' one supplier. The first is ordered from.
    suppliers: list[tuple[str, int]] = field(default_factory=list)

    @property
    def chosen(self) -> tuple[str | None, int]:
        return self.suppliers[0] if self.suppliers else (None, self.lead_time_days)


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


def _units(micro: int | None) -> float:
    return (micro or 0) / SCALE


def _round(x: float) -> str:
    return format_micro(round(x * SCALE))


def suggest(
    engine: Engine,
    locations: Sequence[str],
    *,
    viewer: str | None,
    today: date | None = None,
    service_level: float = 0.95,
    history_days: int = HISTORY_DAYS,
    only_needed: bool = True,
) -> list[Suggestion]:
    """Suggestions for every product of every location in ``locations``, by the ordering
    terms of the organisation that owns each location."""
    if not 0.5 <= service_level < 1:
        raise EventValidationError(
            [Problem(0, "service_level", "a service level is between 0.5 and 1 (excluded)")]
        )
    if not 14 <= history_days <= 730:
        raise EventValidationError(
            [Problem(0, "history_days", "history is between 14 and 730 days")]
        )
    day0 = today or today_utc()
    start = (day0 - timedelta(days=history_days)).isoformat()
    with read_transaction(engine) as conn:
        owners = {loc: check_location(conn, loc, viewer) for loc in locations}
    if len(set(owners.values())) > 1:  # a regulator's look at several organisations
        return _per_organisation(
            engine, owners, today=day0, service_level=service_level,
            history_days=history_days, only_needed=only_needed,
        )  # fmt: skip
    org = next(iter(owners.values()), "")
    with read_transaction(engine) as conn:
        sales = _sales(conn, locations, start, day0.isoformat())
        stock = _stock(conn, locations)
        moving = _in_transit(conn, locations)
        on_order = _on_order(conn, locations)
        pairs = sorted(
            {(loc, g) for loc, g, _ in sales}
            | {(loc, g) for loc, g, *_ in stock}
            | set(moving)
            | set(on_order)
        )
        gtins = sorted({g for _, g in pairs})
        terms, products = _terms(conn, org, gtins)
        lead = _actual_lead_times(conn, {s for t in terms.values() for s, _ in t.suppliers}, gtins)
        suppliers = _supplier_names(conn, terms, gtins)
    if not pairs:
        return []
    index = {p: i for i, p in enumerate(pairs)}
    n = len(pairs)
    history = np.zeros((n, history_days))
    first = date.fromisoformat(start)
    column = {(first + timedelta(days=k)).isoformat(): k for k in range(history_days)}
    for loc, g, rows in sales:
        i = index[(loc, g)]
        for d, qty in rows:
            history[i, column[d]] += qty / SCALE
    fc = forecast(history)

    lead_days, lead_source = _lead_times(pairs, terms, lead)
    lead_whole = np.ceil(lead_days).astype(int)
    over_lead = demand_within(fc, lead_whole)
    over_cover = demand_within(fc, lead_whole + REVIEW_DAYS)
    z = NormalDist().inv_cdf(service_level)
    safety = z * fc.sigma * np.sqrt(lead_days + REVIEW_DAYS)
    reorder_point = over_lead + safety
    order_up_to = over_cover + safety

    levels = _intermittent_levels(
        history, fc, lead_whole, service_level, (reorder_point, order_up_to, safety, over_cover)
    )
    reorder_point, order_up_to, safety, windows, usable, capped = levels

    sellable, held, expiring = _classify_stock(stock, index, lead_whole, day0)
    transit = np.array([moving.get(p, 0) / SCALE for p in pairs])
    ordered = np.array([on_order.get(p, 0) / SCALE for p in pairs])
    position = sellable + transit + ordered
    raw = np.where(position <= reorder_point, np.maximum(order_up_to - position, 0.0), 0.0)

    numbers = {
        "lead_days": lead_days,
        "over_lead": over_lead,
        "over_cover": over_cover,
        "safety": safety,
        "reorder_point": reorder_point,
        "order_up_to": order_up_to,
        "sellable": sellable,
        "held": held,
        "expiring": expiring,
        "transit": transit,
        "ordered": ordered,
        "position": position,
        "raw": raw,
        "windows": windows,
        "usable": usable,
        "capped": capped,
    }
    context = (history_days, service_level, z, lead_source)
    found = _suggestions(pairs, terms, products, fc, numbers, context, only_needed=only_needed)
    return [replace(s, supplier=suppliers.get(s.gtin)) for s in found]


def _per_organisation(engine: Engine, owners: dict[str, str], **options: Any) -> list[Suggestion]:
    """``suggest`` for locations of several organisations: each by its own terms."""
    by_org: dict[str, list[str]] = defaultdict(list)
    for loc, org in owners.items():
        by_org[org].append(loc)
    found: list[Suggestion] = []
    for org, own in sorted(by_org.items()):
        found += suggest(engine, own, viewer=org, **options)
    return sorted(found, key=lambda s: (s.location_id, s.gtin))


def _suggestions(
    pairs: Sequence[tuple[str, str]],
    terms: dict[str, _Terms],
    products: dict[str, tuple[str, str]],
    fc: Forecast,
    v: dict[str, Any],
    context: tuple[int, float, float, list[str]],
    *,
    only_needed: bool,
) -> list[Suggestion]:
    history_days, service_level, z, lead_source = context
    out: list[Suggestion] = []
    for i, (loc, g) in enumerate(pairs):
        t = terms.get(g, _Terms())
        qty = float(v["raw"][i])
        if qty > 0:
            qty = max(qty, t.min_order)
            qty = math.ceil(qty / t.case_pack - 1e-9) * t.case_pack
        if only_needed and qty <= 0:
            continue
        description, unit = products.get(g, (g, "each"))
        if fc.method[i] == "intermittent":
            words = _intermittent_explanation(i, v, fc, service_level)
        else:
            words = {
                "explanation": "Regular demand: weekly seasonal exponential smoothing; "
                f"safety stock z ({round(z, 3)}) x the forecast errors' spread x "
                "sqrt(lead time + review)."
            }
        if qty > 0 and qty > float(v["raw"][i]) + 1e-9:
            minimum = (
                f"the minimum order ({t.min_order:g}), then " if v["raw"][i] < t.min_order else ""
            )
            words["explanation"] += (
                f" {round(float(v['raw'][i]), 3)} needed, raised to {minimum}whole case packs "
                f"of {t.case_pack:g}."
            )
        out.append(
            Suggestion(
                loc,
                g,
                description,
                unit,
                t.chosen[0],
                _round(qty),
                {
                    "method": str(fc.method[i]),
                    "history_days": history_days,
                    "mean_daily_demand": round(float(fc.mean[i]), 3),
                    "forecast_next_7_days": [round(float(x), 3) for x in fc.daily[i]],
                    "forecast_error_sigma_daily": round(float(fc.sigma[i]), 3),
                    "lead_time_days": round(float(v["lead_days"][i]), 2),
                    "lead_time_source": lead_source[i],
                    "supplier_location": t.chosen[0],
                    "suppliers": [
                        {"supplier_location": s, "quoted_lead_time_days": d} for s, d in t.suppliers
                    ],
                    "review_days": REVIEW_DAYS,
                    "service_level": service_level,
                    "z": round(z, 3),
                    "demand_over_lead_time": round(float(v["over_lead"][i]), 3),
                    "demand_over_lead_time_and_review": round(float(v["over_cover"][i]), 3),
                    "safety_stock": round(float(v["safety"][i]), 3),
                    "reorder_point": round(float(v["reorder_point"][i]), 3),
                    "order_up_to": round(float(v["order_up_to"][i]), 3),
                    "on_hand_sellable": round(float(v["sellable"][i]), 3),
                    "on_hand_held": round(float(v["held"][i]), 3),
                    "expiring_before_delivery": round(float(v["expiring"][i]), 3),
                    "in_transit": round(float(v["transit"][i]), 3),
                    "on_order": round(float(v["ordered"][i]), 3),
                    "position": round(float(v["position"][i]), 3),
                    "raw_quantity": round(float(v["raw"][i]), 3),
                    "case_pack": t.case_pack,
                    "min_order": t.min_order,
                    "unit_cost": format_micro(t.unit_cost),
                    **words,
                },
            )
        )
    return out


def _intermittent_levels(
    history: npt.NDArray[np.float64],
    fc: Forecast,
    lead_whole: npt.NDArray[np.int_],
    service_level: float,
    normal: tuple[npt.NDArray[np.float64], ...],
) -> tuple[Any, ...]:
    """Intermittent demand: stock levels from the demand actually observed over windows as
    long as the lead time (reorder point) and as lead time plus review (order-up-to), not
    from a normal spread of lumpy daily errors; capped at the most ever sold in one window.
    Regular series keep their ``normal`` levels (reorder point, order-up-to, safety)."""
    reorder_point, order_up_to, safety, over_cover = normal
    slow = fc.method == "intermittent"
    windows = _demand_windows(history, slow, lead_whole, service_level)
    usable = slow & (windows["count"] >= MIN_WINDOWS)
    reorder_point = np.where(usable, windows["lead_q"], reorder_point)
    order_up_to = np.where(usable, np.maximum(windows["cover_q"], windows["lead_q"]), order_up_to)
    capped = slow & (order_up_to > windows["cover_max"])
    order_up_to = np.where(slow, np.minimum(order_up_to, windows["cover_max"]), order_up_to)
    reorder_point = np.where(slow, np.minimum(reorder_point, order_up_to), reorder_point)
    safety = np.where(slow, np.maximum(order_up_to - over_cover, 0.0), safety)
    return reorder_point, order_up_to, safety, windows, usable, capped


def _demand_windows(
    history: npt.NDArray[np.float64],
    slow: npt.NDArray[np.bool_],
    lead_whole: npt.NDArray[np.int_],
    service_level: float,
) -> dict[str, npt.NDArray[Any]]:
    """For each intermittent series, over the days since its first sale: the demand totals
    of every window of L days (the lead time) and of L + R days (lead time and review);
    their ``service_level`` quantiles (an observed total, not an interpolation), the
    largest L + R total, the share of L + R windows without any demand (zero inflation),
    and how many windows there were. The largest total is the cap: without a window, the
    whole demand observed."""
    n = history.shape[0]
    out: dict[str, npt.NDArray[Any]] = {
        "lead_q": np.zeros(n),
        "cover_q": np.zeros(n),
        "cover_max": np.full(n, np.inf),
        "zero_share": np.zeros(n),
        "count": np.zeros(n, dtype=int),
        "days": np.zeros(n, dtype=int),
    }
    for i in np.flatnonzero(slow):
        y = history[i]
        sold = np.flatnonzero(y > 0)
        if sold.size == 0:
            out["cover_max"][i] = 0.0
            continue
        y = y[sold[0] :]
        lead, cover = max(int(lead_whole[i]), 1), int(lead_whole[i]) + REVIEW_DAYS
        out["days"][i] = y.size
        if y.size < cover:
            out["cover_max"][i] = float(y.sum())
            continue
        sums = np.convolve(y, np.ones(cover), "valid")
        lead_sums = np.convolve(y, np.ones(lead), "valid")
        out["cover_q"][i] = np.quantile(sums, service_level, method="inverted_cdf")
        out["lead_q"][i] = np.quantile(lead_sums, service_level, method="inverted_cdf")
        out["cover_max"][i] = float(sums.max())
        out["zero_share"][i] = float((sums == 0).mean())
        out["count"][i] = sums.size
    return out


def _intermittent_explanation(
    i: int, v: dict[str, Any], fc: Forecast, service_level: float
) -> dict[str, Any]:
    w = v["windows"]
    lead = max(int(np.ceil(v["lead_days"][i])), 1)
    cover = int(np.ceil(v["lead_days"][i])) + REVIEW_DAYS
    days, count = int(w["days"][i]), int(w["count"][i])
    pct = round(service_level * 100)
    if v["usable"][i]:
        text = (
            f"Intermittent demand: over the {days} days since its first sale, the "
            f"{count} windows of {cover} days (lead time and review) held no demand "
            f"{round(float(w['zero_share'][i]) * 100)}% of the time. The order-up-to level "
            f"covers the demand of {pct}% of those windows ({round(float(w['cover_q'][i]), 3)})"
            f" and the reorder point {pct}% of the {lead}-day windows "
            f"({round(float(w['lead_q'][i]), 3)}), instead of a normal spread of lumpy daily "
            "errors; Croston-SBA gives the daily rate."
        )
    else:
        text = (
            f"Intermittent demand with {days} days of history since its first sale, too few "
            f"for {cover}-day windows: Croston-SBA rate and its error spread."
        )
    if v["capped"][i]:
        text += (
            f" Capped at the most ever sold in {cover} days ({round(float(w['cover_max'][i]), 3)})."
        )
    return {
        "explanation": text,
        "intermittent": {
            "days_since_first_sale": days,
            "window_days": cover,
            "windows": count,
            "zero_demand_share": round(float(w["zero_share"][i]), 4),
            "demand_quantile_over_window": round(float(w["cover_q"][i]), 3),
            "demand_quantile_over_lead_time": round(float(w["lead_q"][i]), 3),
            "max_demand_over_window": (
                None if np.isinf(w["cover_max"][i]) else round(float(w["cover_max"][i]), 3)
            ),
            "croston_sba_daily_rate": round(float(fc.daily[i].mean()), 3),
            "capped": bool(v["capped"][i]),
        },
    }


def _lead_times(
    pairs: Sequence[tuple[str, str]],
    terms: dict[str, _Terms],
    lead: dict[tuple[str, str], tuple[float, int]],
) -> tuple[npt.NDArray[np.float64], list[str]]:
    """Lead time of each pair's chosen supplier for its product: the actual mean over the
    received orders of this product from it; else over all its received orders; else the
    lead time quoted for this (product, supplier)."""
    lead_days = np.zeros(len(pairs))
    source: list[str] = []
    for i, (_, g) in enumerate(pairs):
        supplier, quoted = terms.get(g, _Terms()).chosen
        of_product = lead.get((supplier or "", g))
        of_supplier = lead.get((supplier or "", ""))
        if of_product is not None:
            lead_days[i] = of_product[0]
            source.append(f"actual mean of {of_product[1]} received orders of this product")
        elif of_supplier is not None:
            lead_days[i] = of_supplier[0]
            source.append(
                f"actual mean of {of_supplier[1]} received orders from this supplier "
                "(none of this product yet)"
            )
        else:
            lead_days[i] = float(quoted)
            source.append("quoted (no received orders yet)")
    return lead_days, source


def _classify_stock(
    stock: list[tuple[Any, ...]],
    index: dict[tuple[str, str], int],
    lead_whole: npt.NDArray[np.int_],
    day0: date,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """On hand split into sellable at delivery, held (not approved), and leaving the shelf
    before the delivery."""
    n = len(index)
    sellable, held, expiring = np.zeros(n), np.zeros(n), np.zeros(n)
    deliveries: dict[int, str] = {}
    for loc, g, on_hand, expiry, status, removal_days in stock:
        i = index[(loc, g)]
        qty = on_hand / SCALE
        k = int(lead_whole[i])
        if k not in deliveries:
            deliveries[k] = (day0 + timedelta(days=k)).isoformat()
        removal = removal_date(expiry, removal_days)
        if (status or APPROVED) != APPROVED:
            held[i] += qty
        elif removal is not None and removal < deliveries[k]:
            expiring[i] += qty
        else:
            sellable[i] += qty
    return sellable, held, expiring


# The reads of a suggestion, built once (``chunk``: up to _CHUNK keys a statement):
# building and keying SQLAlchemy statements cost about as much as running them.
def _keys() -> Any:
    return bindparam("chunk", expanding=True)


_SALES = select(
    InventoryDaily.location_id, InventoryDaily.gtin, InventoryDaily.day, InventoryDaily.quantity
).where(
    InventoryDaily.location_id.in_(_keys()),
    InventoryDaily.kind.in_(("sell", "consume")),
    InventoryDaily.day >= bindparam("start"),
    InventoryDaily.day < bindparam("end"),
)
_STOCK = stock_select(
    Stock.location_id,
    Lot.gtin,
    Stock.on_hand,
    Lot.expiry,
    LotStatusRecord.status,
    ProductTerms.removal_days,
).where(Stock.location_id.in_(_keys()), Stock.on_hand > 0)
_IN_TRANSIT = (
    select(Shipment.to_location, Lot.gtin, Shipment.quantity, Shipment.received, Order.status)
    .join(Lot, Lot.id == Shipment.lot_id)
    .outerjoin(OrderLot, OrderLot.seq == Shipment.seq)
    .outerjoin(Order, Order.order_id == OrderLot.order_id)
    .where(Shipment.to_location.in_(_keys()), Shipment.received < Shipment.quantity)
)
_ON_ORDER = (
    select(
        Order.buyer_location,
        OrderLineRecord.gtin,
        OrderLineRecord.ordered,
        OrderLineRecord.shipped,
    )
    .join(OrderLineRecord, OrderLineRecord.order_id == Order.order_id)
    .where(Order.buyer_location.in_(_keys()), Order.status.in_(OPEN_STATUSES))
)
_TERMS = select(
    ProductTerms.gtin,
    ProductTerms.case_pack,
    ProductTerms.min_order,
    ProductTerms.unit_cost,
    ProductTerms.removal_days,
    ProductTerms.supplier_location,
    ProductTerms.lead_time_days,
).where(ProductTerms.org_id == bindparam("org"), ProductTerms.gtin.in_(_keys()))
_SUPPLIERS = (
    select(
        ProductSupplier.gtin,
        ProductSupplier.supplier_location,
        ProductSupplier.lead_time_days,
    )
    .where(ProductSupplier.org_id == bindparam("org"), ProductSupplier.gtin.in_(_keys()))
    .order_by(ProductSupplier.gtin, ProductSupplier.rank)
)
_PRODUCTS = select(Product.gtin, Product.description, Product.unit).where(Product.gtin.in_(_keys()))
_RECEIVED_ORDERS = (
    select(
        Order.order_id,
        Order.supplier_location,
        OrderProgress.placed_day,
        OrderProgress.received_day,
        OrderLineRecord.gtin,
    )
    .join(OrderProgress, OrderProgress.order_id == Order.order_id)
    .join(OrderLineRecord, OrderLineRecord.order_id == Order.order_id)
    .where(
        Order.supplier_location.in_(_keys()),
        OrderProgress.received_day.is_not(None),
        OrderProgress.placed_day != "",
    )
)


def _sales(
    conn: Connection, locations: Sequence[str], start: str, end: str
) -> list[tuple[str, str, list[tuple[str, int]]]]:
    grouped: dict[tuple[str, str], list[tuple[str, int]]] = defaultdict(list)
    for chunk in _chunks(sorted(locations)):
        rows = conn.execute(_SALES, {"chunk": chunk, "start": start, "end": end})
        for loc, g, day, qty in rows:
            grouped[(loc, g)].append((day, qty))
    return [(loc, g, rows) for (loc, g), rows in grouped.items()]


def _stock(conn: Connection, locations: Sequence[str]) -> list[tuple[Any, ...]]:
    found: list[tuple[Any, ...]] = []
    for chunk in _chunks(sorted(locations)):
        found += conn.execute(_STOCK, {"chunk": chunk}).all()
    return found


def _in_transit(conn: Connection, locations: Sequence[str]) -> dict[tuple[str, str], int]:
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for chunk in _chunks(sorted(locations)):
        for loc, g, qty, received, status in conn.execute(_IN_TRANSIT, {"chunk": chunk}):
            if status not in ("closed", "cancelled", "fulfilled"):
                totals[(loc, g)] += qty - received
    return totals


def _on_order(conn: Connection, locations: Sequence[str]) -> dict[tuple[str, str], int]:
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for chunk in _chunks(sorted(locations)):
        for loc, g, qty, shipped in conn.execute(_ON_ORDER, {"chunk": chunk}):
            totals[(loc, g)] += max(0, qty - shipped)
    return totals


def _terms(
    conn: Connection, org: str, gtins: Sequence[str]
) -> tuple[dict[str, _Terms], dict[str, tuple[str, str]]]:
    """``org``'s terms and suppliers of each product, and each product's name and unit."""
    terms: dict[str, _Terms] = {}
    products: dict[str, tuple[str, str]] = {}
    for chunk in _chunks(gtins):
        for row in conn.execute(_TERMS, {"chunk": chunk, "org": org}):
            terms[row[0]] = _Terms(
                _units(row[1]) or 1.0, _units(row[2]), row[3], row[4], row[5], row[6]
            )
        several: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for g, supplier, days in conn.execute(_SUPPLIERS, {"chunk": chunk, "org": org}):
            several[g].append((supplier, days))
        for g in chunk:
            t = terms.get(g)
            if g in several:
                terms.setdefault(g, _Terms()).suppliers = several[g]
            elif t is not None and t.supplier_location is not None:
                t.suppliers = [(t.supplier_location, t.lead_time_days)]
        for g, description, unit in conn.execute(_PRODUCTS, {"chunk": chunk}):
            products[g] = (description, unit)
    return terms, products


def _supplier_names(
    conn: Connection, terms: dict[str, _Terms], gtins: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Who supplies each product, by name: the supplier its terms order from (the preferred
    one of several), else the organisation that registered the product (master data), at
    the location its latest lot came from. The second is named, not ordered from: a
    suggestion is only turned into an order from a supplier the terms name."""
    chosen: dict[str, tuple[str, str]] = {}
    for g in gtins:
        t = terms.get(g)
        if t is not None and t.suppliers:
            several = len(t.suppliers) > 1 or t.supplier_location != t.suppliers[0][0]
            chosen[g] = (t.suppliers[0][0], "preferred supplier" if several else "product terms")
    missing = [g for g in gtins if g not in chosen]
    for chunk in _chunks(missing):
        owners = dict(
            conn.execute(select(Product.gtin, Product.org_id).where(Product.gtin.in_(chunk))).all()
        )
        latest: dict[str, str] = {}
        for g, org, origin in conn.execute(
            select(Lot.gtin, Lot.org_id, Lot.origin_location)
            .where(Lot.gtin.in_(chunk))
            .order_by(Lot.registered_seq)
        ):
            if owners.get(g) in (None, org):
                latest[g] = origin
        for g, org in owners.items():
            place = latest.get(g)
            if place is None:
                place = conn.execute(
                    select(Location.id).where(Location.org_id == org).order_by(Location.id)
                ).scalar()
            chosen[g] = (place or "", f"registering organisation:{org}")
    places = sorted({loc for loc, _ in chosen.values() if loc})
    found: dict[str, tuple[str | None, str | None, str | None]] = {}
    for chunk in _chunks(places):
        for loc, name, org, org_name in conn.execute(
            select(Location.id, Location.name, Location.org_id, Organisation.name)
            .join(Organisation, Organisation.id == Location.org_id)
            .where(Location.id.in_(chunk))
        ):
            found[loc] = (name, org, org_name)
    orgs = dict(conn.execute(select(Organisation.id, Organisation.name)).all()) if missing else {}
    out: dict[str, dict[str, Any]] = {}
    for g, (loc, how) in chosen.items():
        place_name, owner, owner_name = found.get(loc) or (None, None, None)
        source = how
        if how.startswith("registering organisation:"):
            owner = owner or how.split(":", 1)[1]
            owner_name = owner_name or orgs.get(owner)
            source = "the product's registering organisation (no ordering terms name a supplier)"
        out[g] = {
            "location": loc or None,
            "location_name": place_name,
            "org_id": owner,
            "org_name": owner_name,
            "source": source,
        }
    return out


def _actual_lead_times(
    conn: Connection, suppliers: Iterable[str | None], gtins: Sequence[str]
) -> dict[tuple[str, str], tuple[float, int]]:
    """Mean days from placing to receiving over received orders, with their count: per
    (supplier location, product) for the products asked about, and per supplier location
    over all its orders (keyed (supplier, ""))."""
    wanted = sorted(s for s in suppliers if s)
    products = set(gtins)
    found: dict[tuple[str, str], list[int]] = defaultdict(list)
    for chunk in _chunks(wanted):
        rows = conn.execute(_RECEIVED_ORDERS, {"chunk": chunk})
        counted: set[str] = set()
        for order_id, supplier, placed, received, gtin in rows:
            if received is None:
                continue
            days = max((date.fromisoformat(received) - date.fromisoformat(placed)).days, 0)
            if gtin in products:
                found[(supplier, gtin)].append(days)
            if order_id not in counted:  # an order counts once for its supplier
                counted.add(order_id)
                found[(supplier, "")].append(days)
    return {k: (sum(v) / len(v), len(v)) for k, v in found.items() if v}


def accept(
    ledger: Ledger,
    location: str,
    *,
    actor: str,
    gtins: Sequence[str] | None = None,
    today: date | None = None,
    when: datetime | None = None,
    service_level: float = 0.95,
) -> list[OrderView]:
    """Turn the location's current suggestions (all, or those for ``gtins``) into purchase
    orders, one per supplier, priced at the prices the ledger knows. Without ``gtins``,
    products with no supplier in their terms are left out (they cannot be ordered)."""
    found = suggest(
        ledger.engine, [location], viewer=actor, today=today, service_level=service_level
    )
    wanted = None if gtins is None else set(gtins)
    chosen = [s for s in found if wanted is None or s.gtin in wanted]
    by_supplier: dict[str, list[Suggestion]] = defaultdict(list)
    for s in chosen:
        if s.supplier_location is not None:
            by_supplier[s.supplier_location].append(s)
        elif wanted is not None:  # asked for by name: say why it cannot be ordered
            raise RuleViolation(
                0, f"product {s.gtin} has no supplier in its ordering terms", "gtins"
            )
    placed = []
    for supplier, items in sorted(by_supplier.items()):
        placed.append(
            place_order(
                ledger,
                actor=actor,
                buyer_location=location,
                supplier_location=supplier,
                # No unit_price: the ledger prices each line at the one it knows (the
                # buyer's agreed unit cost, else the supplier's catalogue price).
                lines=[{"gtin": s.gtin, "quantity": s.quantity, "unit": s.unit} for s in items],
                when=when,
            )
        )
    return placed
