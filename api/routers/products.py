"""Products (GTIN master data): created by admins; readable by every key."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from api.deps import AdminKey, AnyKey, LedgerDep, require
from api.routers import AUTH, problems
from api.schemas import ProductIn
from ledger.masterdata import catalogue, directory
from ledger.masterdata import registry as masterdata
from ledger.masterdata.directory import ProductInfo
from ledger.masterdata.keys import KeyInfo

router = APIRouter(prefix="/v1/products", tags=["master data"])
#: The supplier's own keys set its catalogue prices (its organisation must own the product).
CatalogueKey = Annotated[KeyInfo, Depends(require("admin", "manager", "supplier"))]


@router.post(
    "", status_code=201, response_model=ProductInfo, responses=problems(*AUTH, 404, 409, 422)
)
def create_product(body: ProductIn, ledger: LedgerDep, key: AdminKey) -> ProductInfo:
    """Register a product: GTIN, description, unit, shelf life, storage range, net weight
    of one trade item in kg (printed on labels as GS1 AI 310n). Roles: admin."""
    directory.get_organisation(ledger.engine, body.org_id)
    gtin = masterdata.create_product(
        ledger.engine,
        body.gtin,
        org_id=body.org_id,
        description=body.description,
        unit=body.unit,
        shelf_life_days=body.shelf_life_days,
        temp_min_c=body.temp_min_c,
        temp_max_c=body.temp_max_c,
        net_weight_kg=body.net_weight_kg,
    )
    return directory.get_product(ledger.engine, gtin)


@router.get("", response_model=list[ProductInfo], responses=problems(*AUTH, 422))
def list_products(
    ledger: LedgerDep,
    key: AnyKey,
    org_id: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")] = None,
) -> list[ProductInfo]:
    """Every product, optionally of one organisation. Roles: all."""
    return directory.list_products(ledger.engine, org_id)


@router.get("/{gtin}", response_model=ProductInfo, responses=problems(*AUTH, 404, 422))
def get_product(
    gtin: Annotated[str, Path(max_length=14)], ledger: LedgerDep, key: AnyKey
) -> ProductInfo:
    """One product by GTIN (8 to 14 digits). Roles: all."""
    return directory.get_product(ledger.engine, gtin)


class CatalogueIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"unit_price": "1.85"}]})

    unit_price: str = Field(max_length=24, description="the supplier's price per unit")


class CatalogueOut(CatalogueIn):
    gtin: str
    org_id: str = Field(description="the supplier: the organisation that registered the product")


@router.get("/{gtin}/catalogue", response_model=CatalogueOut, responses=problems(*AUTH, 404, 422))
def get_catalogue(
    gtin: Annotated[str, Path(max_length=14)], ledger: LedgerDep, key: AnyKey
) -> CatalogueOut:
    """The supplier's catalogue price of the product: what an order is valued at when the
    buyer agreed no unit cost of its own. Roles: all."""
    found = catalogue.catalogue_price(ledger.engine, gtin)
    return CatalogueOut.model_validate(found, from_attributes=True)


@router.put("/{gtin}/catalogue", response_model=CatalogueOut, responses=problems(*AUTH, 404, 422))
def put_catalogue(
    gtin: Annotated[str, Path(max_length=14)],
    body: CatalogueIn,
    ledger: LedgerDep,
    key: CatalogueKey,
) -> CatalogueOut:
    """Set the catalogue price of one of your organisation's products (403 for another's).
    Roles: admin, manager, supplier of the organisation that registered the product."""
    found = catalogue.set_catalogue_price(
        ledger.engine, gtin, org_id=key.org_id, unit_price=body.unit_price
    )
    return CatalogueOut.model_validate(found, from_attributes=True)
