"""Purchase orders: every step is an event on the ledger. Buyers (stores, restaurants,
distribution centres) place, receive and close; a manager approves orders over the
organisation's approval limit; suppliers confirm and ship (first expired first out).
An organisation sees the orders it placed and the orders placed with it."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from api.deps import LedgerDep, ReaderKey, require, viewer_of
from api.routers import AUTH, problems
from ledger.inventory import orders
from ledger.inventory.orders import OrderView
from ledger.inventory.stock import Allocation
from ledger.masterdata import terms
from ledger.masterdata.keys import KeyInfo

router = APIRouter(prefix="/v1/orders", tags=["orders"])
OrderId = Annotated[str, Path(min_length=1, max_length=200)]
BuyerKey = Annotated[KeyInfo, Depends(require("store", "warehouse", "manager"))]
SupplierKey = Annotated[KeyInfo, Depends(require("supplier", "warehouse", "manager"))]
ManagerKey = Annotated[KeyInfo, Depends(require("manager"))]
PartyKey = Annotated[KeyInfo, Depends(require("supplier", "warehouse", "store", "manager"))]
ERRORS = problems(*AUTH, 404, 409, 422)


class LineIn(BaseModel):
    gtin: str = Field(max_length=14)
    quantity: str = Field(max_length=24, examples=["48"])
    unit: str = Field(max_length=16, examples=["each"])
    unit_price: str | None = Field(None, max_length=24, description="default: unit cost")


class PlaceIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "buyer_location": "cg-store-1",
                    "supplier_location": "cg-dc",
                    "lines": [{"gtin": "00012345678905", "quantity": "48", "unit": "each"}],
                }
            ]
        }
    )

    buyer_location: str = Field(max_length=64)
    supplier_location: str = Field(max_length=64)
    lines: list[LineIn] = Field(min_length=1, max_length=500)
    order_id: str | None = Field(None, max_length=200, description="default: PO-<random>")


class NoteIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"note": "weekend promotion"}]})

    note: str | None = Field(None, max_length=200)


class ConfirmIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"promised_date": "2026-11-26"}]})

    promised_date: date


class ReasonIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "out of stock"}]})

    reason: str = Field(min_length=1, max_length=200)


class ShipIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"deliver_on": "2026-11-26"}]})

    deliver_on: date | None = Field(None, description="default: the promised date")


class ShipOut(BaseModel):
    order: OrderView
    picks: list[Allocation]


class ReceiptIn(BaseModel):
    gtin: str = Field(max_length=14)
    lot: str = Field(max_length=20)
    quantity: str = Field(max_length=24, description="what arrived")
    damaged: str | None = Field(None, max_length=24, description="part refused as damaged")
    out_of_temperature: str | None = Field(None, max_length=24)


class ReceiveIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "receipts": [
                        {
                            "gtin": "00012345678905",
                            "lot": "FC26W47",
                            "quantity": "48",
                            "damaged": "2",
                        }
                    ]
                }
            ]
        }
    )

    receipts: list[ReceiptIn] | None = Field(
        None, description="default: everything of the order in transit, in full"
    )


class PolicyIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"approval_limit": "5000"}]})

    approval_limit: str = Field(max_length=24, examples=["5000"])


class PolicyOut(BaseModel):
    org_id: str
    approval_limit: str


@router.get("/policy", response_model=PolicyOut, responses=problems(*AUTH))
def get_policy(ledger: LedgerDep, key: PartyKey) -> PolicyOut:
    """The organisation's approval limit: orders worth more need a manager.
    Roles: supplier, warehouse, store, manager."""
    return PolicyOut(
        org_id=key.org_id, approval_limit=terms.approval_limit(ledger.engine, key.org_id)
    )


@router.put("/policy", response_model=PolicyOut, responses=problems(*AUTH, 422))
def set_policy(body: PolicyIn, ledger: LedgerDep, key: ManagerKey) -> PolicyOut:
    """Set the organisation's approval limit. Roles: manager."""
    limit = terms.set_approval_limit(ledger.engine, key.org_id, body.approval_limit)
    return PolicyOut(org_id=key.org_id, approval_limit=limit)


@router.post("", status_code=201, response_model=OrderView, responses=ERRORS)
def place(body: PlaceIn, ledger: LedgerDep, key: BuyerKey) -> OrderView:
    """Place an order (`order_placed`) from one of your locations with a supplier or a
    distribution centre. Over the approval limit it awaits a manager's approval.
    Roles: store, warehouse, manager."""
    return orders.place_order(
        ledger,
        actor=key.org_id,
        buyer_location=body.buyer_location,
        supplier_location=body.supplier_location,
        lines=[line.model_dump() for line in body.lines],
        order_id=body.order_id,
    )


@router.get("", response_model=list[OrderView], responses=problems(*AUTH, 422))
def list_orders(
    ledger: LedgerDep,
    key: ReaderKey,
    location: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(max_length=32)] = None,
) -> list[OrderView]:
    """Orders you placed or that were placed with you, newest first (500 at most; lines and
    lots on each order's page). Roles: supplier, warehouse, store, manager, regulator."""
    return orders.list_orders(
        ledger.engine, viewer=viewer_of(key), location=location, status=status
    )


@router.get(
    "/by-lot/{gtin}/{lot:path}",
    response_model=list[str],
    # 404: a path that is no GTIN segment and lot (the router's own answer).
    responses=problems(*AUTH, 404, 422),
)
def orders_for_lot(
    gtin: Annotated[str, Path(max_length=14)],
    lot: Annotated[str, Path(max_length=20)],
    ledger: LedgerDep,
    key: ReaderKey,
) -> list[str]:
    """The ids of the orders that carried a lot, for a recall. Roles: supplier, warehouse,
    store, manager, regulator."""
    return orders.orders_for_lot(ledger.engine, gtin, lot, viewer=viewer_of(key))


@router.get("/{order_id}", response_model=OrderView, responses=problems(*AUTH, 404, 422))
def get_order(order_id: OrderId, ledger: LedgerDep, key: ReaderKey) -> OrderView:
    """An order with its lines (ordered, shipped, received, short, over, damaged, out of
    temperature) and lots. Roles: supplier, warehouse, store, manager, regulator."""
    return orders.get_order(ledger.engine, order_id, viewer=viewer_of(key))


@router.post("/{order_id}/approve", response_model=OrderView, responses=ERRORS)
def approve(order_id: OrderId, body: NoteIn, ledger: LedgerDep, key: ManagerKey) -> OrderView:
    """Approve an order awaiting approval (`order_approved`). Roles: manager (buyer's)."""
    return orders.approve_order(ledger, order_id, actor=key.org_id, note=body.note)


@router.post("/{order_id}/confirm", response_model=OrderView, responses=ERRORS)
def confirm(order_id: OrderId, body: ConfirmIn, ledger: LedgerDep, key: SupplierKey) -> OrderView:
    """Confirm with a promised date (`order_confirmed`). Roles: supplier, warehouse,
    manager (supplier's)."""
    return orders.confirm_order(
        ledger, order_id, actor=key.org_id, promised_date=body.promised_date
    )


@router.post("/{order_id}/ship", response_model=ShipOut, responses=ERRORS)
def ship(order_id: OrderId, body: ShipIn, ledger: LedgerDep, key: SupplierKey) -> ShipOut:
    """Ship what is left to ship, lots allocated first expired first out (never held,
    recalled or expired), one ship event per lot citing the order. Roles: supplier,
    warehouse, manager (supplier's)."""
    view, picks = orders.ship_order(ledger, order_id, actor=key.org_id, deliver_on=body.deliver_on)
    return ShipOut(order=view, picks=picks)


@router.post("/{order_id}/receive", response_model=OrderView, responses=ERRORS)
def receive(order_id: OrderId, body: ReceiveIn, ledger: LedgerDep, key: BuyerKey) -> OrderView:
    """Receive against the order, with damaged and out-of-temperature parts refused into
    stock. Roles: store, warehouse, manager (buyer's)."""
    receipts = None if body.receipts is None else [r.model_dump() for r in body.receipts]
    return orders.receive_order(ledger, order_id, actor=key.org_id, receipts=receipts)


@router.post("/{order_id}/close", response_model=OrderView, responses=ERRORS)
def close(order_id: OrderId, body: NoteIn, ledger: LedgerDep, key: BuyerKey) -> OrderView:
    """Close the order: anything not received is short. Roles: store, warehouse, manager
    (buyer's)."""
    return orders.close_order(ledger, order_id, actor=key.org_id, reason=body.note)


@router.post("/{order_id}/cancel", response_model=OrderView, responses=ERRORS)
def cancel(order_id: OrderId, body: ReasonIn, ledger: LedgerDep, key: PartyKey) -> OrderView:
    """Cancel an order not yet shipped. Roles: supplier, warehouse, store, manager (buyer's
    or supplier's)."""
    return orders.cancel_order(ledger, order_id, actor=key.org_id, reason=body.reason)
