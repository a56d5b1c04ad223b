"""Offline proofs of one entry in the C2SP tlog-proof form (``c2sp.org/tlog-proof@v1``).

A proof is text: the header line, an optional ``extra <base64>`` line, ``index <N>``, the
RFC 9162 inclusion proof (one base64 SHA-256 hash a line, from the leaf's sibling up to the
root's child), a blank line, then the log's checkpoint note verbatim with the witnesses'
cosignatures::

    c2sp.org/tlog-proof@v1
    extra eyJhY3RvciI6ImZhcm0iLC...
    index 3
    gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=
    ...

    lotledger.example/log
    17
    sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=

    — lotledger.example/log hI2DJw...
    — witness.example/w1 mJirIklj...

Lotledger puts the entry's leaf bytes (its canonical JSON) in ``extra``: the spec's
"additional data necessary to reconstruct the record hash". The extra line is not
authenticated by itself; the inclusion proof of its leaf hash to the signed root is what
makes it the entry. A proof without extra needs the leaf bytes from elsewhere.

``TlogProof.parse`` is the one parser, ``TlogProof.encode`` the one encoder;
``verify_tlog_proof`` checks a proof against the log's key and, optionally, a witness
policy. Spec: c2sp.org/tlog-proof.
"""

from __future__ import annotations

import binascii
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from verifier.errors import (
    ChainError,
    EntryError,
    FormatError,
    ProofError,
    UnknownKeyError,
    UnknownLogError,
    VerificationError,
    WitnessQuorumError,
)
from verifier.hashing import HASH_SIZE, leaf_hash
from verifier.note import (
    Checkpoint,
    VerifierKey,
    parse_checkpoint,
    parse_note,
    verify_checkpoint,
    verify_cosignature,
)
from verifier.proofs import inclusion_proof_length, verify_inclusion

__all__ = [
    "FILE_SUFFIX",
    "HEADER",
    "TlogProof",
    "VerifiedTlogProof",
    "verify_tlog_proof",
]

HEADER = "c2sp.org/tlog-proof@v1"
"""The first line of every proof."""
FILE_SUFFIX = ".tlog-proof"
"""The spec's file extension."""

_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_MAX_INDEX = 2**64 - 1


def _b64encode(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).decode("ascii")


def _b64decode(text: str, what: str) -> bytes:
    """Strict standard base64 (RFC 4648 section 4), canonical padding; FormatError if not."""
    try:
        if not text.isascii():
            raise ValueError("not ASCII")
        data = binascii.a2b_base64(text.encode("ascii"), strict_mode=True)
    except (ValueError, binascii.Error) as exc:
        raise FormatError(f"{what} is not valid base64: {exc}") from None
    if _b64encode(data) != text:
        raise FormatError(f"{what} is not canonical base64")
    return data


@dataclass(frozen=True, slots=True)
class TlogProof:
    """One parsed tlog-proof: entry ``index``, its inclusion proof ``hashes`` to the tree of
    the checkpoint ``note`` (a signed note, kept verbatim), and the optional ``extra``."""

    index: int
    hashes: tuple[bytes, ...]
    note: str
    extra: bytes | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.index <= _MAX_INDEX:
            raise FormatError(f"index {self.index} is outside 0..2**64-1")
        for i, h in enumerate(self.hashes):
            if len(h) != HASH_SIZE:
                raise FormatError(f"proof hash {i + 1} must be {HASH_SIZE} bytes, got {len(h)}")
        checkpoint = self.checkpoint()
        if self.index >= checkpoint.size:
            raise FormatError(
                f"index {self.index} is not in the checkpoint's tree of size {checkpoint.size}"
            )
        expected = inclusion_proof_length(self.index, checkpoint.size)
        if len(self.hashes) != expected:
            raise FormatError(
                f"leaf {self.index} of a tree of size {checkpoint.size} has an inclusion proof "
                f"of {expected} hashes, the file has {len(self.hashes)}"
            )

    def checkpoint(self) -> Checkpoint:
        """The checkpoint body (unverified); FormatError if the note is not a checkpoint."""
        try:
            return parse_checkpoint(parse_note(self.note).text)
        except VerificationError as exc:
            raise FormatError(f"the proof's checkpoint is not a signed checkpoint: {exc}") from exc

    def encode(self) -> str:
        lines = [HEADER]
        if self.extra is not None:
            lines.append(f"extra {_b64encode(self.extra)}")
        lines.append(f"index {self.index}")
        lines += [_b64encode(h) for h in self.hashes]
        return "\n".join(lines) + "\n\n" + self.note

    @classmethod
    def parse(cls, data: str | bytes) -> TlogProof:
        """Parse a proof strictly; FormatError naming the line that breaks the format."""
        if isinstance(data, bytes):
            try:
                data = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise FormatError(f"a tlog-proof is UTF-8 text: {exc}") from None
        head, blank, note = data.partition("\n\n")
        if not blank:
            raise FormatError("no blank line between the inclusion proof and the checkpoint")
        lines = head.split("\n")
        if lines[0] != HEADER:
            raise FormatError(f"line 1 must be {HEADER!r}, got {lines[0][:60]!r}")
        number = 2
        extra: bytes | None = None
        if len(lines) > 1 and lines[1].startswith("extra "):
            extra = _b64decode(lines[1][len("extra ") :], "line 2 (extra)")
            number = 3
        if len(lines) < number or not lines[number - 1].startswith("index "):
            raise FormatError(f"line {number} must be 'index N'")
        index_text = lines[number - 1][len("index ") :]
        if not _DECIMAL.fullmatch(index_text) or int(index_text) > _MAX_INDEX:
            raise FormatError(f"line {number}: index {index_text!r} is not a decimal in 0..2**64-1")
        hashes = tuple(
            _b64decode(line, f"line {n} (proof hash)")
            for n, line in enumerate(lines[number:], number + 1)
        )
        return cls(int(index_text), hashes, note, extra)


@dataclass(frozen=True, slots=True)
class VerifiedTlogProof:
    """What a verified proof shows: entry ``index`` of the log ``origin`` at ``size`` and
    ``root``, its ``leaf`` bytes (and, for a Lotledger entry, its ``envelope``), and the
    witnesses whose cosignatures checked, with their timestamps."""

    origin: str
    index: int
    size: int
    root: bytes
    leaf: bytes
    envelope: Mapping[str, Any] | None
    cosigned_by: tuple[tuple[str, int], ...]


def verify_tlog_proof(
    proof: TlogProof,
    key: VerifierKey,
    *,
    leaf: bytes | None = None,
    witnesses: Sequence[VerifierKey] = (),
    quorum: int | None = None,
) -> VerifiedTlogProof:
    """Check ``proof``: the log's signature by ``key`` on its checkpoint, the inclusion of
    ``leaf`` (or the proof's extra bytes) at its index, and at least ``quorum`` (default: all)
    of ``witnesses`` cosigning that checkpoint.

    Raises UnknownLogError when the checkpoint is not from the log of ``key`` (another
    origin, or no signature by that key), SignatureError when a signature by ``key`` or by
    a listed witness does not verify, EntryError when the leaf is not the entry at the
    index, and WitnessQuorumError when fewer than ``quorum`` listed witnesses cosigned.
    """
    if leaf is None:
        leaf = proof.extra
    if leaf is None:
        raise FormatError("the proof carries no leaf bytes (no extra line): give the leaf")
    checkpoint = proof.checkpoint()
    if checkpoint.origin != key.name:
        raise UnknownLogError(
            f"the proof's checkpoint is from log {checkpoint.origin!r}, the key given is for "
            f"{key.name!r}"
        )
    if not any(sig.is_by(key) for sig in parse_note(proof.note).signatures):
        raise UnknownLogError(
            f"the checkpoint carries no signature by {key.name}+{key.key_id.hex()}: another "
            f"key of that name signed it"
        )
    verify_checkpoint(proof.note, key, origin=key.name)  # SignatureError if changed
    try:
        verify_inclusion(
            proof.index, checkpoint.size, leaf_hash(leaf), proof.hashes, checkpoint.root_hash
        )
    except ProofError as exc:
        raise EntryError(
            proof.index,
            "inclusion proof",
            f"the leaf is not entry {proof.index} of the signed tree of size "
            f"{checkpoint.size}: {exc}",
        ) from exc
    envelope = _envelope(leaf)
    if envelope is not None and envelope.get("seq") != proof.index:
        raise ChainError(
            proof.index,
            "sequence",
            f"leaf {proof.index} holds an entry whose seq is {envelope.get('seq')!r}",
            expected=str(proof.index),
            found=str(envelope.get("seq")),
        )
    cosigned: list[tuple[str, int]] = []
    for witness in witnesses:
        try:
            cosigned.append((witness.name, verify_cosignature(proof.note, witness)))
        except UnknownKeyError:
            continue  # not cosigned by this one; the quorum decides
    needed = len(witnesses) if quorum is None else quorum
    if len(cosigned) < needed:
        missing = sorted({w.name for w in witnesses} - {name for name, _ in cosigned})
        raise WitnessQuorumError(
            f"{len(cosigned)} of the listed witnesses cosigned the checkpoint, {needed} needed"
            f" (no cosignature by {', '.join(missing)})"
        )
    return VerifiedTlogProof(
        checkpoint.origin,
        proof.index,
        checkpoint.size,
        checkpoint.root_hash,
        leaf,
        envelope,
        tuple(cosigned),
    )


def _envelope(leaf: bytes) -> Mapping[str, Any] | None:
    """The leaf as a Lotledger log entry (a JSON object with a seq), or None."""
    try:
        value = json.loads(leaf)
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) and "seq" in value else None
