"""Stock: on hand per location with lot status, expiry and removal dates; in transit;
expiry alerts; first-expired-first-out pick lists; stock counts.

An organisation sees and counts its own locations; a regulator reads every location."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import to_json

from api.deps import LedgerDep, ReaderKey, WriterKey, viewer_of
from api.routers import AUTH, problems
from ledger.inventory import stock as inventory
from ledger.projections.projector import LotStatus

router = APIRouter(prefix="/v1/stock", tags=["stock"])
LocationId = Annotated[str, Path(max_length=64, description="location id")]


# One lot on hand: ``inventory.StockItem`` less its location, field for field and in its
# order, with the same metadata (``stock_json`` encodes the tuples straight; a test holds the
# two together). A comment, not a docstring: a docstring would enter the OpenAPI document.
class StockItemOut(BaseModel):
    gtin: str
    lot: str
    product: str
    unit: str
    on_hand: Annotated[str, Field(examples=["120.5"])]
    status: Annotated[
        LotStatus, Field(description="approved (sellable), on_hold, damaged, quarantined, recalled")
    ]
    expiry: str | None
    removal_date: Annotated[str | None, Field(description="the day it must leave the shelf")]
    pickable: Annotated[bool, Field(description="approved and not past its removal date")]


class StockOut(BaseModel):
    location_id: str
    items: list[StockItemOut]


class PickLineIn(BaseModel):
    gtin: str = Field(max_length=14)
    quantity: str = Field(max_length=24, examples=["36"])


class PickIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "lines": [{"gtin": "00012345678905", "quantity": "36"}],
                    "deliver_on": "2026-11-26",
                }
            ]
        }
    )

    lines: list[PickLineIn] = Field(min_length=1, max_length=500)
    deliver_on: date | None = Field(None, description="skip lots leaving the shelf before it")


class CountLineIn(BaseModel):
    gtin: str = Field(max_length=14)
    lot: str = Field(max_length=20)
    quantity: str = Field(max_length=24, description="what the count found", examples=["96"])


class CountIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "reason": "count",
                    "counts": [{"gtin": "00012345678905", "lot": "FC26W47", "quantity": "96"}],
                }
            ]
        }
    )

    reason: str = Field("count", description="count, damage, theft, spoilage, found or other")
    counts: list[CountLineIn] = Field(min_length=1, max_length=5000)


class CountOut(BaseModel):
    adjustments: list[dict[str, object]] = Field(description="the adjust events appended")
    tree_size: int | None


def _items(found: list[inventory.StockItem]) -> list[StockItemOut]:
    return [StockItemOut.model_validate(i, from_attributes=True) for i in found]


@router.get("/{location}", response_model=StockOut, responses=problems(*AUTH, 404, 422))
def location_stock(
    location: LocationId,
    ledger: LedgerDep,
    key: ReaderKey,
    gtin: Annotated[str | None, Query(max_length=14)] = None,
) -> Response:
    """Every lot on hand at the location, soonest removal date first, with its status
    (approved is the only pickable one), expiry and removal date. Roles: supplier,
    warehouse, store, manager (own locations), regulator."""
    found = inventory.location_stock(ledger.engine, location, viewer=viewer_of(key), gtin=gtin)
    return Response(stock_json(location, found), media_type="application/json")


_ITEM_FIELDS = tuple(StockItemOut.model_fields)


def stock_json(location: str, found: list[inventory.StockItem]) -> bytes:
    """The ``StockOut`` document's bytes, encoded straight from the stock tuples: a location
    holds 10,000 lots, and a model per lot (built, validated again as the response model,
    then dumped) cost more than the read itself (docs/benchmarks-history.md, "Figures from
    the code")."""
    # StockItemOut is made of StockItem's fields after location_id, in their order.
    names = _ITEM_FIELDS
    items = [dict(zip(names, item[1:], strict=True)) for item in found]
    return to_json({"location_id": location, "items": items})


@router.get(
    "/{location}/in-transit",
    response_model=list[inventory.InTransit],
    responses=problems(*AUTH, 404, 422),
)
def in_transit(
    location: LocationId, ledger: LedgerDep, key: ReaderKey
) -> list[inventory.InTransit]:
    """Shipments to or from the location not yet (fully) received: shipped less received.
    Roles: supplier, warehouse, store, manager (own locations), regulator."""
    return inventory.in_transit(ledger.engine, location, viewer=viewer_of(key))


@router.get("/{location}/expiring", response_model=StockOut, responses=problems(*AUTH, 404, 422))
def expiring(
    location: LocationId,
    ledger: LedgerDep,
    key: ReaderKey,
    days: Annotated[int, Query(ge=0, le=365)] = 3,
) -> StockOut:
    """Stock expiring within `days` days (or already expired). Roles: supplier, warehouse,
    store, manager (own locations), regulator."""
    found = inventory.expiry_alerts(ledger.engine, location, viewer=viewer_of(key), days=days)
    return StockOut(location_id=location, items=_items(found))


@router.post(
    "/{location}/pick",
    response_model=list[inventory.Allocation],
    responses=problems(*AUTH, 404, 409, 422),
)
def pick(
    location: LocationId, body: PickIn, ledger: LedgerDep, key: WriterKey
) -> list[inventory.Allocation]:
    """First-expired-first-out picks for order lines, split across lots when needed; never
    a held, recalled or expired lot. 409 insufficient-stock when there is not enough.
    Roles: supplier, warehouse, store, manager (own locations)."""
    return inventory.pick_list(
        ledger.engine,
        location,
        [(line.gtin, line.quantity) for line in body.lines],
        viewer=key.org_id,
        deliver_on=body.deliver_on,
    )


@router.post(
    "/{location}/counts",
    status_code=201,
    response_model=CountOut,
    responses=problems(*AUTH, 404, 409, 422),
)
def count(location: LocationId, body: CountIn, ledger: LedgerDep, key: WriterKey) -> CountOut:
    """Record a stock count: an adjust event with the variance and reason for every lot
    whose count differs from the stock on hand. Roles: supplier, warehouse, store, manager
    (own locations)."""
    events, result = inventory.record_count(
        ledger,
        location,
        [(c.gtin, c.lot, c.quantity) for c in body.counts],
        actor=key.org_id,
        reason=body.reason,
    )
    return CountOut(adjustments=events, tree_size=result.tree_size if result else None)
