"""``GET /v1/lots/{gtin}/{lot}/bundle``: a lot's provenance bundle, for offline verification.

A bundle follows the visibility rule (``ledger.lineage.visibility``), as a trace does: a lot the
caller may not see is not found, a regulator's bundle is ``full``, an organisation's holds
only the entries it may see and says so in its ``scope``. One file proves what it holds
(``lotledger-verify bundle FILE --key KEY``; the format is in ``verifier/FORMATS.md``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from api.deps import LedgerDep, ReaderKey, viewer_of
from api.errors import ApiError
from api.routers import AUTH, problems
from ledger.log.export import lot_bundle
from verifier.gs1 import IdentifierError, validate_gtin, validate_lot

router = APIRouter(tags=["verification"])


@router.get(
    "/v1/lots/{gtin}/{lot}/bundle",
    responses={
        200: {"description": "A lotledger-bundle, version 2 (see verifier/FORMATS.md)"},
        **problems(400, *AUTH, 404),
    },
)
async def get_bundle(
    ledger: LedgerDep,
    key: ReaderKey,
    gtin: Annotated[str, Path(examples=["09506000134352"])],
    lot: Annotated[str, Path(examples=["L2311A"])],
) -> Any:
    """The entries of the lot's trace (backward to its origins, forward to where it went)
    that the caller may see, each with its leaf bytes and its inclusion proof to the latest
    signed checkpoint; `scope` is `full` for a regulator, `visible to ORG` otherwise (the
    entries ORG wrote or that are at, from or to its locations). 404 for a lot the caller
    may not see. At most 10,000 entries (400 beyond: audit the log export instead)."""
    try:
        gtin, lot = validate_gtin(gtin), validate_lot(lot)
    except IdentifierError as exc:
        raise ApiError(400, "invalid-identifier", str(exc)) from exc
    bundle = await run_in_threadpool(lot_bundle, ledger, gtin, lot, viewer=viewer_of(key))
    return JSONResponse(bundle)
