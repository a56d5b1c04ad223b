"""Locations: created by admins; the directory is readable by every key (to address shipments)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import AdminKey, AnyKey, LedgerDep
from api.routers import AUTH, problems
from api.schemas import LocationIn
from ledger.masterdata import directory
from ledger.masterdata import registry as masterdata
from ledger.masterdata.registry import LocationInfo

router = APIRouter(prefix="/v1/locations", tags=["master data"])


@router.post(
    "", status_code=201, response_model=LocationInfo, responses=problems(*AUTH, 404, 409, 422)
)
def create_location(body: LocationIn, ledger: LedgerDep, key: AdminKey) -> LocationInfo:
    """Register a location (GLN or a local id) of an organisation. Roles: admin."""
    return masterdata.create_location(
        ledger.engine,
        body.id,
        org_id=body.org_id,
        name=body.name,
        kind=body.kind,
        gln=body.gln,
        address=body.address,
    )


@router.get("", response_model=list[LocationInfo], responses=problems(*AUTH, 422))
def list_locations(
    ledger: LedgerDep,
    key: AnyKey,
    org_id: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")] = None,
) -> list[LocationInfo]:
    """The location directory, optionally of one organisation. Roles: all."""
    return directory.list_locations(ledger.engine, org_id)
