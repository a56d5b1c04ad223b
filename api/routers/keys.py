"""API keys: created, listed and revoked by admins. ``GET /v1/me`` tells any key what it is."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import AdminKey, AnyKey, LedgerDep
from api.routers import AUTH, problems
from api.schemas import KeyIn, NewKeyOut, WhoAmI
from ledger.masterdata import keys
from ledger.masterdata.keys import KeyInfo

router = APIRouter(tags=["keys"])
KeyId = Annotated[str, Path(max_length=32)]


@router.post(
    "/v1/keys", status_code=201, response_model=NewKeyOut, responses=problems(*AUTH, 404, 422)
)
def create_key(body: KeyIn, ledger: LedgerDep, key: AdminKey) -> NewKeyOut:
    """Create a key for an organisation and role; the secret is shown only here. Roles: admin."""
    new = keys.create_key(ledger.engine, body.org_id, body.role, body.label)
    return NewKeyOut(**asdict(new.info), secret=new.secret)


@router.get("/v1/keys", response_model=list[KeyInfo], responses=problems(*AUTH, 422))
def list_keys(
    ledger: LedgerDep,
    key: AdminKey,
    org_id: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")] = None,
) -> list[KeyInfo]:
    """Every key (never its secret), revoked ones included. Roles: admin."""
    return keys.list_keys(ledger.engine, org_id)


@router.delete("/v1/keys/{key_id}", response_model=KeyInfo, responses=problems(*AUTH, 404, 422))
def revoke_key(key_id: KeyId, ledger: LedgerDep, key: AdminKey) -> KeyInfo:
    """Revoke a key; it is refused from the next request on. Roles: admin."""
    return keys.revoke_key(ledger.engine, key_id)


@router.get("/v1/me", response_model=WhoAmI, responses=problems(401))
def whoami(key: AnyKey) -> WhoAmI:
    """The organisation and role of the calling key. Roles: all."""
    return WhoAmI(key_id=key.id, org_id=key.org_id, role=key.role)
