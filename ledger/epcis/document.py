"""An EPCIS 2.0 document checked against GS1's JSON Schema (shipped in ``schema/``)."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

import jsonschema_rs

SCHEMA_FILE = "EPCIS-JSON-Schema.json"
_MESSAGE_LIMIT = 300


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """GS1's EPCIS 2.0 JSON Schema (draft 7), as vendored from gs1/EPCIS."""
    text = resources.files("ledger.epcis").joinpath("schema", SCHEMA_FILE).read_text("utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


@lru_cache(maxsize=1)
def _validator() -> Any:
    return jsonschema_rs.validator_for(schema(), validate_formats=True)


def pointer(path: Any) -> str:
    """An RFC 6901 JSON pointer for a path of keys and indexes."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def schema_errors(document: Any) -> list[tuple[int | None, str, str]]:
    """Every schema error as (event index or None, JSON pointer, message), in document order."""
    found: list[tuple[int | None, str, str]] = []
    for error in _validator().iter_errors(document):
        path = list(error.instance_path)
        index = (
            path[2]
            if len(path) >= 3
            and path[:2] == ["epcisBody", "eventList"]
            and isinstance(path[2], int)
            else None
        )
        message = error.message
        if len(message) > _MESSAGE_LIMIT:
            message = "this event does not match the schema of any EPCIS event type"
        found.append((index, pointer(path), message))
    return found


def is_valid(document: Any) -> bool:
    return bool(_validator().is_valid(document))


def shape_error(document: Any) -> tuple[str, str] | None:
    """(JSON pointer, message) when ``document`` is not an EPCIS document with an event
    list at all (a capture then gets no job); None when it is one, valid or not."""
    if not isinstance(document, dict):
        return "", "the body must be an EPCIS document: a JSON object"
    if document.get("type") != "EPCISDocument":
        return "/type", 'an EPCIS document has "type": "EPCISDocument"'
    body = document.get("epcisBody")
    if not isinstance(body, dict) or not isinstance(body.get("eventList"), list):
        return "/epcisBody/eventList", "the document has no epcisBody.eventList"
    return None
