"""``GET /v1/lots/{gtin}/{lot}/bundle``: a lot's provenance bundle, for offline verification.

Public, as the log it is cut from is: a bundle holds entries anyone can read at
``/v1/log/entries``, arranged so that one file proves one lot's provenance
(``lotledger-verify bundle FILE --key KEY``; the format is in the README).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from api.deps import LedgerDep
from api.errors import ApiError
from api.routers import problems
from ledger.export import lot_bundle
from verifier.gs1 import IdentifierError, validate_gtin, validate_lot

router = APIRouter(tags=["verification"])


@router.get(
    "/v1/lots/{gtin}/{lot}/bundle",
    responses={
        200: {"description": "A lotledger-bundle, version 1 (see the README)"},
        **problems(400, 404),
    },
)
async def get_bundle(
    ledger: LedgerDep,
    gtin: Annotated[str, Path(examples=["09506000134352"])],
    lot: Annotated[str, Path(examples=["L2311A"])],
) -> Any:
    """Every entry of the lot's trace (backward to its origins, forward to where it went),
    each with its leaf bytes and its inclusion proof to the latest signed checkpoint.
    At most 10,000 entries (400 beyond: audit the log export instead). Public."""
    try:
        gtin, lot = validate_gtin(gtin), validate_lot(lot)
    except IdentifierError as exc:
        raise ApiError(400, "invalid-identifier", str(exc)) from exc
    bundle = await run_in_threadpool(lot_bundle, ledger, gtin, lot)
    return JSONResponse(bundle)
