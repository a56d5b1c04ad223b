"""Lot reads: master data and status, history in order, stock by location.

A lot code may contain "/" (GS1 AI 10 allows it): send it percent-encoded or as is;
the ``/events``, ``/stock`` and ``/status`` suffixes are matched first.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import LedgerDep, ReaderKey, viewer_of
from api.routers import AUTH, problems
from api.schemas import LotEventOut, LotEventsOut, LotStatusOut, LotStockOut
from ledger.quantity import format_micro, parse_decimal
from ledger.trace import lots

router = APIRouter(prefix="/v1/lots", tags=["lots"])
Gtin = Annotated[str, Path(max_length=14, description="8 to 14 digits")]
LotCode = Annotated[str, Path(min_length=1, max_length=20, description="GS1 AI 10 lot")]
ERRORS = problems(*AUTH, 404, 422)


@router.get("/{gtin}/{lot:path}/events", response_model=LotEventsOut, responses=ERRORS)
def lot_events(
    gtin: Gtin,
    lot: LotCode,
    ledger: LedgerDep,
    key: ReaderKey,
    after: Annotated[int, Query(ge=-1, le=2**62, description="seq to continue after")] = -1,
    limit: Annotated[int, Query(ge=1, le=lots.MAX_EVENTS_PAGE)] = lots.MAX_EVENTS_PAGE,
) -> LotEventsOut:
    """The lot's events in log order, paged by `after` (max 1000 a page). Organisations see
    events they wrote or that happened at, from or to their locations; regulators see all.
    Roles: supplier, warehouse, store, manager, regulator."""
    found = lots.lot_events(
        ledger.engine, gtin, lot, viewer=viewer_of(key), after=after, limit=limit
    )
    return LotEventsOut(
        events=[
            LotEventOut(
                seq=e.seq,
                leaf_hash=e.leaf_hash.hex(),
                recorded_at=e.envelope["recorded_at"],
                actor=e.envelope["actor"],
                event=e.envelope["event"],
            )
            for e in found
        ],
        next_after=found[-1].seq if len(found) == limit else None,
    )


@router.get("/{gtin}/{lot:path}/stock", response_model=LotStockOut, responses=ERRORS)
def lot_stock(gtin: Gtin, lot: LotCode, ledger: LedgerDep, key: ReaderKey) -> LotStockOut:
    """Quantity on hand by location: the organisation's own locations; regulators, all.
    Roles: supplier, warehouse, store, manager, regulator."""
    viewer = viewer_of(key)
    info = lots.get_lot(ledger.engine, gtin, lot, viewer=viewer)
    lines = lots.lot_stock(ledger.engine, gtin, lot, viewer=viewer)
    total = sum(parse_decimal(line.on_hand, signed=True) for line in lines)
    return LotStockOut(
        gtin=info.gtin,
        lot=info.lot,
        unit=info.unit,
        total=format_micro(total),
        locations=lines,
    )


@router.get("/{gtin}/{lot:path}/status", response_model=LotStatusOut, responses=ERRORS)
def lot_status(gtin: Gtin, lot: LotCode, ledger: LedgerDep, key: ReaderKey) -> LotStatusOut:
    """approved (sellable), on_hold, damaged, quarantined, recalled (the most severe open
    hold wins) or expired (past its expiry, no hold open), with the open holds.
    Roles: supplier, warehouse, store, manager, regulator."""
    info = lots.get_lot(ledger.engine, gtin, lot, viewer=viewer_of(key))
    return LotStatusOut(
        gtin=info.gtin,
        lot=info.lot,
        status=info.status,
        holds=info.holds,
    )


@router.get("/{gtin}/{lot:path}", response_model=lots.LotInfo, responses=ERRORS)
def get_lot(gtin: Gtin, lot: LotCode, ledger: LedgerDep, key: ReaderKey) -> lots.LotInfo:
    """A lot's master data and status. Roles: supplier, warehouse, store, manager, regulator."""
    return lots.get_lot(ledger.engine, gtin, lot, viewer=viewer_of(key))
