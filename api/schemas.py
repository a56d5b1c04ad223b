"""Request and response bodies, as OpenAPI documents them (with an example on every request)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ledger.events.models import EARLIEST_DATE, LATEST_DATE, Event, check_date_range
from ledger.masterdata.keys import KeyInfo
from ledger.projections.projector import LotStatus
from ledger.trace.lots import HoldInfo, StockLine

Role = Literal["admin", "supplier", "warehouse", "store", "manager", "regulator"]
LocationKind = Literal[
    "farm", "packer", "processor", "warehouse", "distribution_centre", "store", "restaurant"
]
UnitName = Literal["each", "case", "pallet", "kg", "g", "lb", "oz", "l", "ml"]
Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]
Decimal = Annotated[str, Field(pattern=r"^-?(0|[1-9][0-9]{0,12})(\.[0-9]{1,6})?$")]
Base64 = Annotated[str, Field(description="standard base64")]
Hex = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
_NO_NUL = r"^[^\x00]*$"  # text columns (PostgreSQL's) cannot hold U+0000
DATE_RANGE = f"between {EARLIEST_DATE.isoformat()} and {LATEST_DATE.isoformat()}"


def _day_in_range(value: date) -> date:
    check_date_range(value.date() if isinstance(value, datetime) else value)
    return value


def _moment_in_range(value: date | datetime) -> date | datetime:
    check_date_range(value.date() if isinstance(value, datetime) else value)
    return value


#: A date in a query or body, within the dates the ledger records (422 naming the range).
BoundedDate = Annotated[date, AfterValidator(_day_in_range)]
#: A date or an RFC 3339 time, likewise.
BoundedMoment = Annotated[date | datetime, AfterValidator(_moment_in_range)]


def text(max_length: int, min_length: int = 0) -> Any:
    return Field(min_length=min_length, max_length=max_length, pattern=_NO_NUL)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- problems ------------------------------------------------------------------------


class ProblemItem(BaseModel):
    index: int | None = Field(
        description="the failing event's position in the batch (0 otherwise; null for a "
        "problem of the whole batch, such as an empty one)"
    )
    field: str = Field(description="dotted path of the failing field")
    message: str


class ProblemDetail(BaseModel):
    """An RFC 9457 problem document."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["https://lotledger.dev/problems/validation-error"])
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[ProblemItem] | None = None


# -- master data ------------------------------------------------------------------


class OrganisationIn(_In):
    id: Identifier
    name: Annotated[str, text(200, 1)]

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"id": "greenvalley", "name": "Green Valley Farm"}]},
    )


class LocationIn(_In):
    id: Identifier
    org_id: Identifier
    name: Annotated[str, text(200, 1)]
    kind: LocationKind
    gln: Annotated[str | None, Field(pattern=r"^[0-9]{13}$")] = None
    address: Annotated[str | None, text(400)] = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "id": "gv-field-3",
                    "org_id": "greenvalley",
                    "name": "Green Valley, field 3",
                    "kind": "farm",
                    "gln": "9506000134376",
                    "address": "Salinas Valley, CA",
                }
            ]
        },
    )


class ProductIn(_In):
    gtin: Annotated[str, Field(pattern=r"^[0-9]{8,14}$")]
    org_id: Identifier
    description: Annotated[str, text(200, 1)]
    unit: UnitName
    shelf_life_days: Annotated[int | None, Field(ge=0, le=36500)] = None
    temp_min_c: Decimal | None = None
    temp_max_c: Decimal | None = None
    #: Kilograms in one trade item (a case, a bag): printed on labels as AI (310n).
    net_weight_kg: Annotated[
        str | None, Field(max_length=20, examples=["5", "0.75"], pattern=r"^[0-9]+(\.[0-9]+)?$")
    ] = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "gtin": "09506000134352",
                    "org_id": "greenvalley",
                    "description": "Romaine lettuce, whole head",
                    "unit": "kg",
                    "shelf_life_days": 14,
                    "temp_min_c": "0",
                    "temp_max_c": "4",
                    "net_weight_kg": "5",
                }
            ]
        },
    )


# -- keys ---------------------------------------------------------------------------


class KeyIn(_In):
    org_id: Identifier
    role: Role
    label: Annotated[str | None, text(200)] = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"org_id": "greenvalley", "role": "supplier", "label": "packhouse PC"}]
        },
    )


@dataclass(frozen=True, slots=True)
class NewKeyOut(KeyInfo):
    """A key just created, with its secret: the only time the secret is shown."""

    secret: Annotated[str, Field(description="the key itself; shown once, never stored")]


class WhoAmI(BaseModel):
    key_id: str
    org_id: str
    role: str


# -- events -------------------------------------------------------------------------


class EventBatch(BaseModel):
    """The body of ``POST /v1/events``: one to 10,000 events, appended all or nothing."""

    model_config = ConfigDict(extra="forbid")

    events: Annotated[list[Event], Field(min_length=1, max_length=10_000)]


EVENT_BATCH_EXAMPLE: dict[str, Any] = {
    "events": [
        {
            "event_id": "6f1c2a8e-2b7d-4a53-9a55-0d6c1f3f7b10",
            "type": "register",
            "event_time": "2026-11-20T06:30:00-08:00",
            "location": "gv-field-3",
            "lot": {"gtin": "09506000134352", "lot": "GV2611A"},
            "quantity": "1200",
            "unit": "kg",
            "product": "Romaine lettuce, whole head",
            "kind": "harvest",
            "expiry": "2026-12-04",
        },
        {
            "event_id": "0b6c5a3f-9d2e-4f1a-8b7c-3e2d1f0a9b8c",
            "type": "ship",
            "event_time": "2026-11-20T14:00:00-08:00",
            "location": "gv-field-3",
            "lot": {"gtin": "09506000134352", "lot": "GV2611A"},
            "quantity": "1000",
            "unit": "kg",
            "to_location": "fp-plant",
            "reference": {"type": "bol", "number": "BOL-77120"},
        },
    ]
}


class ReceiptOut(BaseModel):
    index: int
    event_id: str
    seq: int
    leaf_hash: Hex
    duplicate: bool


class AppendOut(BaseModel):
    receipts: list[ReceiptOut]
    tree_size: int
    root_hash: Base64
    checkpoint: str = Field(description="the C2SP signed note that covers every receipt")


# -- lots ---------------------------------------------------------------------------


class LotStatusOut(BaseModel):
    gtin: str
    lot: str
    status: LotStatus
    holds: list[HoldInfo]


class LotEventOut(BaseModel):
    seq: int
    leaf_hash: Hex
    recorded_at: str
    actor: str
    event: dict[str, Any]


class LotEventsOut(BaseModel):
    events: list[LotEventOut]
    next_after: int | None = Field(description="pass as ``after`` for the next page; null at end")


class LotStockOut(BaseModel):
    gtin: str
    lot: str
    unit: str
    total: str
    locations: list[StockLine]


# -- the public log -------------------------------------------------------------------


class LeafIndexOut(BaseModel):
    index: int
    leaf_hash: Hex


# -- the service -----------------------------------------------------------------------


class LinkOut(BaseModel):
    rel: str
    href: str
    title: str


class IndexOut(BaseModel):
    """``GET /`` for clients: where everything is."""

    name: str
    version: str
    origin: str = Field(description="the log's origin line (its checkpoints' first line)")
    tree_size: int
    links: list[LinkOut]


class HealthOut(BaseModel):
    status: Literal["ok"]


class CheckOut(BaseModel):
    name: Literal["database", "migrations", "signing_key"]
    ok: bool
    detail: str
    ms: float


class ReadyOut(BaseModel):
    status: Literal["ready"]
    checks: list[CheckOut]


class EpcisBody(BaseModel):
    eventList: list[dict[str, Any]]  # noqa: N815 - EPCIS 2.0's own field name

    model_config = ConfigDict(extra="allow")


class EpcisDocument(BaseModel):
    """An EPCIS 2.0 document, as ``POST /epcis/v2/capture`` takes it (documented, not parsed
    by this model: GS1's JSON Schema checks each event, ``ledger.epcis.document``)."""

    type: Literal["EPCISDocument"]
    epcisBody: EpcisBody  # noqa: N815 - EPCIS 2.0's own field name

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
                    "type": "EPCISDocument",
                    "schemaVersion": "2.0",
                    "creationDate": "2026-11-24T07:00:00Z",
                    "epcisBody": {
                        "eventList": [
                            {
                                "type": "ObjectEvent",
                                "eventTime": "2026-11-24T06:30:00Z",
                                "eventTimeZoneOffset": "+00:00",
                                "action": "ADD",
                                "bizStep": "commissioning",
                                "bizLocation": {"id": "urn:epc:id:sgln:9506000.13437.0"},
                                "quantityList": [
                                    {
                                        "epcClass": "urn:epc:class:lgtin:9506000.013435.L2311A",
                                        "quantity": 400,
                                        "uom": "KGM",
                                    }
                                ],
                            }
                        ]
                    },
                }
            ]
        },
    )
