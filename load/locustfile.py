"""Locust users for Lotledger: ``python -m load run`` starts a seeded service and runs this.

Each kind of user is a class, weighted to a realistic mix; goods flow between them as in
the demo supply chain, through queues shared by the users of this (single) locust process:

* ``SupplierUser``: a farm, packer or processor (one demo supplier key each) registers
  new lots in one batch and ships them in another to the next stage (processor or
  distribution centre); a processor also receives what was shipped to it, in batches.
* ``WarehouseUser``: distribution-centre staff scan labels (resolver), receive one
  shipment at a time and send it on to a store (single events), check stock, and
  fulfil the stores' purchase orders (confirm, ship first expired first out, or cancel
  when the stock is not there).
* ``StoreUser``: the most numerous: store staff scan labels (resolver, HTML and JSON,
  and the signed-in ``/scan`` page), receive deliveries and sell from them (single
  events), order from the distribution centre, then receive against the order.
* ``RegulatorUser``: fetches signed checkpoints, inclusion and consistency proofs, log
  pages and lot bundles (a lot's events with an inclusion proof for each).
* ``ManagerUser``: runs forward and backward traces, reviews the open recalls and a
  store's replenishment suggestions, and runs recall drills (register a lot, recall it,
  confirm removal, close the recall). Only managers use ``/v1/trace`` and
  ``/v1/recalls``, so ``python -m load run --without ManagerUser`` leaves them out.

Everything comes from the config file ``LOTLEDGER_LOAD_CONFIG`` names, which the runner
writes from ``lotledger demo --json`` and the service's own directory (locations,
products, the demo's lots): no id is hard-coded. Every receipt a write is acknowledged
with is appended to ``<receipts_dir>/receipts-<pid>.jsonl`` (seq and leaf hash) so that
the runner can check, after the run, that the log holds each one.

Each class's think time (the pause between its tasks) sets how hard its users push;
``--think F`` multiplies every one by F. Request names start with the method; the
runner's targets treat ``POST`` as a write, ``GET /01/...`` and ``GET /scan`` as a scan
and any other ``GET`` as a read.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote, urlencode

from locust import FastHttpUser, between, events, task

CONFIG_ENV = "LOTLEDGER_LOAD_CONFIG"
CONFIG: dict[str, Any] = json.loads(Path(os.environ[CONFIG_ENV]).read_text(encoding="utf-8"))

#: Where each stage ships: location kind -> the kind of the next stage.
NEXT_STAGE = {"farm": "processor", "packer": "processor", "processor": "distribution_centre"}
LOT_QUANTITY = 600
SCAN = "GET /01/[gtin]/10/[lot]"


@dataclass
class Shipment:
    gtin: str
    lot: str
    quantity: int
    unit: str
    from_location: str


@dataclass
class Delivery:
    """A purchase order shipped to a store: what to receive against it."""

    order_id: str
    picks: list[dict[str, Any]]


@dataclass
class Shared:
    """What the users of this process hand each other (gevent: one greenlet at a time)."""

    inbound: dict[str, deque[Shipment]] = field(default_factory=dict)
    #: (gtin, lot) pairs to scan, trace and bundle: the demo's lots, then new ones.
    lots: list[tuple[str, str]] = field(default_factory=list)
    receipts: TextIO | None = None
    acknowledged: int = 0
    #: What the distribution centre can pick, by GTIN: (unit, quantity), from its stock.
    dc_stock: dict[str, tuple[str, int]] = field(default_factory=dict)
    #: Orders placed with the distribution centre, waiting to be fulfilled: (id, store).
    orders: deque[tuple[str, str]] = field(default_factory=deque)
    #: Orders shipped to each store, waiting to be received.
    deliveries: dict[str, deque[Delivery]] = field(default_factory=dict)

    def ship(self, to: str, shipment: Shipment) -> None:
        self.inbound.setdefault(to, deque()).append(shipment)

    def take(self, at: str, most: int) -> list[Shipment]:
        queue = self.inbound.get(at)
        taken: list[Shipment] = []
        while queue and len(taken) < most:
            taken.append(queue.popleft())
        return taken

    def new_lot(self, gtin: str, lot: str) -> None:
        self.lots.append((gtin, lot))
        if len(self.lots) > 2000:  # keep the demo's lots, forget the oldest new ones
            demo = len(CONFIG["demo_lots"])
            del self.lots[demo : demo + 500]

    def any_lot(self) -> tuple[str, str]:
        return random.choice(self.lots)


def think(low: float, high: float) -> Any:
    """A user's pause between tasks, in seconds, times the run's ``--think`` factor."""
    scale = float(CONFIG.get("think_scale", 1.0))
    return between(low * scale, high * scale)


SHARED = Shared(lots=[(d["gtin"], d["lot"]) for d in CONFIG["demo_lots"]])
_lot_numbers = itertools.count(1)
_suppliers = itertools.count()
_stores = itertools.count()


@events.test_start.add_listener
def _open_receipts(**_kwargs: Any) -> None:
    folder = Path(CONFIG["receipts_dir"])
    folder.mkdir(parents=True, exist_ok=True)
    SHARED.receipts = (folder / f"receipts-{os.getpid()}.jsonl").open("a", encoding="utf-8")


@events.test_stop.add_listener
def _close_receipts(**_kwargs: Any) -> None:
    if SHARED.receipts is not None:
        SHARED.receipts.close()
        SHARED.receipts = None


def now() -> str:
    """An event time a moment ago, RFC 3339 in UTC."""
    moment = datetime.now(UTC) - timedelta(seconds=1)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def new_lot_code(prefix: str) -> str:
    """A lot code no other user of this run uses (GS1 AI 10: at most 20 characters)."""
    return f"{prefix}{os.getpid() % 10000:04d}X{next(_lot_numbers):07d}"


def event(etype: str, location: str, gtin: str, lot: str, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "type": etype,
        "event_time": now(),
        "location": location,
        "lot": {"gtin": gtin, "lot": lot},
        **fields,
    }


def key_of(org: str, role: str) -> str:
    return str(CONFIG["keys"][f"{org}/{role}"])


def locations(org: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
    return [
        loc
        for loc in CONFIG["locations"]
        if (org is None or loc["org_id"] == org) and (kind is None or loc["kind"] == kind)
    ]


class LedgerUser(FastHttpUser):
    """A member of staff with one API key."""

    abstract = True
    org = ""
    role = ""
    site: Any  # set by each kind of user on start: its location id (a supplier's: its record)

    def on_start(self) -> None:
        self.headers = {"Authorization": f"Bearer {key_of(self.org, self.role)}"}

    def append(self, batch: list[dict[str, Any]], name: str, refusal: str = "") -> bool | None:
        """POST the batch; True when the ledger acknowledged it (receipts recorded).

        ``refusal``: a problem type (its last path segment) that is the right answer in
        this user's situation, not a failure: None, and nothing recorded.
        """
        with self.client.post(
            "/v1/events",
            json={"events": batch},
            headers=self.headers,
            name=f"POST /v1/events [{name}]",
            catch_response=True,
        ) as response:
            if refusal and response.status_code == 409:
                problem = response.json()
                if str(problem.get("type", "")).rsplit("/", 1)[-1] == refusal:
                    response.success()
                    return None
            if response.status_code != 201:
                response.failure(f"{response.status_code}: {(response.text or '')[:300]}")
                return False
            receipts = response.json()["receipts"]
            if len(receipts) != len(batch):
                response.failure(f"{len(receipts)} receipts for {len(batch)} events")
                return False
            if SHARED.receipts is not None:
                for r in receipts:
                    SHARED.receipts.write(
                        json.dumps({"seq": r["seq"], "leaf_hash": r["leaf_hash"]}) + "\n"
                    )
                SHARED.receipts.flush()
            SHARED.acknowledged += len(receipts)
            return True

    def get(self, path: str, name: str, **params: Any) -> Any:
        """GET with this user's key; the parsed JSON, or None when it failed."""
        url = path + ("?" + urlencode(params, doseq=True) if params else "")
        with self.client.get(url, headers=self.headers, name=name, catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"{r.status_code}: {(r.text or '')[:300]}")
                return None
            if "json" in (r.headers.get("content-type") or ""):
                return r.json()
            return r.text

    def post(
        self,
        path: str,
        body: dict[str, Any],
        name: str,
        expected: tuple[int, ...] = (200, 201),
        check: Callable[[Any], str | None] | None = None,
    ) -> Any:
        """POST JSON with this user's key; the parsed answer, or None when it failed (an
        unexpected status, or ``check`` naming what is wrong with the answer)."""
        with self.client.post(
            path, json=body, headers=self.headers, name=name, catch_response=True
        ) as r:
            if r.status_code not in expected:
                r.failure(f"{r.status_code}: {(r.text or '')[:300]}")
                return None
            answer = r.json()
            wrong = check(answer) if check is not None else None
            if wrong:
                r.failure(wrong)
                return None
            r.success()
            return answer

    def receive_one(self) -> Shipment | None:
        """Receive one shipment that arrived at this user's site (a single event); with
        nothing arrived, scan a label instead. The shipment received, or None."""
        arrived = SHARED.take(self.site, 1)
        if not arrived:
            self.scan()
            return None
        s = arrived[0]
        received = event(
            "receive",
            self.site,
            s.gtin,
            s.lot,
            quantity=str(s.quantity),
            unit=s.unit,
            from_location=s.from_location,
        )
        return s if self.append([received], "receive") else None

    def scan(self, html: bool = False) -> None:
        """A label's QR code scanned with a phone: the public resolver."""
        gtin, lot = SHARED.any_lot()
        accept = "text/html" if html else "application/json"
        with self.client.get(
            f"/01/{gtin}/10/{quote(lot, safe='')}",
            headers={"Accept": accept},
            name=f"{SCAN} ({'html' if html else 'json'})",
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}: {(response.text or '')[:300]}")
            elif not html and response.json().get("lot") != lot:
                response.failure(f"the resolver answered for another lot than {lot}")


class SupplierUser(LedgerUser):
    """A farm, packer or processor registering lots and shipping them in batches."""

    weight = 3
    wait_time = think(2, 6)

    def on_start(self) -> None:
        suppliers = sorted(k.split("/")[0] for k in CONFIG["keys"] if k.endswith("/supplier"))
        # Round-robin over the demo's suppliers, so each stage of the chain is staffed.
        self.org, self.role = suppliers[next(_suppliers) % len(suppliers)], "supplier"
        super().on_start()
        own = [loc for loc in locations(self.org) if loc["kind"] in NEXT_STAGE]
        self.site = own[0]
        self.products = [p for p in CONFIG["products"] if p["org_id"] == self.org]
        downstream = locations(kind=NEXT_STAGE[self.site["kind"]])
        self.destination = downstream[0]["id"] if downstream else None
        self.mine: list[tuple[str, str]] = []
        self.register_and_ship()  # a shift starts with the day's lots

    @task(4)
    def register_and_ship(self) -> None:
        if not self.products or self.destination is None:
            self.read_own_lot()
            return
        lots = []
        for _ in range(random.randint(2, 6)):
            product = random.choice(self.products)
            code = new_lot_code(self.org[:2].upper())
            lots.append((product, code))
        expiry = (date.today() + timedelta(days=10)).isoformat()
        registered = [
            event(
                "register",
                self.site["id"],
                p["gtin"],
                code,
                quantity=str(LOT_QUANTITY),
                unit=p["unit"],
                product=p["description"],
                kind="produce" if self.site["kind"] == "processor" else "harvest",
                expiry=expiry,
            )
            for p, code in lots
        ]
        if not self.append(registered, "register batch"):
            return
        for p, code in lots:
            SHARED.new_lot(p["gtin"], code)
            self.mine.append((p["gtin"], code))
        del self.mine[:-50]
        shipped = [
            event(
                "ship",
                self.site["id"],
                p["gtin"],
                code,
                quantity=str(LOT_QUANTITY),
                unit=p["unit"],
                to_location=self.destination,
                reference={"type": "bol", "number": f"BOL-{code}"},
            )
            for p, code in lots
        ]
        if self.append(shipped, "ship batch"):
            for p, code in lots:
                shipment = Shipment(p["gtin"], code, LOT_QUANTITY, p["unit"], self.site["id"])
                SHARED.ship(self.destination, shipment)

    @task(2)
    def receive_inbound(self) -> None:
        arrived = SHARED.take(self.site["id"], 6)
        if not arrived:
            self.get(f"/v1/stock/{self.site['id']}", "GET /v1/stock/[location]")
            return
        self.append(
            [
                event(
                    "receive",
                    self.site["id"],
                    s.gtin,
                    s.lot,
                    quantity=str(s.quantity),
                    unit=s.unit,
                    from_location=s.from_location,
                )
                for s in arrived
            ],
            "receive batch",
        )

    @task(1)
    def read_own_lot(self) -> None:
        if not self.mine:  # another organisation's lots are 404 to a supplier
            self.get(f"/v1/stock/{self.site['id']}", "GET /v1/stock/[location]")
            return
        gtin, lot = random.choice(self.mine)
        self.get(f"/v1/lots/{gtin}/{quote(lot, safe='')}", "GET /v1/lots/[gtin]/[lot]")


class WarehouseUser(LedgerUser):
    """Distribution-centre staff: scanning, receiving one shipment, sending it to a store."""

    weight = 3
    wait_time = think(0.5, 2)
    org, role = "cornergrocer", "warehouse"

    def on_start(self) -> None:
        super().on_start()
        self.site = locations(self.org, "distribution_centre")[0]["id"]
        self.stores = [loc["id"] for loc in locations(self.org, "store")]

    @task(3)
    def receive_and_dispatch(self) -> None:
        s = self.receive_one()
        if s is None:
            return
        # Cross-dock most of it to a store; a tenth stays for the stores' purchase orders
        # (which may already have allocated some of it).
        onward = s.quantity - s.quantity // 10
        store = random.choice(self.stores)
        shipped = event(
            "ship",
            self.site,
            s.gtin,
            s.lot,
            quantity=str(onward),
            unit=s.unit,
            to_location=store,
        )
        if self.append([shipped], "ship"):
            SHARED.ship(store, Shipment(s.gtin, s.lot, onward, s.unit, self.site))

    @task(6)
    def scan_label(self) -> None:
        self.scan()

    @task(1)
    def stock(self) -> None:
        found = self.get(f"/v1/stock/{self.site}", "GET /v1/stock/[location]")
        if not isinstance(found, dict):
            return
        pickable: dict[str, tuple[str, int]] = {}
        for item in found["items"]:
            if item["pickable"]:
                unit, qty = pickable.get(item["gtin"], (item["unit"], 0))
                pickable[item["gtin"]] = (unit, qty + int(float(item["on_hand"])))
        SHARED.dc_stock = pickable

    @task(2)
    def fulfil_order(self) -> None:
        """Confirm a store's order and ship it first expired first out; cancel it when the
        stock is no longer there (a 409 the ledger answers, not a failure)."""
        if not SHARED.orders:
            self.stock()
            return
        order_id, store = SHARED.orders.popleft()
        promised = (date.today() + timedelta(days=1)).isoformat()
        if not self.post(
            f"/v1/orders/{order_id}/confirm",
            {"promised_date": promised},
            "POST /v1/orders/[id]/confirm",
        ):
            return
        shipped = self.post(
            f"/v1/orders/{order_id}/ship", {}, "POST /v1/orders/[id]/ship", expected=(200, 409)
        )
        if shipped is None:
            return
        if "picks" not in shipped:  # 409: not enough pickable stock left
            self.post(
                f"/v1/orders/{order_id}/cancel",
                {"reason": "out of stock at the distribution centre"},
                "POST /v1/orders/[id]/cancel",
            )
            return
        SHARED.deliveries.setdefault(store, deque()).append(Delivery(order_id, shipped["picks"]))


class StoreUser(LedgerUser):
    """Store staff: scanning labels, receiving deliveries, selling."""

    weight = 8
    wait_time = think(0.5, 2)
    org, role = "cornergrocer", "store"

    def on_start(self) -> None:
        super().on_start()
        stores = [loc["id"] for loc in locations(self.org, "store")]
        self.site = stores[next(_stores) % len(stores)]
        self.dc = locations(self.org, "distribution_centre")[0]["id"]
        self.signed_in = False
        self.shelf: dict[tuple[str, str], tuple[int, str]] = {}  # lot -> (on hand, unit)

    @task(6)
    def scan_json(self) -> None:
        self.scan()

    @task(2)
    def scan_page(self) -> None:
        self.scan(html=True)

    @task(2)
    def receive(self) -> None:
        delivered = SHARED.deliveries.get(self.site)
        if delivered:
            self.receive_order(delivered.popleft())
            return
        s = self.receive_one()
        if s is not None:
            self.shelf[(s.gtin, s.lot)] = (s.quantity, s.unit)

    def receive_order(self, delivery: Delivery) -> None:
        """Receive against the order what it shipped, now and then a unit damaged."""
        receipts = []
        for pick in delivery.picks:
            receipt = {"gtin": pick["gtin"], "lot": pick["lot"], "quantity": pick["quantity"]}
            if random.random() < 0.1:
                receipt["damaged"] = "1"
            receipts.append(receipt)
        order = self.post(
            f"/v1/orders/{delivery.order_id}/receive",
            {"receipts": receipts},
            "POST /v1/orders/[id]/receive",
        )
        if order is None:
            return
        for r, pick in zip(receipts, delivery.picks, strict=True):
            accepted = int(float(r["quantity"])) - int(r.get("damaged", "0"))
            if accepted > 0:
                self.shelf[(r["gtin"], r["lot"])] = (accepted, pick["unit"])

    @task(1)
    def order(self) -> None:
        """Order a few of something the distribution centre can pick (no id from luck:
        its stock as last read)."""
        stocked = [(g, u) for g, (u, q) in SHARED.dc_stock.items() if q >= 24]
        if not stocked:
            return
        gtin, unit = random.choice(stocked)
        placed = self.post(
            "/v1/orders",
            {
                "buyer_location": self.site,
                "supplier_location": self.dc,
                "lines": [{"gtin": gtin, "quantity": "6", "unit": unit}],
            },
            "POST /v1/orders",
        )
        if placed is not None:
            unit, left = SHARED.dc_stock[gtin]
            SHARED.dc_stock[gtin] = (unit, left - 6)
            SHARED.orders.append((placed["order_id"], self.site))

    @task(1)
    def scan_signed_in(self) -> None:
        """The phone scanner page: sign in once (session cookie), then open scanned labels."""
        if not self.signed_in:
            with self.client.post(
                "/scan/session",
                data={"key": key_of(self.org, self.role)},
                headers={"Origin": self.host},
                name="POST /scan/session",
                allow_redirects=False,
                catch_response=True,
            ) as r:
                if r.status_code != 303:
                    r.failure(f"{r.status_code}: {(r.text or '')[:300]}")
                    return
            self.signed_in = True
        gtin, lot = SHARED.any_lot()
        code = f"{self.host}/01/{gtin}/10/{quote(lot, safe='')}"
        with self.client.get(
            f"/scan?{urlencode({'code': code})}", name="GET /scan?code=[label]", catch_response=True
        ) as r:
            if r.status_code != 200:
                r.failure(f"{r.status_code}: {(r.text or '')[:300]}")
            elif lot not in (r.text or ""):
                r.failure(f"the scan page does not show lot {lot}")

    @task(4)
    def sell(self) -> None:
        if not self.shelf:
            self.scan()
            return
        (gtin, lot), (left, unit) = next(iter(self.shelf.items()))  # oldest first
        qty = min(left, random.randint(1, 12))
        sale = event("sell", self.site, gtin, lot, quantity=str(qty), unit=unit)
        # A manager's recall drill may have reached this lot (picked at the DC for an
        # order before the recall): the ledger refuses the sale, and staff pull the lot.
        sold = self.append([sale], "sell", refusal="lot-on-hold")
        if sold and left - qty:
            self.shelf[(gtin, lot)] = (left - qty, unit)
        elif sold or sold is None:
            del self.shelf[(gtin, lot)]


class RegulatorUser(LedgerUser):
    """A food-safety regulator auditing: checkpoints, proofs, log pages, lot bundles."""

    weight = 2
    wait_time = think(1, 4)
    org, role = "foodagency", "regulator"

    def on_start(self) -> None:
        super().on_start()
        self.size = 0
        self.checkpoint()

    @task(3)
    def checkpoint(self) -> None:
        note = self.get("/v1/log/checkpoint", "GET /v1/log/checkpoint")
        if isinstance(note, str):
            self.size = int(note.splitlines()[1])  # C2SP: origin, size, root hash

    @task(3)
    def inclusion(self) -> None:
        if self.size:
            index = random.randrange(self.size)
            self.get(
                "/v1/log/proof/inclusion",
                "GET /v1/log/proof/inclusion",
                index=index,
                size=self.size,
            )

    @task(1)
    def consistency(self) -> None:
        if self.size > 1:
            first = random.randrange(1, self.size)
            self.get(
                "/v1/log/proof/consistency",
                "GET /v1/log/proof/consistency",
                first=first,
                second=self.size,
            )

    @task(1)
    def entries(self) -> None:
        if self.size:
            start = random.randrange(self.size)
            self.get("/v1/log/entries", "GET /v1/log/entries", start=start, end=start + 100)

    @task(2)
    def bundle(self) -> None:
        """A lot's provenance: its events, each with an inclusion proof at one checkpoint."""
        gtin, lot = SHARED.any_lot()
        found = self.get(
            f"/v1/lots/{gtin}/{quote(lot, safe='')}/events", "GET /v1/lots/[gtin]/[lot]/events"
        )
        if not found or not self.size:
            return
        for e in found["events"][:10]:
            if e["seq"] < self.size:
                self.get(
                    "/v1/log/proof/inclusion",
                    "GET /v1/log/proof/inclusion",
                    index=e["seq"],
                    size=self.size,
                )


RETAIL_GTIN = "00012345678905"  # the demo's salad bowl, which Corner Grocer stocks


class ManagerUser(LedgerUser):
    """A retail manager: traces and recall drills (``/v1/trace``, ``/v1/recalls``)."""

    weight = 1
    wait_time = think(3, 8)
    org, role = "cornergrocer", "manager"

    def on_start(self) -> None:
        super().on_start()
        self.site = locations(self.org, "distribution_centre")[0]["id"]
        self.stores = [loc["id"] for loc in locations(self.org, "store")]
        self.drills = 0

    @task(4)
    def trace(self) -> None:
        # A retailer traces lots it handled (the demo's salad bowls): any other answers 404.
        demo = SHARED.lots[: len(CONFIG["demo_lots"])]
        gtin, lot = random.choice([x for x in demo if x[0] == RETAIL_GTIN] or demo)
        direction = random.choice(("forward", "backward"))
        self.get(
            "/v1/trace", f"GET /v1/trace ({direction})", lot=f"{gtin}/{lot}", direction=direction
        )

    @task(1)
    def recalls(self) -> None:
        self.get("/v1/recalls", "GET /v1/recalls", status="open")

    @task(1)
    def suggestions(self) -> None:
        """The morning review: a store's replenishment suggestions, each explained."""
        store = random.choice(self.stores)
        self.get(f"/v1/replenishment/{store}", "GET /v1/replenishment/[location]")

    @task(1)
    def recall_drill(self) -> None:
        """Register a lot at the DC, recall it, confirm removal, close the recall."""
        if self.drills >= 3:  # a drill is rare: a few per manager and run
            self.trace()
            return
        self.drills += 1
        product = random.choice(CONFIG["products"])
        code = new_lot_code("DR")
        registered = event(
            "register",
            self.site,
            product["gtin"],
            code,
            quantity="10",
            unit=product["unit"],
            product=product["description"],
            kind="produce",
        )
        if not self.append([registered], "register"):
            return
        recall_id = f"drill-{code}"
        body = {
            "id": recall_id,
            "lots": [{"gtin": product["gtin"], "lot": code}],
            "reason": "load test recall drill",
            "classification": "III",
        }
        if self.post("/v1/recalls", body, "POST /v1/recalls") is None:
            return
        confirmed = self.post(
            f"/v1/recalls/{recall_id}/confirmations",
            {"location": self.site, "dispose": True},
            "POST /v1/recalls/[id]/confirmations",
        )
        if confirmed is None:
            return
        self.post(
            f"/v1/recalls/{recall_id}/close",
            {},
            "POST /v1/recalls/[id]/close",
            check=lambda r: None if r.get("status") == "closed" else f"still {r.get('status')}",
        )
