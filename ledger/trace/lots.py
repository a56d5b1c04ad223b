"""Lot reads: master data, status, history in order, and stock by location.

Every read takes a ``viewer``: the organisation asking, or None for a reader who
sees everything (a regulator). An organisation sees a lot it handled
(``ledger.lineage.visibility``: registered, holds or held stock of, shipped or was shipped)
or that is in one of its recalls; of that lot's history it sees the events it wrote and
the events at, from or to its own locations; of its stock, its own locations.
A lot the viewer may not see is reported as not found, so that its existence
does not leak.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, get_args

from sqlalchemy import Connection, Engine, select

from ledger.errors import NotFound
from ledger.lineage.visibility import concerns, own_locations, visible_lots
from ledger.projections.projector import APPROVED, HOLD_KINDS, HOLD_STATUS, LotStatus
from ledger.quantity import format_micro
from ledger.storage.db import read_transaction
from ledger.storage.schema import Entry, HoldRecord, Location, Lot, LotEvent, Stock
from verifier.gs1 import IdentifierError, validate_gtin

STATUSES: tuple[LotStatus, ...] = get_args(LotStatus)
MAX_EVENTS_PAGE = 1000


@dataclass(frozen=True, slots=True)
class HoldInfo:
    seq: int
    org_id: str
    kind: str
    reason: str
    recall_id: str | None


@dataclass(frozen=True, slots=True)
class LotInfo:
    gtin: str
    lot: str
    product: str
    unit: str
    org_id: str
    origin_location: str
    expiry: str | None
    registered_seq: int
    status: LotStatus
    holds: list[HoldInfo]


@dataclass(frozen=True, slots=True)
class LotEntry:
    """One entry of a lot's history: where it is in the log and what it says."""

    seq: int
    leaf_hash: bytes
    envelope: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StockLine:
    location_id: str
    org_id: str
    on_hand: str


def lot_status(expiry: str | None, holds: list[HoldInfo], today: date) -> LotStatus:
    """The lot's status in the stock lines' words: the most severe open hold's (recalled,
    quarantined, damaged, on_hold), else expired once its expiry date has passed, else
    approved."""
    kinds = {h.kind for h in holds}
    for kind in reversed(HOLD_KINDS):
        if kind in kinds:
            return HOLD_STATUS[kind]
    if expiry is not None and date.fromisoformat(expiry) < today:
        return "expired"
    return APPROVED


def get_lot(
    engine: Engine, gtin: str, lot: str, *, viewer: str | None, today: date | None = None
) -> LotInfo:
    """A lot's master data, open holds and status."""
    with read_transaction(engine) as conn:
        row = _lot_row(conn, gtin, lot, viewer)
        holds = _open_holds(conn, row.id)
    day = today or datetime.now(UTC).date()
    return LotInfo(
        gtin=row.gtin,
        lot=row.lot,
        product=row.product,
        unit=row.unit,
        org_id=row.org_id,
        origin_location=row.origin_location,
        expiry=row.expiry,
        registered_seq=int(row.registered_seq),
        status=lot_status(row.expiry, holds, day),
        holds=holds,
    )


def lot_events(
    engine: Engine,
    gtin: str,
    lot: str,
    *,
    viewer: str | None,
    after: int = -1,
    limit: int = MAX_EVENTS_PAGE,
) -> list[LotEntry]:
    """The lot's entries with seq > ``after``, in log order, at most ``limit`` of them."""
    limit = max(1, min(limit, MAX_EVENTS_PAGE))
    with read_transaction(engine) as conn:
        row = _lot_row(conn, gtin, lot, viewer)
        own = own_locations(conn, viewer) if viewer is not None else set()
        found: list[LotEntry] = []
        cursor = after
        while len(found) < limit:
            rows = conn.execute(
                select(Entry.seq, Entry.leaf_hash, Entry.leaf_bytes)
                .join(LotEvent, LotEvent.seq == Entry.seq)
                .where(LotEvent.lot_id == row.id, LotEvent.seq > cursor)
                .order_by(LotEvent.seq)
                .limit(limit)
            ).all()
            if not rows:
                break
            for seq, leaf, data in rows:
                envelope = json.loads(data)
                if viewer is None or concerns(envelope, viewer, own):
                    found.append(LotEntry(int(seq), bytes(leaf), envelope))
                    if len(found) == limit:
                        break
            cursor = int(rows[-1][0])
    return found


def lot_stock(engine: Engine, gtin: str, lot: str, *, viewer: str | None) -> list[StockLine]:
    """Quantity on hand per location (locations with none left are omitted)."""
    with read_transaction(engine) as conn:
        row = _lot_row(conn, gtin, lot, viewer)
        stmt = (
            select(Stock.location_id, Location.org_id, Stock.on_hand)
            .join(Location, Location.id == Stock.location_id)
            .where(Stock.lot_id == row.id, Stock.on_hand != 0)
            .order_by(Stock.location_id)
        )
        if viewer is not None:
            stmt = stmt.where(Location.org_id == viewer)
        return [StockLine(loc, org, format_micro(int(q))) for loc, org, q in conn.execute(stmt)]


def _lot_row(conn: Connection, gtin: str, lot: str, viewer: str | None) -> Any:
    try:
        gtin = validate_gtin(gtin)
    except IdentifierError:
        raise NotFound(f"lot {gtin}/{lot} does not exist") from None
    row = conn.execute(
        select(
            Lot.id,
            Lot.gtin,
            Lot.lot,
            Lot.product,
            Lot.unit,
            Lot.org_id,
            Lot.origin_location,
            Lot.expiry,
            Lot.registered_seq,
        ).where(Lot.lot == lot, Lot.gtin == gtin)
    ).first()
    if row is None or (viewer is not None and not _may_see(conn, row, viewer)):
        raise NotFound(f"lot {gtin}/{lot} does not exist")
    return row


def _may_see(conn: Connection, row: Any, viewer: str) -> bool:
    return row.org_id == viewer or bool(visible_lots(conn, viewer, [int(row.id)]))


def _open_holds(conn: Connection, lot_id: int) -> list[HoldInfo]:
    rows = conn.execute(
        select(
            HoldRecord.seq,
            HoldRecord.org_id,
            HoldRecord.kind,
            HoldRecord.reason,
            HoldRecord.recall_id,
        )
        .where(HoldRecord.lot_id == lot_id, HoldRecord.released_seq.is_(None))
        .order_by(HoldRecord.seq)
    )
    return [HoldInfo(int(r[0]), r[1], r[2], r[3], r[4]) for r in rows]
