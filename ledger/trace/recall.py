"""Recalls: a trace turned into holds, tracked until every location has removed the goods.

A recall is a record (``recalls``, ``recall_items``, ``recall_locations``) plus
ledger events. Creating one traces the starting lots and appends, as the
recalling organisation, a ``hold`` of kind ``recall`` with the recall's id for
every affected lot that still has stock on hand or in transit. A hold is
lot-wide (every location's stock of the lot is blocked), and the ledger only
accepts events at the writer's own locations, so each hold is recorded at one
of the recalling organisation's locations: one where the lot is, if any, else
its first location. Only that organisation can release those holds. The holds go
through the ledger's write path as one group commit: all of them or none, under
one checkpoint.

What is at risk is measured after the holds are in the log, per (location,
lot): stock on hand plus stock in transit to it. Recovered is what that node
disposed of or sent back since then (a held lot can do nothing else).
Each location confirms removal: ``confirm_removal`` disposes of what it still
holds (reason ``recall``) and records the confirmation; or, with
``dispose=False``, confirms stock the location already removed. The recall is
closed by its organisation once no location is outstanding.

Hold and disposal events have event ids derived from the recall, so retrying a
call that failed half-way appends nothing twice.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    insert,
    select,
    update,
)

from ledger.errors import NotFound, RuleViolation
from ledger.lineage.graph import Direction, TraceNode, TraceResult, TraceStart, trace
from ledger.log.service import MAX_BATCH, Ledger, rfc3339_utc
from ledger.quantity import format_micro
from ledger.storage.db import read_transaction, write_transaction
from ledger.storage.schema import Head, Location, Lot, Shipment, Stock
from ledger.storage.sums import joined, split_sum
from ledger.trace.fsma import ExportFormat
from ledger.trace.fsma_recall import RecallSheet, render_recall
from ledger.trace.recall_record import LocationProgress, Recall, RecallItem

Classification = Literal["I", "II", "III"]
CLASSIFICATIONS: tuple[str, ...] = ("I", "II", "III")
_NAMESPACE = uuid.UUID("6f1c0f1e-5b0e-4c1a-9a53-2b8f0d1e7a11")

_meta = MetaData()
recalls = Table(
    "recalls",
    _meta,
    Column("id", String(64), primary_key=True),
    Column("org_id", String(64)),
    Column("reason", String(200)),
    Column("classification", String(3)),
    Column("status", String(16)),
    Column("direction", String(16)),
    Column("max_depth", Integer),
    Column("starts", Text),
    Column("created_seq", BigInteger),
    Column("created_at", String(40)),
    Column("closed_at", String(40)),
    Column("closed_by", String(64)),
    Column("close_reason", String(500)),
    Column("outstanding_at_close", Text),
)
recall_items = Table(
    "recall_items",
    _meta,
    Column("recall_id", String(64), primary_key=True),
    Column("location_id", String(64), primary_key=True),
    Column("lot_id", BigInteger, primary_key=True),
    Column("depth", Integer),
    Column("at_risk", BigInteger),
    Column("base_disposed", BigInteger),
    Column("base_shipped", BigInteger),
)
recall_locations = Table(
    "recall_locations",
    _meta,
    Column("recall_id", String(64), primary_key=True),
    Column("location_id", String(64), primary_key=True),
    Column("confirmed_at", String(40)),
    Column("confirmed_by", String(64)),
)
lot_flows = Table(
    "lot_flows",
    _meta,
    Column("location_id", String(64), primary_key=True),
    Column("lot_id", BigInteger, primary_key=True),
    Column("produced", BigInteger),
    Column("received", BigInteger),
    Column("shipped", BigInteger),
    Column("used", BigInteger),
    Column("sold", BigInteger),
    Column("consumed", BigInteger),
    Column("disposed", BigInteger),
)


class RecallConflict(RuleViolation):
    """A recall action the recall's state forbids (closed, outstanding, not yours).

    ``forbidden`` marks the "not yours" cases (another organisation's location or
    recall, a lot the organisation never had): the caller may not, whatever the state.
    """

    def __init__(self, message: str, field: str = "recall", *, forbidden: bool = False) -> None:
        super().__init__(0, message, field)
        self.forbidden = forbidden


# -- creating ----------------------------------------------------------------------


def create_recall(
    ledger: Ledger,
    *,
    actor: str,
    starts: Sequence[TraceStart],
    reason: str,
    classification: Classification,
    direction: Direction = "forward",
    max_depth: int | None = None,
    recall_id: str | None = None,
    now: datetime | None = None,
) -> Recall:
    """Trace ``starts``, hold every affected lot with stock, and record the recall.

    ``actor`` is the recalling organisation (a manager of it); it recalls lots it
    made, holds, or shipped or received. Raises NotFound for unknown lots, ValueError
    for a bad classification or reason, and RecallConflict if ``recall_id`` is taken,
    the organisation has no location, or a start lot never passed through it.
    """
    if classification not in CLASSIFICATIONS:
        raise ValueError(f"classification must be I, II or III, not {classification!r}")
    if not reason.strip() or len(reason) > 200:
        raise ValueError("reason must be 1 to 200 characters")
    if not starts:
        raise ValueError("a recall starts from at least one lot")
    recall_id = recall_id or str(uuid.uuid4())
    moment = now or datetime.now(UTC)
    with read_transaction(ledger.engine) as conn:
        if conn.execute(select(recalls.c.id).where(recalls.c.id == recall_id)).first():
            raise RecallConflict(f"recall {recall_id!r} already exists", "recall_id")
        own = sorted(
            str(r[0]) for r in conn.execute(select(Location.id).where(Location.org_id == actor))
        )
        if not own:
            raise RecallConflict(f"organisation {actor!r} has no location to record holds at")
        result = trace(conn, starts, direction, max_depth)
        foreign = not_handled_by(conn, actor, [n.lot_id for n in result.starts])
        if foreign:
            raise RecallConflict(
                f"organisation {actor!r} never made, held, shipped or received "
                + ", ".join(foreign)
                + "; the lot's owner or a regulator recalls it",
                "starts",
                forbidden=True,
            )
    holds = _hold_events(result, recall_id, reason, own, moment)
    if holds:  # one transaction and one checkpoint: every hold or none
        chunks = [holds[i : i + MAX_BATCH] for i in range(0, len(holds), MAX_BATCH)]
        ledger.append_many([(actor, chunk) for chunk in chunks], now=moment)
    with write_transaction(ledger.engine) as conn:
        created_seq = int(conn.execute(select(Head.tree_size)).scalar_one())
        items = _snapshot(conn, result)
        conn.execute(
            insert(recalls).values(
                id=recall_id,
                org_id=actor,
                reason=reason,
                classification=classification,
                status="open",
                direction=direction,
                max_depth=max_depth,
                starts=json.dumps(
                    [{"gtin": s.gtin, "lot": s.lot, "location": s.location} for s in starts]
                ),
                created_seq=created_seq,
                created_at=rfc3339_utc(moment),
                closed_at=None,
            )
        )
        if items:
            conn.execute(insert(recall_items), [{"recall_id": recall_id, **i} for i in items])
            locs = sorted({i["location_id"] for i in items})
            conn.execute(
                insert(recall_locations),
                [{"recall_id": recall_id, "location_id": loc} for loc in locs],
            )
        status = _status(conn, recall_id)
    status.holds_appended = len(holds)
    return status


def _hold_events(
    result: TraceResult, recall_id: str, reason: str, own: list[str], moment: datetime
) -> list[dict[str, Any]]:
    stocked: dict[tuple[str, str], list[TraceNode]] = {}
    for n in result.nodes:
        if n.on_hand > 0 or n.in_transit > 0:
            stocked.setdefault((n.gtin, n.lot), []).append(n)
    text = f"Recall {recall_id}: {reason}"[:200]
    own_set = set(own)  # thousands of nodes against thousands of locations
    events = []
    for (gtin, lot), nodes in stocked.items():
        mine = sorted(n.location for n in nodes if n.location in own_set)
        events.append(
            {
                "event_id": str(uuid.uuid5(_NAMESPACE, f"{recall_id}/hold/{gtin}/{lot}")),
                "type": "hold",
                "event_time": rfc3339_utc(moment),
                "location": mine[0] if mine else own[0],
                "lot": {"gtin": gtin, "lot": lot},
                "kind": "recall",
                "reason": text,
                "recall_id": recall_id,
                "reference": {"type": "recall", "number": recall_id[:200]},
            }
        )
    return events


def _snapshot(conn: Any, result: TraceResult) -> list[dict[str, Any]]:
    """At risk per (location, lot), re-read now that the holds stop any movement."""
    by_lot: dict[int, list[TraceNode]] = {}
    for n in result.nodes:
        by_lot.setdefault(n.lot_id, []).append(n)
    on_hand: dict[tuple[str, int], int] = {}
    flows: dict[tuple[str, int], tuple[int, int]] = {}
    transit: dict[tuple[str, int], int] = {}
    ids = sorted(by_lot)
    for i in range(0, len(ids), 900):
        chunk = ids[i : i + 900]
        for loc, lot_id, qty in conn.execute(
            select(Stock.location_id, Stock.lot_id, Stock.on_hand).where(Stock.lot_id.in_(chunk))
        ):
            on_hand[(loc, lot_id)] = int(qty)
        for loc, lot_id, shipped, disposed in conn.execute(
            select(
                lot_flows.c.location_id,
                lot_flows.c.lot_id,
                lot_flows.c.shipped,
                lot_flows.c.disposed,
            ).where(lot_flows.c.lot_id.in_(chunk))
        ):
            flows[(loc, lot_id)] = (int(shipped), int(disposed))
        for loc, lot_id, high, low in conn.execute(
            select(
                Shipment.to_location,
                Shipment.lot_id,
                *split_sum(Shipment.quantity - Shipment.received),
            )
            .where(Shipment.lot_id.in_(chunk))
            .group_by(Shipment.to_location, Shipment.lot_id)
        ):
            transit[(loc, lot_id)] = joined(high, low)
    items = []
    for n in result.nodes:
        key = (n.location, n.lot_id)
        risk = on_hand.get(key, 0) + transit.get(key, 0)
        if risk <= 0:
            continue
        shipped, disposed = flows.get(key, (0, 0))
        items.append(
            {
                "location_id": n.location,
                "lot_id": n.lot_id,
                "depth": n.depth,
                "at_risk": risk,
                "base_disposed": disposed,
                "base_shipped": shipped,
            }
        )
    return items


# -- reading -------------------------------------------------------------------------


def get_recall(
    ledger_or_engine: Ledger | Any, recall_id: str, *, viewer: str | None = None
) -> Recall:
    """A recall with its progress: at risk, recovered, each location's confirmation.

    With ``viewer`` (an organisation), only a recall it made or that involves one of
    its locations is found; NotFound otherwise, as for a recall that does not exist.
    """
    engine = ledger_or_engine.engine if isinstance(ledger_or_engine, Ledger) else ledger_or_engine
    with read_transaction(engine) as conn:
        recall = _status(conn, recall_id)
    if viewer is not None and not _involves(recall, viewer):
        raise NotFound(f"no recall {recall_id!r}")
    return recall


def _involves(recall: Recall, viewer: str) -> bool:
    return recall.org_id == viewer or any(loc.org_id == viewer for loc in recall.locations)


RECALL_STATUSES = ("open", "closed")


def list_recalls(
    ledger: Ledger,
    *,
    org_id: str | None = None,
    viewer: str | None = None,
    status: str | None = None,
    after: str | None = None,
    limit: int | None = None,
) -> list[Recall]:
    """Recalls in creation order: those ``org_id`` made (all when None); with ``viewer``,
    only those it made or that involve one of its locations; with ``status``, only open or
    closed ones; a page of ``limit`` from the one after the recall ``after`` (NotFound if
    there is no such recall). Four queries whatever the page's length."""
    with read_transaction(ledger.engine) as conn:
        stmt = select(recalls).order_by(recalls.c.created_seq, recalls.c.id)
        if org_id is not None:
            stmt = stmt.where(recalls.c.org_id == org_id)
        if viewer is not None:
            mine = select(Location.id).where(Location.org_id == viewer)
            involved = select(recall_locations.c.recall_id).where(
                recall_locations.c.location_id.in_(mine)
            )
            stmt = stmt.where((recalls.c.org_id == viewer) | recalls.c.id.in_(involved))
        if status is not None:
            stmt = stmt.where(recalls.c.status == status)
        if after is not None:
            mark = conn.execute(
                select(recalls.c.created_seq).where(recalls.c.id == after)
            ).scalar_one_or_none()
            if mark is None:
                raise NotFound(f"no recall {after!r} to page after")
            stmt = stmt.where(
                (recalls.c.created_seq > mark)
                | ((recalls.c.created_seq == mark) & (recalls.c.id > after))
            )
        if limit is not None:
            stmt = stmt.limit(limit)
        return _statuses(conn, list(conn.execute(stmt).mappings()))


def not_handled_by(conn: Any, org_id: str, lot_ids: Sequence[int]) -> list[str]:
    """``gtin/lot`` of each of ``lot_ids`` that ``org_id`` never made, held, shipped or
    received (the lots it has no standing to recall)."""
    own = select(Location.id).where(Location.org_id == org_id)
    out = []
    for lot_id in sorted(set(lot_ids)):
        row = conn.execute(select(Lot.gtin, Lot.lot, Lot.org_id).where(Lot.id == lot_id)).one()
        if row[2] == org_id:
            continue
        touched = (
            conn.execute(
                select(lot_flows.c.lot_id)
                .where(lot_flows.c.lot_id == lot_id, lot_flows.c.location_id.in_(own))
                .limit(1)
            ).first()
            or conn.execute(
                select(Stock.lot_id)
                .where(Stock.lot_id == lot_id, Stock.location_id.in_(own))
                .limit(1)
            ).first()
            or conn.execute(
                select(Shipment.seq)
                .where(
                    Shipment.lot_id == lot_id,
                    Shipment.to_location.in_(own) | Shipment.from_location.in_(own),
                )
                .limit(1)
            ).first()
        )
        if touched is None:
            out.append(f"{row[0]}/{row[1]}")
    return out


def _in_transit(conn: Any, lot_ids: Sequence[int]) -> dict[tuple[str, int], int]:
    """Quantity shipped to each (location, lot) and not yet received, for ``lot_ids``."""
    found: dict[tuple[str, int], int] = {}
    for start in range(0, len(lot_ids), 900):
        for loc, lot_id, high, low in conn.execute(
            select(
                Shipment.to_location,
                Shipment.lot_id,
                *split_sum(Shipment.quantity - Shipment.received),
            )
            .where(
                Shipment.lot_id.in_(lot_ids[start : start + 900]),
                Shipment.received < Shipment.quantity,
            )
            .group_by(Shipment.to_location, Shipment.lot_id)
        ):
            found[(str(loc), int(lot_id))] = joined(high, low)
    return found


def _status(conn: Any, recall_id: str) -> Recall:
    head = conn.execute(select(recalls).where(recalls.c.id == recall_id)).mappings().first()
    if head is None:
        raise NotFound(f"no recall {recall_id!r}")
    return _statuses(conn, [head])[0]


def _statuses(conn: Any, heads: Sequence[Any]) -> list[Recall]:
    """Each recall's progress, from its head row: three queries for any number of them."""
    if not heads:
        return []
    ids = [h["id"] for h in heads]
    i, f = recall_items.c, lot_flows.c
    rows = conn.execute(
        select(
            i.recall_id,
            i.location_id,
            Lot.gtin,
            Lot.lot,
            i.at_risk,
            func.coalesce(f.disposed, 0) - i.base_disposed,
            func.coalesce(f.shipped, 0) - i.base_shipped,
            func.coalesce(Stock.on_hand, 0),
            i.lot_id,
            Lot.product,
            Lot.unit,
            func.coalesce(f.produced, 0),
            func.coalesce(f.received, 0),
            func.coalesce(f.shipped, 0),
            func.coalesce(f.sold + f.consumed + f.used, 0),
            func.coalesce(f.disposed, 0),
        )
        .join(Lot, Lot.id == i.lot_id)
        .outerjoin(lot_flows, (f.lot_id == i.lot_id) & (f.location_id == i.location_id))
        .outerjoin(Stock, (Stock.lot_id == i.lot_id) & (Stock.location_id == i.location_id))
        .where(i.recall_id.in_(ids))
        .order_by(i.recall_id, i.location_id, Lot.gtin, Lot.lot)
    ).all()
    transit = _in_transit(conn, sorted({int(r[8]) for r in rows}))
    c = recall_locations.c
    confirmations = {
        (r[0], r[1]): (r[2], r[3], r[4], r[5])
        for r in conn.execute(
            select(
                c.recall_id,
                c.location_id,
                c.confirmed_at,
                c.confirmed_by,
                Location.org_id,
                Location.name,
            )
            .outerjoin(Location, Location.id == c.location_id)
            .where(c.recall_id.in_(ids))
        )
    }
    progress: dict[str, dict[str, LocationProgress]] = {rid: {} for rid in ids}
    for row in rows:
        rid, loc, gtin, lot, risk, disposed, shipped, stock, lot_id = row[:9]
        recovered = min(int(risk), max(0, int(disposed)) + max(0, int(shipped)))
        locations = progress[rid]
        at_loc = locations.get(loc)
        if at_loc is None:
            at, by, org, name = confirmations.get((rid, loc), (None, None, None, None))
            at_loc = locations[loc] = LocationProgress(
                loc, str(org or ""), 0, 0, at, by, location_name=str(name or loc)
            )
        at_loc.items.append(
            RecallItem(
                gtin,
                lot,
                loc,
                int(risk),
                recovered,
                int(stock),
                product=str(row[9]),
                unit=str(row[10]),
                produced=int(row[11]),
                received=int(row[12]),
                shipped=int(row[13]),
                in_transit=transit.get((loc, int(lot_id)), 0),
                sold_or_used=int(row[14]),
                disposed=int(row[15]),
            )
        )
        at_loc.at_risk += int(risk)
        at_loc.recovered += recovered
    return [
        Recall(
            id=head["id"],
            org_id=head["org_id"],
            reason=head["reason"],
            classification=head["classification"],
            status=head["status"],
            direction=head["direction"],
            max_depth=head["max_depth"],
            starts=[TraceStart(**s) for s in json.loads(head["starts"])],
            created_seq=int(head["created_seq"]),
            created_at=head["created_at"],
            closed_at=head["closed_at"],
            locations=list(progress[head["id"]].values()),
            closed_by=head["closed_by"],
            close_reason=head["close_reason"],
            outstanding_at_close=(
                None
                if head["outstanding_at_close"] is None
                else json.loads(head["outstanding_at_close"])
            ),
        )
        for head in heads
    ]


def recall_trace(ledger: Ledger, recall_id: str, *, viewer: str | None = None) -> TraceResult:
    """The recall's trace, run again now (for exports): the same starts and direction."""
    recall = get_recall(ledger, recall_id, viewer=viewer)
    return trace(ledger.engine, recall.starts, recall.direction, recall.max_depth)


def export_recall(
    ledger: Ledger,
    recall_id: str,
    fmt: ExportFormat,
    *,
    viewer: str | None = None,
    sheet: RecallSheet = "events",
) -> bytes:
    """The recall's export (``ledger.trace.fsma_recall``): XLSX with the FSMA 204 spreadsheet,
    the recall's summary and its dispositions; JSON with all of them; or one ``sheet``
    of them as CSV."""
    recall = get_recall(ledger, recall_id, viewer=viewer)
    with read_transaction(ledger.engine) as conn:
        result = trace(conn, recall.starts, recall.direction, recall.max_depth)
        return render_recall(conn, recall, result, fmt, sheet)


PROGRESS_COLUMNS = (
    "location",
    "location_name",
    "org_id",
    "gtin",
    "lot",
    "product",
    "unit",
    "at_risk",
    "recovered",
    "produced",
    "received",
    "shipped",
    "in_transit",
    "on_hand",
    "sold_or_used",
    "disposed",
    "confirmed_at",
    "confirmed_by",
    "complete",
)


def progress_csv(recall: Recall) -> bytes:
    """The recall's progress as CSV: one row per (location, lot), the location's
    confirmation and completeness repeated on each of its rows (UTF-8 with a byte order
    mark, so that spreadsheet programs read the product names right)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(PROGRESS_COLUMNS)
    for loc in recall.locations:
        where = loc.as_dict()
        for item in where["items"]:
            writer.writerow(
                [
                    loc.location,
                    loc.location_name,
                    loc.org_id,
                    *(item[k] for k in PROGRESS_COLUMNS[3:16]),
                    loc.confirmed_at or "",
                    loc.confirmed_by or "",
                    "yes" if loc.complete else "no",
                ]
            )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# -- confirming and closing ------------------------------------------------------------


def confirm_removal(
    ledger: Ledger,
    recall_id: str,
    *,
    actor: str,
    location: str,
    dispose: bool = True,
    now: datetime | None = None,
) -> Recall:
    """``location`` (of ``actor``'s organisation) confirms it removed the recalled goods.

    With ``dispose``, first appends a ``dispose`` (reason ``recall``) of whatever
    of each recalled lot the location still holds. Without it, the location
    must hold none. Raises NotFound, or RecallConflict when the recall is closed,
    the location is not the actor's or not part of the recall, recalled goods are still in
    transit to it, or (without ``dispose``) stock remains.
    """
    moment = now or datetime.now(UTC)
    with read_transaction(ledger.engine) as conn:
        recall = _status(conn, recall_id)
        if recall.status != "open":
            raise RecallConflict(f"recall {recall_id} is closed")
        owner = conn.execute(
            select(Location.org_id).where(Location.id == location)
        ).scalar_one_or_none()
        if owner is None:
            raise NotFound(f"unknown location {location!r}")
        if owner != actor:
            raise RecallConflict(
                f"location {location!r} belongs to another organisation; "
                "only its own staff confirm removal",
                "location",
                forbidden=True,
            )
        progress = next((p for p in recall.locations if p.location == location), None)
        if progress is None:
            raise RecallConflict(f"location {location!r} has nothing at risk in this recall")
        moving = [i for i in progress.items if i.in_transit > 0]
        if moving:
            raise RecallConflict(
                f"{location} cannot confirm removal while recalled goods are on their way to "
                "it: "
                + ", ".join(
                    f"{format_micro(i.in_transit)} {i.unit} of {i.gtin}/{i.lot} ({i.product})"
                    for i in moving
                )
                + " in transit; receive them when they arrive, then confirm (which disposes "
                "of them)",
                "location",
            )
        codes = sorted({i.lot for i in progress.items})
        units = {
            (r[0], r[1]): str(r[2])
            for r in conn.execute(select(Lot.gtin, Lot.lot, Lot.unit).where(Lot.lot.in_(codes)))
        }
        disposed_now = {
            (r[0], r[1]): int(r[2])
            for r in conn.execute(
                select(Lot.gtin, Lot.lot, lot_flows.c.disposed)
                .join(Lot, Lot.id == lot_flows.c.lot_id)
                .where(lot_flows.c.location_id == location)
            )
        }
    left = [i for i in progress.items if i.on_hand > 0]
    if left and not dispose:
        raise RecallConflict(
            f"{location} still holds "
            + ", ".join(f"{format_micro(i.on_hand)} of {i.gtin}/{i.lot}" for i in left),
            "location",
        )
    events = [
        {
            "event_id": str(
                uuid.uuid5(
                    _NAMESPACE,
                    f"{recall_id}/dispose/{location}/{i.gtin}/{i.lot}/"
                    f"{disposed_now.get((i.gtin, i.lot), 0)}",
                )
            ),
            "type": "dispose",
            "event_time": rfc3339_utc(moment),
            "location": location,
            "lot": {"gtin": i.gtin, "lot": i.lot},
            "quantity": format_micro(i.on_hand),
            "unit": units[(i.gtin, i.lot)],
            "reason": "recall",
            "reference": {"type": "recall", "number": recall_id[:200]},
        }
        for i in left
    ]
    if events:
        ledger.append(events, actor=actor, now=now)
    with write_transaction(ledger.engine) as conn:
        conn.execute(
            update(recall_locations)
            .where(
                recall_locations.c.recall_id == recall_id,
                recall_locations.c.location_id == location,
            )
            .values(confirmed_at=rfc3339_utc(moment), confirmed_by=actor)
        )
        return _status(conn, recall_id)


def close_recall(
    ledger: Ledger,
    recall_id: str,
    *,
    actor: str,
    force: bool = False,
    reason: str | None = None,
    now: datetime | None = None,
) -> Recall:
    """Close an open recall of ``actor``'s organisation; every location must have confirmed
    unless ``force``, which needs a ``reason`` and records it, who closed and what each
    outstanding location still held or had in transit then. The holds stay: recalled lots
    remain recalled."""
    moment = now or datetime.now(UTC)
    reason = (reason or "").strip() or None
    if force and reason is None:
        raise ValueError(
            "closing a recall with locations outstanding needs a reason (who agreed to it "
            "and why the rest cannot be recovered)"
        )
    if reason is not None and len(reason) > MAX_CLOSE_REASON:
        raise ValueError(f"the reason is longer than {MAX_CLOSE_REASON} characters")
    with write_transaction(ledger.engine) as conn:
        recall = _status(conn, recall_id)
        if recall.org_id != actor:
            raise RecallConflict("only the recalling organisation closes a recall", forbidden=True)
        if recall.status != "open":
            raise RecallConflict(f"recall {recall_id} is already closed")
        if recall.outstanding and not force:
            raise RecallConflict(
                "locations have not completed removal (confirmed, with no recalled stock on "
                "hand or in transit to them): " + ", ".join(recall.outstanding) + "; to close "
                "it anyway, send force with a reason (recorded on the recall)"
            )
        left = [
            {
                "location": loc.location,
                "confirmed": loc.confirmed_at is not None,
                "items": [
                    {
                        "gtin": i.gtin,
                        "lot": i.lot,
                        "unit": i.unit,
                        "on_hand": format_micro(i.on_hand),
                        "in_transit": format_micro(i.in_transit),
                    }
                    for i in loc.items
                    if i.on_hand > 0 or i.in_transit > 0
                ],
            }
            for loc in recall.locations
            if loc.outstanding
        ]
        conn.execute(
            update(recalls)
            .where(recalls.c.id == recall_id)
            .values(
                status="closed",
                closed_at=rfc3339_utc(moment),
                closed_by=actor,
                close_reason=reason,
                outstanding_at_close=json.dumps(left) if left else None,
            )
        )
        return _status(conn, recall_id)


#: The longest reason a recall's close records.
MAX_CLOSE_REASON = 500


__all__ = [
    "LocationProgress",
    "Recall",
    "RecallConflict",
    "RecallItem",
    "close_recall",
    "confirm_removal",
    "create_recall",
    "export_recall",
    "get_recall",
    "list_recalls",
    "progress_csv",
    "recall_trace",
]
