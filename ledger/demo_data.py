"""A realistic demo supply chain, written through ``Ledger.append`` like any other history.

A farm (lettuce) and a packer (tomatoes) register lots every week and ship them to a
processor, which turns them into salad bowls; a retailer's distribution centre receives
the bowls and ships them to three stores, which receive them and sell them daily. In the
third week the distribution centre's sensor reports a cold-chain excursion: the salad lot
is put on hold and part of it destroyed. Everything ends the day before ``today``.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ledger import keys, masterdata
from ledger.demo_inventory import load_inventory_demo
from ledger.directory import list_organisations
from ledger.errors import RuleViolation
from ledger.log import Ledger

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


@dataclass
class DemoResult:
    keys: dict[str, str]
    events: int
    tree_size: int
    lots: dict[str, list[str]] = field(default_factory=dict)
    excursion_lot: str = ""


class _Story:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - a reproducible story, not secrets
        self.steps: list[tuple[str, dict[str, Any]]] = []
        # store -> salad lot -> [on hand, expiry date]
        self.store_stock: dict[str, dict[str, tuple[int, str]]] = {s: {} for s in STORES}

    def add(self, actor: str, etype: str, when: datetime, location: str, **fields: Any) -> None:
        event: dict[str, Any] = {
            "event_id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "type": etype,
            "event_time": when.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "location": location,
            **fields,
        }
        self.steps.append((actor, event))


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
        )


def _week(story: _Story, week: int, monday: datetime, result: DemoResult) -> None:
    day = timedelta(days=1)
    tag = f"{monday:%y}W{monday.isocalendar().week:02d}"
    lettuce, tomato, salad = f"GV{tag}", f"SR{tag}", f"FC{tag}"
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
        reference={"type": "bol", "number": f"BOL-GV-{tag}"},
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
        reference={"type": "bol", "number": f"BOL-SR-{tag}"},
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
        reference={"type": "desadv", "number": f"DA-FC-{tag}"},
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
    excursion = week == 2
    readings = [
        {
            "sensor": "temperature",
            "value": value,
            "unit": "Cel",
            "time": (wednesday + (4 + i) * hour).isoformat().replace("+00:00", "Z"),
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


def _sales(story: _Story, start: datetime, days: int) -> None:
    for n in range(days):
        when = start + timedelta(days=n, hours=17)
        for store in STORES:
            want = story.rng.randint(150, 320)
            for salad, (left, expiry) in list(story.store_stock[store].items()):
                if expiry < when.date().isoformat():
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


def load_demo(
    ledger: Ledger, *, weeks: int = 4, seed: int = 2611, today: datetime | None = None
) -> DemoResult:
    """Create the demo master data, keys and several weeks of history; return the keys."""
    _setup(ledger)
    now = today or datetime.now(UTC)
    first = (now - timedelta(days=7 * weeks + 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    first -= timedelta(days=first.weekday())
    story = _Story(seed)
    result = DemoResult(keys={}, events=0, tree_size=0)
    for week in range(weeks):
        monday = first + timedelta(weeks=week)
        _week(story, week, monday, result)
        _sales(story, monday + timedelta(days=3), 4)
    steps = [(actor, event) for actor, event in story.steps if _parse(event) < now]
    steps.sort(key=lambda s: _parse(s[1]))
    start = 0
    while start < len(steps):
        actor = steps[start][0]
        end = start
        while end < len(steps) and steps[end][0] == actor:
            end += 1
        appended = ledger.append([e for _, e in steps[start:end]], actor=actor, now=now)
        result.tree_size = appended.tree_size
        start = end
    result.events = len(steps)
    # Weeks of store sales and purchase orders, so replenishment and reports mean something.
    size_before = result.tree_size
    result.tree_size = load_inventory_demo(ledger, today=now)
    result.events += result.tree_size - size_before
    for org, role in KEYS:
        result.keys[f"{org}/{role}"] = keys.create_key(ledger.engine, org, role, "demo").secret
    return result


def _parse(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(event["event_time"]).replace("Z", "+00:00"))
