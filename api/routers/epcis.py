"""GS1 EPCIS 2.0 REST binding: capture (``POST /epcis/v2/capture``, its capture jobs) and
the event query (``GET /epcis/v2/events``, one event by its eventID). Parsing, the key's
role, and the answer's shape; ``ledger.epcis`` does the rest."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from api.deps import LedgerDep, ReaderKey, WriterKey, viewer_of
from api.errors import ApiError
from api.limits import read_body
from api.routers import AUTH, problems
from api.routers.events import decode_json
from ledger.epcis import query as epcis_query
from ledger.epcis.capture import capture, capture_job
from ledger.epcis.document import SCHEMA_FILE, shape_error

router = APIRouter(prefix="/epcis/v2", tags=["epcis"])

#: The versions every answer states (the REST binding's standard headers).
VERSION_HEADERS = {"GS1-EPCIS-Version": "2.0.0", "GS1-CBV-Version": "2.0.0"}
LD_JSON = "application/ld+json"


def _ld(description: str) -> dict[str, Any]:
    """An OpenAPI response answered as JSON-LD (EPCIS documents and capture jobs)."""
    return {"description": description, "content": {LD_JSON: {"schema": {"type": "object"}}}}


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
        status_code=status,
        media_type=LD_JSON,
        headers={**VERSION_HEADERS, **(headers or {})},
    )


_DOCUMENT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": f"An EPCIS 2.0 document (GS1's {SCHEMA_FILE} checks each event)",
        "content": {
            media: {"schema": {"$ref": "#/components/schemas/EpcisDocument"}}
            for media in (LD_JSON, "application/json")
        },
    }
}


@router.post(
    "/capture",
    status_code=202,
    response_class=Response,
    openapi_extra=_DOCUMENT_BODY,
    responses={
        202: _ld("Captured or refused as a whole: the capture job says which"),
        **problems(400, *AUTH, 413, 415, 422),
    },
)
async def capture_document(request: Request, key: WriterKey, ledger: LedgerDep) -> Response:
    """Capture an EPCIS 2.0 document (`application/ld+json` or `application/json`).

    Every event is checked against GS1's EPCIS 2.0 JSON Schema and the ledger's rules and
    appended as one batch, all or none; answers 202 with `Location: /epcis/v2/capture/{id}`,
    the capture job, which reports success (each event's entry, or `duplicate` for an event
    this organisation captured before) or every error with the event's index and a JSON
    pointer. Roles: supplier, warehouse, store, manager; only for the key's own locations.
    """
    document = decode_json(await read_body(request), "the EPCIS document")
    refused = shape_error(document)
    if refused is not None:
        pointer, message = refused
        raise ApiError(
            400,
            "invalid-epcis-document",
            message,
            errors=[{"index": None, "field": pointer, "message": message}],
        )
    job = await run_in_threadpool(capture, ledger, document, actor=key.org_id)
    location = f"/epcis/v2/capture/{job.capture_id}"
    return _json(job.as_json(), 202, {"Location": location})


@router.get(
    "/capture/{capture_id}",
    response_class=Response,
    responses={200: _ld("The capture job"), **problems(*AUTH, 404, 422)},
)
def get_capture_job(capture_id: str, key: WriterKey, ledger: LedgerDep) -> Response:
    """A capture job of the key's organisation: `success`, and `errors` (each with
    `eventIndex` and `pointer`) or `events` (each event's `seq` on the log)."""
    return _json(capture_job(ledger, capture_id, org_id=key.org_id).as_json())


def _values(text: str | None) -> list[str]:
    """A query parameter's values: the REST binding separates several with ``|``."""
    return [v for v in (text or "").split("|") if v]


@router.get(
    "/events",
    response_class=Response,
    responses={200: _ld("An EPCISQueryDocument"), **problems(400, *AUTH, 422)},
)
def get_events(
    request: Request,
    key: ReaderKey,
    ledger: LedgerDep,
    event_type: Annotated[str | None, Query(alias="eventType")] = None,
    ge_event_time: Annotated[str | None, Query(alias="GE_eventTime")] = None,
    lt_event_time: Annotated[str | None, Query(alias="LT_eventTime")] = None,
    ge_record_time: Annotated[str | None, Query(alias="GE_recordTime")] = None,
    eq_biz_step: Annotated[str | None, Query(alias="EQ_bizStep")] = None,
    eq_disposition: Annotated[str | None, Query(alias="EQ_disposition")] = None,
    eq_biz_location: Annotated[str | None, Query(alias="EQ_bizLocation")] = None,
    eq_read_point: Annotated[str | None, Query(alias="EQ_readPoint")] = None,
    match_epc: Annotated[str | None, Query(alias="MATCH_epc")] = None,
    match_any_epc: Annotated[str | None, Query(alias="MATCH_anyEPC")] = None,
    match_epc_class: Annotated[str | None, Query(alias="MATCH_epcClass")] = None,
    match_any_epc_class: Annotated[str | None, Query(alias="MATCH_anyEPCClass")] = None,
    eq_event_id: Annotated[str | None, Query(alias="EQ_eventID")] = None,
    per_page: Annotated[int, Query(alias="perPage")] = epcis_query.DEFAULT_PER_PAGE,
    next_page_token: Annotated[str | None, Query(alias="nextPageToken")] = None,
) -> Response:
    """The events the key's organisation may see, as an EPCISQueryDocument, oldest first;
    several values of one parameter are separated by `|`. More than `perPage` (at most
    1,000): the `Link` header names the next page (`rel="next"`)."""
    query = epcis_query.EventQuery(
        event_types=_values(event_type),
        ge_event_time=ge_event_time,
        lt_event_time=lt_event_time,
        ge_record_time=ge_record_time,
        biz_steps=_values(eq_biz_step),
        dispositions=_values(eq_disposition),
        biz_locations=_values(eq_biz_location),
        read_points=_values(eq_read_point),
        epc_classes=_values(match_epc_class),
        any_epc_classes=_values(match_any_epc_class),
        epcs=_values(match_epc) + _values(match_any_epc),
        event_ids=_values(eq_event_id),
        per_page=per_page,
        next_page_token=next_page_token,
    )
    try:
        page = epcis_query.events(ledger, query, viewer=viewer_of(key))
    except epcis_query.QueryError as exc:
        raise ApiError(400, "query-parameter", str(exc), parameter=exc.parameter) from None
    headers = {}
    if page.next_page_token is not None:
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "nextPageToken"]
        params.append(("nextPageToken", page.next_page_token))
        headers["Link"] = f'<{request.url.path}?{urlencode(params)}>; rel="next"'
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return _json(epcis_query.query_document(page.events, created), headers=headers)


@router.get(
    "/events/{event_id:path}",
    response_class=Response,
    responses={200: _ld("One EPCIS event"), **problems(*AUTH, 404, 422)},
)
def get_event(event_id: str, key: ReaderKey, ledger: LedgerDep) -> Response:
    """One event by its eventID (its CBV 2.0 hash ID, or `urn:uuid:...`), if visible."""
    found = epcis_query.event(ledger, event_id, viewer=viewer_of(key))
    if found is None:
        raise ApiError(404, "not-found", f"no event {event_id} that this key may see")
    return _json(found)
