"""Replenishment: suggested orders per (location, product) with the numbers behind each,
turned into purchase orders in one call; and the caller's organisation's product ordering
terms they use."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from api.deps import AnyKey, LedgerDep, require
from api.routers import AUTH, problems
from ledger.inventory import replenishment
from ledger.inventory.orders import OrderView
from ledger.inventory.replenishment import Suggestion
from ledger.masterdata import terms
from ledger.masterdata.keys import KeyInfo

router = APIRouter(prefix="/v1/replenishment", tags=["replenishment"])
LocationId = Annotated[str, Path(max_length=64)]
BuyerKey = Annotated[KeyInfo, Depends(require("store", "warehouse", "manager"))]
TermsKey = Annotated[KeyInfo, Depends(require("admin", "manager"))]


class AcceptIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"gtins": ["00012345678905"], "service_level": 0.95}]}
    )

    gtins: list[str] | None = Field(None, description="default: every current suggestion")
    service_level: float = Field(0.95, ge=0.5, lt=1)


class TermsIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "case_pack": "12",
                    "min_order": "24",
                    "unit_cost": "1.5",
                    "unit_price": "2.9",
                    "removal_days": 1,
                    "supplier_location": "cg-dc",
                    "lead_time_days": 2,
                }
            ]
        }
    )

    case_pack: str = Field("1", max_length=24)
    min_order: str = Field("0", max_length=24)
    unit_cost: str = Field("0", max_length=24)
    unit_price: str = Field("0", max_length=24)
    removal_days: int = Field(1, ge=0, le=365, description="days before expiry it leaves the shelf")
    supplier_location: str | None = Field(None, max_length=64)
    lead_time_days: int = Field(2, ge=0, le=365, description="quoted; actual lead times win")


class TermsOut(TermsIn):
    gtin: str
    org_id: str = Field(description="the buying organisation these terms are of: yours")


@router.get("/{location}", response_model=list[Suggestion], responses=problems(*AUTH, 404, 422))
def suggestions(
    location: LocationId,
    ledger: LedgerDep,
    key: BuyerKey,
    service_level: Annotated[float, Query(ge=0.5, lt=1)] = 0.95,
    history_days: Annotated[int, Query(ge=14, le=730)] = replenishment.HISTORY_DAYS,
    everything: Annotated[bool, Query(alias="all", description="include zero quantities")] = False,
) -> list[Suggestion]:
    """What to order now for each product of one of your locations, and why. Roles: store,
    warehouse, manager."""
    return replenishment.suggest(
        ledger.engine,
        [location],
        viewer=key.org_id,
        service_level=service_level,
        history_days=history_days,
        only_needed=not everything,
    )


@router.post(
    "/{location}/accept",
    status_code=201,
    response_model=list[OrderView],
    responses=problems(*AUTH, 404, 409, 422),
)
def accept(
    location: LocationId, body: AcceptIn, ledger: LedgerDep, key: BuyerKey
) -> list[OrderView]:
    """Turn the current suggestions (all, or those for `gtins`) into purchase orders, one per
    supplier. Roles: store, warehouse, manager."""
    return replenishment.accept(
        ledger, location, actor=key.org_id, gtins=body.gtins, service_level=body.service_level
    )


@router.get("/terms/{gtin}", response_model=TermsOut, responses=problems(*AUTH, 404, 422))
def get_terms(
    gtin: Annotated[str, Path(max_length=14)], ledger: LedgerDep, key: AnyKey
) -> TermsOut:
    """Your organisation's ordering terms of a product (404 when it has none; another
    organisation's terms are never shown). Roles: all."""
    found = terms.get_terms(ledger.engine, key.org_id, gtin)
    return TermsOut.model_validate(found, from_attributes=True)


@router.put("/terms/{gtin}", response_model=TermsOut, responses=problems(*AUTH, 404, 422))
def put_terms(
    gtin: Annotated[str, Path(max_length=14)], body: TermsIn, ledger: LedgerDep, key: TermsKey
) -> TermsOut:
    """Set your organisation's ordering terms of a product: case pack, minimum order, agreed
    unit cost (0: none, orders are valued at the supplier's catalogue price) and shelf price,
    removal days, supplier location, quoted lead time. Other organisations' terms of the
    product are theirs and unchanged. Roles: admin, manager."""
    found = terms.set_terms(ledger.engine, key.org_id, gtin, **body.model_dump())
    return TermsOut.model_validate(found, from_attributes=True)


class SupplierIn(BaseModel):
    supplier_location: str = Field(max_length=64)
    lead_time_days: int = Field(ge=0, le=365, description="quoted for this product")


class SuppliersIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "suppliers": [
                        {"supplier_location": "cg-dc", "lead_time_days": 1},
                        {"supplier_location": "fp-plant", "lead_time_days": 3},
                    ]
                }
            ]
        }
    )

    suppliers: list[SupplierIn] = Field(
        max_length=50, description="preferred first; empty: the terms' one supplier"
    )


class SuppliersOut(BaseModel):
    gtin: str
    suppliers: list[SupplierIn]


@router.get("/terms/{gtin}/suppliers", response_model=SuppliersOut, responses=problems(*AUTH, 422))
def get_suppliers(
    gtin: Annotated[str, Path(pattern=r"^[0-9]{8,14}$")], ledger: LedgerDep, key: AnyKey
) -> SuppliersOut:
    """Your organisation's suppliers of a product ordered from more than one, preferred
    first, each with its quoted lead time. Roles: all."""
    found = terms.suppliers_of(ledger.engine, key.org_id, gtin)
    return SuppliersOut(
        gtin=gtin, suppliers=[SupplierIn.model_validate(s, from_attributes=True) for s in found]
    )


@router.put(
    "/terms/{gtin}/suppliers", response_model=SuppliersOut, responses=problems(*AUTH, 404, 422)
)
def put_suppliers(
    gtin: Annotated[str, Path(max_length=14)],
    body: SuppliersIn,
    ledger: LedgerDep,
    key: TermsKey,
) -> SuppliersOut:
    """Replace your organisation's suppliers of a product (preferred first, each with its
    quoted lead time); its suggestions order from the first, over its lead time for this
    product. Roles: admin, manager."""
    found = terms.set_suppliers(
        ledger.engine,
        key.org_id,
        gtin,
        [(s.supplier_location, s.lead_time_days) for s in body.suppliers],
    )
    return SuppliersOut(
        gtin=gtin, suppliers=[SupplierIn.model_validate(s, from_attributes=True) for s in found]
    )
