"""Inventory reports: value and days of supply, ABC classes, shrinkage and waste, supplier
scorecards. Each organisation sees its own locations and orders; a regulator sees all."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import LedgerDep, ReaderKey, viewer_of
from api.errors import invalid
from api.routers import AUTH, problems
from api.schemas import DATE_RANGE, BoundedDate
from ledger.inventory import reports
from ledger.inventory.stock import today_utc

router = APIRouter(prefix="/v1/reports", tags=["reports"])
ERRORS = problems(*AUTH, 422)
Start = Annotated[BoundedDate | None, Query(description=f"default: 28 days ago; {DATE_RANGE}")]
End = Annotated[BoundedDate | None, Query(description=f"exclusive; default: today; {DATE_RANGE}")]


def _window(start: date | None, end: date | None) -> tuple[date, date]:
    """The report's days [start, end): by default the 28 days before ``end``."""
    stop = end or today_utc()
    if start is None:
        if stop <= date.min + timedelta(days=28):
            raise invalid("end", f"{stop} leaves no 28 days before it; give a start")
        start = stop - timedelta(days=28)
    if start >= stop:
        raise invalid("start", f"{start} is not before the end ({stop})")
    return start, stop


@router.get("/inventory-value", response_model=list[reports.ValueLine], responses=ERRORS)
def inventory_value(
    ledger: LedgerDep, key: ReaderKey, location: Annotated[str | None, Query(max_length=64)] = None
) -> list[reports.ValueLine]:
    """On hand and its value at unit cost per (location, product), with the product's name,
    split into sellable (approved, within expiry), held (on hold, quarantined, recalled or
    damaged) and expired (past its expiry date, held or not) quantities and values; days of
    supply of the sellable stock. Roles: supplier, warehouse, store, manager, regulator."""
    return reports.inventory_value(ledger.engine, viewer=viewer_of(key), location=location)


@router.get("/abc", response_model=list[reports.AbcLine], responses=ERRORS)
def abc(
    ledger: LedgerDep, key: ReaderKey, start: Start = None, end: End = None
) -> list[reports.AbcLine]:
    """Products (GTIN and name) classed A, B, C by sales value. Roles: supplier,
    warehouse, store, manager, regulator."""
    first, stop = _window(start, end)
    return reports.abc_classes(ledger.engine, viewer=viewer_of(key), start=first, end=stop)


@router.get("/shrinkage", response_model=list[reports.ShrinkLine], responses=ERRORS)
def shrinkage(
    ledger: LedgerDep, key: ReaderKey, start: Start = None, end: End = None
) -> list[reports.ShrinkLine]:
    """Waste and shrinkage by reason, product and location, valued at unit cost. Roles:
    supplier, warehouse, store, manager, regulator."""
    first, stop = _window(start, end)
    return reports.shrinkage(ledger.engine, viewer=viewer_of(key), start=first, end=stop)


@router.get("/suppliers", response_model=list[dict[str, Any]], responses=ERRORS)
def suppliers(ledger: LedgerDep, key: ReaderKey) -> list[dict[str, Any]]:
    """Supplier scorecards: on time in full, fill rate, promised against actual lead time,
    discrepancies, holds and recalls. Roles: supplier (own), warehouse, store, manager
    (suppliers of its orders), regulator."""
    return reports.supplier_scorecards(ledger.engine, viewer=viewer_of(key))
