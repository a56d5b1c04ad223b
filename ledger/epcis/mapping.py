"""EPCIS 2.0 events to our events and back, one table row per event type.

| our type  | EPCIS event         | action  | bizStep        | location from                  |
| --------- | ------------------- | ------- | -------------- | ------------------------------ |
| register  | ObjectEvent         | ADD     | commissioning  | bizLocation (or readPoint)     |
| ship      | ObjectEvent         | OBSERVE | shipping       | bizLocation; to: destination   |
| receive   | ObjectEvent         | OBSERVE | receiving      | bizLocation; from: source      |
| sell      | ObjectEvent         | OBSERVE | retail_selling | bizLocation                    |
| consume   | ObjectEvent         | OBSERVE | dispensing     | bizLocation                    |
| dispose   | ObjectEvent         | DELETE  | destroying     | bizLocation                    |
| transform | TransformationEvent | -       | commissioning  | bizLocation                    |

Lots are ``quantityList`` elements with a lot-level ``epcClass`` (LGTIN or Digital Link),
one per event (inputs and outputs for a transformation); locations are SGLNs (or Digital
Link URIs with AI 414) and become our locations by GLN; the other party is the
``destinationList``/``sourceList`` entry of type ``location``; ``bizTransactionList``'s
first po, bol, inv or desadv is the event's reference; ILMD's ``cbvmda:itemExpirationDate``
is the expiry. ``to_epcis`` writes our events back the same way.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from ledger.epcis.identifiers import LOCATION_URN, gln_of_location, lgtin, lot_class, sgln
from ledger.epcis.vocabulary import UNIT_OF_UOM, UOM, bare
from ledger.errors import Problem
from ledger.quantity import normalize
from verifier.gs1 import IdentifierError

#: (EPCIS type, action, bizStep) -> our event type.
CAPTURED: dict[tuple[str, str | None, str], str] = {
    ("ObjectEvent", "ADD", "commissioning"): "register",
    ("ObjectEvent", "OBSERVE", "shipping"): "ship",
    ("ObjectEvent", "OBSERVE", "receiving"): "receive",
    ("ObjectEvent", "OBSERVE", "retail_selling"): "sell",
    ("ObjectEvent", "OBSERVE", "dispensing"): "consume",
    ("ObjectEvent", "DELETE", "destroying"): "dispose",
    ("ObjectEvent", "OBSERVE", "destroying"): "dispose",
    # CBV 2.0 has no "transforming": GS1's own examples commission a transformation's outputs.
    ("TransformationEvent", None, "commissioning"): "transform",
}
_WRITTEN = {
    "register": ("ObjectEvent", "ADD", "commissioning", "active"),
    "ship": ("ObjectEvent", "OBSERVE", "shipping", "in_transit"),
    "receive": ("ObjectEvent", "OBSERVE", "receiving", "in_progress"),
    "sell": ("ObjectEvent", "OBSERVE", "retail_selling", "retail_sold"),
    "consume": ("ObjectEvent", "OBSERVE", "dispensing", "inactive"),
    "dispose": ("ObjectEvent", "DELETE", "destroying", "destroyed"),
    "transform": ("TransformationEvent", None, "commissioning", "active"),
}
WRITTEN_TYPES = frozenset(_WRITTEN)
_REFERENCE_TYPES = ("po", "bol", "inv", "desadv")
_DISPOSE_REASON = {
    "expired": "expired",
    "damaged": "damage",
    "recalled": "recall",
    "destroyed": "other",
    "non_sellable_other": "quality",
}
_EXPIRY = ("cbvmda:itemExpirationDate", "itemExpirationDate")
_NAMESPACE = uuid.UUID("6c0f3a52-8a55-4a43-9c53-3f0c7b7a5e17")


class MappingError(ValueError):
    """An EPCIS event that is valid EPCIS but not one Lotledger records (with its pointer)."""

    def __init__(self, pointer: str, message: str) -> None:
        super().__init__(message)
        self.pointer = pointer
        self.message = message


def event_id_for(epcis_event: Mapping[str, Any], event_hash: str) -> str:
    """Our event id: the UUID of an ``urn:uuid:`` eventID, else one derived from the hash
    (so that the same event sent again gets the same id, and is answered as a duplicate)."""
    given = epcis_event.get("eventID")
    if isinstance(given, str) and given.lower().startswith("urn:uuid:"):
        try:
            return str(uuid.UUID(given[9:]))
        except ValueError:
            raise MappingError("/eventID", f"{given!r} is not a valid urn:uuid") from None
    return str(uuid.uuid5(_NAMESPACE, event_hash))


def derived_event_id(event_hash: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, event_hash))


def from_epcis(
    epcis_event: Mapping[str, Any], event_hash: str, products: Mapping[str, str]
) -> dict[str, Any]:
    """Our event (a raw dict for ``Ledger.append``) for one EPCIS event. ``products`` names
    the known GTINs (description by GTIN) for the lots a commissioning brings into being.
    Raises ``MappingError`` with the JSON pointer (relative to the event) of what does not fit."""
    etype = epcis_event.get("type")
    action = epcis_event.get("action")
    step = bare("bizStep", str(epcis_event.get("bizStep", "")))
    ours = CAPTURED.get((str(etype), action if etype != "TransformationEvent" else None, step))
    if ours is None:
        raise MappingError(
            "/bizStep",
            f"{etype} {action or ''} with bizStep {step or '(none)'} is not an event Lotledger "
            "records; supported: "
            + ", ".join(f"{t} {a or ''} {s}".replace("  ", " ") for t, a, s in CAPTURED),
        )
    for unsupported in ("epcList", "inputEPCList", "outputEPCList", "sensorElementList"):
        if epcis_event.get(unsupported):
            raise MappingError(
                f"/{unsupported}",
                f"{unsupported} is not supported: Lotledger records lots, give them as "
                "quantityList elements with a lot-level epcClass",
            )
    out: dict[str, Any] = {
        "type": ours,
        "event_id": event_id_for(epcis_event, event_hash),
        "event_time": epcis_event["eventTime"],
        "location": _location(epcis_event),
        "epcis_hash": event_hash,
    }
    reference = _reference(epcis_event)
    if reference is not None:
        out["reference"] = reference
    if ours == "transform":
        out["inputs"] = [
            _lot_quantity(q, f"/inputQuantityList/{n}")
            for n, q in enumerate(_list(epcis_event, "inputQuantityList"))
        ]
        expiry = _expiry(epcis_event)
        outputs = []
        for n, q in enumerate(_list(epcis_event, "outputQuantityList")):
            item = _lot_quantity(q, f"/outputQuantityList/{n}")
            item["product"] = _product(products, item["lot"]["gtin"], f"/outputQuantityList/{n}")
            if expiry is not None:
                item["expiry"] = expiry
            outputs.append(item)
        out["outputs"] = outputs
        return out
    elements = _list(epcis_event, "quantityList")
    if len(elements) != 1:
        raise MappingError(
            "/quantityList",
            f"a {ours} event names one lot: quantityList must hold exactly one element, "
            f"not {len(elements)}",
        )
    out.update(_lot_quantity(elements[0], "/quantityList/0"))
    if ours == "register":
        out["product"] = _product(products, out["lot"]["gtin"], "/quantityList/0/epcClass")
        expiry = _expiry(epcis_event)
        if expiry is not None:
            out["expiry"] = expiry
    elif ours == "ship":
        out["to_location"] = _party(epcis_event, "destinationList", "destination")
    elif ours == "receive":
        out["from_location"] = _party(epcis_event, "sourceList", "source")
    elif ours == "dispose":
        disposition = bare("disposition", str(epcis_event.get("disposition", "destroyed")))
        out["reason"] = _DISPOSE_REASON.get(disposition, "other")
    return out


def _list(event: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = event.get(key)
    if not value:
        raise MappingError(f"/{key}", f"{key} is missing: name the lots with their quantities")
    return list(value)


def _location_of(uri: Any, pointer: str) -> str:
    try:
        return gln_of_location(str(uri))
    except IdentifierError as exc:
        raise MappingError(pointer, str(exc)) from None


def _location(event: Mapping[str, Any]) -> str:
    for key in ("bizLocation", "readPoint"):
        place = event.get(key)
        if isinstance(place, Mapping) and "id" in place:
            return _location_of(place["id"], f"/{key}/id")
    raise MappingError(
        "/bizLocation", "bizLocation (or readPoint) is missing: where did it happen?"
    )


def _party(event: Mapping[str, Any], key: str, item_key: str) -> str:
    for n, item in enumerate(event.get(key) or ()):
        if bare("sourceOrDestination", str(item.get("type", ""))) == "location":
            return _location_of(item.get(item_key), f"/{key}/{n}/{item_key}")
    raise MappingError(f"/{key}", f"{key} needs an entry of type location (the other site)")


def _lot_quantity(q: Mapping[str, Any], pointer: str) -> dict[str, Any]:
    try:
        lot = lot_class(str(q.get("epcClass", "")))
    except IdentifierError as exc:
        raise MappingError(f"{pointer}/epcClass", str(exc)) from None
    if "quantity" not in q:
        raise MappingError(f"{pointer}/quantity", "the quantity is missing")
    uom = q.get("uom", "EA")
    unit = UNIT_OF_UOM.get(str(uom))
    if unit is None:
        raise MappingError(
            f"{pointer}/uom",
            f"unit of measure {uom!r} is not one Lotledger records; use one of "
            + ", ".join(sorted(UNIT_OF_UOM)),
        )
    try:
        amount = normalize(_decimal_text(q["quantity"]))
    except ValueError as exc:
        raise MappingError(f"{pointer}/quantity", str(exc)) from None
    return {"lot": {"gtin": lot.gtin, "lot": lot.lot}, "quantity": amount, "unit": unit}


def _decimal_text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("the quantity must be a number")
    return format(value, "f") if isinstance(value, float) else str(value)


def _product(products: Mapping[str, str], gtin: str, pointer: str) -> str:
    name = products.get(gtin)
    if name is None:
        raise MappingError(
            pointer,
            f"GTIN {gtin} is not a registered product: register it (POST /v1/products) "
            "before commissioning its lots",
        )
    return name


def _expiry(event: Mapping[str, Any]) -> str | None:
    ilmd = event.get("ilmd")
    if not isinstance(ilmd, Mapping):
        return None
    for key in _EXPIRY:
        if key in ilmd:
            return str(ilmd[key])
    return None


def _reference(event: Mapping[str, Any]) -> dict[str, str] | None:
    for item in event.get("bizTransactionList") or ():
        kind = bare("bizTransaction", str(item.get("type", "")))
        if kind in _REFERENCE_TYPES:
            return {"type": kind, "number": str(item.get("bizTransaction", ""))[:200]}
    return None


# -- ours to EPCIS ------------------------------------------------------------------------


def to_epcis(
    event: Mapping[str, Any], recorded_at: str, glns: Mapping[str, str | None]
) -> dict[str, Any]:
    """The EPCIS 2.0 JSON event of one of our logged events (``event``, as in its entry).
    ``glns`` gives each location id's GLN (a location without one is written as
    ``urn:lotledger:location:<id>``). The eventID is the event's hash ID when it was
    captured from EPCIS without a UUID, else ``urn:uuid:<event_id>``."""
    etype = event["type"]
    kind, action, step, disposition = _WRITTEN[etype]
    out: dict[str, Any] = {"type": kind, "eventID": epcis_event_id(event)}
    out["eventTime"] = event["event_time"]
    out["eventTimeZoneOffset"] = _offset(event["event_time"])
    out["recordTime"] = recorded_at
    place = {"id": _place(event["location"], glns)}
    if etype == "transform":
        out["inputQuantityList"] = [_quantity_element(i) for i in event["inputs"]]
        out["outputQuantityList"] = [_quantity_element(o) for o in event["outputs"]]
    else:
        out["quantityList"] = [_quantity_element(event)]
    if action is not None:
        out["action"] = action
    out["bizStep"] = step
    out["disposition"] = disposition
    out["readPoint"] = place
    out["bizLocation"] = place
    reference = event.get("reference")
    if reference is not None and reference["type"] in _REFERENCE_TYPES:
        out["bizTransactionList"] = [
            {"type": reference["type"], "bizTransaction": reference["number"]}
        ]
    if etype == "ship":
        out["destinationList"] = [
            {"type": "location", "destination": _place(event["to_location"], glns)}
        ]
    if etype == "receive":
        out["sourceList"] = [{"type": "location", "source": _place(event["from_location"], glns)}]
    expiry = event.get("expiry") or next(
        (o["expiry"] for o in event.get("outputs", ()) if o.get("expiry")), None
    )
    if expiry is not None and etype in ("register", "transform"):
        out["ilmd"] = {"cbvmda:itemExpirationDate": expiry}
    return out


def epcis_event_id(event: Mapping[str, Any]) -> str:
    event_hash = event.get("epcis_hash")
    if event_hash is not None and derived_event_id(event_hash) == event["event_id"]:
        return str(event_hash)
    return f"urn:uuid:{event['event_id']}"


def _place(location_id: str, glns: Mapping[str, str | None]) -> str:
    gln = glns.get(location_id)
    return sgln(gln) if gln else LOCATION_URN + location_id


def _quantity_element(item: Mapping[str, Any]) -> dict[str, Any]:
    lot = item["lot"]
    element: dict[str, Any] = {
        "epcClass": lgtin(lot["gtin"], lot["lot"]),
        "quantity": _number(item["quantity"]),
    }
    if item["unit"] != "each":
        element["uom"] = UOM[item["unit"]]
    return element


def _number(text: str) -> int | float:
    return int(text) if "." not in text else float(text)


def _offset(event_time: str) -> str:
    if event_time.endswith("Z"):
        return "+00:00"
    return event_time[-6:]


def problem(index: int, error: MappingError) -> Problem:
    return Problem(index, f"/epcisBody/eventList/{index}{error.pointer}", error.message)
