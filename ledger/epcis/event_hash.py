"""The CBV 2.0 event hash ID of an EPCIS event: ``ni:///sha-256;<hex>?ver=CBV2.0``.

Our own implementation of the algorithm CBV 2.0 (section 8.9) specifies and the
``epcis-event-hash-generator`` reference implementation describes; the tests hold that
package as the oracle. The pre-hash string concatenates, with no separators:

1. the standard fields in the canonical property order (``_ORDER``), each ``key=value``,
   a list as its name once followed by its items' strings sorted (case-sensitive, by code
   point), an item with a type as ``type=<type URI>`` then its value;
2. the ILMD, then the user extensions, each ``{namespace}local=value``, sorted.

Values are normalised first: times in UTC with milliseconds (``.000Z``), numbers without
trailing zeros, CBV bare words as their Web URIs, EPC URIs and Digital Link URIs as
canonical ``https://id.gs1.org`` Digital Link URIs, CURIEs expanded. ``eventID``,
``recordTime``, ``errorDeclaration`` and ``certificationInfo`` are not part of the hash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from ledger.epcis.identifiers import epc_to_digital_link
from ledger.epcis.vocabulary import web_uri

VERSION = "CBV2.0"

_EPC_LISTS = ("epcList", "inputEPCList", "childEPCs", "outputEPCList")
_QUANTITY_LISTS = ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList")
#: The canonical property order (the reference implementation writes ``destinationList``
#: before ``sourceList``; its hashes are the ones partners compute, so we do too).
_ORDER = (
    "type",
    "eventTime",
    "eventTimeZoneOffset",
    "epcList",
    "parentID",
    "inputEPCList",
    "childEPCs",
    "quantityList",
    "childQuantityList",
    "inputQuantityList",
    "outputEPCList",
    "outputQuantityList",
    "action",
    "transformationID",
    "bizStep",
    "disposition",
    "persistentDisposition",
    "readPoint",
    "bizLocation",
    "bizTransactionList",
    "destinationList",
    "sourceList",
    "sensorElementList",
    "ilmd",
)
_NOT_HASHED = frozenset(
    (
        "eventID",
        "recordTime",
        "errorDeclaration",
        "certificationInfo",
        "@context",
        "@type",
        "rdfs:comment",
        "comment",
    )
)
_TYPED_LISTS = {
    "bizTransactionList": ("bizTransaction", "bizTransaction"),
    "sourceList": ("source", "sourceOrDestination"),
    "destinationList": ("destination", "sourceOrDestination"),
}


class UnhashableEvent(ValueError):
    """An event the hash cannot be computed for (a value of a type EPCIS never has)."""


def event_hash_id(event: Mapping[str, Any], context: Any = None) -> str:
    """The event hash ID of ``event`` (an EPCIS JSON event object); ``context`` is the
    document's ``@context``, which names the namespaces of its user extensions."""
    digest = hashlib.sha256(pre_hash_string(event, context).encode()).hexdigest()
    return f"ni:///sha-256;{digest}?ver={VERSION}"


def pre_hash_string(event: Mapping[str, Any], context: Any = None) -> str:
    """The canonical pre-hash string of ``event`` (see the module docstring)."""
    # Only the prefixes the document declares inline: the reference implementation leaves
    # a term of the standard context (``cbvmda:itemExpirationDate``) as it is written, and
    # partners compute their hash IDs with it.
    prefixes = _context_prefixes(context)
    out: list[str] = []
    for key in _ORDER:
        if key in event:
            out.append(_standard(key, event[key], prefixes))
    extensions = [
        _extension(key, value, prefixes)
        for key, value in event.items()
        if key not in _ORDER and key not in _NOT_HASHED
    ]
    out.extend(sorted(extensions))
    return "".join(out)


def _context_prefixes(context: Any) -> dict[str, str]:
    items = context if isinstance(context, list) else [context]
    found: dict[str, str] = {}
    for item in items:
        if isinstance(item, dict):
            found.update({k: v for k, v in item.items() if isinstance(v, str)})
    return found


def _standard(key: str, value: Any, prefixes: Mapping[str, str]) -> str:
    if key == "type":
        return f"eventType={_text(value)}"
    if key == "eventTime":
        return f"eventTime={utc_millis(_text(value))}"
    if key in _EPC_LISTS:
        return key + "".join(sorted(f"epc={epc_to_digital_link(_text(v))}" for v in value))
    if key in _QUANTITY_LISTS:
        return key + "".join(sorted(_quantity_element(q) for q in value))
    if key == "parentID":
        return f"parentID={epc_to_digital_link(_text(value))}"
    if key in ("bizStep", "disposition"):
        return f"{key}={web_uri(key, _text(value))}"
    if key == "persistentDisposition":
        parts = [
            "".join(sorted(f"{name}={web_uri('disposition', _text(v))}" for v in value[name]))
            for name in ("set", "unset")
            if name in value
        ]
        return key + "".join(parts)
    if key in ("readPoint", "bizLocation"):
        rest = {k: v for k, v in value.items() if k != "id"}
        ext = sorted(_extension(k, v, prefixes) for k, v in rest.items())
        return f"{key}id={epc_to_digital_link(_text(value['id']))}" + "".join(ext)
    if key in _TYPED_LISTS:
        item_key, vocabulary = _TYPED_LISTS[key]
        items = []
        for item in value:
            typed = f"type={web_uri(vocabulary, _text(item['type']))}" if "type" in item else ""
            target = epc_to_digital_link(_text(item[item_key]))
            items.append(f"{typed}{item_key}={target}")
        return key + "".join(sorted(items))
    if key == "ilmd":
        return "ilmd" + "".join(sorted(_extension(k, v, prefixes) for k, v in value.items()))
    if key == "sensorElementList":
        raise UnhashableEvent("sensorElementList is not supported by this repository's hash")
    return f"{key}={_value(value)}"


def _quantity_element(q: Mapping[str, Any]) -> str:
    text = f"quantityElementepcClass={epc_to_digital_link(_text(q['epcClass']))}"
    if "quantity" in q:
        text += f"quantity={number(q['quantity'])}"
    if "uom" in q:
        text += f"uom={_text(q['uom'])}"
    return text


def _expand(name: str, prefixes: Mapping[str, str]) -> str:
    """``{namespace}local`` of a JSON-LD term written as ``prefix:local``."""
    if ":" in name:
        prefix, local = name.split(":", 1)
        if prefix in prefixes:
            return f"{{{prefixes[prefix]}}}{local}"
    return name


def _extension(key: str, value: Any, prefixes: Mapping[str, str]) -> str:
    name = _expand(key, prefixes)
    if isinstance(value, dict):
        inner = sorted(
            _extension(k, v, prefixes) for k, v in value.items() if k not in ("@type", "@id")
        )
        return name + "".join(inner)
    if isinstance(value, list):
        return "".join(sorted(_extension(key, v, prefixes) for v in value))
    return f"{name}={_value(value)}"


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return number(value)
    if isinstance(value, str):
        return value.strip()
    raise UnhashableEvent(f"a value of type {type(value).__name__}")


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise UnhashableEvent(f"expected text, got {type(value).__name__}")
    return value.strip()


def number(value: Any) -> str:
    """A quantity without trailing zeros (``1``, never ``1.0``; ``0.3434``)."""
    if isinstance(value, bool):
        raise UnhashableEvent("a quantity must be a number")
    exact = Decimal(str(value))
    text = format(exact.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def utc_millis(moment: str) -> str:
    """An RFC 3339 time in UTC with milliseconds, the 4th decimal rounding half up."""
    head, sep, fraction_and_zone = moment.partition(".")
    if sep:
        digits = ""
        for ch in fraction_and_zone:
            if not ch.isdigit():
                break
            digits += ch
        zone = fraction_and_zone[len(digits) :]
        base = datetime.fromisoformat(head + zone.replace("Z", "+00:00"))
        millis = (Decimal("0." + digits) * 1000).quantize(Decimal(1), rounding="ROUND_HALF_UP")
        when = base + timedelta(milliseconds=int(millis))
    else:
        when = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    if when.tzinfo is None:
        raise UnhashableEvent(f"{moment}: a time without an offset")
    utc = when.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
