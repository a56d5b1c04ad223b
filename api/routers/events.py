"""``POST /v1/events``: append a batch, all or nothing. The ingest path is kept lean: the body
is read under the size limit, decoded once with the standard library, handed to
``Ledger.append`` as plain dicts, and the answer is encoded without a response model
(OpenAPI still documents it as ``AppendOut``)."""

from __future__ import annotations

import asyncio
import base64
import json
from json.encoder import encode_basestring_ascii as _json_string
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from api.deps import WriterKey
from api.errors import ApiError, forbidden, invalid, malformed_json, not_utf8
from api.limits import MAX_BATCH, MAX_BODY_BYTES, nul_character, read_body
from api.routers import AUTH, problems
from api.schemas import EVENT_BATCH_EXAMPLE, AppendOut
from ledger import AppendResult
from ledger.log.group_commit import GroupCommitter
from ledger.masterdata.keys import forbidden_event

router = APIRouter(tags=["events"])

#: The largest batch validated on the event loop itself: about one GIL switch interval of
#: CPU (docs/benchmarks-history.md, "Figures from the code").
_VALIDATE_INLINE = 1000

_REQUEST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": (
            f'`{{"events": [...]}}`: 1 to {MAX_BATCH:,} events (a longer batch gets 413 '
            f"batch-too-large), at most {MAX_BODY_BYTES // (1024 * 1024)} MiB (413 "
            "request-too-large)."
        ),
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/EventBatch"},
                "examples": {"register and ship": {"value": EVENT_BATCH_EXAMPLE}},
            }
        },
    }
}


def decode_json(body: bytes, what: str = "the request body") -> Any:
    """A JSON body decoded with the standard library, or the problem that explains why not
    (a NUL character, not UTF-8, malformed, nested too deeply); ``what`` names it."""
    if b"\\u0000" in body:
        raise nul_character(what)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise not_utf8(exc) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise malformed_json(exc.msg, exc.doc, exc.pos) from None
    except RecursionError:
        raise ApiError(400, "malformed-json", f"{what} nests too deeply") from None


def decode_batch(body: bytes) -> list[Any]:
    """The events of a ``{"events": [...]}`` body, or the problem that explains why not."""
    doc = decode_json(body)
    if not isinstance(doc, dict):
        raise invalid("events", 'the body must be an object: {"events": [...]}')
    extra = sorted(set(doc) - {"events"})
    if extra:
        raise invalid(extra[0], "unexpected field; the body holds only 'events'")
    events = doc.get("events")
    if not isinstance(events, list):
        raise invalid("events", "must be a list of events")
    if not events:
        raise ApiError(
            422,
            "validation-error",
            f"the batch is empty: send 1 to {MAX_BATCH:,} events",
            errors=[{"index": None, "field": "events", "message": "the batch is empty"}],
        )
    if len(events) > MAX_BATCH:
        raise ApiError(
            413,
            "batch-too-large",
            f"the batch holds {len(events)} events; the limit is {MAX_BATCH}",
            limit_events=MAX_BATCH,
        )
    return events


@router.post(
    "/v1/events",
    status_code=201,
    response_model=AppendOut,
    responses={
        200: {"model": AppendOut, "description": "Every event was already in the log"},
        **problems(400, *AUTH, 409, 413, 422),
    },
    openapi_extra=_REQUEST_BODY,
)
async def append_events(request: Request, key: WriterKey) -> Response:
    """Append a batch of events, all or nothing, as the key's organisation.

    Answers 201 with a receipt per event (its `seq` and hex leaf hash) and the signed
    checkpoint that covers them; 200 when every event was already in the log (idempotent
    by `event_id`: the original receipts, `duplicate: true`). An event at another
    organisation's location is refused with 403 forbidden-location.
    Roles: supplier, warehouse, store, manager.
    """
    events = decode_batch(await read_body(request))
    refused = forbidden_event(key.role, events)
    if refused is not None:
        raise forbidden(refused)
    # Through the process's group-committing writer: concurrent requests share a commit.
    # The request awaits the writer thread's future; no pool thread is parked per request.
    # submit validates the batch on the calling thread, off the writer's: here, on the event
    # loop for a batch of up to _VALIDATE_INLINE events (about one GIL switch interval),
    # on a pool thread for a larger one, so that the loop keeps serving others.
    writer: GroupCommitter = request.app.state.writer
    if len(events) <= _VALIDATE_INLINE:
        submitted = writer.submit(events, actor=key.org_id)
    else:
        submitted = await run_in_threadpool(writer.submit, events, actor=key.org_id)
    result = await asyncio.wrap_future(submitted)
    fresh = not all(r.duplicate for r in result.receipts)
    return Response(
        encode_append_result(result),
        status_code=201 if fresh else 200,
        media_type="application/json",
    )


def encode_append_result(result: AppendResult) -> bytes:
    """The answer's body: exactly ``json.dumps`` (compact separators) of ``{"receipts": [{
    "index", "event_id", "seq", "leaf_hash", "duplicate"}, ...], "tree_size", "root_hash",
    "checkpoint"}``. Each receipt is formatted straight into its JSON text (its event id
    escaped by the same function ``json.dumps`` uses) instead of being built as a dict for
    the encoder to walk, which is measurably cheaper (docs/benchmarks-history.md, "Figures
    from the code")."""
    receipts = ",".join(
        [
            f'{{"index":{r.index:d},"event_id":{_json_string(r.event_id)},"seq":{r.seq:d},'
            f'"leaf_hash":"{r.leaf_hash.hex()}","duplicate":{"true" if r.duplicate else "false"}}}'
            for r in result.receipts
        ]
    )
    rest = json.dumps(
        {
            "tree_size": result.tree_size,
            "root_hash": base64.b64encode(result.root_hash).decode(),
            "checkpoint": result.checkpoint,
        },
        separators=(",", ":"),
    )
    return f'{{"receipts":[{receipts}],{rest[1:]}'.encode()
