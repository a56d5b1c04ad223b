"""The public log endpoints, unauthenticated as a transparency log's are.

Hashes are standard base64 (as in C2SP checkpoints); entries carry the exact leaf
bytes a verifier hashes. ``/v1/log/entries`` answers at most ``MAX_ENTRIES`` a page.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import PlainTextResponse

from api.deps import LedgerDep
from api.errors import ApiError
from api.routers import problems
from api.schemas import (
    ConsistencyProofOut,
    InclusionProofOut,
    LeafIndexOut,
    LogEntriesOut,
    LogEntryOut,
)
from ledger.witnessing import cosigned_checkpoint

router = APIRouter(prefix="/v1/log", tags=["log"])
MAX_ENTRIES = 1000
Size = Annotated[int, Query(ge=0, le=2**62)]
_TEXT = {"content": {"text/plain": {"schema": {"type": "string"}}}}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@router.get(
    "/checkpoint",
    response_class=PlainTextResponse,
    responses={200: _TEXT, **problems(404, 422)},
)
def checkpoint(
    ledger: LedgerDep,
    size: Annotated[int | None, Query(ge=0, le=2**62, description="a past tree size")] = None,
) -> PlainTextResponse:
    """The latest C2SP signed checkpoint (or the one signed at `size`), as text/plain."""
    # The latest carries the witnesses' cosignatures collected for it, if any.
    note = cosigned_checkpoint(ledger) if size is None else ledger.checkpoint_at(size)
    return PlainTextResponse(note)


@router.get("/key", response_class=PlainTextResponse, responses={200: _TEXT})
def verifier_key(ledger: LedgerDep) -> PlainTextResponse:
    """The log's verifier key string (C2SP signed-note `name+hash+key`), as text/plain."""
    return PlainTextResponse(str(ledger.verifier_key) + "\n")


@router.get("/entries", response_model=LogEntriesOut, responses=problems(400, 422))
def entries(
    ledger: LedgerDep,
    start: Size = 0,
    end: Annotated[int | None, Query(ge=0, le=2**62, description="exclusive")] = None,
) -> LogEntriesOut:
    """Entries [start, end) with their exact leaf bytes (base64). At most 1000 a page: the
    answer stops early at that limit or at the tree size; ask again from the last seq + 1."""
    size = ledger.size()
    if start > size:
        raise ApiError(400, "invalid-range", f"start {start} is beyond the log's size {size}")
    stop = min(size, start + MAX_ENTRIES, size if end is None else end)
    if end is not None and end < start:
        raise ApiError(400, "invalid-range", f"end {end} is before start {start}")
    found = ledger.entries(start, stop)
    return LogEntriesOut(
        entries=[LogEntryOut(seq=e.seq, leaf=_b64(e.leaf_bytes)) for e in found],
        tree_size=size,
    )


@router.get("/proof/inclusion", response_model=InclusionProofOut, responses=problems(400, 422))
def inclusion(ledger: LedgerDep, index: Size, size: Size) -> InclusionProofOut:
    """The RFC 9162 inclusion proof of leaf `index` in the tree of `size`."""
    proof = ledger.inclusion_proof(index, size)
    return InclusionProofOut(index=index, tree_size=size, hashes=[_b64(h) for h in proof])


@router.get("/proof/consistency", response_model=ConsistencyProofOut, responses=problems(400, 422))
def consistency(ledger: LedgerDep, first: Size, second: Size) -> ConsistencyProofOut:
    """The RFC 9162 consistency proof from the tree of size `first` to size `second`."""
    proof = ledger.consistency_proof(first, second)
    return ConsistencyProofOut(first=first, second=second, hashes=[_b64(h) for h in proof])


@router.get("/leaf", response_model=LeafIndexOut, responses=problems(400, 404, 422))
def leaf_index(
    ledger: LedgerDep,
    leaf_hash: Annotated[str, Query(max_length=100, description="hex or base64")],
) -> LeafIndexOut:
    """The index of the entry with this leaf hash (64 hex digits or base64)."""
    raw = _parse_hash(leaf_hash)
    return LeafIndexOut(index=ledger.index_of(raw), leaf_hash=raw.hex())


def _parse_hash(text: str) -> bytes:
    raw: bytes | None = None
    if len(text) == 64:
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raw = None
    if raw is None:
        try:
            raw = base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            raw = None
    if raw is None or len(raw) != 32:
        raise ApiError(400, "invalid-hash", "leaf_hash must be 32 bytes as 64 hex digits or base64")
    return raw
