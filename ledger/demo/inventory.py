"""Weeks of store sales and purchase orders for the demo, so that stock, suggestions and
reports are meaningful out of the box.

Corner Grocer's three stores sell a range of grocery lines every day (a weekly pattern:
Friday and Saturday busy, Sunday quiet; two slow lines sell now and then). Twice a week
each store orders from the distribution centre, which confirms, ships first expired first
out and delivers the next day; once a week the distribution centre orders from FreshCut,
which produces fresh lots and ships them. Some deliveries arrive damaged or warm; expired
stock is disposed of; a weekly count finds a little theft. The third store placed no
orders in the last week, so it has suggestions waiting. Everything is appended through
the ledger like any other history, and every order goes through the order events.

Call ``load_inventory_demo(ledger, today=...)`` after ``ledger.demo.data.load_demo``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from ledger.errors import LedgerError
from ledger.ids import new_event_id
from ledger.inventory import orders
from ledger.inventory.stock import location_stock
from ledger.log.service import Ledger
from ledger.masterdata import catalogue, terms
from ledger.masterdata import registry as masterdata
from verifier.gs1 import check_digit

SUPPLIER_ORG, SUPPLIER = "freshcut", "fc-plant"
RETAIL_ORG, DC = "cornergrocer", "cg-dc"
STORES = ("cg-store-1", "cg-store-2", "cg-store-3")
INVENTORY_WEEKS = 6
WEEKLY = (0.9, 0.85, 0.95, 1.0, 1.35, 1.6, 0.6)  # Monday .. Sunday


@dataclass(frozen=True, slots=True)
class Line:
    code: str
    description: str
    daily: float  # mean daily units per store
    shelf_life: int
    case: int
    cost: str
    price: str
    intermittent: bool = False

    @property
    def gtin(self) -> str:
        body = f"0950600099{self.code}"
        return body + str(check_digit(body))


RANGE = (
    Line("001", "Whole milk 1 l", 24, 9, 12, "0.6", "1.1"),
    Line("002", "Greek yoghurt 500 g", 10, 14, 6, "1.2", "2.3"),
    Line("003", "Sourdough loaf", 14, 7, 8, "1.5", "3.2"),
    Line("004", "Free-range eggs x6", 12, 21, 12, "1.1", "2.4"),
    Line("005", "Orange juice 1 l", 8, 12, 6, "1.3", "2.6"),
    Line("006", "Chicken breast 500 g", 9, 6, 6, "3.1", "5.9"),
    Line("007", "Saffron 1 g", 0.3, 365, 4, "4.0", "8.5", intermittent=True),
    Line("008", "Truffle oil 250 ml", 0.4, 180, 6, "6.5", "12.0", intermittent=True),
)


@dataclass(frozen=True, slots=True)
class DemoClock:
    """The demo's times: a day and an hour of the story, as a real UTC time before ``now``.

    Days before today keep their hour. Today's hours are scaled into the part of today
    already gone (17:00 at 09:00 is 06:22), in order, so that a story ending today writes
    the same events at any hour and none in the future.
    """

    now: datetime

    @property
    def today(self) -> date:
        return self.now.astimezone(UTC).date()

    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        if day > self.today:
            raise ValueError(f"the demo's story does not go past today ({self.today})")
        midnight = datetime.combine(day, time(), tzinfo=UTC)
        offset = timedelta(hours=hour, minutes=minute)
        if day < self.today:
            return midnight + offset
        gone = max(self.now.astimezone(UTC) - midnight - timedelta(seconds=1), timedelta())
        return midnight + gone * (offset / timedelta(days=1))


def _event(etype: str, location: str, when: datetime, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": new_event_id(),
        "type": etype,
        "event_time": when.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "location": location,
        **fields,
    }


class _Run:
    def __init__(self, ledger: Ledger, seed: int, clock: DemoClock) -> None:
        self.ledger = ledger
        self.clock = clock
        self.runs = 0  # the supplier's production runs so far
        self.rng = random.Random(seed)  # noqa: S311 - a reproducible story, not secrets
        self.pending: list[tuple[date, str, str]] = []  # (due day, step, order id)
        self.serial = 0
        self.quiet_from = date.max

    def append(self, events: list[dict[str, Any]], actor: str, when: datetime) -> None:
        if events:
            self.ledger.append(events, actor=actor, now=when)

    def order_id(self, prefix: str, day: date) -> str:
        self.serial += 1
        return f"{prefix}-{day:%y%m%d}-{self.serial:04d}"

    def at(self, day: date, hour: int) -> datetime:
        return self.clock.at(day, hour)

    # -- the supplier's production and the DC's weekly order ------------------------

    def dc_orders(self, day: date) -> None:
        when = self.at(day, 7)
        lines = [
            {"gtin": p.gtin, "quantity": str(_cases(p.daily * 7 * 3 * 1.3, p.case)), "unit": "each"}
            for p in RANGE
        ]
        oid = self.order_id("DC", day)
        orders.place_order(
            self.ledger, actor=RETAIL_ORG, buyer_location=DC, supplier_location=SUPPLIER,
            lines=lines, order_id=oid, when=when,
        )  # fmt: skip
        view = orders.get_order(self.ledger.engine, oid, viewer=None)
        if view.status == "awaiting_approval":
            orders.approve_order(self.ledger, oid, actor=RETAIL_ORG, note="weekly", when=when)
        promised = day + timedelta(days=2)
        orders.confirm_order(
            self.ledger, oid, actor=SUPPLIER_ORG, promised_date=promised, when=self.at(day, 9)
        )
        # The supplier produces fresh lots the day after, and ships them.
        made = day + timedelta(days=1)
        self.runs += 1
        self.append(
            [
                _event(
                    "register", SUPPLIER, self.at(made, 5),
                    lot={"gtin": p.gtin, "lot": f"{p.code}R{self.runs:02d}"},
                    quantity=str(_cases(p.daily * 7 * 3 * 1.5, p.case)), unit="each",
                    product=p.description, kind="produce",
                )
                for p in RANGE
            ],
            SUPPLIER_ORG,
            self.at(made, 5),
        )  # fmt: skip
        late = self.rng.random() < 0.3  # some weeks the delivery is a day late
        self.pending.append((made, "ship", oid))
        self.pending.append((promised + timedelta(days=int(late)), "receive", oid))

    # -- stores ------------------------------------------------------------------

    def store_orders(self, day: date) -> None:
        for store in STORES:
            if store == STORES[-1] and day >= self.quiet_from:
                continue  # the third store's manager is away: its suggestions await
            on_hand: dict[str, float] = {}
            for item in location_stock(self.ledger.engine, store, viewer=None, today=day):
                if item.pickable:
                    on_hand[item.gtin] = on_hand.get(item.gtin, 0) + float(item.on_hand)
            lines = []
            for p in RANGE:
                want = p.daily * 4.5 - on_hand.get(p.gtin, 0)
                if want > 0:
                    lines.append(
                        {"gtin": p.gtin, "quantity": str(_cases(want, p.case)), "unit": "each"}
                    )
            if not lines:
                continue
            oid = self.order_id("ST", day)
            orders.place_order(
                self.ledger, actor=RETAIL_ORG, buyer_location=store, supplier_location=DC,
                lines=lines, order_id=oid, when=self.at(day, 8),
            )  # fmt: skip
            orders.confirm_order(
                self.ledger, oid, actor=RETAIL_ORG, promised_date=day + timedelta(days=1),
                when=self.at(day, 10),
            )  # fmt: skip
            self.pending.append((day, "ship", oid))
            self.pending.append((day + timedelta(days=1), "receive", oid))

    def sales(self, day: date, count: bool) -> None:
        factor = WEEKLY[day.weekday()]
        for store in STORES:
            if count:  # the weekly morning count finds a little theft
                self.theft(store, day)
            stock = _own(location_stock(self.ledger.engine, store, viewer=None, today=day))
            events = []
            by_gtin: dict[str, list[Any]] = {}
            for item in stock:  # soonest removal first
                if item.expiry is not None and item.expiry < day.isoformat():
                    ref = {"gtin": item.gtin, "lot": item.lot}
                    events.append(
                        _event("dispose", store, self.at(day, 7), lot=ref, quantity=item.on_hand,
                               unit=item.unit, reason="expired")
                    )  # fmt: skip
                elif item.status == "approved":
                    by_gtin.setdefault(item.gtin, []).append(item)
            for p in RANGE:
                if p.intermittent:
                    demand = self.rng.choice((0, 0, 0, 1, 2)) if self.rng.random() < 0.4 else 0
                else:
                    demand = max(0, round(self.rng.gauss(p.daily * factor, p.daily * 0.2)))
                for item in by_gtin.get(p.gtin, []):
                    if demand <= 0:
                        break
                    qty = min(demand, int(float(item.on_hand)))
                    if qty > 0:
                        ref = {"gtin": p.gtin, "lot": item.lot}
                        events.append(
                            _event("sell", store, self.at(day, 18), lot=ref, quantity=str(qty),
                                   unit="each")
                        )  # fmt: skip
                        demand -= qty
            self.append(events, RETAIL_ORG, self.at(day, 21))

    def theft(self, store: str, day: date) -> None:
        stock = _own(location_stock(self.ledger.engine, store, viewer=None, today=day))
        counted = [i for i in stock if float(i.on_hand) >= 2 and (i.expiry or "") >= str(day)]
        if counted:
            item = self.rng.choice(counted)
            ref = {"gtin": item.gtin, "lot": item.lot}
            when = self.at(day, 6)
            adjust = _event("adjust", store, when, lot=ref, variance="-1", unit="each",
                            reason="theft")  # fmt: skip
            self.append([adjust], RETAIL_ORG, when)

    # -- the steps due today -------------------------------------------------------

    def due(self, day: date) -> None:
        for step in [s for s in self.pending if s[0] == day]:
            self.pending.remove(step)
            _, what, oid = step
            try:
                if what == "ship":
                    actor = SUPPLIER_ORG if oid.startswith("DC") else RETAIL_ORG
                    orders.ship_order(
                        self.ledger, oid, actor=actor, when=self.at(day, 11), deliver_on=day,
                        partial=True,
                    )  # fmt: skip
                else:
                    self.receive(oid, day)
            except LedgerError:  # nothing at all to ship: the supplier cancels
                actor = SUPPLIER_ORG if oid.startswith("DC") else RETAIL_ORG
                orders.cancel_order(
                    self.ledger, oid, actor=actor, reason="out of stock", when=self.at(day, 12)
                )

    def receive(self, oid: str, day: date) -> None:
        view = orders.get_order(self.ledger.engine, oid, viewer=None)
        receipts = []
        for lot in view.lots:
            if lot.direction != "ship":
                continue
            receipt = {"gtin": lot.gtin, "lot": lot.lot, "quantity": lot.quantity, "unit": "each"}
            roll = self.rng.random()
            if roll < 0.05 and float(lot.quantity) >= 6:
                receipt["damaged"] = "2"
            elif roll < 0.08 and float(lot.quantity) >= 6:
                receipt["out_of_temperature"] = "3"
            receipts.append(receipt)
        if receipts:
            orders.receive_order(
                self.ledger, oid, actor=RETAIL_ORG, receipts=receipts, when=self.at(day, 14)
            )
            orders.close_order(self.ledger, oid, actor=RETAIL_ORG, when=self.at(day, 15))


def _cases(units: float, case: int) -> int:
    return max(case, -(-int(units + 0.999) // case) * case)


_GTINS = frozenset(p.gtin for p in RANGE)


def _own(stock: list[Any]) -> list[Any]:
    """The stock lines of this story's products (the stores also sell the salad chain's)."""
    return [item for item in stock if item.gtin in _GTINS]


def load_inventory_demo(
    ledger: Ledger,
    *,
    weeks: int = INVENTORY_WEEKS,
    seed: int = 77,
    today: datetime | None = None,
    before_day: Callable[[date], None] | None = None,
) -> int:
    """Products with ordering terms, then ``weeks`` of orders and sales ending today (see
    ``DemoClock``). ``before_day(day)`` runs first on each day, for another story to
    write its day. Returns the log size."""
    clock = DemoClock(today or datetime.now(UTC))
    end = clock.today
    for p in RANGE:
        masterdata.create_product(
            ledger.engine, p.gtin, org_id=SUPPLIER_ORG, description=p.description, unit="each",
            shelf_life_days=p.shelf_life,
        )  # fmt: skip
        # The supplier's list price; the retailer's own terms agree the same unit cost.
        catalogue.set_catalogue_price(ledger.engine, p.gtin, org_id=SUPPLIER_ORG, unit_price=p.cost)
        terms.set_terms(
            ledger.engine, RETAIL_ORG, p.gtin, case_pack=str(p.case), min_order=str(p.case),
            unit_cost=p.cost, unit_price=p.price, removal_days=1, supplier_location=DC,
            lead_time_days=1,
        )  # fmt: skip
    terms.set_approval_limit(ledger.engine, RETAIL_ORG, "2500")
    run = _Run(ledger, seed, clock)
    run.quiet_from = end - timedelta(days=6)
    first = end - timedelta(days=7 * weeks - 1)
    day = first
    while day <= end:
        if before_day is not None:
            before_day(day)
        # The week's rhythm counts back from today: the DC orders 6 days ago, 13 days ago...
        phase = (end - day).days % 7
        if phase == 6:
            run.dc_orders(day)
        run.due(day)
        if day >= first + timedelta(days=3):
            if phase in (6, 3):
                run.store_orders(day)
                run.due(day)
            run.sales(day, count=phase == 0)
        day += timedelta(days=1)
    return ledger.size()
