"""The log endpoints: its commitments public, as a transparency log's are; its contents not.

The checkpoint, the log's key, inclusion and consistency proofs and the leaf lookup by
hash answer anyone: a witness, or anyone, can check the log never forked without seeing
what is in it. The entries and the export are every organisation's movements: they answer
only a regulator (the auditor role) or admin key (``api.deps.LogReaderKey``).

Every answer's wire format is defined once, in ``verifier.wire`` (JSON Schema, encoder
and the verifier's parser) and ``verifier.export`` (the export): these routes answer
with those encoders and publish those schemas in the OpenAPI document.
``/v1/log/entries`` answers at most ``MAX_ENTRIES`` a page.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import PlainTextResponse, Response, StreamingResponse

from api.deps import LedgerDep, LogReaderKey
from api.errors import ApiError
from api.routers import problems
from api.schemas import LeafIndexOut
from ledger.log.export import export_range, stream_export
from ledger.log.witnessing import cosigned_checkpoint
from verifier import wire

router = APIRouter(prefix="/v1/log", tags=["log"])
MAX_ENTRIES = wire.MAX_PAGE
JSON = "application/json"


def _json(schema: dict[str, object], description: str) -> dict[int | str, dict[str, object]]:
    return {200: {"description": description, "content": {JSON: {"schema": schema}}}}


Size = Annotated[int, Query(ge=0, le=2**62)]
_TEXT = {"content": {"text/plain": {"schema": {"type": "string"}}}}


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


@router.get(
    "/entries",
    response_class=Response,
    responses={
        **_json(wire.ENTRIES_PAGE_SCHEMA, "a page of entries"),
        **problems(400, 401, 403, 422),
    },
)
def entries(
    ledger: LedgerDep,
    _key: LogReaderKey,
    start: Size = 0,
    end: Annotated[int | None, Query(ge=0, le=2**62, description="exclusive")] = None,
) -> Response:
    """Entries [start, end) with their exact leaf bytes (base64), and the log's `tree_size`.
    At most 1000 a page: the answer stops early at that limit or at the tree size; ask again
    from the last seq + 1. Regulator and admin keys."""
    size = ledger.size()
    if start > size:
        raise ApiError(400, "invalid-range", f"start {start} is beyond the log's size {size}")
    stop = min(size, start + MAX_ENTRIES, size if end is None else end)
    if end is not None and end < start:
        raise ApiError(400, "invalid-range", f"end {end} is before start {start}")
    found = [(e.seq, e.leaf_bytes) for e in ledger.entries(start, stop)]
    return Response(wire.encode_entries_page(found, size), media_type=JSON)


@router.get(
    "/proof/inclusion",
    response_class=Response,
    responses={**_json(wire.INCLUSION_PROOF_SCHEMA, "an inclusion proof"), **problems(400, 422)},
)
def inclusion(ledger: LedgerDep, index: Size, size: Size) -> Response:
    """The RFC 9162 inclusion proof of leaf `index` in the tree of `size`."""
    proof = ledger.inclusion_proof(index, size)
    return Response(wire.encode_inclusion_proof(index, size, proof), media_type=JSON)


@router.get(
    "/proof/consistency",
    response_class=Response,
    responses={
        **_json(wire.CONSISTENCY_PROOF_SCHEMA, "a consistency proof"),
        **problems(400, 422),
    },
)
def consistency(ledger: LedgerDep, first: Size, second: Size) -> Response:
    """The RFC 9162 consistency proof from the tree of size `first` to size `second`."""
    proof = ledger.consistency_proof(first, second)
    return Response(wire.encode_consistency_proof(first, second, proof), media_type=JSON)


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "the log export (lotledger-export, version 1), streamed",
            "content": {"application/jsonl": {"schema": {"type": "string"}}},
        },
        **problems(400, 401, 403, 422),
    },
)
def export(
    ledger: LedgerDep,
    _key: LogReaderKey,
    start: Annotated[
        int, Query(alias="from", ge=0, le=2**62, description="first entry (default 0)")
    ] = 0,
    to: Annotated[
        int | None,
        Query(ge=0, le=2**62, description="end, exclusive (default: the latest checkpoint)"),
    ] = None,
) -> StreamingResponse:
    """The log as a `lotledger-export` (JSON Lines), entries `[from, to)` with the tree nodes
    and signed checkpoints that let `lotledger-verify log` audit it offline. Regulator and
    admin keys."""
    # Checked before the first byte is sent: a bad range is a problem, not a cut-off file.
    plan = export_range(ledger, start, to)
    return StreamingResponse(
        stream_export(ledger, plan),
        media_type="application/jsonl",
        headers={"Content-Disposition": 'attachment; filename="lotledger-export.jsonl"'},
    )


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
