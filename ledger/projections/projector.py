"""Business rules and read models, applied one batch at a time.

``BatchProjector`` loads the state a batch touches (lots, locations, stock,
open shipments, orders) in a few set queries, applies each event in order in
memory, refusing any that the state forbids, and writes every change back with
bulk statements. The same code serves live appends and replays of the log, so a
rebuild gives the same tables (the tests check it). Time-dependent rules use
the entry's ``recorded_at``, never the wall clock, so a replay is deterministic.

Inventory rules (issue 7): stock never goes negative; only approved lots move (a lot's
status, in ``lot_states``, is set by hold events of each kind and cleared by releases);
a lot's expiry is the one its event states (the ledger fills in the product's shelf
life at append time, ``ledger.events.completion``: the projector reads no master data); nothing is
shipped, sold or used after its expiry (judged on the event's own date); received quantities
refused as damaged or out of temperature never enter stock; sales, consumption,
disposals and count adjustments are summed per (location, product, day) in
``inventory_daily``. Order events live in ``ledger.projections.orders``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, Literal

from sqlalchemy import Connection, insert, select, update

from ledger.errors import (
    BatchRejected,
    EventValidationError,
    ForbiddenLocation,
    ForbiddenLot,
    InsufficientStock,
    LotOnHold,
    Problem,
    RuleViolation,
    StaleCount,
    TotalOverLimit,
)
from ledger.events import models as ev
from ledger.events.rules import ENDED_ORDER_STATUSES
from ledger.lineage.graph import TraceStart, trace
from ledger.lineage.visibility import handled_lots
from ledger.projections.flows import FLOW_COLUMNS, FlowAccumulator, flow_deltas
from ledger.projections.orders import OrderRules, OrderState, _b, _chunks, _tuple
from ledger.projections.state import Applied, LotState, ShipmentState
from ledger.quantity import MAX_TOTAL, MAX_TOTAL_MICRO, format_micro, parse_decimal
from ledger.storage.bulk import insert_rows, placeholders, select_in, upsert_rows
from ledger.storage.schema import (
    HoldRecord,
    Location,
    Lot,
    LotStatusRecord,
    OrderLot,
    Shipment,
    Transformation,
)

_CHUNK = 400  # keys per IN (...) query: well under SQLite's bound-parameter limit
LOT_ID_SHIFT = 7  # lot id = (seq << 7) | output position; transforms have <= 100 outputs


#: The one lot status vocabulary of every answer, page, CLI output and the stored
#: ``lot_states`` rows: ``approved`` (sellable: no open hold), then, while a hold is open,
#: the status its kind sets; a lot as a whole with no open hold whose expiry has passed
#: is ``expired`` (``ledger.trace.lots.lot_status``).
LotStatus = Literal["approved", "on_hold", "damaged", "quarantined", "recalled", "expired"]
#: Hold kinds, mildest first, and the lot status each sets; the most severe open one wins.
HOLD_KINDS = ("quality", "damage", "quarantine", "recall")
HOLD_STATUS: dict[str, LotStatus] = {
    "quality": "on_hold",
    "damage": "damaged",
    "quarantine": "quarantined",
    "recall": "recalled",
}
APPROVED: LotStatus = "approved"


class LotExpired(RuleViolation):
    """Shipping, selling or using a lot after its expiry date."""


def lot_id_for(seq: int, position: int = 0) -> int:
    return (seq << LOT_ID_SHIFT) | position


def status_of(counts: Sequence[int]) -> LotStatus:
    """The lot status for open-hold counts in HOLD_KINDS order."""
    for kind, count in zip(reversed(HOLD_KINDS), reversed(counts), strict=True):
        if count > 0:
            return HOLD_STATUS[kind]
    return APPROVED


@dataclass
class BatchProjector(OrderRules):
    conn: Connection
    lots: dict[tuple[str, str], LotState | None] = field(default_factory=dict)
    locations: dict[str, str | None] = field(default_factory=dict)  # id -> org id
    stock: dict[tuple[str, int], int] = field(default_factory=dict)
    stock_dirty: set[tuple[str, int]] = field(default_factory=set)
    # Stored lot_flows totals (FLOW_COLUMNS order) of the (location, lot) pairs in ``stock``,
    # and stored inventory_daily totals of the batch's keys: what MAX_TOTAL is checked on.
    flow_base: dict[tuple[str, int], Sequence[int]] = field(default_factory=dict)
    daily_base: dict[tuple[str, str, str, str, str], int] = field(default_factory=dict)
    shipments: dict[tuple[int, str, str], list[ShipmentState]] = field(default_factory=dict)
    new_shipments: list[ShipmentState] = field(default_factory=list)
    orders: dict[str, OrderState | None] = field(default_factory=dict)
    lot_events: list[tuple[int, int]] = field(default_factory=list)
    new_holds: list[dict[str, Any]] = field(default_factory=list)
    # Stored open holds per (lot id, org): dicts of seq, kind, released_seq.
    stored_holds: dict[tuple[int, str], list[dict[str, Any]]] = field(default_factory=dict)
    transformations: list[dict[str, Any]] = field(default_factory=list)
    # (location, gtin, day, kind, reason) -> micro-units, added to inventory_daily.
    daily: dict[tuple[str, str, str, str, str], int] = field(default_factory=dict)
    order_lots: list[tuple[Any, ...]] = field(default_factory=list)
    flows: FlowAccumulator = field(default_factory=FlowAccumulator)
    first_seq: int = 0
    # Who handled which lot (ledger.lineage.visibility), for the cross-organisation write rules:
    # (lot id, org) pairs made so by this batch (shipped to, received), and answers so far.
    handled_now: set[tuple[int, str]] = field(default_factory=set)
    handled_seen: dict[tuple[int, str], bool] = field(default_factory=dict)
    # (org, recall id) -> the lot ids a recall of that organisation may hold.
    recall_reach: dict[tuple[str, str], set[int]] = field(default_factory=dict)
    batch: Sequence[Applied] = ()
    # EPCIS hash IDs: (org, hash) -> seq, stored before this batch or earlier in it.
    epcis_hashes: dict[tuple[str, str], int] = field(default_factory=dict)
    new_epcis_hashes: list[tuple[str, str, int]] = field(default_factory=list)
    #: Check who may write what (live appends). A replay re-applies entries the log
    #: accepted when they were appended, against tables it is still rebuilding: it skips
    #: these checks, which only ever refuse and never change what an event does.
    authorize: bool = True

    # -- loading ------------------------------------------------------------------

    def preload(self, batch: Sequence[Applied]) -> None:
        """Load, in set queries, everything the batch's events refer to."""
        if batch:
            self.first_seq = batch[0].seq
        lot_keys: set[tuple[str, str]] = set()
        location_ids: set[str] = set()
        order_ids: set[str] = set()
        releases: set[tuple[str, str]] = set()
        item_lots: list[list[tuple[str, str]]] = []  # each event's lot keys, used twice
        for item in batch:
            e = item.event
            fields = e.__dict__  # fields live in __dict__; a miss is cheap
            keys = ev.event_lots(e)
            item_lots.append(keys)
            lot_keys.update(keys)
            location_ids.add(e.location)  # type: ignore[attr-defined]
            for attr in ("to_location", "from_location", "supplier_location"):
                value = fields.get(attr)
                if value is not None:
                    location_ids.add(value)
            order_id = fields.get("order_id")
            if order_id is not None:
                order_ids.add(order_id)
            reference = fields.get("reference")
            if reference is not None and reference.type == "po":
                order_ids.add(reference.number)
            etype = fields["type"]
            if etype not in _PRELOAD_TYPES:
                continue
            if etype == "release":
                releases.add(e.lot.key)  # type: ignore[attr-defined]
        self._load_epcis_hashes(batch)
        self._load_locations(location_ids)
        self._load_lots(lot_keys)
        self._load_orders(order_ids)
        if releases:
            self._load_stored_holds(
                {lot.id for key in releases if (lot := self.lots.get(key)) is not None}
            )
        pairs = {
            (item.event.location, lot.id)  # type: ignore[attr-defined]
            for item, keys in zip(batch, item_lots, strict=True)
            for key in keys
            if (lot := self.lots.get(key)) is not None
        }
        self._load_stock(pairs)
        self._load_daily(batch)
        self._load_open_shipments(
            {
                (lot.id, e.from_location, e.location)
                for item in batch
                if isinstance(e := item.event, ev.Receive)
                and (lot := self.lots.get(e.lot.key)) is not None
            }
        )

    def _load_epcis_hashes(self, batch: Sequence[Applied]) -> None:
        wanted = {(item.actor, h) for item in batch if (h := item.event.__dict__.get("epcis_hash"))}
        if wanted:
            rows = select_in(self.conn, _EPCIS_HASHES, sorted({h for _, h in wanted}), chunk=_CHUNK)
            self.epcis_hashes.update(((r[0], r[1]), r[2]) for r in rows)

    def _epcis_hash(self, item: Applied, event_hash: str) -> None:
        """A captured EPCIS event is stored once per organisation: the same hash again is
        refused (the capture path drops resent events before it appends; this catches two
        captures of the same event racing each other)."""
        key = (item.actor, event_hash)
        seq = self.epcis_hashes.get(key)
        if seq is not None:
            raise RuleViolation(
                item.index,
                f"the EPCIS event {event_hash} is already in the log (entry {seq})",
                "epcis_hash",
                {"seq": seq},
            )
        self.epcis_hashes[key] = item.seq
        self.new_epcis_hashes.append((item.actor, event_hash, item.seq))

    def _load_locations(self, ids: Iterable[str]) -> None:
        missing = [i for i in ids if i not in self.locations]
        if missing:
            rows = select_in(self.conn, _LOCATIONS_BY_ID, missing, chunk=_CHUNK)
            self.locations.update((r[0], r[1]) for r in rows)
        for i in missing:
            self.locations.setdefault(i, None)

    def _load_lots(self, keys: Iterable[tuple[str, str]]) -> None:
        missing = [k for k in keys if k not in self.lots]
        wanted = set(missing)
        codes = sorted({lot for _, lot in missing})
        if codes:
            rows = select_in(self.conn, _LOTS_BY_CODE, codes, chunk=_CHUNK)
            for row in rows:
                if (row[1], row[2]) in wanted:
                    lot = LotState(*row[:10])
                    if row[10] is not None:
                        lot.kinds = [row[10], row[11], row[12], row[13]]
                        lot.state_seq = row[14]
                    self.lots[(row[1], row[2])] = lot
        for k in missing:
            self.lots.setdefault(k, None)

    def _load_stored_holds(self, lot_ids: Iterable[int]) -> None:
        """Open holds written by earlier batches, for the lots this batch releases."""
        loaded = {lot_id for lot_id, _ in self.stored_holds}
        missing = sorted(set(lot_ids) - loaded)
        if not missing:
            return
        found: dict[tuple[int, str], list[dict[str, Any]]] = {}
        for chunk in _chunks(missing):
            rows = self.conn.execute(
                select(HoldRecord.seq, HoldRecord.lot_id, HoldRecord.org_id, HoldRecord.kind)
                .where(
                    HoldRecord.lot_id.in_(chunk),
                    HoldRecord.released_seq.is_(None),
                    HoldRecord.seq < self.first_seq,
                )
                .order_by(HoldRecord.seq)
            )
            for seq, lot_id, org, kind in rows:
                found.setdefault((lot_id, org), []).append(
                    {"seq": seq, "kind": kind, "released_seq": None}
                )
        for lot_id in missing:
            # An empty marker per lot so that the lot counts as loaded.
            self.stored_holds.setdefault((lot_id, ""), [])
        self.stored_holds.update(found)

    def _load_stock(self, pairs: Iterable[tuple[str, int]]) -> None:
        """Stock on hand, and the lot's stored flow totals there, of each pair."""
        missing = {p for p in pairs if p not in self.stock}
        lot_ids = sorted({lot_id for _, lot_id in missing})
        if lot_ids:
            for loc, lot_id, on_hand, *flows in select_in(
                self.conn, _STOCK_BY_LOT, lot_ids, chunk=_CHUNK
            ):
                if (loc, lot_id) in missing:
                    self.stock[(loc, lot_id)] = on_hand
                    if flows[0] is not None:
                        self.flow_base[(loc, lot_id)] = flows
        for p in missing:
            self.stock.setdefault(p, 0)

    def _load_daily(self, batch: Sequence[Applied]) -> None:
        """The stored inventory_daily totals of the keys the batch's events add to."""
        keys: set[tuple[str, str, str, str, str]] = set()
        for item in batch:
            e = item.event
            etype = e.type  # type: ignore[attr-defined]
            if etype in _DAILY_TYPES:
                day, gtin = e.event_time[:10], e.lot.gtin  # type: ignore[attr-defined]
                if etype == "receive":
                    for reason in ("damaged", "out_of_temperature"):
                        if e.__dict__.get(reason) is not None:
                            keys.add((e.location, gtin, day, "rejected", reason))  # type: ignore[attr-defined]
                else:
                    why = e.__dict__.get("reason") if etype in ("dispose", "adjust") else None
                    keys.add((e.location, gtin, day, etype, str(why or "")))  # type: ignore[attr-defined]
        if not keys:
            return
        gtins = sorted({k[1] for k in keys})
        locations = sorted({k[0] for k in keys})
        days = sorted({k[2] for k in keys})
        sql = _DAILY_BY_GTIN.format(
            locations=placeholders(self.conn, len(locations)),
            days=placeholders(self.conn, len(days)),
            keys="{keys}",
        )
        for start in range(0, len(gtins), _CHUNK):
            part = gtins[start : start + _CHUNK]
            statement = sql.format(keys=f"IN ({placeholders(self.conn, len(part))})")
            for row in self.conn.exec_driver_sql(statement, (*locations, *days, *part)):
                key = (row[0], row[1], row[2], row[3], row[4])
                if key in keys:
                    self.daily_base[key] = int(row[5])

    def _over_limit(
        self, item: Applied, lot: LotState, location: str, what: str, total: int, field_name: str
    ) -> TotalOverLimit:
        return TotalOverLimit(
            item.index,
            f"{what} of lot {lot.gtin}/{lot.lot} at {location} would be {format_micro(total)} "
            f"{lot.unit}, past the limit of {MAX_TOTAL:,} units any stored total may hold: "
            "the batch was refused and nothing was written",
            field_name,
            {
                "gtin": lot.gtin,
                "lot": lot.lot,
                "location": location,
                "total": what,
                "would_be": format_micro(total),
                "limit": str(MAX_TOTAL),
            },
        )

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
            OrderLot.order_id,
        )
        for key in missing:
            self.shipments[key] = []
        lot_ids = sorted({k[0] for k in missing})
        order_ids: set[str] = set()
        for chunk in _chunks(lot_ids):
            rows = self.conn.execute(
                select(*cols)
                .outerjoin(OrderLot, OrderLot.seq == Shipment.seq)
                .where(Shipment.lot_id.in_(chunk), Shipment.received < Shipment.quantity)
                .order_by(Shipment.seq)
            )
            for row in rows:
                key = (row[1], row[2], row[3])
                if key in missing:
                    self.shipments[key].append(ShipmentState(*row))
                    if row[7] is not None:
                        order_ids.add(row[7])
        # A shipment of an ended (closed, cancelled, fulfilled) order is no longer open.
        self._load_orders(order_ids)
        # Shipments made earlier in this batch come after every stored one.
        for shipment in self.new_shipments:
            key = (shipment.lot_id, shipment.from_location, shipment.to_location)
            if key in missing:
                self.shipments[key].append(shipment)

    def _order_ended(self, order_id: str | None) -> bool:
        """Whether a shipment's order is closed, cancelled or fulfilled: what it did not
        deliver by then never will be, so a receipt cannot match the shipment."""
        if order_id is None:
            return False
        if order_id not in self.orders:
            self._load_orders([order_id])
        order = self.orders[order_id]
        return order is not None and order.status in ENDED_ORDER_STATUSES

    def _open_shipments(self, lot_id: int, origin: str, dest: str) -> list[ShipmentState]:
        key = (lot_id, origin, dest)
        if key not in self.shipments:
            self._load_open_shipments({key})
        return self.shipments[key]

    # -- applying -----------------------------------------------------------------

    def apply_all(self, batch: Sequence[Applied]) -> None:
        """Apply every event; raise after the last one if any was refused: the one error,
        or ``BatchRejected`` holding each refused event's. An event after a refused one is
        judged as if the refused one had not been sent."""
        self.batch = batch
        self.preload(batch)
        errors: list[RuleViolation | EventValidationError] = []
        for item in batch:
            try:
                self.apply(item)
            except (RuleViolation, EventValidationError) as exc:
                errors.append(exc)
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise BatchRejected(errors)

    def apply(self, item: Applied) -> None:
        e = item.event
        self._own_location(item, e.location)  # type: ignore[attr-defined]
        event_hash = e.__dict__.get("epcis_hash")
        if event_hash is not None:
            self._epcis_hash(item, event_hash)
        _HANDLERS[e.type](self, item, e)  # type: ignore[attr-defined]
        # Per (location, lot) totals for trace and recall, each within MAX_TOTAL.
        deltas = flow_deltas(e, self._lot_id)
        for location, lot_id, column, delta in deltas:
            total = self.flows.total(location, lot_id, column) + delta
            base = self.flow_base.get((location, lot_id))
            if base is not None:
                total += int(base[_FLOW_INDEX[column]])
            if not -MAX_TOTAL_MICRO <= total <= MAX_TOTAL_MICRO:
                lot = next(v for v in self.lots.values() if v is not None and v.id == lot_id)
                raise self._over_limit(
                    item, lot, location, f"the {column} total", total, "quantity"
                )
        self.flows.add_deltas(deltas)

    def _lot_id(self, gtin: str, lot: str) -> int:
        state = self.lots[(gtin, lot)]
        assert state is not None  # the handler has just loaded or created it
        return state.id

    def _handled(self, org: str, lot: LotState) -> bool:
        """Whether ``org`` made the lot, holds or held stock of it, or shipped or received
        it (or was shipped it), before or in this batch."""
        if lot.org_id == org or (lot.id, org) in self.handled_now:
            return True
        key = (lot.id, org)
        seen = self.handled_seen.get(key)
        if seen is None:
            seen = self.handled_seen[key] = bool(handled_lots(self.conn, org, [lot.id]))
        return seen

    def _require_handled(self, item: Applied, lot: LotState, what: str) -> None:
        if self.authorize and not self._handled(item.actor, lot):
            raise ForbiddenLot(
                item.index,
                f"organisation {item.actor!r} never made, held, shipped or received lot "
                f"{lot.gtin}/{lot.lot}, so it may not {what} it",
                "lot",
            )

    def _recall_may_hold(self, item: Applied, recall_id: str, lot: LotState) -> bool:
        """Whether a recall hold of ``item.actor`` reaches ``lot``: the recall's holds on
        lots the organisation handled (in this batch or placed before) are its anchors, and
        it may hold every lot traced forward or backward from them."""
        key = (item.actor, recall_id)
        reach = self.recall_reach.get(key)
        if reach is None:
            held = {
                state.id: state
                for other in self.batch
                if isinstance(e := other.event, ev.Hold)
                and other.actor == item.actor
                and e.recall_id == recall_id
                and (state := self.lots.get(e.lot.key)) is not None
            }
            # One set query for the whole recall's lots, not one per lot.
            stored_handled = handled_lots(self.conn, item.actor, held)
            for lot_id in held:
                self.handled_seen[(lot_id, item.actor)] = lot_id in stored_handled
            anchors = {  # lots already stored: the trace reads the tables
                (state.gtin, state.lot)
                for state in held.values()
                if not state.new and self._handled(item.actor, state)
            }
            stored = self.conn.execute(
                select(Lot.gtin, Lot.lot)
                .join(HoldRecord, HoldRecord.lot_id == Lot.id)
                .where(HoldRecord.org_id == item.actor, HoldRecord.recall_id == recall_id)
            )
            anchors.update((str(g), str(code)) for g, code in stored)
            reach = set()
            if anchors:
                starts = [TraceStart(g, code) for g, code in sorted(anchors)]
                reach.update(trace(self.conn, starts, "forward").lot_ids)
                reach.update(trace(self.conn, starts, "backward").lot_ids)
            self.recall_reach[key] = reach
        return lot.id in reach

    def _may_have_sent(self, origin: str, dest: str, lot: LotState) -> bool:
        """Whether ``origin`` can have sent the lot to ``dest`` unannounced: it is where the
        lot was made (a maker that recorded no shipment), or it shipped the lot to ``dest``
        before (goods beyond a shipment, or after its order ended)."""
        if lot.origin_location == origin:
            return True
        if any(s.lot_id == lot.id and s.from_location == origin and s.to_location == dest
               for s in self.new_shipments):  # fmt: skip
            return True
        shipped = self.conn.execute(
            select(Shipment.seq)
            .where(
                Shipment.lot_id == lot.id,
                Shipment.from_location == origin,
                Shipment.to_location == dest,
            )
            .limit(1)
        ).first()
        return shipped is not None

    def _own_location(self, item: Applied, location: str, field_name: str = "location") -> None:
        org = self._known_location(item, location, field_name)
        if org != item.actor:
            raise ForbiddenLocation(
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
            status = status_of(lot.kinds) if lot.kinds is not None else "on_hold"
            raise LotOnHold(
                item.index,
                f"lot {lot.gtin}/{lot.lot} is {status.replace('_', ' ')} and cannot be {action}; "
                "only approved stock moves",
                "lot",
                {"gtin": lot.gtin, "lot": lot.lot, "status": status},
            )

    def _not_expired(self, item: Applied, lot: LotState, action: str) -> None:
        # The event's own date (in its offset): a sale recorded late is judged on its day.
        day = item.event.event_time[:10]  # type: ignore[attr-defined]
        if lot.expiry is not None and day > lot.expiry:  # ISO dates compare as strings
            raise LotExpired(
                item.index,
                f"lot {lot.gtin}/{lot.lot} expired on {lot.expiry} and cannot be {action} "
                f"on {day}; dispose of it instead",
                "lot",
                {"gtin": lot.gtin, "lot": lot.lot, "expiry": lot.expiry, "day": day},
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
        self._add(item, location, lot, -qty)

    def _add(self, item: Applied, location: str, lot: LotState, qty: int) -> None:
        key = (location, lot.id)
        if key not in self.stock:
            self._load_stock([key])
        total = self.stock[key] + qty
        if total > MAX_TOTAL_MICRO:
            raise self._over_limit(item, lot, location, "stock on hand", total, "quantity")
        self.stock[key] = total
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
        key = ref.key
        if key not in self.lots:
            self._load_lots([key])
        if self.lots[key] is not None:
            raise RuleViolation(
                item.index, f"lot {ref.gtin}/{ref.lot} is already registered", field_name
            )
        # The expiry is the event's: when the client gave none, the ledger filled in the
        # product's shelf life at append time (ledger.events.completion), so a replay agrees.
        lot = LotState(  # positionally: keywords cost more than the rest of the method
            lot_id_for(item.seq, position),  # id
            ref.gtin,
            ref.lot,
            product,
            unit,
            item.actor,  # org_id
            item.event.location,  # type: ignore[attr-defined]  # origin_location
            expiry,
            item.seq,  # registered_seq
            0,  # open_holds
            None,  # kinds
            True,  # new
        )
        self.lots[key] = lot
        self.stock[(lot.origin_location, lot.id)] = 0
        return lot

    def _on_register(self, item: Applied, e: ev.Register) -> None:
        lot = self._new_lot(item, 0, e.lot, e.product, e.unit, e.expiry, "lot")
        self._add(item, e.location, lot, parse_decimal(e.quantity))
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
        if lot.expiry is not None:
            self._not_expired(item, lot, "shipped")
        qty = parse_decimal(e.quantity)
        self._take(item, e.location, lot, qty, "ship")
        order_id = None
        if e.reference is not None and e.reference.type == "po":
            self._order_movement(item, e.reference.number, lot, "ship", qty, 0, 0)
            if self.orders.get(e.reference.number) is not None:  # an order of this ledger
                order_id = e.reference.number
        destination = self.locations.get(e.to_location)
        if destination is not None:  # the receiving organisation has now been shipped it
            self.handled_now.add((lot.id, destination))
        shipment = ShipmentState(
            item.seq, lot.id, e.location, e.to_location, e.shipment_id, qty, 0, order_id, new=True
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
        sender = self._known_location(item, e.from_location, "from_location")
        qty = parse_decimal(e.quantity)
        damaged = parse_decimal(e.damaged) if e.damaged is not None else 0
        warm = parse_decimal(e.out_of_temperature) if e.out_of_temperature is not None else 0
        if damaged + warm > qty:
            raise EventValidationError(
                [
                    Problem(
                        item.index,
                        "damaged",
                        "damaged and out_of_temperature are parts of quantity: "
                        "together they cannot exceed it",
                    )
                ]
            )
        open_ = [
            s
            for s in self._open_shipments(lot.id, e.from_location, e.location)
            if s.received < s.quantity
            and (e.shipment_id is None or s.shipment_id == e.shipment_id)
            and not self._order_ended(s.order_id)
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
        if (
            not open_
            and self.authorize
            and sender != item.actor
            and not self._may_have_sent(e.from_location, e.location, lot)
        ):
            raise RuleViolation(
                item.index,
                f"{e.from_location} of organisation {sender!r} neither made lot "
                f"{lot.gtin}/{lot.lot} nor ever shipped it to {e.location}: an unsolicited "
                "receipt from another organisation comes from the lot's maker or from a "
                "location that shipped it to you",
                "from_location",
            )
        self.handled_now.add((lot.id, item.actor))
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
        if e.reference is not None and e.reference.type == "po":
            self._order_movement(item, e.reference.number, lot, "receive", qty, damaged, warm)
        # What arrived damaged or warm counts against the shipment but never enters stock.
        self._add(item, e.location, lot, qty - damaged - warm)
        if damaged or warm:
            day = e.event_time[:10]
            for reason, amount in (("damaged", damaged), ("out_of_temperature", warm)):
                if amount:
                    self._daily(item, lot, e.location, day, "rejected", reason, amount)
        self._touch(item, lot)

    def _on_transform(self, item: Applied, e: ev.Transform) -> None:
        inputs: list[tuple[LotState, int]] = []
        for i, inp in enumerate(e.inputs):
            lot = self._lot(item, inp.lot, f"inputs.{i}.lot")
            self._check_unit(item, lot, inp.unit, f"inputs.{i}.unit")
            self._not_held(item, lot, "used")
            if lot.expiry is not None:
                self._not_expired(item, lot, "used")
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
            self._add(item, e.location, lot, parse_decimal(out.quantity))
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
        self,
        item: Applied,
        e: ev.Sell | ev.Consume | ev.Dispose,
        action: str,
        held_ok: bool,
        reason: str = "",
    ) -> None:
        lot = self._lot(item, e.lot)
        self._check_unit(item, lot, e.unit)
        if not held_ok:
            self._not_held(item, lot, action)
            if lot.expiry is not None:
                self._not_expired(item, lot, action)
        qty = parse_decimal(e.quantity)
        self._take(item, e.location, lot, qty, _VERB[action])
        self._daily(item, lot, e.location, e.event_time[:10], e.type, reason, qty)
        self._touch(item, lot)

    def _daily(
        self,
        item: Applied,
        lot: LotState,
        location: str,
        day: str,
        kind: str,
        reason: str,
        qty: int,
    ) -> None:
        key = (location, lot.gtin, day, kind, reason)
        added = self.daily.get(key, 0) + qty
        total = self.daily_base.get(key, 0) + added
        if not -MAX_TOTAL_MICRO <= total <= MAX_TOTAL_MICRO:
            what = f"the {day} total of {kind}" + (f" ({reason})" if reason else "")
            raise self._over_limit(item, lot, location, what, total, "quantity")
        self.daily[key] = added

    def _on_sell(self, item: Applied, e: ev.Sell) -> None:
        self._leave(item, e, "sold", held_ok=False)

    def _on_consume(self, item: Applied, e: ev.Consume) -> None:
        self._leave(item, e, "used", held_ok=False)

    def _on_dispose(self, item: Applied, e: ev.Dispose) -> None:
        self._leave(item, e, "disposed", held_ok=True, reason=e.reason)

    def _on_adjust(self, item: Applied, e: ev.Adjust) -> None:
        lot = self._lot(item, e.lot)
        self._check_unit(item, lot, e.unit)
        variance = parse_decimal(e.variance, signed=True)
        if variance > 0:  # stock of a lot that never came here would make it the writer's
            self._require_handled(item, lot, "count")
        if e.counted is not None:
            key = (e.location, lot.id)
            if key not in self.stock:
                self._load_stock([key])
            on_hand, counted = self.stock[key], parse_decimal(e.counted)
            if on_hand + variance != counted:
                raise StaleCount(
                    item.index,
                    f"the count found {e.counted} of lot {lot.gtin}/{lot.lot} but the "
                    f"variance {e.variance} was computed against {format_micro(counted - variance)}"
                    f" on hand; {format_micro(on_hand)} is on hand now: count again",
                    "variance",
                    {"on_hand": format_micro(on_hand), "counted": e.counted},
                )
        if variance < 0:
            self._take(item, e.location, lot, -variance, "count down", "variance")
        else:
            self._add(item, e.location, lot, variance)
        self._daily(item, lot, e.location, e.event_time[:10], "adjust", e.reason, variance)
        self._touch(item, lot)

    def _on_hold(self, item: Applied, e: ev.Hold) -> None:
        lot = self._lot(item, e.lot)
        recall = e.kind == "recall" and e.recall_id is not None
        if self.authorize and not (
            (recall and self._recall_may_hold(item, e.recall_id or "", lot))
            or self._handled(item.actor, lot)
        ):
            raise ForbiddenLot(
                item.index,
                f"organisation {item.actor!r} never made, held, shipped or received lot "
                f"{lot.gtin}/{lot.lot}, so it may not hold it; its owner, an organisation "
                "that handled it, or a recall reaching it from a lot you handled may",
                "lot",
            )
        lot.open_holds += 1
        lot.dirty = True
        self._count_kind(item, lot, e.kind, +1)
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

    def _count_kind(self, item: Applied, lot: LotState, kind: str, delta: int) -> None:
        if lot.kinds is None:
            lot.kinds = [0, 0, 0, 0]
            lot.state_new = True
        lot.kinds[HOLD_KINDS.index(kind)] += delta
        lot.state_dirty = True
        lot.state_seq = item.seq

    def _on_release(self, item: Applied, e: ev.Release) -> None:
        lot = self._lot(item, e.lot)
        if not any(lot_id == lot.id for lot_id, _ in self.stored_holds):
            self._load_stored_holds([lot.id])
        candidates = [
            h for h in self.stored_holds.get((lot.id, item.actor), []) if h["released_seq"] is None
        ] + [
            h
            for h in self.new_holds
            if h["lot_id"] == lot.id and h["org_id"] == item.actor and h["released_seq"] is None
        ]
        released = [h for h in candidates if e.kind is None or h["kind"] == e.kind]
        if not released and lot.org_id == item.actor:
            # The lot's owner may end another organisation's quality, damage or quarantine
            # hold on it; a recall hold ends only by the recalling organisation.
            released = [
                h
                for (lot_id, org), group in self.stored_holds.items()
                if lot_id == lot.id and org != item.actor
                for h in group
                if h["released_seq"] is None and h["kind"] != "recall"
            ] + [
                h
                for h in self.new_holds
                if h["lot_id"] == lot.id
                and h["org_id"] != item.actor
                and h["released_seq"] is None
                and h["kind"] != "recall"
            ]
            released = [h for h in released if e.kind is None or h["kind"] == e.kind]
        if not released:
            what = f"{e.kind} hold" if e.kind else "hold"
            raise RuleViolation(
                item.index,
                f"lot {lot.gtin}/{lot.lot} has no open {what} your organisation may release: "
                "a hold is released by the organisation that placed it; a quality, damage or "
                "quarantine hold also by the lot's owner; a recall hold only by the recalling "
                "organisation",
                "lot",
            )
        for hold in released:
            hold["released_seq"] = item.seq
            self._count_kind(item, lot, hold["kind"], -1)
        lot.open_holds -= len(released)
        lot.dirty = True
        self._touch(item, lot)

    def _on_observe(self, item: Applied, e: ev.Observe) -> None:
        if e.lot is not None:
            lot = self._lot(item, e.lot)
            self._require_handled(item, lot, "record an observation of")
            self._touch(item, lot)

    # -- writing back -------------------------------------------------------------

    def flush(self) -> None:
        # The sorts below (stock, inventory_daily, lot_events, and lot_flows in write_flows)
        # are kept on purpose: they fix the order the rows are written in, hence the order of
        # new rows in the tables (what a read without ORDER BY sees) and the order PostgreSQL
        # locks existing rows in, which would otherwise follow the order of a set (string
        # hashing differs from process to process) or of the batch. They cost little
        # (docs/benchmarks-history.md, "Figures from the code").
        conn = self.conn
        self.flows.flush(conn)
        lots = [v for v in self.lots.values() if v is not None]
        insert_rows(conn, "lots", _LOT_COLS, [_lot_row(lot) for lot in lots if lot.new])
        changed = [
            {"b_id": lot.id, "b_holds": lot.open_holds} for lot in lots if lot.dirty and not lot.new
        ]
        if changed:
            conn.execute(
                update(Lot).where(Lot.id == _b("b_id")).values(open_holds=_b("b_holds")), changed
            )
        upsert_rows(
            conn,
            "lot_states",
            ("lot_id", "status", *HOLD_KINDS, "changed_seq"),
            ("lot_id",),
            [
                (lot.id, status_of(lot.kinds), *lot.kinds, lot.state_seq)
                for lot in lots
                if lot.state_dirty and lot.kinds is not None
            ],
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
        released = [
            {"b_seq": h["seq"], "b_rel": h["released_seq"]}
            for group in self.stored_holds.values()
            for h in group
            if h["released_seq"] is not None
        ]
        if released:
            conn.execute(
                update(HoldRecord)
                .where(HoldRecord.seq == _b("b_seq"))
                .values(released_seq=_b("b_rel")),
                released,
            )
        if self.transformations:
            conn.execute(insert(Transformation), self.transformations)
        self._flush_orders()
        if self.daily:
            marks = placeholders(conn, 6)
            conn.exec_driver_sql(  # fixed names; every value is a bound parameter
                "INSERT INTO inventory_daily (location_id, gtin, day, kind, reason, quantity) "  # noqa: S608
                f"VALUES ({marks}) ON CONFLICT (location_id, gtin, day, kind, reason) "
                "DO UPDATE SET quantity = inventory_daily.quantity + excluded.quantity",
                [(*key, qty) for key, qty in sorted(self.daily.items())],
            )
        insert_rows(
            conn, "epcis_event_hashes", ("org_id", "event_hash", "seq"), self.new_epcis_hashes
        )
        # A transform touching a lot as input and output, or twice, is one row.
        insert_rows(conn, "lot_events", ("lot_id", "seq"), sorted(set(self.lot_events)))


_VERB = {"sold": "sell", "used": "use", "disposed": "dispose"}
_FLOW_INDEX = {c: i for i, c in enumerate(FLOW_COLUMNS)}
_DAILY_TYPES = frozenset(("sell", "consume", "dispose", "adjust", "receive"))
# Stock of the batch's lots with their stored flow totals (select_in fills in the lot ids).
_STOCK_BY_LOT = (
    "SELECT s.location_id, s.lot_id, s.on_hand, "  # noqa: S608 - names from the schema
    + ", ".join(f"f.{c}" for c in FLOW_COLUMNS)
    + " FROM stock s LEFT OUTER JOIN lot_flows f"
    " ON f.location_id = s.location_id AND f.lot_id = s.lot_id WHERE s.lot_id {keys}"
)
_DAILY_BY_GTIN = (
    "SELECT location_id, gtin, day, kind, reason, quantity FROM inventory_daily "
    "WHERE location_id IN ({locations}) AND day IN ({days}) AND gtin {keys}"
)
_PRELOAD_TYPES = frozenset(("release",))
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
# The lots of a batch, by lot code, with their hold counts (lot_states is sparse): a LotState's
# fields in order, then HOLD_KINDS' counts and changed_seq or NULLs.
_LOTS_BY_CODE = (
    "SELECT "  # noqa: S608 - names from the schema; the codes are bound parameters
    + ", ".join(
        f"{c.table.name}.{c.name}"
        for c in (
            *(getattr(Lot, name) for name in _LOT_COLS),
            *(getattr(LotStatusRecord, kind) for kind in HOLD_KINDS),
            LotStatusRecord.changed_seq,
        )
    )
    + f" FROM {Lot.__tablename__} LEFT OUTER JOIN {LotStatusRecord.__tablename__}"
    + " ON lot_states.lot_id = lots.id WHERE lots.lot {keys}"
)
# Raw SQL for select_in, like _LOTS_BY_CODE: a Core SELECT ... IN built for each batch cost
# several times the query (docs/benchmarks-history.md, "Figures from the code").
_LOCATIONS_BY_ID = f"SELECT id, org_id FROM {Location.__tablename__} WHERE id {{keys}}"  # noqa: S608
_EPCIS_HASHES = "SELECT org_id, event_hash, seq FROM epcis_event_hashes WHERE event_hash {keys}"
_lot_row = attrgetter(*_LOT_COLS)  # a LotState's lots row, as a tuple in _LOT_COLS order

#: The handler of each event type: ``BatchProjector._on_<type>``.
_HANDLERS: dict[str, Callable[[BatchProjector, Applied, Any], None]] = {
    etype: getattr(BatchProjector, f"_on_{etype}") for etype in ev.EVENT_TYPES
}
