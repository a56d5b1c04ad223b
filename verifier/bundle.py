"""Provenance bundles (``lotledger-bundle``, version 2): parsed only by ``Bundle.from_json``.

Specified for readers in ``verifier/FORMATS.md``; this docstring is the implementer's view.

A bundle is one JSON object (UTF-8)::

    {
      "format": "lotledger-bundle",
      "version": 2,
      "origin": "<the log's origin line>",
      "key_id": "<8 hex digits: the log's verifier key ID>",
      "lot": {"gtin": "<14 digits>", "lot": "<lot code>"},
      "scope": "full" | "visible to <organisation id>",
      "checkpoint": "<C2SP signed checkpoint note, tree size N>",
      "entries": [
        {"seq": <int>, "leaf": "<base64 leaf bytes>", "proof": ["<base64 32-byte hash>", ...]},
        ...
      ]
    }

``scope`` says whose view of the lot's trace the entries are: ``full`` (a regulator's:
every entry of the trace) or ``visible to ORG`` (only the entries that organisation may
see). Version 1 (the same object without ``scope``) is still read; its scope is unstated.

Invariants, checked on construction (``FormatError`` names the field): exactly
these keys; ``entries`` non-empty, sorted by strictly increasing ``seq``, every
``seq < N``; each ``proof`` has exactly the RFC 9162 inclusion-proof length for
(``seq``, ``N``) and 32-byte elements; each leaf is RFC 8785 canonical JSON of an
object with exactly ``actor``, ``event``, ``prev``, ``recorded_at``, ``seq``
whose ``seq`` equals the entry's; the checkpoint's origin is ``origin``.

``verify_bundle`` then checks, against the key the user trusts: the key ID, the
checkpoint's signature, every inclusion proof against the checkpoint's root
(leaf hash = SHA-256(0x00 || leaf bytes)), the ``prev`` link between every two
entries with adjacent seqs, and that the lot appears in the entries.
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from verifier.canonical import canonical_bytes
from verifier.errors import (
    ChainError,
    EntryError,
    FormatError,
    LotNotFoundError,
    ProofError,
    VerificationError,
)
from verifier.hashing import HASH_SIZE, leaf_hash
from verifier.note import Checkpoint, VerifierKey, parse_checkpoint, parse_note, verify_checkpoint
from verifier.proofs import inclusion_proof_length, verify_inclusion

__all__ = [
    "FORMAT",
    "VERSION",
    "Bundle",
    "BundleEntry",
    "VerifiedEntry",
    "VerifiedProvenance",
    "describe_scope",
    "event_lots",
    "render_timeline",
    "verify_bundle",
]

FORMAT = "lotledger-bundle"
VERSION = 2
#: Versions ``Bundle.from_json`` reads: 1 has no ``scope``.
READABLE_VERSIONS = (1, 2)
FULL_SCOPE = "full"
VISIBLE_TO = "visible to "
_KEYS_V1 = {"format", "version", "origin", "key_id", "lot", "checkpoint", "entries"}
_KEYS = {*_KEYS_V1, "scope"}
_ENVELOPE_KEYS = {"actor", "event", "prev", "recorded_at", "seq"}


@dataclass(frozen=True, slots=True)
class BundleEntry:
    seq: int
    leaf: bytes
    proof: tuple[bytes, ...]
    envelope: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Bundle:
    origin: str
    key_id: bytes
    lot: tuple[str, str]
    checkpoint_note: str
    checkpoint: Checkpoint
    entries: tuple[BundleEntry, ...]
    #: ``"full"``, ``"visible to ORG"``, or None for a version 1 bundle (scope unstated).
    scope: str | None = None

    @classmethod
    def from_json(cls, data: str | bytes) -> Bundle:
        """Parse a bundle and check its invariants (see the module docstring)."""
        try:
            obj = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise FormatError(f"bundle is not JSON: {exc}") from None
        if not isinstance(obj, dict):
            raise FormatError("bundle must be a JSON object")
        if obj.get("format") != FORMAT:
            raise FormatError(f"not a Lotledger bundle (format {obj.get('format')!r})")
        version = obj.get("version")
        if type(version) is not int or version not in READABLE_VERSIONS:
            raise FormatError(
                f"bundle version {version!r} is not supported (this verifier reads versions "
                f"{', '.join(map(str, READABLE_VERSIONS))})"
            )
        keys = _KEYS if version >= 2 else _KEYS_V1
        if set(obj) != keys:
            raise FormatError(
                f"bundle version {version} fields must be exactly {sorted(keys)}, got {sorted(obj)}"
            )
        scope = _scope(obj["scope"]) if version >= 2 else None
        origin = _string(obj["origin"], "origin")
        key_id = _string(obj["key_id"], "key_id")
        if len(key_id) != 8 or any(c not in "0123456789abcdef" for c in key_id):
            raise FormatError("key_id must be 8 lowercase hex digits")
        lot = obj["lot"]
        if not isinstance(lot, dict) or set(lot) != {"gtin", "lot"}:
            raise FormatError('lot must be {"gtin": ..., "lot": ...}')
        gtin, code = _string(lot["gtin"], "lot.gtin"), _string(lot["lot"], "lot.lot")
        note = _string(obj["checkpoint"], "checkpoint")
        try:
            checkpoint = parse_checkpoint(parse_note(note).text)
        except VerificationError as exc:
            raise FormatError(f"checkpoint: {exc}") from None
        if checkpoint.origin != origin:
            raise FormatError(f"checkpoint origin {checkpoint.origin!r} is not {origin!r}")
        raw_entries = obj["entries"]
        if not isinstance(raw_entries, list) or not raw_entries:
            raise FormatError("entries must be a non-empty list")
        entries: list[BundleEntry] = []
        for position, raw in enumerate(raw_entries):
            entry = _entry(raw, f"entries[{position}]", checkpoint.size)
            if entries and entry.seq <= entries[-1].seq:
                raise FormatError(
                    f"entries[{position}]: seq {entry.seq} is not above {entries[-1].seq}"
                    " (entries are sorted by seq, each once)"
                )
            entries.append(entry)
        return cls(
            origin, bytes.fromhex(key_id), (gtin, code), note, checkpoint, tuple(entries), scope
        )


def _scope(value: object) -> str:
    scope = _string(value, "scope")
    if scope != FULL_SCOPE and not (scope.startswith(VISIBLE_TO) and scope[len(VISIBLE_TO) :]):
        raise FormatError(f'scope must be "full" or "visible to <organisation>", got {scope!r}')
    return scope


def _string(value: object, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise FormatError(f"{where} must be a non-empty string")
    return value


def _b64(value: object, where: str) -> bytes:
    if not isinstance(value, str):
        raise FormatError(f"{where} must be a base64 string")
    try:
        data = binascii.a2b_base64(value.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise FormatError(f"{where} is not valid base64: {exc}") from None
    if binascii.b2a_base64(data, newline=False).decode() != value:
        raise FormatError(f"{where} is not canonical base64")
    return data


def _entry(raw: object, where: str, size: int) -> BundleEntry:
    if not isinstance(raw, dict) or set(raw) != {"seq", "leaf", "proof"}:
        raise FormatError(f"{where} must hold exactly seq, leaf and proof")
    seq = raw["seq"]
    if type(seq) is not int or not 0 <= seq < size:
        raise FormatError(f"{where}.seq must be an integer in [0, {size}), got {seq!r}")
    leaf = _b64(raw["leaf"], f"{where}.leaf")
    proof_raw = raw["proof"]
    if not isinstance(proof_raw, list):
        raise FormatError(f"{where}.proof must be a list")
    proof = tuple(_b64(p, f"{where}.proof[{i}]") for i, p in enumerate(proof_raw))
    expected = inclusion_proof_length(seq, size)
    if len(proof) != expected:
        raise FormatError(
            f"{where}.proof: leaf {seq} of {size} needs {expected} hashes, got {len(proof)}"
        )
    for i, element in enumerate(proof):
        if len(element) != HASH_SIZE:
            raise FormatError(f"{where}.proof[{i}] must be {HASH_SIZE} bytes")

    # The file is a well-formed bundle from here on: a leaf that is not a log entry is an
    # entry the log cannot have signed (changed after it was served), named as such.
    def bad_leaf(why: str) -> EntryError:
        return EntryError(seq, "leaf", f"{where}.leaf {why}: it was changed after the log wrote it")

    try:
        envelope = json.loads(leaf)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_leaf(f"is not JSON ({exc})") from None
    if not isinstance(envelope, dict) or set(envelope) != _ENVELOPE_KEYS:
        raise bad_leaf(f"does not hold exactly {sorted(_ENVELOPE_KEYS)}")
    try:
        canonical = canonical_bytes(envelope)
    except VerificationError as exc:
        raise bad_leaf(f"cannot be canonical JSON ({exc})") from None
    if canonical != leaf:
        raise bad_leaf("is not RFC 8785 canonical JSON")
    if envelope["seq"] != seq:
        # Well-formed, but not the entry it claims to be: an inconsistency, not a format slip.
        raise ChainError(
            seq,
            "sequence",
            f"{where} holds the leaf of entry {envelope['seq']!r}, not of entry {seq}",
            expected=str(seq),
            found=str(envelope["seq"]),
        )
    if not isinstance(envelope["event"], dict) or not isinstance(envelope["prev"], str):
        raise bad_leaf("has an event that is not an object or a prev that is not a string")
    return BundleEntry(seq, leaf, proof, envelope)


# -- verification ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerifiedEntry:
    seq: int
    leaf_hash: bytes
    actor: str
    recorded_at: str
    event: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class VerifiedProvenance:
    """What a verified bundle proves: these entries are in the log the key signed."""

    origin: str
    lot: tuple[str, str]
    tree_size: int
    root_hash: bytes
    entries: tuple[VerifiedEntry, ...]
    scope: str | None = None


def event_lots(event: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The (gtin, lot) keys an event names: its lot, or a transform's inputs and outputs."""
    refs: list[Any] = []
    if event.get("type") == "transform":
        refs = [i.get("lot") for i in event.get("inputs", []) if isinstance(i, dict)]
        refs += [o.get("lot") for o in event.get("outputs", []) if isinstance(o, dict)]
    elif "lot" in event:
        refs = [event["lot"]]
    return [
        (r["gtin"], r["lot"])
        for r in refs
        if isinstance(r, dict) and isinstance(r.get("gtin"), str) and isinstance(r.get("lot"), str)
    ]


def verify_bundle(bundle: Bundle, key: VerifierKey) -> VerifiedProvenance:
    """Verify everything a bundle claims; raise naming the entry and check that failed."""
    if bundle.key_id != key.key_id or bundle.origin != key.name:
        raise FormatError(
            f"the bundle is from log {bundle.origin}+{bundle.key_id.hex()}, "
            f"the key given is {key.name}+{key.key_id.hex()}"
        )
    checkpoint = verify_checkpoint(bundle.checkpoint_note, key, origin=bundle.origin)
    verified: list[VerifiedEntry] = []
    previous: tuple[int, bytes] | None = None
    for entry in bundle.entries:
        h = leaf_hash(entry.leaf)
        try:
            verify_inclusion(entry.seq, checkpoint.size, h, entry.proof, checkpoint.root_hash)
        except ProofError as exc:
            raise EntryError(
                entry.seq,
                "inclusion proof",
                f"the entry is not leaf {entry.seq} of the signed tree of size "
                f"{checkpoint.size}: {exc}",
            ) from exc
        prev = str(entry.envelope["prev"])
        if previous is not None and previous[0] == entry.seq - 1 and prev != previous[1].hex():
            raise ChainError(
                entry.seq,
                "prev link",
                f"entry {entry.seq}'s prev is not the hash of entry {entry.seq - 1}",
                expected=previous[1].hex(),
                found=prev,
            )
        if entry.seq == 0 and prev != "0" * 64:
            raise ChainError(
                0, "prev link", "entry 0's prev must be 64 zeros", expected="0" * 64, found=prev
            )
        previous = (entry.seq, h)
        verified.append(
            VerifiedEntry(
                entry.seq,
                h,
                str(entry.envelope["actor"]),
                str(entry.envelope["recorded_at"]),
                entry.envelope["event"],
            )
        )
    if not any(bundle.lot in event_lots(e.event) for e in verified):
        raise LotNotFoundError(f"no entry in the bundle names lot {bundle.lot[0]}/{bundle.lot[1]}")
    return VerifiedProvenance(
        bundle.origin,
        bundle.lot,
        checkpoint.size,
        checkpoint.root_hash,
        tuple(verified),
        bundle.scope,
    )


def describe_scope(scope: str | None) -> str:
    """Whose view of the lot's trace a bundle holds, in words."""
    if scope is None:
        return "unstated (a version 1 bundle)"
    if scope == FULL_SCOPE:
        return "full (every entry of the lot's trace)"
    org = scope[len(VISIBLE_TO) :]
    return (
        f"visible to {org} (only the entries {org} may see: its own and those at, from or "
        "to its locations; other organisations' entries are left out, not missing)"
    )


# -- the timeline ---------------------------------------------------------------------


def _lot_text(ref: object) -> str:
    if isinstance(ref, dict):
        return f"{ref.get('gtin')}/{ref.get('lot')}"
    return "?"


def describe(event: Mapping[str, Any]) -> str:
    """One human line for an event: what, how much, where."""
    etype = event.get("type", "?")
    qty = f"{event.get('quantity', '')} {event.get('unit', '')}".strip()
    lot = _lot_text(event.get("lot"))
    at = event.get("location", "?")
    if etype == "register":
        return f"registered {qty} of {lot} ({event.get('product', '')}) at {at}"
    if etype == "ship":
        return f"shipped {qty} of {lot} from {at} to {event.get('to_location')}"
    if etype == "receive":
        return f"received {qty} of {lot} at {at} from {event.get('from_location')}"
    if etype == "transform":
        ins = ", ".join(
            f"{i.get('quantity')} {i.get('unit')} of {_lot_text(i.get('lot'))}"
            for i in event.get("inputs", [])
        )
        outs = ", ".join(
            f"{o.get('quantity')} {o.get('unit')} of {_lot_text(o.get('lot'))}"
            for o in event.get("outputs", [])
        )
        return f"transformed {ins} into {outs} at {at}"
    if etype in ("sell", "consume", "dispose"):
        verb = {"sell": "sold", "consume": "consumed", "dispose": "disposed of"}[etype]
        why = f" ({event['reason']})" if "reason" in event else ""
        return f"{verb} {qty} of {lot} at {at}{why}"
    if etype == "adjust":
        return f"adjusted {lot} by {event.get('variance')} {event.get('unit')} at {at}"
    if etype in ("hold", "release"):
        return f"{etype} {lot} at {at}: {event.get('reason', '')}"
    return f"{etype} at {at}" + (f" for {lot}" if "lot" in event else "")


def render_timeline(provenance: VerifiedProvenance) -> str:
    """The lot's provenance as readable lines, oldest first, each marked verified."""
    gtin, lot = provenance.lot
    lines = [
        f"Provenance of lot {gtin}/{lot}",
        f"log {provenance.origin}, signed tree size {provenance.tree_size}, "
        f"root {provenance.root_hash.hex()}",
        f"scope: {describe_scope(provenance.scope)}",
        "",
    ]
    for e in provenance.entries:
        when = e.event.get("event_time", e.recorded_at)
        lines.append(f"  [verified] #{e.seq:<6} {when}  {e.actor:<12} {describe(e.event)}")
    lines.append("")
    lines.append(
        f"{len(provenance.entries)} entries verified: checkpoint signature, inclusion proofs, "
        "hash-chain links"
    )
    return "\n".join(lines) + "\n"
