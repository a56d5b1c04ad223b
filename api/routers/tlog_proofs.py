"""Offline proofs of one entry in the C2SP tlog-proof form (``c2sp.org/tlog-proof@v1``).

``GET /v1/log/tlog-proof?index=N``: any entry, for a regulator or admin key (the proof holds
the entry's leaf bytes: the log's contents, so not under the public ``/v1/log/proof/``).
``GET /v1/events/tlog-proof?event_id=ID``:
the entry of one event, for any key whose organisation may see that entry (the visibility
rule of ``ledger.lineage.visibility``; others are told it does not exist). Both answer the
proof as ``text/plain`` against the latest checkpoint with its witnesses' cosignatures;
``lotledger-verify tlog-proof FILE --key KEY`` checks it. The format is in the README.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.responses import PlainTextResponse

from api.deps import LedgerDep, LogReaderKey, ReaderKey, viewer_of
from api.routers import AUTH, problems
from ledger.log.offline_proof import entry_tlog_proof, event_tlog_proof

router = APIRouter(tags=["verification"])
_PROOF: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "a c2sp.org/tlog-proof@v1 proof; its extra line is the leaf bytes",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    }
}


def _answer(seq: int, proof: str) -> PlainTextResponse:
    return PlainTextResponse(
        proof,
        headers={"Content-Disposition": f'attachment; filename="entry-{seq}.tlog-proof"'},
    )


@router.get(
    "/v1/log/tlog-proof",
    response_class=PlainTextResponse,
    responses={**_PROOF, **problems(*AUTH, 404, 422)},
)
async def log_entry_tlog_proof(
    ledger: LedgerDep,
    _key: LogReaderKey,
    index: Annotated[int, Query(ge=0, le=2**62, description="the entry's seq")],
) -> PlainTextResponse:
    """Entry `index` as a C2SP tlog-proof: its leaf bytes (the `extra` line), its inclusion
    proof and the latest checkpoint with the witnesses' cosignatures. 404 for an index the
    latest checkpoint does not cover. Regulator and admin keys."""
    proof = await run_in_threadpool(entry_tlog_proof, ledger, index)
    return _answer(index, proof)


@router.get(
    "/v1/events/tlog-proof",
    response_class=PlainTextResponse,
    responses={**_PROOF, **problems(*AUTH, 404, 422)},
)
async def event_entry_tlog_proof(
    ledger: LedgerDep,
    key: ReaderKey,
    event_id: Annotated[
        str, Query(max_length=100, description="the event's event_id, as appended")
    ],
) -> PlainTextResponse:
    """The log entry of event `event_id` as a C2SP tlog-proof (as the log route). Any key
    whose organisation may see the entry (it wrote it, or it is at, from or to one of its
    locations); the regulator sees every entry. 404 otherwise, as for an unknown event."""
    seq, proof = await run_in_threadpool(event_tlog_proof, ledger, event_id, viewer=viewer_of(key))
    return _answer(seq, proof)
