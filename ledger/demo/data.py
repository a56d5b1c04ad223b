"""A realistic demo supply chain, written through ``Ledger.append`` like any other history.

A farm (lettuce) and a packer (tomatoes) register lots every week and ship them to a
processor, which turns them into salad bowls; a retailer's distribution centre receives
the bowls and ships them to three stores, which receive them and sell them daily. A week
before the newest, the distribution centre's sensor reports a cold-chain excursion: that
salad lot is put on hold and part of it destroyed. Beside it runs the stores' grocery
range with its orders (``ledger.demo.inventory``).

Every date is counted back from ``today`` and the history ends today: the newest lettuce
was harvested three days ago and its salad bowls reached the stores this morning, so they
are on the shelves, days before their expiry. Lot codes do not depend on the date, so the
README can name them: the newest week's lots are ``L2311A`` (lettuce), ``T2311A``
(tomatoes) and ``S2311A`` (salad bowls), the week before's ``L2310A``, ``T2310A`` and
``S2310A`` (the excursion), and so on back. Apart from the dates (and the weekday pattern
of the stores' sales), every run writes the same lots, quantities and event ids.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ledger.demo.inventory import INVENTORY_WEEKS, DemoClock, load_inventory_demo
from ledger.errors import RuleViolation
from ledger.log.service import Ledger
from ledger.masterdata import keys
from ledger.masterdata import registry as masterdata
from ledger.masterdata.directory import list_organisations

LETTUCE = "09506000134352"
TOMATO = "04006381333931"
SALAD = "00012345678905"
ADMIN_ORG = "operator"
ORGANISATIONS = (
    ("greenvalley", "Green Valley Farm"),
    ("sunripe", "SunRipe Tomato Packers"),
    ("freshcut", "FreshCut Salads"),
    ("cornergrocer", "Corner Grocer Supermarkets"),
    ("foodagency", "Food Safety Agency"),
)
LOCATIONS = (
    ("gv-field-3", "greenvalley", "Green Valley, field 3", "farm", "9506000134376"),
    ("sr-packhouse", "sunripe", "SunRipe packhouse", "packer", None),
    ("fc-plant", "freshcut", "FreshCut processing plant", "processor", None),
    ("cg-dc", "cornergrocer", "Corner Grocer distribution centre", "distribution_centre", None),
    ("cg-store-1", "cornergrocer", "Corner Grocer, High Street", "store", None),
    ("cg-store-2", "cornergrocer", "Corner Grocer, Station Road", "store", None),
    ("cg-store-3", "cornergrocer", "Corner Grocer, Market Square", "store", None),
)
PRODUCTS = (
    (LETTUCE, "greenvalley", "Romaine lettuce, whole head", "kg", 14, "0", "4"),
    (TOMATO, "sunripe", "Vine tomatoes", "kg", 10, "8", "12"),
    (SALAD, "freshcut", "Garden salad bowl 250 g", "each", 6, "0", "5"),
)
# Fixed-weight products carry their net weight (AI 310n on their labels); lettuce and
# tomatoes are sold by weight, so their lots have none.
NET_WEIGHT_KG = {SALAD: "0.25"}
KEYS = (
    ("greenvalley", "supplier"),
    ("sunripe", "supplier"),
    ("freshcut", "supplier"),
    ("cornergrocer", "warehouse"),
    ("cornergrocer", "store"),
    ("cornergrocer", "manager"),
    ("foodagency", "regulator"),
    (ADMIN_ORG, "admin"),
)
STORES = ("cg-store-1", "cg-store-2", "cg-store-3")
#: The most weeks of salad history: lot numbers count down from 11 for the newest week.
MAX_WEEKS = 8
NEWEST_WEEK = 11
#: The shell variable each demo key is printed as (``export STORE_KEY=ll_...``).
KEY_VARIABLES = {
    "operator/admin": "ADMIN_KEY",
    "greenvalley/supplier": "FARM_KEY",
    "sunripe/supplier": "PACKER_KEY",
    "freshcut/supplier": "PROCESSOR_KEY",
    "cornergrocer/warehouse": "WAREHOUSE_KEY",
    "cornergrocer/store": "STORE_KEY",
    "cornergrocer/manager": "MANAGER_KEY",
    "foodagency/regulator": "REGULATOR_KEY",
}


def lot_codes(age: int) -> tuple[str, str, str]:
    """The (lettuce, tomato, salad) lot codes of the week ``age`` weeks before the newest."""
    n = NEWEST_WEEK - age
    return f"L23{n:02d}A", f"T23{n:02d}A", f"S23{n:02d}A"


@dataclass
class DemoResult:
    keys: dict[str, str]
    events: int
    tree_size: int
    lots: dict[str, list[str]] = field(default_factory=dict)  # oldest first
    excursion_lot: str = ""
    first_day: str = ""  # the history's first day and today, ISO dates
    today: str = ""
    verifier_key: str = ""

    def variables(self) -> dict[str, str]:
        """The shell variables the README's examples use, by name."""
        out = {KEY_VARIABLES[name]: secret for name, secret in self.keys.items()}
        out |= {"LOG_KEY": self.verifier_key, "LETTUCE": LETTUCE, "TOMATO": TOMATO}
        out |= {"SALAD": SALAD, "FARM": "gv-field-3", "PLANT": "fc-plant", "DC": "cg-dc"}
        out["STORE"] = STORES[0]
        if self.lots:
            out |= {
                "LETTUCE_LOT": self.lots["lettuce"][-1],
                "TOMATO_LOT": self.lots["tomato"][-1],
                "SALAD_LOT": self.lots["salad"][-1],
            }
        if self.excursion_lot:
            out["EXCURSION_LOT"] = self.excursion_lot
        return out


@dataclass(order=True)
class _Step:
    when: datetime  # the story's time (today's hours not yet scaled: see DemoClock)
    order: int
    actor: str = field(compare=False)
    event: dict[str, Any] = field(compare=False)


class _Story:
    def __init__(self, seed: int, clock: DemoClock) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - a reproducible story, not secrets
        self.clock = clock
        self.steps: list[_Step] = []
        # store -> salad lot -> [on hand, expiry date]
        self.store_stock: dict[str, dict[str, tuple[int, str]]] = {s: {} for s in STORES}

    def add(self, actor: str, etype: str, when: datetime, location: str, **fields: Any) -> None:
        event: dict[str, Any] = {
            "event_id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "type": etype,
            "event_time": _real(self.clock, when),
            "location": location,
            **fields,
        }
        self.steps.append(_Step(when, len(self.steps), actor, event))

    def batches(self, day: date) -> Iterator[tuple[str, list[dict[str, Any]], datetime]]:
        """The steps up to ``day``, in time order, as (actor, events, append time) batches
        of consecutive steps by one actor; each is taken off the story."""
        due = sorted(s for s in self.steps if s.when.date() <= day)
        self.steps = [s for s in self.steps if s.when.date() > day]
        start = 0
        while start < len(due):
            end = start
            while end < len(due) and due[end].actor == due[start].actor:
                end += 1
            last = due[end - 1].when
            yield (
                due[start].actor,
                [s.event for s in due[start:end]],
                self.clock.at(last.date(), last.hour, last.minute),
            )
            start = end


def _lot(gtin: str, code: str) -> dict[str, str]:
    return {"gtin": gtin, "lot": code}


def _setup(ledger: Ledger) -> None:
    existing = {o.id for o in list_organisations(ledger.engine)}
    if any(org in existing for org, _ in ORGANISATIONS):
        raise RuleViolation(0, "the demo data is already loaded in this database", "demo")
    engine = ledger.engine
    if ADMIN_ORG not in existing:
        masterdata.create_organisation(engine, ADMIN_ORG, "Ledger operator")
    for org, name in ORGANISATIONS:
        masterdata.create_organisation(engine, org, name)
    for loc, org, name, kind, gln in LOCATIONS:
        masterdata.create_location(engine, loc, org_id=org, name=name, kind=kind, gln=gln)
    for gtin, org, desc, unit, days, tmin, tmax in PRODUCTS:
        masterdata.create_product(
            engine,
            gtin,
            org_id=org,
            description=desc,
            unit=unit,
            shelf_life_days=days,
            temp_min_c=tmin,
            temp_max_c=tmax,
            net_weight_kg=NET_WEIGHT_KG.get(gtin),
        )


def _week(story: _Story, age: int, monday: datetime, result: DemoResult) -> None:
    """One week's chain, from the harvest on ``monday`` (any weekday: the first day of the
    week's chain) to the stores' receipt three days later."""
    day = timedelta(days=1)
    lettuce, tomato, salad = lot_codes(age)
    result.lots.setdefault("lettuce", []).append(lettuce)
    result.lots.setdefault("tomato", []).append(tomato)
    result.lots.setdefault("salad", []).append(salad)
    hour = timedelta(hours=1)
    add = story.add
    harvest = monday + 6 * hour
    add(
        "greenvalley",
        "register",
        harvest,
        "gv-field-3",
        lot=_lot(LETTUCE, lettuce),
        quantity="1200",
        unit="kg",
        product="Romaine lettuce, whole head",
        kind="harvest",
        expiry=(harvest + 14 * day).date().isoformat(),
    )
    add(
        "greenvalley",
        "ship",
        harvest + 8 * hour,
        "gv-field-3",
        lot=_lot(LETTUCE, lettuce),
        quantity="1000",
        unit="kg",
        to_location="fc-plant",
        reference={"type": "bol", "number": f"BOL-{lettuce}"},
    )
    add(
        "sunripe",
        "register",
        harvest + 1 * hour,
        "sr-packhouse",
        lot=_lot(TOMATO, tomato),
        quantity="800",
        unit="kg",
        product="Vine tomatoes",
        kind="pack",
        expiry=(harvest + 10 * day).date().isoformat(),
    )
    add(
        "sunripe",
        "ship",
        harvest + 9 * hour,
        "sr-packhouse",
        lot=_lot(TOMATO, tomato),
        quantity="600",
        unit="kg",
        to_location="fc-plant",
        reference={"type": "bol", "number": f"BOL-{tomato}"},
    )
    tuesday = monday + day
    add(
        "freshcut",
        "receive",
        tuesday + 5 * hour,
        "fc-plant",
        lot=_lot(LETTUCE, lettuce),
        quantity="1000",
        unit="kg",
        from_location="gv-field-3",
    )
    add(
        "freshcut",
        "receive",
        tuesday + 5 * hour,
        "fc-plant",
        lot=_lot(TOMATO, tomato),
        quantity="600",
        unit="kg",
        from_location="sr-packhouse",
    )
    add(
        "freshcut",
        "transform",
        tuesday + 9 * hour,
        "fc-plant",
        inputs=[
            {"lot": _lot(LETTUCE, lettuce), "quantity": "900", "unit": "kg"},
            {"lot": _lot(TOMATO, tomato), "quantity": "500", "unit": "kg"},
        ],
        outputs=[
            {
                "lot": _lot(SALAD, salad),
                "quantity": "4000",
                "unit": "each",
                "product": "Garden salad bowl 250 g",
                "expiry": (tuesday + 6 * day).date().isoformat(),
            }
        ],
    )
    add(
        "freshcut",
        "dispose",
        tuesday + 10 * hour,
        "fc-plant",
        lot=_lot(LETTUCE, lettuce),
        quantity="100",
        unit="kg",
        reason="quality",
    )
    add(
        "freshcut",
        "ship",
        tuesday + 14 * hour,
        "fc-plant",
        lot=_lot(SALAD, salad),
        quantity="3600",
        unit="each",
        to_location="cg-dc",
        reference={"type": "desadv", "number": f"DA-{salad}"},
    )
    wednesday = tuesday + day
    add(
        "cornergrocer",
        "receive",
        wednesday + 4 * hour,
        "cg-dc",
        lot=_lot(SALAD, salad),
        quantity="3600",
        unit="each",
        from_location="fc-plant",
    )
    excursion = age == 1
    readings = [
        {
            "sensor": "temperature",
            "value": value,
            "unit": "Cel",
            "time": _real(story.clock, wednesday + (4 + i) * hour),
        }
        for i, value in enumerate(["3.1", "3.4", "9.5" if excursion else "3.2"])
    ]
    add(
        "cornergrocer",
        "observe",
        wednesday + 7 * hour,
        "cg-dc",
        lot=_lot(SALAD, salad),
        readings=readings,
    )
    per_store = 1200
    if excursion:
        result.excursion_lot = salad
        add(
            "cornergrocer",
            "hold",
            wednesday + 7 * hour + 5 * timedelta(minutes=1),
            "cg-dc",
            lot=_lot(SALAD, salad),
            kind="quality",
            reason="cold-chain excursion: 9.5 Cel in the DC chiller",
        )
        add(
            "cornergrocer",
            "dispose",
            wednesday + 9 * hour,
            "cg-dc",
            lot=_lot(SALAD, salad),
            quantity="600",
            unit="each",
            reason="spoilage",
        )
        return
    for store in STORES:
        add(
            "cornergrocer",
            "ship",
            wednesday + 10 * hour,
            "cg-dc",
            lot=_lot(SALAD, salad),
            quantity=str(per_store),
            unit="each",
            to_location=store,
        )
    thursday = wednesday + day
    for store in STORES:
        add(
            "cornergrocer",
            "receive",
            thursday + 5 * hour,
            store,
            lot=_lot(SALAD, salad),
            quantity=str(per_store),
            unit="each",
            from_location="cg-dc",
        )
        story.store_stock[store][salad] = (per_store, (tuesday + 6 * day).date().isoformat())


def _sales(story: _Story, start: date, end: date) -> None:
    """Each store's daily salad sales, first expired first out, from ``start`` to ``end``;
    what is left of a lot the morning after its expiry is thrown away."""
    day = start
    while day <= end:
        when = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=17)
        for store in STORES:
            want = story.rng.randint(150, 320)
            for salad, (left, expiry) in sorted(story.store_stock[store].items(), key=_expiry):
                if expiry < day.isoformat():
                    # Past its date: what is left is thrown away in the morning.
                    if left:
                        story.add(
                            "cornergrocer",
                            "dispose",
                            when - timedelta(hours=9),
                            store,
                            lot=_lot(SALAD, salad),
                            quantity=str(left),
                            unit="each",
                            reason="expired",
                        )
                    del story.store_stock[store][salad]
                    continue
                qty = min(want, left)
                if qty == 0:
                    continue
                story.add(
                    "cornergrocer",
                    "sell",
                    when,
                    store,
                    lot=_lot(SALAD, salad),
                    quantity=str(qty),
                    unit="each",
                )
                story.store_stock[store][salad] = (left - qty, expiry)
                want -= qty
        day += timedelta(days=1)


def _real(clock: DemoClock, when: datetime) -> str:
    real = clock.at(when.date(), when.hour, when.minute)
    return real.isoformat(timespec="seconds").replace("+00:00", "Z")


def _expiry(item: tuple[str, tuple[int, str]]) -> str:
    return item[1][1]


def load_demo(
    ledger: Ledger, *, weeks: int = 4, seed: int = 2611, today: datetime | None = None
) -> DemoResult:
    """Create the demo master data, keys and ``weeks`` of history ending ``today`` (default:
    now); return the keys, lots and the log's verifier key."""
    if not 1 <= weeks <= MAX_WEEKS:
        raise ValueError(f"the demo has 1 to {MAX_WEEKS} weeks of salad history, not {weeks}")
    _setup(ledger)
    size_before = ledger.size()
    clock = DemoClock(today or datetime.now(UTC))
    end = clock.today
    story = _Story(seed, clock)
    result = DemoResult(keys={}, events=0, tree_size=0, today=end.isoformat())
    # The newest week's lettuce was harvested three days ago and reached the stores today.
    harvests = [end - timedelta(days=3 + 7 * age) for age in range(weeks - 1, -1, -1)]
    for age, harvest in zip(range(weeks - 1, -1, -1), harvests, strict=True):
        _week(story, age, datetime.combine(harvest, datetime.min.time(), tzinfo=UTC), result)
        # Sales from the stores' receipt to the day before the next week's.
        receipt = harvest + timedelta(days=3)
        _sales(story, receipt, min(receipt + timedelta(days=6), end))

    def salad_day(day: date) -> None:
        for actor, events, when in story.batches(day):
            ledger.append(events, actor=actor, now=when)

    # Day by day, the salad chain's events and then the stores' range, so that every entry
    # is recorded on its event's day.
    load_inventory_demo(ledger, weeks=INVENTORY_WEEKS, today=clock.now, before_day=salad_day)
    salad_day(end)  # nothing left, unless the salad history is the longer
    result.tree_size = ledger.size()
    result.events = result.tree_size - size_before
    result.first_day = min(harvests[0], end - timedelta(days=7 * INVENTORY_WEEKS - 1)).isoformat()
    for org, role in KEYS:
        result.keys[f"{org}/{role}"] = keys.create_key(ledger.engine, org, role, "demo").secret
    result.verifier_key = str(ledger.verifier_key)
    return result
