"""The log export format (``lotledger-export``, version 1): parsed only here.

Specified for readers in ``verifier/FORMATS.md``; this docstring is the implementer's view.

An export is UTF-8 JSON Lines; every line is the RFC 8785 canonical JSON of one
object followed by ``\\n``. It streams: a reader needs one line in memory.

1. **Header** (first line)::

     {"format":"lotledger-export","origin":ORIGIN,"tree_size":N,
      "verifier_key":KEY,"version":1}

   ``verifier_key`` is the log's C2SP verifier key string, for information
   only: an auditor checks against the key it already trusts.

   A **range export** (``lotledger export --from S``, ``GET /v1/log/export?from=S``)
   starts at entry ``S > 0``; its header adds three fields::

     "frontier":[BASE64,...],"prev":HEX,"start":S

   ``frontier`` is the right frontier of the tree of size ``S`` (the hashes of its
   perfect subtrees, largest first, as in ``verifier.compact``) and ``prev`` the hex
   leaf hash of entry ``S-1``. An auditor that verified size ``S`` before compares
   them with what it saved; one that did not can only check that the entries in the
   file, on top of that frontier, hash to the roots the log signed (it proves the
   range is in the signed log, not what came before it).
2. **Entry lines**, one per log entry, in order ``seq = S .. N-1`` (``S`` = 0 for a
   whole export)::

     {"leaf":BASE64,"nodes":BASE64,"seq":I}

   ``leaf`` is the exact leaf bytes (standard base64, padded). ``nodes`` is
   the concatenated 32-byte hashes of the perfect subtrees that
   appending this leaf completes (levels 1, 2, ... upwards), as the server stores
   them; an auditor recomputes them and so checks the tree the server answers
   proofs from, not only the leaves. It is present exactly when the leaf
   completes a subtree (every odd ``seq``): an absent ``nodes`` means none.
3. **Checkpoint lines**, placed right after the entry line of ``seq =
   tree_size - 1`` (a checkpoint at size ``S`` right after the header)::

     {"checkpoint":NOTE,"tree_size":S}

   ``NOTE`` is the C2SP signed checkpoint note the log signed at that size.
   Sizes strictly increase. **The last line is the checkpoint at size N**; an
   export that ends anywhere else is truncated and refused.

Because every line is canonical, a reader may match entry lines with a fixed
pattern (this module does) instead of a general JSON parser; any JSON parser
reads them too.
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from verifier.canonical import canonical_bytes
from verifier.errors import FormatError

__all__ = [
    "FORMAT",
    "VERSION",
    "ExportCheckpoint",
    "ExportEntry",
    "ExportHeader",
    "encode_checkpoint_line",
    "encode_entry_line",
    "parse_checkpoint_line",
    "parse_entry_line",
    "parse_header",
    "read_export",
]

FORMAT = "lotledger-export"
VERSION = 1
_LEAF_KEY = b'{"leaf":"'
_NODES_KEY = b'","nodes":"'
_SEQ_KEY = b'","seq":'
a2b_base64 = binascii.a2b_base64
_CHECKPOINT_PREFIX = b'{"checkpoint":'
_RANGE_KEYS = {"start", "frontier", "prev"}
_MAX_LINE = 1 << 24  # a leaf is an event of at most a few hundred kilobytes


@dataclass(frozen=True, slots=True)
class ExportHeader:
    origin: str
    verifier_key: str
    tree_size: int
    start: int = 0
    frontier: tuple[bytes, ...] = ()  # the tree's right frontier at ``start``
    prev: bytes = bytes(32)  # leaf hash of entry start - 1

    def encode(self) -> bytes:
        obj: dict[str, object] = {
            "format": FORMAT,
            "version": VERSION,
            "origin": self.origin,
            "verifier_key": self.verifier_key,
            "tree_size": self.tree_size,
        }
        if self.start:
            obj["start"] = self.start
            obj["frontier"] = [_b64(h).decode("ascii") for h in self.frontier]
            obj["prev"] = self.prev.hex()
        return canonical_bytes(obj) + b"\n"


@dataclass(frozen=True, slots=True)
class ExportEntry:
    seq: int
    leaf: bytes
    nodes: bytes | None  # None when the line carries no "nodes" (an empty set of nodes)


@dataclass(frozen=True, slots=True)
class ExportCheckpoint:
    tree_size: int
    note: str


def _b64(data: bytes) -> bytes:
    return binascii.b2a_base64(data, newline=False)


def encode_entry_line(seq: int, leaf: bytes, nodes: bytes = b"") -> bytes:
    """The canonical entry line (keys in RFC 8785 order: leaf, nodes, seq)."""
    if nodes:
        return b'{"leaf":"%s","nodes":"%s","seq":%d}\n' % (_b64(leaf), _b64(nodes), seq)
    return b'{"leaf":"%s","seq":%d}\n' % (_b64(leaf), seq)


def encode_checkpoint_line(tree_size: int, note: str) -> bytes:
    return canonical_bytes({"checkpoint": note, "tree_size": tree_size}) + b"\n"


def parse_header(line: bytes) -> ExportHeader:
    """Parse and check the header line."""
    obj = _canonical_object(line, "line 1 (header)")
    if obj.get("format") != FORMAT:
        raise FormatError(f"line 1: not a Lotledger export (format {obj.get('format')!r})")
    if obj.get("version") != VERSION:
        raise FormatError(
            f"line 1: export version {obj.get('version')!r} is not supported (this reads {VERSION})"
        )
    keys = {"format", "version", "origin", "verifier_key", "tree_size"}
    if set(obj) not in (keys, keys | _RANGE_KEYS):
        raise FormatError(
            f"line 1: header fields must be exactly {sorted(keys)} (and, for a range export, "
            f"{sorted(_RANGE_KEYS)}), got {sorted(obj)}"
        )
    origin, key, size = obj["origin"], obj["verifier_key"], obj["tree_size"]
    if not isinstance(origin, str) or not origin or "\n" in origin:
        raise FormatError("line 1: origin must be a non-empty single line")
    if not isinstance(key, str):
        raise FormatError("line 1: verifier_key must be a string")
    if type(size) is not int or size < 0:
        raise FormatError(f"line 1: tree_size must be an integer >= 0, got {size!r}")
    if "start" not in obj:
        return ExportHeader(origin, key, size)
    start, frontier, prev = obj["start"], obj["frontier"], obj["prev"]
    if type(start) is not int or not 0 < start <= size:
        raise FormatError(f"line 1: start must be an integer in [1, tree_size], got {start!r}")
    try:
        if not isinstance(frontier, list) or not isinstance(prev, str) or len(prev) != 64:
            raise ValueError
        hashes = tuple(a2b_base64(h, strict_mode=True) for h in frontier)
        last = bytes.fromhex(prev)
    except (TypeError, ValueError, binascii.Error):
        raise FormatError(
            "line 1: frontier must be a list of base64 hashes and prev 64 hex digits"
        ) from None
    if len(hashes) != start.bit_count() or any(len(h) != 32 for h in hashes):
        raise FormatError(
            f"line 1: the frontier at size {start} must hold {start.bit_count()} 32-byte hashes"
        )
    return ExportHeader(origin, key, size, start, hashes, last)


def parse_entry_line(line: bytes, number: int) -> ExportEntry:
    """Parse one canonical entry line (``number`` is its line number, for messages).

    Matched structurally (fixed keys in canonical order, strict base64, a decimal
    seq without leading zeros) rather than with a JSON parser: this is the audit's
    hot path.
    """
    try:
        if not line.startswith(_LEAF_KEY):
            raise ValueError
        end = line.index(b'"', 9)
        leaf = a2b_base64(line[9:end], strict_mode=True)
        nodes = None
        if line.startswith(_NODES_KEY, end):
            start = end + 11
            end = line.index(b'"', start)
            nodes = a2b_base64(line[start:end], strict_mode=True)
            if not nodes or len(nodes) % 32:
                raise ValueError
        if not line.startswith(_SEQ_KEY, end):
            raise ValueError
        seq_text = line[end + 8 : -2] if line.endswith(b"}\n") else line[end + 8 : -1]
        if not line.endswith((b"}\n", b"}")) or not seq_text.isdigit():
            raise ValueError
        if seq_text[0] == 48 and len(seq_text) > 1:  # a leading "0"
            raise ValueError
        return ExportEntry(int(seq_text), leaf, nodes)
    except (ValueError, binascii.Error):
        raise FormatError(
            f"line {number}: not a canonical entry line"
            ' {"leaf":BASE64[,"nodes":BASE64 of 32-byte hashes],"seq":N}'
        ) from None


def parse_checkpoint_line(line: bytes, number: int) -> ExportCheckpoint:
    obj = _canonical_object(line, f"line {number}")
    if set(obj) != {"checkpoint", "tree_size"}:
        raise FormatError(f"line {number}: a checkpoint line holds checkpoint and tree_size")
    note, size = obj["checkpoint"], obj["tree_size"]
    if not isinstance(note, str) or type(size) is not int or size < 0:
        raise FormatError(f"line {number}: checkpoint must be a string, tree_size an integer")
    return ExportCheckpoint(size, note)


def _canonical_object(line: bytes, where: str) -> dict[str, object]:
    body = line[:-1] if line.endswith(b"\n") else line
    try:
        obj = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FormatError(f"{where}: not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise FormatError(f"{where}: must be a JSON object")
    try:
        canonical = canonical_bytes(obj)
    except Exception as exc:
        raise FormatError(f"{where}: not canonical JSON: {exc}") from None
    if canonical != body:
        raise FormatError(f"{where}: not in RFC 8785 canonical form")
    return obj


def read_export(
    stream: IO[bytes],
) -> tuple[ExportHeader, Iterator[ExportEntry | ExportCheckpoint]]:
    """The header, and an iterator over the entry and checkpoint lines that follow.

    Format checks happen here (canonical lines, checkpoint sizes increasing, the
    file ends with the checkpoint at the header's size, at most that many
    entries). Whether each entry is the right one is the audit's job.
    """
    first = stream.readline(_MAX_LINE)
    if not first:
        raise FormatError("the export is empty")
    header = parse_header(first)
    return header, _items(stream, header)


def _items(stream: IO[bytes], header: ExportHeader) -> Iterator[ExportEntry | ExportCheckpoint]:
    number = 1
    entries = 0
    last_size = header.start - 1
    last_line_was_final = False
    size = header.tree_size - header.start
    parse = parse_entry_line
    for line in stream:
        number += 1
        if last_line_was_final:
            raise FormatError(f"line {number}: content after the final checkpoint")
        if line.startswith(_CHECKPOINT_PREFIX):
            item = parse_checkpoint_line(line, number)
            if item.tree_size <= last_size:
                if item.tree_size < header.start:
                    raise FormatError(
                        f"line {number}: checkpoint at size {item.tree_size} is before the "
                        f"export's start {header.start}"
                    )
                raise FormatError(
                    f"line {number}: checkpoint sizes must increase ({item.tree_size} after "
                    f"{last_size})"
                )
            if item.tree_size > header.tree_size:
                raise FormatError(
                    f"line {number}: checkpoint at size {item.tree_size} is beyond the "
                    f"export's tree_size {header.tree_size}"
                )
            last_size = item.tree_size
            last_line_was_final = item.tree_size == header.tree_size
            yield item
            continue
        entries += 1
        if entries > size:
            raise FormatError(
                f"line {number}: more entries than the header's tree_size {header.tree_size}"
                + (f" less its start {header.start}" if header.start else "")
            )
        yield parse(line, number)
    if not last_line_was_final:
        raise FormatError(
            f"the export is truncated: it must end with the checkpoint at size {header.tree_size}"
        )
