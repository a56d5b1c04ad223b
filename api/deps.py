"""Dependencies: the ledger, the caller's key, and which roles an endpoint admits.

Routes declare who may call them with one of the ``Annotated`` aliases below
(``AdminKey``, ``WriterKey``, ``ReaderKey``, ``AnyKey``). ``caller`` is a plain
function of the request so that HTML pages can reuse it (and ``key_from_request``
for pages that want to show something to anonymous visitors).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from api.errors import forbidden, unauthorized
from ledger.keys import KeyInfo, authenticate
from ledger.log import Ledger

ADMIN = ("admin",)
WRITERS = ("supplier", "warehouse", "store", "manager")
READERS = (*WRITERS, "regulator")
EVERYONE = ("admin", *READERS)

_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer ll_...`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="`X-API-Key: ll_...`")


def get_ledger(request: Request) -> Ledger:
    ledger: Ledger = request.app.state.ledger
    return ledger


LedgerDep = Annotated[Ledger, Depends(get_ledger)]


def key_from_request(ledger: Ledger, authorization: str | None, api_key: str | None) -> KeyInfo:
    """The active key a request carries; 401 when it is missing, unknown or revoked."""
    secret = api_key
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise unauthorized("use 'Authorization: Bearer <key>' or 'X-API-Key: <key>'")
        secret = value.strip()
    if not secret:
        raise unauthorized("this endpoint needs an API key")
    info = authenticate(ledger.engine, secret)
    if info is None:
        raise unauthorized("the API key is not valid or has been revoked")
    return info


def caller(
    request: Request,
    ledger: LedgerDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_header)],
) -> KeyInfo:
    authorization = request.headers.get("authorization") if bearer is None else None
    if bearer is not None:
        authorization = f"Bearer {bearer.credentials}"
    return key_from_request(ledger, authorization, api_key)


def require(*roles: str) -> Callable[[KeyInfo], KeyInfo]:
    """A dependency admitting keys with one of ``roles`` (403 for any other role)."""

    def check(key: Annotated[KeyInfo, Depends(caller)]) -> KeyInfo:
        if key.role not in roles:
            raise forbidden(f"a {key.role} key may not do this; allowed roles: {', '.join(roles)}")
        return key

    check.__name__ = f"require_{'_'.join(roles)}"
    return check


AnyKey = Annotated[KeyInfo, Depends(require(*EVERYONE))]
AdminKey = Annotated[KeyInfo, Depends(require(*ADMIN))]
WriterKey = Annotated[KeyInfo, Depends(require(*WRITERS))]
ReaderKey = Annotated[KeyInfo, Depends(require(*READERS))]
AdminOrRegulatorKey = Annotated[KeyInfo, Depends(require("admin", "regulator"))]
ManagerKey = Annotated[KeyInfo, Depends(require("manager"))]
ManagerOrRegulatorKey = Annotated[KeyInfo, Depends(require("manager", "regulator"))]


def viewer_of(key: KeyInfo) -> str | None:
    """The organisation whose view a key gets; None for a regulator, who reads everything."""
    return None if key.role == "regulator" else key.org_id
