"""Reads of the master data: organisations, locations and products, one or all."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select

from ledger.errors import NotFound
from ledger.masterdata.registry import LocationInfo
from ledger.storage.db import read_transaction
from ledger.storage.schema import Location, Organisation, Product
from verifier.gs1 import IdentifierError, validate_gtin


@dataclass(frozen=True, slots=True)
class OrganisationInfo:
    id: str
    name: str
    created_at: str


@dataclass(frozen=True, slots=True)
class ProductInfo:
    gtin: str
    org_id: str
    description: str
    unit: str
    shelf_life_days: int | None
    temp_min_c: str | None
    temp_max_c: str | None
    net_weight_kg: str | None = None


_ORG = (Organisation.id, Organisation.name, Organisation.created_at)
_LOC = (Location.id, Location.org_id, Location.name, Location.kind, Location.gln, Location.address)
_PRODUCT = (
    Product.gtin,
    Product.org_id,
    Product.description,
    Product.unit,
    Product.shelf_life_days,
    Product.temp_min_c,
    Product.temp_max_c,
    Product.net_weight_kg,
)


def list_organisations(engine: Engine) -> list[OrganisationInfo]:
    with read_transaction(engine) as conn:
        return [OrganisationInfo(*r) for r in conn.execute(select(*_ORG).order_by(_ORG[0]))]


def get_organisation(engine: Engine, org_id: str) -> OrganisationInfo:
    with read_transaction(engine) as conn:
        row = conn.execute(select(*_ORG).where(Organisation.id == org_id)).first()
    if row is None:
        raise NotFound(f"organisation {org_id!r} does not exist")
    return OrganisationInfo(*row)


def list_locations(engine: Engine, org_id: str | None = None) -> list[LocationInfo]:
    stmt = select(*_LOC).order_by(Location.id)
    if org_id is not None:
        stmt = stmt.where(Location.org_id == org_id)
    with read_transaction(engine) as conn:
        return [LocationInfo(*r) for r in conn.execute(stmt)]


def list_products(engine: Engine, org_id: str | None = None) -> list[ProductInfo]:
    stmt = select(*_PRODUCT).order_by(Product.gtin)
    if org_id is not None:
        stmt = stmt.where(Product.org_id == org_id)
    with read_transaction(engine) as conn:
        return [ProductInfo(*r) for r in conn.execute(stmt)]


def get_product(engine: Engine, gtin: str) -> ProductInfo:
    try:
        normalized = validate_gtin(gtin)
    except IdentifierError:
        raise NotFound(f"product {gtin!r} does not exist") from None
    with read_transaction(engine) as conn:
        row = conn.execute(select(*_PRODUCT).where(Product.gtin == normalized)).first()
    if row is None:
        raise NotFound(f"product {gtin!r} does not exist")
    return ProductInfo(*row)
