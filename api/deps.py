"""Dependencies: the ledger, the caller's key, and which roles an endpoint admits.

Routes declare who may call them with one of the ``Annotated`` aliases below
(``AdminKey``, ``WriterKey``, ``ReaderKey``, ``AnyKey``). HTML pages, which want to
show something to anonymous visitors too, use the plain function ``key_from_request``.

The dependencies are ``async``: FastAPI runs a plain ``def`` dependency on a pool
thread, a hop per dependency per request. A key this process authenticated in the
last few seconds is answered from memory (``ledger.masterdata.keys.cached_key``); only a miss
goes to the database, on a pool thread.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from api.errors import ApiError, forbidden, unauthorized
from ledger import Ledger
from ledger.lineage.visibility import viewer_for_role
from ledger.masterdata.keys import KeyInfo, authenticate, cached_key

ADMIN = ("admin",)
WRITERS = ("supplier", "warehouse", "store", "manager")
READERS = (*WRITERS, "regulator")
EVERYONE = ("admin", *READERS)

_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer ll_...`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="`X-API-Key: ll_...`")


def get_ledger(request: Request) -> Ledger:
    ledger: Ledger = request.app.state.ledger
    return ledger


async def _ledger(request: Request) -> Ledger:
    return get_ledger(request)


LedgerDep = Annotated[Ledger, Depends(_ledger)]


def _secret(authorization: str | None, api_key: str | None) -> str:
    secret = api_key
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise unauthorized("use 'Authorization: Bearer <key>' or 'X-API-Key: <key>'")
        secret = value.strip()
    if not secret:
        raise unauthorized("this endpoint needs an API key")
    return secret


def _invalid_key() -> ApiError:
    return unauthorized("the API key is not valid or has been revoked")


def key_from_request(ledger: Ledger, authorization: str | None, api_key: str | None) -> KeyInfo:
    """The active key a request carries; 401 when it is missing, unknown or revoked."""
    info = authenticate(ledger.engine, _secret(authorization, api_key))
    if info is None:
        raise _invalid_key()
    return info


async def caller(
    request: Request,
    ledger: LedgerDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_header)],
) -> KeyInfo:
    authorization = request.headers.get("authorization") if bearer is None else None
    if bearer is not None:
        authorization = f"Bearer {bearer.credentials}"
    secret = _secret(authorization, api_key)
    info = cached_key(ledger.engine, secret)
    if info is None:
        info = await run_in_threadpool(authenticate, ledger.engine, secret)
    if info is None:
        raise _invalid_key()
    return info


def require(*roles: str) -> Callable[[KeyInfo], Awaitable[KeyInfo]]:
    """A dependency admitting keys with one of ``roles`` (403 for any other role)."""

    async def check(key: Annotated[KeyInfo, Depends(caller)]) -> KeyInfo:
        if key.role not in roles:
            raise forbidden(f"a {key.role} key may not do this; allowed roles: {', '.join(roles)}")
        return key

    check.__name__ = f"require_{'_'.join(roles)}"
    return check


#: The roles that read the log's contents (every organisation's movements): the auditor
#: role and the deployment's administrators. The log's commitments are public.
LOG_READERS = ("regulator", "admin")
_LOG_CONTENTS = (
    "the log's entries are every organisation's movements: reading them needs a regulator "
    "(auditor) or admin API key; the checkpoint, the log's key, the proofs and leaf "
    "lookups under /v1/log stay public"
)


async def log_reader(
    request: Request,
    ledger: LedgerDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_header)],
) -> KeyInfo:
    """A regulator or admin key, refused with a problem that says which role to ask for."""
    try:
        key = await caller(request, ledger, bearer, api_key)
    except ApiError as exc:
        if exc.status != 401:
            raise
        raise unauthorized(f"{exc.detail}: {_LOG_CONTENTS}") from None
    if key.role not in LOG_READERS:
        raise forbidden(
            f"a {key.role} key may not read the log's contents: {_LOG_CONTENTS}. A {key.role} "
            "key reads what it may see of a lot at /v1/lots/{gtin}/{lot}/events and its "
            "provenance bundle at /v1/lots/{gtin}/{lot}/bundle"
        )
    return key


LogReaderKey = Annotated[KeyInfo, Depends(log_reader)]
AnyKey = Annotated[KeyInfo, Depends(require(*EVERYONE))]
AdminKey = Annotated[KeyInfo, Depends(require(*ADMIN))]
WriterKey = Annotated[KeyInfo, Depends(require(*WRITERS))]
ReaderKey = Annotated[KeyInfo, Depends(require(*READERS))]
AdminOrRegulatorKey = Annotated[KeyInfo, Depends(require("admin", "regulator"))]
ManagerKey = Annotated[KeyInfo, Depends(require("manager"))]
ManagerOrRegulatorKey = Annotated[KeyInfo, Depends(require("manager", "regulator"))]


def viewer_of(key: KeyInfo) -> str | None:
    """The organisation whose view a key gets; None for a regulator, who reads everything
    (``ledger.lineage.visibility``)."""
    return viewer_for_role(key.org_id, key.role)
