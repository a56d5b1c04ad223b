"""Recall lookups: ``GET /v1/trace`` walks the lot graph from lots (or a product's lots
registered in a date range), forward or backward; ``/v1/trace/export.{csv,xlsx,json}``
gives the same answer as the FDA FSMA 204 sortable spreadsheet or a JSON document.

A trace follows the visibility rule (``ledger.lineage.visibility``) and is limited to the people
whose job it is: managers and regulators.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from starlette.responses import Response

from api.deps import LedgerDep, ManagerOrRegulatorKey, viewer_of
from api.errors import invalid
from api.routers import AUTH, problems
from api.schemas import DATE_RANGE, BoundedMoment
from ledger import ProductRange, TraceStart
from ledger.lineage.graph import trace
from ledger.log.service import rfc3339_utc
from ledger.trace import fsma

router = APIRouter(prefix="/v1/trace", tags=["trace"])
ERRORS = problems(*AUTH, 404, 422)

MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}
_LOT_REF = re.compile(r"^(?P<gtin>[0-9]{8,14})/(?P<lot>[^@]{1,20})(?:@(?P<loc>[^@]{1,64}))?$")
MAX_STARTS = 100


class QuantitiesOut(BaseModel):
    """At a partner's node (``visibility`` ``partner``) only ``produced`` and what passed
    between it and the caller (``shipped`` to, ``received`` from) are given; the rest
    is null."""

    produced: str
    received: str
    shipped: str
    on_hand: str | None
    in_transit: str | None
    sold: str | None
    consumed: str | None
    used: str | None
    sold_or_used: str | None
    disposed: str | None
    adjusted: str | None


class HopOut(BaseModel):
    kind: Literal["ship", "transform"]
    from_: str = Field(alias="from", description="GTIN/LOT@LOCATION")
    to: str = Field(description="GTIN/LOT@LOCATION")


class TraceNodeOut(BaseModel):
    gtin: str
    lot: str
    product: str
    unit: str
    location: str
    location_name: str
    org_id: str
    held: bool = Field(description="the lot has an open hold (quality or recall)")
    depth: int = Field(description="hops from the nearest start")
    quantities: QuantitiesOut = Field(description="decimal strings in the lot's unit")
    visibility: Literal["own", "partner"] | None = Field(
        None,
        description="a manager's trace: its own organisation's node, or a partner's one "
        "shipment away; absent for a regulator, who sees every node whole",
    )
    path: list[HopOut] = Field(description="one shortest path from a start, goods' direction")


class TraceOut(BaseModel):
    direction: Literal["forward", "backward"]
    max_depth: int | None
    starts: list[dict[str, str | None]]
    lots: list[dict[str, str]]
    locations: list[str]
    nodes: list[TraceNodeOut]


_TRACE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": TraceOut, "description": "Every affected (lot, location)"},
    **ERRORS,
}
_EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The FSMA 204 sortable spreadsheet (one row per critical tracking "
        "event), or JSON: the trace and the same rows",
        "content": {t: {} for t in MEDIA_TYPES.values()},
    },
    **ERRORS,
}

LotParam = Annotated[
    list[str] | None,
    Query(
        description="`GTIN/LOT`, or `GTIN/LOT@LOCATION` to start at one location "
        "(backward traces from a store); repeat for several lots",
        examples=["09506000134352/GV26W47"],
    ),
]
DirectionParam = Annotated[Literal["forward", "backward"], Query()]
DepthParam = Annotated[int | None, Query(ge=0, le=1000, description="hops; none = unbounded")]
GtinParam = Annotated[
    str | None, Query(pattern=r"^[0-9]{8,14}$", description="with from and to: a product")
]
FromParam = Annotated[
    BoundedMoment | None,
    Query(
        alias="from",
        description=f"lots registered at or after (date or RFC 3339, {DATE_RANGE})",
    ),
]
ToParam = Annotated[
    BoundedMoment | None,
    Query(
        alias="to",
        description=f"lots registered before (a date includes its whole day; {DATE_RANGE})",
    ),
]


def parse_lot_ref(value: str, field: str = "lot") -> TraceStart:
    """``GTIN/LOT`` or ``GTIN/LOT@LOCATION`` (a lot code never holds "@": GS1 CSET 82)."""
    m = _LOT_REF.match(value)
    if m is None:
        raise invalid(field, f"{value!r} is not GTIN/LOT or GTIN/LOT@LOCATION")
    return TraceStart(m["gtin"], m["lot"], m["loc"])


def _moment(value: date | datetime, *, end: bool) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise invalid("to" if end else "from", "a time needs an offset (Z or +hh:mm)")
        return rfc3339_utc(value)
    return (value + timedelta(days=1) if end else value).isoformat()


def starts_from(
    lot: list[str] | None,
    gtin: str | None,
    start: date | datetime | None,
    end: date | datetime | None,
) -> list[TraceStart] | ProductRange:
    """The query's starting point: lots, or a product and a date range (not both)."""
    if lot:
        if gtin or start or end:
            raise invalid("lot", "give lots, or gtin with from and to, not both")
        if len(lot) > MAX_STARTS:
            raise invalid("lot", f"at most {MAX_STARTS} lots")
        return [parse_lot_ref(v) for v in lot]
    if not (gtin and start and end):
        raise invalid("lot", "give lot=GTIN/LOT, or gtin, from and to")
    return ProductRange(gtin, _moment(start, end=False), _moment(end, end=True))


def export_name(prefix: str, starts: list[TraceStart] | ProductRange, ext: str) -> str:
    if isinstance(starts, ProductRange):
        tail = f"{starts.gtin}-{starts.start[:10]}-{starts.end[:10]}"
    elif len(starts) == 1:
        tail = f"{starts[0].gtin}-{starts[0].lot}"
    else:
        tail = f"{len(starts)}-lots"
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in tail)
    return f"{prefix}-{safe}-{datetime.now(UTC):%Y%m%d}.{ext}"


def attachment(data: bytes, fmt: str, name: str) -> Response:
    return Response(
        data,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("", response_class=Response, responses=_TRACE_RESPONSES)
def get_trace(
    ledger: LedgerDep,
    key: ManagerOrRegulatorKey,
    lot: LotParam = None,
    direction: DirectionParam = "forward",
    max_depth: DepthParam = None,
    gtin: GtinParam = None,
    start: FromParam = None,
    end: ToParam = None,
) -> Response:
    """Every (lot, location) reachable from the start lots, forward (where it went, what
    was made of it) or backward (where it came from), with quantities received, on hand,
    in transit, sold or used, disposed, and one path from a start. Quantities are in each
    lot's unit, as decimal strings. A manager sees its organisation's locations and, of
    the lots it handled, the other organisations' one shipment up or down (`visibility`
    `partner`: no stock, in transit or sales, `null`); a lot it never handled answers
    404. Roles: manager, regulator."""
    starts = starts_from(lot, gtin, start, end)
    result = trace(ledger.engine, starts, direction, max_depth, viewer=viewer_of(key))
    return Response(json.dumps(result.as_dict()).encode(), media_type="application/json")


@router.get("/export.{fmt}", response_class=Response, responses=_EXPORT_RESPONSES)
def export(
    fmt: Literal["csv", "xlsx", "json"],
    ledger: LedgerDep,
    key: ManagerOrRegulatorKey,
    lot: LotParam = None,
    direction: DirectionParam = "forward",
    max_depth: DepthParam = None,
    gtin: GtinParam = None,
    start: FromParam = None,
    end: ToParam = None,
) -> Response:
    """The trace as the FDA FSMA 204 electronic sortable spreadsheet (`export.csv`,
    `export.xlsx`: one row per critical tracking event with its key data elements) or
    as JSON (`export.json`: the trace and the same rows), of what the caller may see as
    in `GET /v1/trace`. Roles: manager, regulator."""
    starts = starts_from(lot, gtin, start, end)
    data = fsma.export_trace(
        ledger.engine, starts, fmt, direction, max_depth, viewer=viewer_of(key)
    )
    return attachment(data, fmt, export_name(f"trace-{direction}", starts, fmt))
