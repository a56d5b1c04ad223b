"""The event model: every type in DESIGN.md with the key data elements it needs.

Event types follow the FDA FSMA 204 critical tracking events and GS1 EPCIS 2.0
business steps (see ``EPCIS`` below), so each maps to both without loss.
Quantities are normalized decimal strings, identifiers are checked (GTIN check
digit, GS1 AI 10 lot characters), times are RFC 3339 with an offset. A model's
``model_dump`` is exactly the ``event`` object that goes into a log entry.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from ledger import quantity
from ledger.errors import EventValidationError, Problem
from verifier.gs1 import IdentifierError, validate_gtin, validate_lot

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})")
_LOCATION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _event_id(value: str) -> str:
    lowered = value.lower()
    if not _UUID.fullmatch(lowered):
        raise ValueError(f"{value!r} is not a UUID in its hyphenated form")
    return lowered


#: The dates the ledger records and answers for: event times, expiry and production dates,
#: and the date ranges of queries. Outside them a date is a typing error (0001-01-01,
#: 9999-12-31), and date arithmetic near the calendar's ends would overflow.
EARLIEST_DATE = date(1970, 1, 1)
LATEST_DATE = date(2199, 12, 31)


def check_date_range(day: date) -> None:
    """Raise ValueError when ``day`` is outside [EARLIEST_DATE, LATEST_DATE]."""
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValueError(
            f"{day.isoformat()} is outside the dates the ledger records "
            f"({EARLIEST_DATE.isoformat()} to {LATEST_DATE.isoformat()})"
        )


# Remembered like _gtin and _location: a batch's events mostly share their times and
# quantities, and a refusal raises every time (lru_cache keeps no exceptions).
@lru_cache(maxsize=4096)
def _rfc3339(value: str) -> str:
    if not _RFC3339.fullmatch(value):
        raise ValueError(
            f"{value!r} is not an RFC 3339 time with an offset, e.g. 2026-11-24T08:30:00+01:00"
        )
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{value!r} is not a valid date and time") from None
    check_date_range(moment.date())
    return value


def _iso_date(value: str) -> str:
    try:
        parsed = date.fromisoformat(value)
    except (ValueError, TypeError):
        raise ValueError(f"{value!r} is not a date in the form YYYY-MM-DD") from None
    if parsed.isoformat() != value:
        raise ValueError(f"{value!r} must be written YYYY-MM-DD")
    check_date_range(parsed)
    return value


@lru_cache(maxsize=65536)
def _gtin(value: str) -> str:
    try:
        return validate_gtin(value)
    except IdentifierError as exc:
        raise ValueError(str(exc)) from None


def _lot(value: str) -> str:
    try:
        return validate_lot(value)
    except IdentifierError as exc:
        raise ValueError(str(exc)) from None


@lru_cache(maxsize=65536)
def _location(value: str) -> str:
    if not _LOCATION_ID.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a location id (a GLN or 1-64 letters, digits and . _ : -)"
        )
    return value


@lru_cache(maxsize=4096)
def _positive(value: str) -> str:
    return quantity.normalize(value)


def _signed(value: str) -> str:
    return quantity.normalize(value, signed=True)


def _non_negative(value: str) -> str:
    return quantity.normalize(value, allow_zero=True)


def _sensor_value(value: str) -> str:
    return quantity.normalize(value, signed=True, allow_zero=True)


def _price(value: str) -> str:
    return quantity.normalize(quantity.check_price(value))


EventId = Annotated[str, AfterValidator(_event_id)]
Time = Annotated[str, AfterValidator(_rfc3339)]
IsoDate = Annotated[str, AfterValidator(_iso_date)]
Gtin = Annotated[str, AfterValidator(_gtin)]
LotCode = Annotated[str, AfterValidator(_lot)]
LocationId = Annotated[str, AfterValidator(_location)]
Quantity = Annotated[str, Field(examples=["120.5"]), AfterValidator(_positive)]
SignedQuantity = Annotated[str, Field(examples=["-3"]), AfterValidator(_signed)]
Price = Annotated[str, Field(examples=["2.49"]), AfterValidator(_price)]
Text = Annotated[str, Field(min_length=1, max_length=200)]
Unit = Literal["each", "case", "pallet", "kg", "g", "lb", "oz", "l", "ml"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class LotRef(_Model):
    """A traceability lot code: GTIN (normalized to 14 digits) plus lot."""

    gtin: Gtin
    lot: LotCode

    @property
    def key(self) -> tuple[str, str]:
        return (self.gtin, self.lot)


class Reference(_Model):
    """A reference document: purchase order, bill of lading, invoice, despatch advice."""

    type: Literal["po", "bol", "inv", "desadv", "recall", "other"]
    number: Text


#: A CBV 2.0 event hash ID (``ledger.epcis.event_hash``).
EpcisHash = Annotated[str, Field(pattern=r"^ni:///sha-256;[0-9a-f]{64}\?ver=CBV2\.0$")]


class _Event(_Model):
    event_id: EventId
    event_time: Time
    location: LocationId
    reference: Reference | None = None
    #: The CBV 2.0 event hash ID of the EPCIS event this event was captured from
    #: (``POST /epcis/v2/capture``), so a partner's own EPCIS record matches this entry.
    epcis_hash: EpcisHash | None = None


class _LotQuantity(_Event):
    lot: LotRef
    quantity: Quantity
    unit: Unit


class Register(_LotQuantity):
    """A lot comes into being: harvest, initial packing, production (EPCIS ADD, commissioning)."""

    type: Literal["register"]
    kind: Literal["harvest", "pack", "produce", "land"] = "pack"
    product: Text
    #: Filled in by the ledger when absent: production date (or event date) + shelf life.
    expiry: IsoDate | None = None
    production_date: IsoDate | None = None


class Ship(_LotQuantity):
    """A quantity leaves ``location`` for ``to_location`` (EPCIS OBSERVE, shipping)."""

    type: Literal["ship"]
    to_location: LocationId
    shipment_id: Text | None = None


class Receive(_LotQuantity):
    """A quantity arrives at ``location`` from ``from_location`` (EPCIS OBSERVE, receiving).

    A receipt must match a shipment of the lot to this location, unless
    ``unsolicited`` says the sender did not record one.
    """

    type: Literal["receive"]
    from_location: LocationId
    shipment_id: Text | None = None
    unsolicited: bool = False
    #: Parts of ``quantity`` that arrived but were refused into stock (they count against
    #: the shipment, not the shelf): a purchase order receipt's discrepancies.
    damaged: Quantity | None = None
    out_of_temperature: Quantity | None = None


class TransformInput(_Model):
    lot: LotRef
    quantity: Quantity
    unit: Unit


class TransformOutput(_Model):
    lot: LotRef
    quantity: Quantity
    unit: Unit
    product: Text
    #: Filled in by the ledger when absent: the event's date + the product's shelf life.
    expiry: IsoDate | None = None


class Transform(_Event):
    """Input lots are consumed into new output lots (EPCIS TransformationEvent)."""

    type: Literal["transform"]
    inputs: Annotated[list[TransformInput], Field(min_length=1, max_length=100)]
    outputs: Annotated[list[TransformOutput], Field(min_length=1, max_length=100)]


class Sell(_LotQuantity):
    """Leaves the chain at retail (EPCIS OBSERVE, retail_selling)."""

    type: Literal["sell"]


class Consume(_LotQuantity):
    """Used in food service (EPCIS OBSERVE, dispensing)."""

    type: Literal["consume"]


class Dispose(_LotQuantity):
    """Waste, spoilage, destruction (EPCIS DELETE, destroying)."""

    type: Literal["dispose"]
    reason: Literal["spoilage", "damage", "expired", "recall", "quality", "other"]


class Adjust(_Event):
    """A stock count found a different quantity (EPCIS OBSERVE, cycle_counting)."""

    type: Literal["adjust"]
    lot: LotRef
    variance: SignedQuantity
    unit: Unit
    reason: Literal["count", "damage", "theft", "spoilage", "found", "other"]
    #: The quantity the count found. When given, the ledger applies the variance only if
    #: the stock on hand plus the variance equals it, under the log's lock; otherwise the
    #: stock changed since the variance was computed (another count, a sale) and the event
    #: is refused (409 stale-count), so two concurrent counts never both adjust.
    counted: Annotated[str, Field(examples=["12"]), AfterValidator(_non_negative)] | None = None


class Hold(_Event):
    """Quarantine a lot (disposition in_progress / recalled)."""

    type: Literal["hold"]
    lot: LotRef
    kind: Literal["quality", "quarantine", "recall", "damage"]
    reason: Text
    recall_id: Text | None = None


class Release(_Event):
    """End a lot's holds placed by this organisation (disposition active); only those of
    ``kind`` when it is given."""

    type: Literal["release"]
    lot: LotRef
    reason: Text
    kind: Literal["quality", "quarantine", "recall", "damage"] | None = None


class Reading(_Model):
    sensor: Literal["temperature", "humidity"]
    value: Annotated[str, AfterValidator(_sensor_value)]
    unit: Literal["Cel", "Fah", "%"]
    time: Time


class Observe(_Event):
    """Sensor readings for a lot or a location (EPCIS sensorElementList)."""

    type: Literal["observe"]
    lot: LotRef | None = None
    readings: Annotated[list[Reading], Field(min_length=1, max_length=1000)]


class OrderLine(_Model):
    gtin: Gtin
    quantity: Quantity
    unit: Unit
    #: Price per unit. The ledger fills in the price it knows when it is absent (the
    #: buyer's agreed unit cost, else the supplier's catalogue price; none: it stays
    #: absent, 0). Kept as sent; approval is decided on the known price.
    unit_price: Price | None = None


class OrderPlaced(_Event):
    """A buyer at ``location`` orders from ``supplier_location`` (EPCIS TransactionEvent ADD)."""

    type: Literal["order_placed"]
    order_id: Text
    supplier_location: LocationId
    lines: Annotated[list[OrderLine], Field(min_length=1, max_length=500)]

    @model_validator(mode="after")
    def _value_in_bounds(self) -> OrderPlaced:
        # Exact in Python; the stored value (micro-units) must fit the database's int64.
        quantity.check_order_value(
            sum(
                quantity.parse_decimal(line.quantity)
                * quantity.parse_decimal(line.unit_price)
                // quantity.SCALE
                for line in self.lines
                if line.unit_price is not None
            )
        )
        return self

    #: Set by the ledger when the order is appended: whether the order needs a manager's
    #: approval (its value at the prices the ledger knows over the buying organisation's
    #: approval limit then, a client-sent price other than the known one, a line with no
    #: known price). A client never sends it.
    approval_required: bool | None = None
    #: Set by the ledger beside ``approval_required`` when it is true: why, in words.
    approval_reason: Annotated[str, Field(max_length=2000)] | None = None


class OrderConfirmed(_Event):
    type: Literal["order_confirmed"]
    order_id: Text
    promised_date: IsoDate


class OrderCancelled(_Event):
    type: Literal["order_cancelled"]
    order_id: Text
    reason: Text


class OrderFulfilled(_Event):
    type: Literal["order_fulfilled"]
    order_id: Text


class OrderApproved(_Event):
    """A manager at the buyer approves an order over the approval limit."""

    type: Literal["order_approved"]
    order_id: Text
    note: Text | None = None


class OrderClosed(_Event):
    """The buyer closes an order: what was not received by now never will be (short)."""

    type: Literal["order_closed"]
    order_id: Text
    reason: Text | None = None


Event = Annotated[
    Register
    | Ship
    | Receive
    | Transform
    | Sell
    | Consume
    | Dispose
    | Adjust
    | Hold
    | Release
    | Observe
    | OrderPlaced
    | OrderConfirmed
    | OrderCancelled
    | OrderFulfilled
    | OrderApproved
    | OrderClosed,
    Field(discriminator="type"),
]

EVENT_TYPES: tuple[str, ...] = (
    "register",
    "ship",
    "receive",
    "transform",
    "sell",
    "consume",
    "dispose",
    "adjust",
    "hold",
    "release",
    "observe",
    "order_placed",
    "order_confirmed",
    "order_cancelled",
    "order_fulfilled",
    "order_approved",
    "order_closed",
)

#: EPCIS 2.0 event type, action and CBV business step for each event type.
EPCIS: dict[str, tuple[str, str | None, str]] = {
    "register": ("ObjectEvent", "ADD", "commissioning"),
    "ship": ("ObjectEvent", "OBSERVE", "shipping"),
    "receive": ("ObjectEvent", "OBSERVE", "receiving"),
    "transform": ("TransformationEvent", None, "commissioning"),
    "sell": ("ObjectEvent", "OBSERVE", "retail_selling"),
    "consume": ("ObjectEvent", "OBSERVE", "dispensing"),
    "dispose": ("ObjectEvent", "DELETE", "destroying"),
    "adjust": ("ObjectEvent", "OBSERVE", "cycle_counting"),
    "hold": ("ObjectEvent", "OBSERVE", "holding"),
    "release": ("ObjectEvent", "OBSERVE", "releasing"),
    "observe": ("ObjectEvent", "OBSERVE", "sensor_reporting"),
    "order_placed": ("TransactionEvent", "ADD", "ordering"),
    "order_confirmed": ("TransactionEvent", "OBSERVE", "accepting"),
    "order_cancelled": ("TransactionEvent", "DELETE", "void_shipping"),
    "order_fulfilled": ("TransactionEvent", "OBSERVE", "delivering"),
    "order_approved": ("TransactionEvent", "OBSERVE", "accepting"),
    "order_closed": ("TransactionEvent", "DELETE", "receiving"),
}

_ONE = TypeAdapter(Event)
# The adapter's core validator, called directly: ``TypeAdapter.validate_python`` only passes
# its defaults on, and that Python call cost a measurable share of a register event's
# validation (docs/benchmarks-history.md, "Figures from the code").
_validate_one = _ONE.validator.validate_python


def _field_path(loc: tuple[int | str, ...]) -> str:
    # The union member's tag (e.g. "ship") is not part of the document's path.
    parts = [str(p) for p in loc if not (isinstance(p, str) and p in EVENT_TYPES)]
    return ".".join(parts) or "event"


def parse_events(raw: list[Any]) -> list[BaseModel]:
    """Validate a batch; raise EventValidationError listing every problem of every event."""
    problems: list[Problem] = []
    events: list[BaseModel] = []
    for index, item in enumerate(raw):
        try:
            events.append(_validate_one(item))
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                message = err["msg"].removeprefix("Value error, ")
                field = _field_path(err["loc"])
                if err["type"] == "string_type":
                    message = (
                        quantity.string_expected_message(field.rsplit(".", 1)[-1], err["input"])
                        or message
                    )
                problems.append(Problem(index, field, message))
    if problems:
        raise EventValidationError(problems)
    return events


def dump_event(event: BaseModel) -> dict[str, Any]:
    """``event.model_dump(mode="json", exclude_none=True)``: the ``event`` object of its log
    entry. Through the model's serializer directly, without ``model_dump``'s Python frame
    (a measurable share of the cost: docs/benchmarks-history.md, "Figures from the code")."""
    return event.__pydantic_serializer__.to_python(  # type: ignore[no-any-return]
        event, mode="json", exclude_none=True
    )


def event_lots(event: BaseModel) -> list[tuple[str, str]]:
    """The (gtin, lot) keys an event touches, inputs before outputs."""
    if isinstance(event, Transform):
        return [i.lot.key for i in event.inputs] + [o.lot.key for o in event.outputs]
    lot = event.__dict__.get("lot")
    return [lot.key] if isinstance(lot, LotRef) else []
