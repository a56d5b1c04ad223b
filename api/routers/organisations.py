"""Organisations: created by admins; listed by admins and regulators."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.deps import AdminKey, AdminOrRegulatorKey, AnyKey, LedgerDep
from api.errors import forbidden
from api.routers import AUTH, problems
from api.schemas import OrganisationIn
from ledger.masterdata import directory
from ledger.masterdata import registry as masterdata
from ledger.masterdata.directory import OrganisationInfo

router = APIRouter(prefix="/v1/organisations", tags=["master data"])
OrgId = Annotated[str, Path(min_length=1, max_length=64)]


@router.post(
    "", status_code=201, response_model=OrganisationInfo, responses=problems(*AUTH, 409, 422)
)
def create_organisation(body: OrganisationIn, ledger: LedgerDep, key: AdminKey) -> OrganisationInfo:
    """Register an organisation. Roles: admin."""
    masterdata.create_organisation(ledger.engine, body.id, body.name)
    return directory.get_organisation(ledger.engine, body.id)


@router.get("", response_model=list[OrganisationInfo], responses=problems(*AUTH))
def list_organisations(ledger: LedgerDep, key: AdminOrRegulatorKey) -> list[OrganisationInfo]:
    """Every organisation. Roles: admin, regulator."""
    return directory.list_organisations(ledger.engine)


@router.get("/{org_id}", response_model=OrganisationInfo, responses=problems(*AUTH, 404, 422))
def get_organisation(org_id: OrgId, ledger: LedgerDep, key: AnyKey) -> OrganisationInfo:
    """One organisation. Roles: admin and regulator, any; every other role, its own."""
    if key.role not in ("admin", "regulator") and key.org_id != org_id:
        raise forbidden("a key may only read its own organisation")
    return directory.get_organisation(ledger.engine, org_id)
