"""The log endpoints' wire formats, written once: JSON Schema, encoder and parser together.

Specified for readers in ``verifier/FORMATS.md``.

The server (``api/routers/log.py``) answers with the ``encode_*`` functions here and
publishes the ``*_SCHEMA`` dicts in its OpenAPI document; the verifier's HTTP client
(``verifier.audit``) reads the answers only with the ``parse_*`` functions here. The
tests check every encoder's output against its schema and every parser against a
real ``lotledger serve`` process, so the two sides cannot drift apart again.

=========================================  ==========================================
``GET /v1/log/checkpoint[?size=]``         ``text/plain``: a C2SP signed checkpoint
                                           note (origin, size, base64 root, blank
                                           line, signature lines); see ``verifier.note``
``GET /v1/log/key``                        ``text/plain``: the verifier key, one line
``GET /v1/log/entries?start=&end=``        ``ENTRIES_PAGE_SCHEMA``
``GET /v1/log/proof/inclusion?index=&size=``  ``INCLUSION_PROOF_SCHEMA``
``GET /v1/log/proof/consistency?first=&second=``  ``CONSISTENCY_PROOF_SCHEMA``
``GET /v1/log/export[?from=&to=]``         ``application/jsonl``: ``verifier.export``
=========================================  ==========================================

Hashes and leaves are standard padded base64 (as in C2SP checkpoints). A page of
entries holds ``entries`` (``seq`` and the exact ``leaf`` bytes a verifier hashes,
consecutive from the ``start`` asked, at most 1000, possibly fewer than asked) and the
log's current ``tree_size``, so a client knows how far it may page.

Parsers raise ``FormatError`` for anything that is not exactly the format (a key
missing or extra, a wrong type, bad base64, a hash that is not 32 bytes, an answer
for other parameters than asked).
"""

from __future__ import annotations

import binascii
import json
from dataclasses import dataclass
from typing import Any

from verifier.errors import FormatError
from verifier.hashing import HASH_SIZE

__all__ = [
    "CONSISTENCY_PROOF_SCHEMA",
    "ENTRIES_PAGE_SCHEMA",
    "INCLUSION_PROOF_SCHEMA",
    "MAX_PAGE",
    "EntriesPage",
    "encode_consistency_proof",
    "encode_entries_page",
    "encode_inclusion_proof",
    "parse_consistency_proof",
    "parse_entries_page",
    "parse_inclusion_proof",
]

#: The most entries one page holds.
MAX_PAGE = 1000
_MAX_SIZE = 2**62

_BASE64 = {
    "type": "string",
    "pattern": "^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$",
    "description": "standard padded base64",
}
_HASH = {**_BASE64, "minLength": 44, "maxLength": 44, "description": "a 32-byte hash, base64"}
_SIZE = {"type": "integer", "minimum": 0, "maximum": _MAX_SIZE}

ENTRIES_PAGE_SCHEMA: dict[str, Any] = {
    "title": "LogEntriesPage",
    "type": "object",
    "additionalProperties": False,
    "required": ["entries", "tree_size"],
    "properties": {
        "entries": {
            "type": "array",
            "maxItems": MAX_PAGE,
            "description": "consecutive entries from the start asked; fewer than asked at "
            "the page limit or the tree size",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["seq", "leaf"],
                "properties": {
                    "seq": _SIZE,
                    "leaf": {
                        **_BASE64,
                        "description": "the exact canonical leaf bytes (RFC 8785 JSON), base64",
                    },
                },
            },
        },
        "tree_size": {**_SIZE, "description": "the log's size when the page was read"},
    },
}

INCLUSION_PROOF_SCHEMA: dict[str, Any] = {
    "title": "InclusionProof",
    "type": "object",
    "additionalProperties": False,
    "required": ["index", "tree_size", "hashes"],
    "properties": {
        "index": _SIZE,
        "tree_size": _SIZE,
        "hashes": {"type": "array", "items": _HASH, "description": "RFC 9162 inclusion path"},
    },
}

CONSISTENCY_PROOF_SCHEMA: dict[str, Any] = {
    "title": "ConsistencyProof",
    "type": "object",
    "additionalProperties": False,
    "required": ["first", "second", "hashes"],
    "properties": {
        "first": _SIZE,
        "second": _SIZE,
        "hashes": {"type": "array", "items": _HASH, "description": "RFC 9162 consistency proof"},
    },
}


@dataclass(frozen=True, slots=True)
class EntriesPage:
    entries: list[tuple[int, bytes]]  # (seq, leaf bytes)
    tree_size: int


def _b64(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).decode("ascii")


def _dumps(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def encode_entries_page(entries: list[tuple[int, bytes]], tree_size: int) -> bytes:
    return _dumps(
        {"entries": [{"seq": s, "leaf": _b64(leaf)} for s, leaf in entries], "tree_size": tree_size}
    )


def encode_inclusion_proof(index: int, tree_size: int, hashes: list[bytes]) -> bytes:
    return _dumps({"index": index, "tree_size": tree_size, "hashes": [_b64(h) for h in hashes]})


def encode_consistency_proof(first: int, second: int, hashes: list[bytes]) -> bytes:
    return _dumps({"first": first, "second": second, "hashes": [_b64(h) for h in hashes]})


# -- parsing -----------------------------------------------------------------------------


def _object(raw: bytes, what: str, keys: set[str]) -> dict[str, Any]:
    try:
        obj = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise FormatError(f"the {what} is not JSON") from None
    if not isinstance(obj, dict):
        raise FormatError(f"the {what} is not a JSON object")
    if set(obj) != keys:
        raise FormatError(
            f"the {what} must hold exactly the fields {', '.join(sorted(keys))}; it holds "
            f"{', '.join(sorted(obj)) or 'none'}"
        )
    return obj


def _size(obj: dict[str, Any], name: str, what: str) -> int:
    value = obj[name]
    if type(value) is not int or not 0 <= value <= _MAX_SIZE:
        raise FormatError(f"the {what}'s {name} is not a size (an integer >= 0)")
    return value


def _bytes(text: object, what: str) -> bytes:
    if not isinstance(text, str):
        raise FormatError(f"{what} is not a base64 string")
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        raise FormatError(f"{what} is not valid base64") from None


def _hashes(obj: dict[str, Any], what: str) -> list[bytes]:
    hashes = obj["hashes"]
    if not isinstance(hashes, list):
        raise FormatError(f"the {what}'s hashes is not a list")
    out = [_bytes(h, f"hash {n} of the {what}") for n, h in enumerate(hashes)]
    for n, h in enumerate(out):
        if len(h) != HASH_SIZE:
            raise FormatError(f"hash {n} of the {what} is {len(h)} bytes, not {HASH_SIZE}")
    return out


def parse_entries_page(raw: bytes, start: int, end: int) -> EntriesPage:
    """A page asked for as ``[start, end)``: consecutive seqs from ``start``, 1..end-start."""
    what = f"entries page [{start}, {end})"
    obj = _object(raw, what, {"entries", "tree_size"})
    tree_size = _size(obj, "tree_size", what)
    items = obj["entries"]
    if not isinstance(items, list):
        raise FormatError(f"the {what}'s entries is not a list")
    out: list[tuple[int, bytes]] = []
    for n, item in enumerate(items):
        if not isinstance(item, dict) or set(item) != {"seq", "leaf"}:
            raise FormatError(f"entry {start + n} of the {what} must hold exactly seq and leaf")
        seq = item["seq"]
        if type(seq) is not int:
            raise FormatError(f"entry {start + n} of the {what}: seq is not an integer")
        out.append((seq, _bytes(item["leaf"], f"the leaf of entry {start + n} of the {what}")))
    if not out or len(out) > end - start:
        raise FormatError(
            f"the {what} holds {len(out)} entries; between 1 and {end - start} were expected"
        )
    if tree_size < start + len(out):
        raise FormatError(f"the {what} holds entries beyond its own tree_size {tree_size}")
    return EntriesPage(out, tree_size)


def parse_inclusion_proof(raw: bytes, index: int, tree_size: int) -> list[bytes]:
    what = f"inclusion proof of entry {index} in size {tree_size}"
    obj = _object(raw, what, {"index", "tree_size", "hashes"})
    if (_size(obj, "index", what), _size(obj, "tree_size", what)) != (index, tree_size):
        raise FormatError(
            f"the {what} was answered for entry {obj['index']} in size {obj['tree_size']}"
        )
    return _hashes(obj, what)


def parse_consistency_proof(raw: bytes, first: int, second: int) -> list[bytes]:
    what = f"consistency proof from size {first} to {second}"
    obj = _object(raw, what, {"first", "second", "hashes"})
    if (_size(obj, "first", what), _size(obj, "second", what)) != (first, second):
        raise FormatError(f"the {what} was answered for sizes {obj['first']} to {obj['second']}")
    return _hashes(obj, what)
