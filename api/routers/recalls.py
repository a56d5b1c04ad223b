"""Recalls: a manager traces lots and puts everything still on hand on hold; each affected
location confirms removal; the recalling organisation closes the recall once none is
outstanding. Exports give the recall's FSMA 204 spreadsheet.

Who sees what: regulators see every recall; any other organisation sees the recalls it
made and those that involve one of its locations (404 for the rest).
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field, StrictBool
from starlette.responses import Response

from api.deps import LedgerDep, ManagerKey, ManagerOrRegulatorKey, ReaderKey, WriterKey, viewer_of
from api.errors import invalid
from api.routers import AUTH, problems
from api.routers.trace import MEDIA_TYPES, attachment
from ledger import TraceStart
from ledger.trace import recall

router = APIRouter(prefix="/v1/recalls", tags=["recalls"])
RecallId = Annotated[str, Path(max_length=64)]
Gtin = Annotated[str, Field(pattern=r"^[0-9]{8,14}$")]
Decimal = Annotated[str, Field(description="decimal string, in the lot's unit")]


class LotRefIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gtin: Gtin
    lot: Annotated[str, Field(min_length=1, max_length=20)]
    location: Annotated[
        str | None,
        Field(max_length=64, description="start at this location (default: the lot's origin)"),
    ] = None


class RecallIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "lots": [{"gtin": "09506000134352", "lot": "GV26W47"}],
                    "reason": "Listeria monocytogenes found in field 3",
                    "classification": "I",
                    "direction": "forward",
                }
            ]
        },
    )

    lots: Annotated[list[LotRefIn], Field(min_length=1, max_length=100)]
    reason: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00]*\S[^\x00]*$")]
    classification: Literal["I", "II", "III"] = Field(
        description="FDA recall class: I (serious harm) to III (unlikely to cause harm)"
    )
    direction: Literal["forward", "backward"] = "forward"
    max_depth: Annotated[int | None, Field(ge=0, le=1000)] = None
    id: Annotated[
        str | None,
        Field(
            pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$",
            description="the recall's id (default: a new UUID); reusing one gets 409",
        ),
    ] = None


class ConfirmationIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"location": "cg-store-1", "dispose": True}]},
    )

    location: Annotated[str, Field(min_length=1, max_length=64)]
    dispose: StrictBool = Field(
        default=True,
        description="dispose of (reason recall) what the location still holds; with false, "
        "confirm goods already removed (409 if any is left)",
    )


class RecallItemOut(BaseModel):
    gtin: str
    lot: str
    product: str = Field(description="the lot's product description")
    unit: str
    location: str
    at_risk: Decimal = Field(description="on hand or in transit to it when the holds went on")
    recovered: Decimal = Field(description="disposed of or sent back since")
    produced: Decimal = Field(description="made or registered here (harvest, packing, output)")
    received: Decimal
    shipped: Decimal
    in_transit: Decimal = Field(description="shipped to this location, not yet received")
    on_hand: Decimal
    sold_or_used: Decimal
    disposed: Decimal


class LocationProgressOut(BaseModel):
    location: str
    location_name: str
    org_id: str
    at_risk: Decimal
    recovered: Decimal
    produced: Decimal
    received: Decimal
    shipped: Decimal
    in_transit: Decimal
    on_hand: Decimal
    confirmed_at: str | None
    confirmed_by: str | None
    complete: bool = Field(
        description="confirmed, and none of the recalled lots on hand or in transit to it"
    )
    items: list[RecallItemOut]


class ProgressOut(BaseModel):
    at_risk: Decimal = Field(description="on hand or in transit when the holds went on")
    recovered: Decimal = Field(description="disposed of or sent back since")
    in_transit: Decimal = Field(description="recalled goods still on their way to a location")
    locations: int
    confirmed: int = Field(description="locations that have confirmed removal")
    outstanding: list[str] = Field(
        description="locations not complete: not confirmed, or with recalled stock on hand "
        "or in transit to them"
    )
    complete: bool = Field(description="no location outstanding: the recall can be closed")


class LeftItemOut(BaseModel):
    gtin: str
    lot: str
    unit: str
    on_hand: Decimal
    in_transit: Decimal


class OutstandingAtCloseOut(BaseModel):
    location: str
    confirmed: bool
    items: list[LeftItemOut]


class RecallOut(BaseModel):
    id: str
    org_id: str
    reason: str
    classification: str
    status: Literal["open", "closed"]
    direction: Literal["forward", "backward"]
    max_depth: int | None
    starts: list[LotRefIn]
    created_seq: int = Field(description="log size once the holds were appended")
    created_at: str
    closed_at: str | None
    closed_by: str | None = Field(description="the organisation that closed it")
    close_reason: str | None
    forced: bool = Field(description="closed with locations outstanding")
    outstanding_at_close: list[OutstandingAtCloseOut] | None = Field(
        description="on a forced close: each outstanding location and what it still held "
        "or had in transit"
    )
    progress: ProgressOut
    locations: list[LocationProgressOut]


class NewRecallOut(RecallOut):
    holds_appended: int = Field(description="hold events this request appended to the log")


def _out(found: recall.Recall) -> RecallOut:
    return RecallOut.model_validate(found.as_dict())


@router.post(
    "", status_code=201, response_model=NewRecallOut, responses=problems(*AUTH, 404, 409, 422)
)
def create_recall(body: RecallIn, ledger: LedgerDep, key: ManagerKey) -> NewRecallOut:
    """Trace the lots and put every affected lot still on hand or in transit on hold (a
    `hold` of kind `recall`, appended to the log by the caller's organisation). The
    organisation must have made, held, shipped or received each start lot (403
    otherwise). Roles: manager."""
    made = recall.create_recall(
        ledger,
        actor=key.org_id,
        starts=[TraceStart(s.gtin, s.lot, s.location) for s in body.lots],
        reason=body.reason,
        classification=body.classification,
        direction=body.direction,
        max_depth=body.max_depth,
        recall_id=body.id,
    )
    return NewRecallOut.model_validate({**made.as_dict(), "holds_appended": made.holds_appended})


#: Recalls a page of ``GET /v1/recalls`` holds at most (each with its full progress).
MAX_RECALLS_PAGE = 200


@router.get("", response_model=list[RecallOut], responses=problems(*AUTH, 404, 422))
def list_recalls(
    ledger: LedgerDep,
    key: ReaderKey,
    response: Response,
    status: Annotated[
        Literal["open", "closed"] | None, Query(description="only open or only closed recalls")
    ] = None,
    after: Annotated[
        str | None, Query(max_length=64, description="the id of the last recall of the page before")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_RECALLS_PAGE)] = 50,
) -> list[RecallOut]:
    """Recalls, oldest first, each with its progress: a regulator's, all; anyone else's,
    those its organisation made or that involve one of its locations. A page holds
    `limit` recalls (50 by default, 200 at most); when it is full, the `Link` header's
    `rel="next"` names the next page (`after` the last recall's id). Roles: supplier,
    warehouse, store, manager, regulator."""
    page = recall.list_recalls(
        ledger, viewer=viewer_of(key), status=status, after=after, limit=limit
    )
    if len(page) == limit:
        query = urlencode(
            {k: v for k, v in (("status", status), ("after", page[-1].id)) if v} | {"limit": limit}
        )
        response.headers["Link"] = f'</v1/recalls?{query}>; rel="next"'
    return [_out(r) for r in page]


@router.get("/{recall_id}", response_model=RecallOut, responses=problems(*AUTH, 404))
def get_recall(recall_id: RecallId, ledger: LedgerDep, key: ReaderKey) -> RecallOut:
    """The recall and its progress: quantity recovered over quantity at risk, per location
    and lot, and the locations that have not confirmed removal. Roles: supplier,
    warehouse, store, manager, regulator (the recall must concern their organisation)."""
    return _out(recall.get_recall(ledger, recall_id, viewer=viewer_of(key)))


@router.post(
    "/{recall_id}/confirmations",
    status_code=201,
    response_model=RecallOut,
    responses=problems(*AUTH, 404, 409, 422),
)
def confirm_removal(
    recall_id: RecallId, body: ConfirmationIn, ledger: LedgerDep, key: WriterKey
) -> RecallOut:
    """A location confirms it removed the recalled goods; by default it first disposes of
    (reason `recall`) what it still holds. The location must be the caller's
    organisation's (403 otherwise). Roles: supplier, warehouse, store, manager."""
    return _out(
        recall.confirm_removal(
            ledger, recall_id, actor=key.org_id, location=body.location, dispose=body.dispose
        )
    )


class CloseIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "force": True,
                    "reason": "2 cases shipped on PO-77 were never received; the carrier "
                    "confirmed their destruction (ticket 4411)",
                }
            ]
        },
    )

    force: StrictBool = Field(
        False,
        description="close although locations are outstanding (needs a reason); what they "
        "still held or had in transit is recorded on the recall",
    )
    reason: Annotated[
        str | None,
        Field(max_length=recall.MAX_CLOSE_REASON, pattern=r"^[^\x00]*$"),
    ] = None


@router.post(
    "/{recall_id}/close", response_model=RecallOut, responses=problems(*AUTH, 404, 409, 422)
)
def close_recall(
    recall_id: RecallId, ledger: LedgerDep, key: ManagerKey, body: CloseIn | None = None
) -> RecallOut:
    """Close the recall once every location has confirmed (409 while any is outstanding).
    With `force` and a `reason` it closes anyway, recording who closed it, why, and what each
    outstanding location still held or had in transit (`outstanding_at_close`). The holds
    stay. Roles: manager of the recalling organisation."""
    body = body or CloseIn()
    if body.force and not (body.reason or "").strip():
        raise invalid(
            "reason",
            "closing a recall with force needs a reason: why the outstanding goods cannot "
            "be recovered",
        )
    return _out(
        recall.close_recall(
            ledger, recall_id, actor=key.org_id, force=body.force, reason=body.reason
        )
    )


@router.get(
    "/{recall_id}/progress.csv",
    response_class=Response,
    responses={
        200: {
            "description": "One row per (location, lot): at risk, recovered, produced, "
            "received, shipped, in transit, on hand, sold or used, disposed, and the "
            "location's confirmation",
            "content": {MEDIA_TYPES["csv"]: {}},
        },
        **problems(*AUTH, 404),
    },
)
def recall_progress_csv(recall_id: RecallId, ledger: LedgerDep, key: ReaderKey) -> Response:
    """The recall's progress table as CSV, for a spreadsheet. Roles: as `GET
    /v1/recalls/{id}`."""
    found = recall.get_recall(ledger, recall_id, viewer=viewer_of(key))
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in recall_id)
    return attachment(recall.progress_csv(found), "csv", f"recall-{safe}-progress.csv")


@router.get(
    "/{recall_id}/export.{fmt}",
    response_class=Response,
    responses={
        200: {
            "description": "XLSX: the FSMA 204 sortable spreadsheet, the recall's summary and "
            "its dispositions (three sheets); CSV: one of them (`sheet`); JSON: all of them "
            "with the trace",
            "content": {t: {} for t in MEDIA_TYPES.values()},
        },
        **problems(*AUTH, 404, 422),
    },
)
def export_recall(
    recall_id: RecallId,
    fmt: Literal["csv", "xlsx", "json"],
    ledger: LedgerDep,
    key: ManagerOrRegulatorKey,
    sheet: Annotated[
        Literal["events", "summary", "dispositions"] | None,
        Query(
            description="CSV only: the FSMA 204 rows (`events`, the default), the recall's "
            "`summary`, or its `dispositions` per location and lot"
        ),
    ] = None,
) -> Response:
    """The recall as the FDA FSMA 204 electronic sortable spreadsheet with the recall's
    summary (reason, class, dates, progress) and dispositions (per location and lot: at
    risk, recovered, on hand, sold or used, disposed, confirmation): `export.xlsx` holds
    the three sheets, `export.csv?sheet=` one of them, `export.json` all of them and the
    trace. Roles: manager, regulator."""
    if sheet is not None and fmt != "csv":
        raise invalid("sheet", f"sheet chooses a CSV file; export.{fmt} holds every sheet")
    data = recall.export_recall(
        ledger, recall_id, fmt, viewer=viewer_of(key), sheet=sheet or "events"
    )
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in recall_id)
    tail = f"-{sheet}" if sheet and sheet != "events" else ""
    return attachment(data, fmt, f"recall-{safe}{tail}.{fmt}")
