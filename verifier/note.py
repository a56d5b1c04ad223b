"""C2SP signed notes, tlog checkpoints and tlog cosignatures (Ed25519 and ML-DSA-44).

Specifications: c2sp.org/signed-note, c2sp.org/tlog-checkpoint and
c2sp.org/tlog-cosignature (``cosignature/v1``); the Go reference is
golang.org/x/mod/sumdb/note.

A signed note is a text ending in a newline, a blank line, then one line per
signature: ``— <key name> base64(key ID || signature)``. The key ID is the first
four bytes of SHA-256(name || "\\n" || type byte || public key), with type byte
0x01 for plain Ed25519 note signatures and 0x04 for timestamped Ed25519 witness
cosignatures, whose signature bytes are ``timestamp (u64, big-endian) || Ed25519
signature`` over ``"cosignature/v1\\ntime <timestamp>\\n" + checkpoint body``.
Type 0x06 is the ML-DSA-44 cosignature (FIPS 204, through ``cryptography``'s OpenSSL
backend): a 1,312-byte public key, signature bytes ``timestamp || 2,420-byte ML-DSA-44
signature`` over the binary ``subtree/v1`` message (label, the cosigner's name, timestamp,
the log's origin, start 0, end = tree size, root hash), which commits to the cosigner's
name and not to the checkpoint's extension lines.

Keys travel as strings: a verifier key is ``name+hexkeyid+base64(type || public
key)``, a signer key ``PRIVATE+KEY+name+hexkeyid+base64(type || seed)``.
Verification ignores signatures by unknown keys, refuses a note whose lines by
a trusted key (same name *and* key ID) fail, and refuses one that no trusted key
signed.
"""

from __future__ import annotations

import binascii
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA44PrivateKey, MLDSA44PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from verifier.errors import (
    CheckpointError,
    KeyFormatError,
    NoteFormatError,
    SignatureError,
    UnknownKeyError,
)
from verifier.hashing import HASH_SIZE

__all__ = [
    "ALG_COSIGNATURE_MLDSA44",
    "ALG_COSIGNATURE_V1",
    "ALG_ED25519",
    "COSIGNATURE_ALGORITHMS",
    "MAX_SIGNATURES",
    "Checkpoint",
    "Note",
    "Signature",
    "SignerKey",
    "VerifierKey",
    "add_signatures",
    "cosign_checkpoint",
    "cosignature_message",
    "key_id",
    "mldsa_cosignature_message",
    "parse_checkpoint",
    "parse_note",
    "sign_note",
    "verify_checkpoint",
    "verify_cosignature",
    "verify_note",
]

ALG_ED25519 = 0x01
"""Signature type byte of plain Ed25519 note signatures."""
ALG_COSIGNATURE_V1 = 0x04
"""Signature type byte of timestamped Ed25519 witness cosignatures (cosignature/v1)."""
ALG_COSIGNATURE_MLDSA44 = 0x06
"""Signature type byte of timestamped ML-DSA-44 witness cosignatures (subtree/v1 message)."""
COSIGNATURE_ALGORITHMS = (ALG_COSIGNATURE_V1, ALG_COSIGNATURE_MLDSA44)
"""The cosigner key types a witness may have."""
_ALGORITHMS = (ALG_ED25519, ALG_COSIGNATURE_V1, ALG_COSIGNATURE_MLDSA44)
#: (public key, seed, signature) sizes per type byte.
_SIZES = {
    ALG_ED25519: (32, 32, 64),
    ALG_COSIGNATURE_V1: (32, 32, 64),
    ALG_COSIGNATURE_MLDSA44: (1312, 32, 2420),
}
_SUBTREE_LABEL = b"subtree/v1\n\x00"

MAX_SIGNATURES = 100
"""Most signature lines a note may carry (C2SP: at least 16 must be accepted; Go allows 100)."""

_TIMESTAMP_SIZE = 8
_MAX_TIMESTAMP = 2**63 - 1
_KEY_ID_SIZE = 4
_SIGNATURE_PREFIX = "— "
_PRIVATE_PREFIX = "PRIVATE+KEY+"
_COSIGNATURE_HEADER = "cosignature/v1\n"
_HEX_KEY_ID = re.compile(r"[0-9a-f]{8}")
_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")


def _is_valid_name(name: str) -> bool:
    """Non-empty, no Unicode whitespace, no '+', valid UTF-8 (no lone surrogates)."""
    if not name or "+" in name or any(ch.isspace() for ch in name):
        return False
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _b64encode(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).decode("ascii")


def _b64decode(text: str) -> bytes:
    """Strict standard base64 (RFC 4648 section 4): padding required, no stray characters."""
    if not text.isascii():
        raise ValueError("base64 must be ASCII")
    data = binascii.a2b_base64(text.encode("ascii"), strict_mode=True)
    if _b64encode(data) != text:  # refuse non-canonical encodings (non-zero padding bits)
        raise ValueError("non-canonical base64")
    return data


def key_id(name: str, algorithm: int, public_key: bytes) -> bytes:
    """SHA-256(name || "\\n" || type byte || public key)[:4]."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([algorithm]) + public_key).digest()[
        :_KEY_ID_SIZE
    ]


def _check_key_fields(name: str, algorithm: int, key_bytes: bytes, what: str) -> None:
    if not _is_valid_name(name):
        raise KeyFormatError(f"key name {name!r} must be non-empty, without spaces or '+'")
    if algorithm not in _ALGORITHMS:
        raise KeyFormatError(f"unsupported signature type 0x{algorithm:02x}")
    public_size, seed_size, _ = _SIZES[algorithm]
    size = seed_size if what == "seed" else public_size
    if len(key_bytes) != size:
        kind = "ML-DSA-44" if algorithm == ALG_COSIGNATURE_MLDSA44 else "Ed25519"
        raise KeyFormatError(f"{kind} {what} must be {size} bytes, got {len(key_bytes)}")


def _split_key(text: str) -> tuple[str, bytes, int, bytes]:
    """``name+hexkeyid+base64(type || key)`` to (name, key ID, type, key bytes)."""
    parts = text.split("+", 2)  # base64 may itself contain '+'
    if len(parts) != 3:
        raise KeyFormatError("a key is name+keyid+base64key")
    name, hex_id, encoded = parts
    if not _HEX_KEY_ID.fullmatch(hex_id):
        raise KeyFormatError(f"key ID {hex_id!r} must be 8 lowercase hex digits")
    try:
        raw = _b64decode(encoded)
    except ValueError as exc:
        raise KeyFormatError(f"key material is not valid base64: {exc}") from None
    if not raw:
        raise KeyFormatError("key material is empty")
    return name, bytes.fromhex(hex_id), raw[0], raw[1:]


@dataclass(frozen=True, slots=True)
class VerifierKey:
    """A public key that verifies note signatures (type 0x01) or cosignatures (type 0x04)."""

    name: str
    key_id: bytes
    public_key: bytes
    algorithm: int = ALG_ED25519

    def __post_init__(self) -> None:
        _check_key_fields(self.name, self.algorithm, self.public_key, "public key")
        computed = key_id(self.name, self.algorithm, self.public_key)
        if self.key_id != computed:
            raise KeyFormatError(
                f"key ID {self.key_id.hex()} does not match the name and key"
                f" (expected {computed.hex()})"
            )

    @classmethod
    def from_public_key(
        cls, name: str, public_key: bytes | Ed25519PublicKey, algorithm: int = ALG_ED25519
    ) -> VerifierKey:
        """Build a key from its name and raw 32-byte (or ``cryptography``) public key."""
        if isinstance(public_key, Ed25519PublicKey):
            public_key = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
        _check_key_fields(name, algorithm, public_key, "public key")
        return cls(name, key_id(name, algorithm, public_key), public_key, algorithm)

    @classmethod
    def parse(cls, text: str) -> VerifierKey:
        """Parse ``name+hexkeyid+base64(type || public key)``; ``KeyFormatError`` if malformed."""
        name, kid, algorithm, public_key = _split_key(text)
        return cls(name, kid, public_key, algorithm)

    def __str__(self) -> str:
        encoded = _b64encode(bytes([self.algorithm]) + self.public_key)
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    def verify(self, message: bytes, signature: bytes) -> None:
        """Check a raw signature (64-byte Ed25519, or 2,420-byte ML-DSA-44 with an empty
        context) over ``message``; ``SignatureError`` if not."""
        expected = _SIZES[self.algorithm][2]
        if len(signature) != expected:
            raise SignatureError(
                f"signature by {self.name} must be {expected} bytes, got {len(signature)}"
            )
        try:
            if self.algorithm == ALG_COSIGNATURE_MLDSA44:
                MLDSA44PublicKey.from_public_bytes(self.public_key).verify(signature, message)
            else:
                Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except UnsupportedAlgorithm:
            raise KeyFormatError(
                f"{self.name} is an ML-DSA-44 key, which this cryptography build (its OpenSSL) "
                "cannot verify"
            ) from None
        except InvalidSignature:
            raise SignatureError(
                f"signature by {self.name}+{self.key_id.hex()} does not verify"
            ) from None


@dataclass(frozen=True, slots=True)
class SignerKey:
    """A private Ed25519 key that signs notes (type 0x01) or cosigns checkpoints (type 0x04)."""

    name: str
    key_id: bytes
    seed: bytes = field(repr=False)
    algorithm: int = ALG_ED25519

    def __post_init__(self) -> None:
        _check_key_fields(self.name, self.algorithm, self.seed, "seed")
        computed = key_id(self.name, self.algorithm, self._public_bytes())
        if self.key_id != computed:
            raise KeyFormatError(
                f"key ID {self.key_id.hex()} does not match the name and key"
                f" (expected {computed.hex()})"
            )

    def _private(self) -> Ed25519PrivateKey | MLDSA44PrivateKey:
        return _private_key(self.seed, self.algorithm)

    def _public_bytes(self) -> bytes:
        return self._private().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @classmethod
    def from_seed(cls, name: str, seed: bytes, algorithm: int = ALG_ED25519) -> SignerKey:
        """A key from its 32-byte seed (Ed25519's private key; ML-DSA-44's key generation
        seed, FIPS 204's xi)."""
        _check_key_fields(name, algorithm, seed, "seed")
        public = (
            _private_key(seed, algorithm).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        )
        return cls(name, key_id(name, algorithm, public), seed, algorithm)

    @classmethod
    def generate(cls, name: str, algorithm: int = ALG_ED25519) -> SignerKey:
        """A fresh random key."""
        if algorithm == ALG_COSIGNATURE_MLDSA44:
            seed = MLDSA44PrivateKey.generate().private_bytes_raw()
        else:
            seed = Ed25519PrivateKey.generate().private_bytes(
                Encoding.Raw, PrivateFormat.Raw, NoEncryption()
            )
        return cls.from_seed(name, seed, algorithm)

    @classmethod
    def parse(cls, text: str) -> SignerKey:
        """Parse ``PRIVATE+KEY+name+hexkeyid+base64(type || seed)``.

        Raises ``KeyFormatError`` if malformed.
        """
        if not text.startswith(_PRIVATE_PREFIX):
            raise KeyFormatError("a signer key starts with PRIVATE+KEY+")
        name, kid, algorithm, seed = _split_key(text[len(_PRIVATE_PREFIX) :])
        return cls(name, kid, seed, algorithm)

    def __str__(self) -> str:
        encoded = _b64encode(bytes([self.algorithm]) + self.seed)
        return f"{_PRIVATE_PREFIX}{self.name}+{self.key_id.hex()}+{encoded}"

    def verifier_key(self) -> VerifierKey:
        return VerifierKey(self.name, self.key_id, self._public_bytes(), self.algorithm)

    def sign(self, message: bytes) -> bytes:
        """The raw signature of ``message`` (Ed25519, or ML-DSA-44 with an empty context)."""
        return self._private().sign(message)


def _private_key(seed: bytes, algorithm: int) -> Ed25519PrivateKey | MLDSA44PrivateKey:
    if algorithm == ALG_COSIGNATURE_MLDSA44:
        return MLDSA44PrivateKey.from_seed_bytes(seed)
    return Ed25519PrivateKey.from_private_bytes(seed)


@dataclass(frozen=True, slots=True)
class Signature:
    """One signature line: key name, 4-byte key ID, and the signature bytes after the ID."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        """``— name base64(key ID || signature)`` and a newline."""
        return f"{_SIGNATURE_PREFIX}{self.name} {_b64encode(self.key_id + self.signature)}\n"

    def is_by(self, key: VerifierKey) -> bool:
        return self.name == key.name and self.key_id == key.key_id


@dataclass(frozen=True, slots=True)
class Note:
    """A parsed signed note. ``verified`` lists the signatures a trusted key checked."""

    text: str
    signatures: tuple[Signature, ...]
    verified: tuple[Signature, ...] = ()

    def encode(self) -> str:
        return self.text + "\n" + "".join(sig.line() for sig in self.signatures)


def _check_text(text: str, what: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise NoteFormatError(f"{what} is not valid UTF-8 (lone surrogate)") from None
    control = _CONTROL.search(text)
    if control:
        raise NoteFormatError(
            f"{what} contains control character U+{ord(control.group()):04X}"
            f" at offset {control.start()}"
        )


def parse_note(note: str) -> Note:
    """Split a note into text and signature lines, checking the format but no signature."""
    _check_text(note, "note")
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteFormatError("note has no blank line before its signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block or not block.endswith("\n"):
        raise NoteFormatError("note must end with signature lines, each ending in a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteFormatError(f"note has {len(lines)} signatures, more than {MAX_SIGNATURES}")
    signatures = []
    for number, line in enumerate(lines, 1):
        if not line.startswith(_SIGNATURE_PREFIX):
            raise NoteFormatError(
                f"signature line {number} does not start with an em dash and space"
            )
        name, space, encoded = line[len(_SIGNATURE_PREFIX) :].partition(" ")
        if not space or not _is_valid_name(name):
            raise NoteFormatError(f"signature line {number} has no valid key name")
        try:
            raw = _b64decode(encoded)
        except ValueError as exc:
            raise NoteFormatError(f"signature line {number} is not valid base64: {exc}") from None
        if len(raw) <= _KEY_ID_SIZE:
            raise NoteFormatError(f"signature line {number} is too short")
        signatures.append(Signature(name, raw[:_KEY_ID_SIZE], raw[_KEY_ID_SIZE:]))
    return Note(text, tuple(signatures))


def cosignature_message(body: str, timestamp: int) -> bytes:
    """What a cosignature/v1 signs: header, ``time <timestamp>`` line, checkpoint body."""
    return f"{_COSIGNATURE_HEADER}time {timestamp}\n{body}".encode()


def mldsa_cosignature_message(cosigner: str, timestamp: int, checkpoint: Checkpoint) -> bytes:
    """What an ML-DSA-44 cosignature signs (c2sp.org/tlog-cosignature, ``cosigned_message``):
    ``"subtree/v1\\n\\0"``, the cosigner's name and the log's origin each with a one-byte
    length, the timestamp, start 0 and end = the tree size as big-endian uint64, the root."""
    name, origin = cosigner.encode("utf-8"), checkpoint.origin.encode("utf-8")
    for what, value in (("cosigner name", name), ("log origin", origin)):
        if not 1 <= len(value) <= 255:
            raise SignatureError(f"an ML-DSA-44 cosignature's {what} is 1 to 255 bytes")
    return b"".join(
        [
            _SUBTREE_LABEL,
            bytes([len(name)]),
            name,
            timestamp.to_bytes(_TIMESTAMP_SIZE, "big"),
            bytes([len(origin)]),
            origin,
            (0).to_bytes(8, "big"),
            checkpoint.size.to_bytes(8, "big"),
            checkpoint.root_hash,
        ]
    )


def _signed_message(text: str, name: str, algorithm: int, timestamp: int) -> bytes:
    if algorithm == ALG_COSIGNATURE_MLDSA44:
        return mldsa_cosignature_message(name, timestamp, parse_checkpoint(text))
    return cosignature_message(text, timestamp)


def _split_timestamp(signature: Signature, algorithm: int) -> tuple[int, bytes]:
    raw = signature.signature
    expected = _TIMESTAMP_SIZE + _SIZES[algorithm][2]
    if len(raw) != expected:
        raise SignatureError(
            f"cosignature by {signature.name} must be {expected} bytes, got {len(raw)}"
        )
    timestamp = int.from_bytes(raw[:_TIMESTAMP_SIZE], "big")
    if timestamp > _MAX_TIMESTAMP:
        raise SignatureError(f"cosignature by {signature.name} has timestamp beyond 2**63 - 1")
    return timestamp, raw[_TIMESTAMP_SIZE:]


def _verify_signature(text: str, signature: Signature, key: VerifierKey) -> None:
    if key.algorithm in COSIGNATURE_ALGORITHMS:
        timestamp, raw = _split_timestamp(signature, key.algorithm)
        key.verify(_signed_message(text, key.name, key.algorithm, timestamp), raw)
    else:
        key.verify(text.encode("utf-8"), signature.signature)


def verify_note(note: str, keys: Sequence[VerifierKey]) -> Note:
    """Parse ``note`` and check every signature by one of ``keys``.

    Lines whose name and key ID do not both match a trusted key are ignored.
    Raises ``NoteFormatError`` if malformed, ``SignatureError`` if a line by a
    trusted key fails, ``UnknownKeyError`` if no trusted key signed.
    """
    parsed = parse_note(note)
    verified: list[Signature] = []
    for signature in parsed.signatures:
        for key in keys:
            if signature.is_by(key):
                _verify_signature(parsed.text, signature, key)
                verified.append(signature)
                break
    if not verified:
        names = ", ".join(f"{key.name}+{key.key_id.hex()}" for key in keys) or "none"
        raise UnknownKeyError(f"note is not signed by any trusted key (trusted: {names})")
    return Note(parsed.text, parsed.signatures, tuple(verified))


def _note_signature(text: str, signer: SignerKey) -> Signature:
    if signer.algorithm != ALG_ED25519:
        raise KeyFormatError(
            f"{signer.name} is a cosigner key; use cosign_checkpoint to sign with it"
        )
    return Signature(signer.name, signer.key_id, signer.sign(text.encode("utf-8")))


def _check_note_text(text: str) -> None:
    _check_text(text, "note text")
    if not text.endswith("\n"):
        raise NoteFormatError("note text must end in a newline")


def sign_note(text: str, *signers: SignerKey) -> str:
    """The full signed note: ``text``, a blank line, one signature line per signer."""
    _check_note_text(text)
    if not signers:
        raise NoteFormatError("a note needs at least one signature")
    if len(signers) > MAX_SIGNATURES:
        raise NoteFormatError(f"a note carries at most {MAX_SIGNATURES} signatures")
    return Note(text, tuple(_note_signature(text, signer) for signer in signers)).encode()


def add_signatures(note: str, *signers: SignerKey | Signature) -> str:
    """Sign the text of ``note`` again with more keys, keeping its existing lines.

    A ``SignerKey`` (type 0x01) signs the text; a ready ``Signature`` (such as
    one from ``cosign_checkpoint``) is appended as is. An existing line by the
    same name and key ID as a new one is replaced. Existing lines are not
    verified here.
    """
    parsed = parse_note(note)
    new = [
        signer if isinstance(signer, Signature) else _note_signature(parsed.text, signer)
        for signer in signers
    ]
    replaced = {(sig.name, sig.key_id) for sig in new}
    kept = [sig for sig in parsed.signatures if (sig.name, sig.key_id) not in replaced]
    if len(kept) + len(new) > MAX_SIGNATURES:
        raise NoteFormatError(f"a note carries at most {MAX_SIGNATURES} signatures")
    return Note(parsed.text, (*kept, *new)).encode()


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A C2SP tlog-checkpoint body: origin, tree size, root hash, optional extension lines."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin:
            raise CheckpointError("checkpoint origin must be one non-empty line")
        if not 0 <= self.size < 2**64:
            raise CheckpointError(f"checkpoint size {self.size} is outside 0..2**64-1")
        if len(self.root_hash) != HASH_SIZE:
            raise CheckpointError(
                f"checkpoint root hash must be {HASH_SIZE} bytes, got {len(self.root_hash)}"
            )
        for line in self.extensions:
            if not line or "\n" in line:
                raise CheckpointError("checkpoint extension lines must be single non-empty lines")

    def body(self) -> str:
        """``origin\\nsize\\nbase64(root)\\n`` followed by the extension lines."""
        lines = [self.origin, str(self.size), _b64encode(self.root_hash), *self.extensions]
        return "".join(line + "\n" for line in lines)


def parse_checkpoint(body: str) -> Checkpoint:
    """Parse a checkpoint body strictly; ``CheckpointError`` if malformed."""
    if not body.endswith("\n"):
        raise CheckpointError("checkpoint body must end in a newline")
    lines = body[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError(f"checkpoint body needs at least 3 lines, got {len(lines)}")
    origin, size_text, root_text, *extensions = lines
    if not _DECIMAL.fullmatch(size_text):
        raise CheckpointError(
            f"checkpoint size {size_text!r} is not a decimal without leading zeros"
        )
    try:
        root = _b64decode(root_text)
    except ValueError as exc:
        raise CheckpointError(f"checkpoint root hash is not valid base64: {exc}") from None
    return Checkpoint(origin, int(size_text), root, tuple(extensions))


def verify_checkpoint(note: str, key: VerifierKey, *, origin: str | None = None) -> Checkpoint:
    """Verify the log's own signature on a checkpoint note and parse its body.

    With ``origin`` given, the checkpoint's origin line must equal it
    (``CheckpointError`` otherwise).
    """
    if key.algorithm != ALG_ED25519:
        raise KeyFormatError(f"{key.name} is a cosigner key, not a log key")
    checkpoint = parse_checkpoint(verify_note(note, [key]).text)
    if origin is not None and checkpoint.origin != origin:
        raise CheckpointError(f"checkpoint origin {checkpoint.origin!r} is not {origin!r}")
    return checkpoint


def cosign_checkpoint(body: str, signer: SignerKey, timestamp: int) -> Signature:
    """A cosignature on checkpoint ``body`` at POSIX time ``timestamp``: cosignature/v1 for a
    type 0x04 key, ML-DSA-44 (subtree/v1 message) for a type 0x06 key.

    Add it to the checkpoint note with ``add_signatures(note, signature)``.
    """
    if signer.algorithm not in COSIGNATURE_ALGORITHMS:
        raise KeyFormatError(f"{signer.name} is not a cosigner key (type 0x04 or 0x06)")
    if not 0 <= timestamp <= _MAX_TIMESTAMP:
        raise ValueError(f"timestamp {timestamp} is outside 0..2**63-1")
    parse_checkpoint(body)
    raw = signer.sign(_signed_message(body, signer.name, signer.algorithm, timestamp))
    return Signature(signer.name, signer.key_id, timestamp.to_bytes(_TIMESTAMP_SIZE, "big") + raw)


def verify_cosignature(note: str, key: VerifierKey) -> int:
    """Check a witness's cosignature on a checkpoint note; return its timestamp.

    ``key`` is the witness's type 0x04 (cosignature/v1) or 0x06 (ML-DSA-44) key. Raises
    ``UnknownKeyError`` if the witness did not cosign, ``SignatureError`` if its
    cosignature fails, and ``CheckpointError`` if the body is not a checkpoint.
    """
    if key.algorithm not in COSIGNATURE_ALGORITHMS:
        raise KeyFormatError(f"{key.name} is not a cosigner key (type 0x04 or 0x06)")
    verified = verify_note(note, [key])
    parse_checkpoint(verified.text)
    timestamp, _ = _split_timestamp(verified.verified[0], key.algorithm)
    return timestamp
