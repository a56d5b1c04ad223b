"""The verifier's errors. Verification returns nothing or raises one of these.

    VerificationError                 root: anything the verifier refuses
    ├── EncodingError                 bytes or values that are not what the format allows
    │   └── CanonicalizationError     not representable as RFC 8785 canonical JSON
    ├── ProofError                    an RFC 9162 proof does not check
    │   ├── InclusionProofError
    │   ├── ConsistencyProofError
    │   └── RootMismatchError         carries expected and calculated roots
    ├── NoteError                     a C2SP signed note is malformed or unsigned
    │   ├── NoteFormatError
    │   ├── KeyFormatError            a verifier or signer key string is malformed
    │   ├── SignatureError            a signature does not verify
    │   └── UnknownKeyError           no trusted key signed the note
    └── CheckpointError               a checkpoint body is malformed
"""

from __future__ import annotations


class VerificationError(Exception):
    """Root of every error the verifier raises."""


class EncodingError(VerificationError):
    """Bytes or values outside what the format allows."""


class CanonicalizationError(EncodingError):
    """A value that RFC 8785 canonical JSON cannot represent exactly."""


class ProofError(VerificationError):
    """An RFC 9162 proof that does not check."""


class InclusionProofError(ProofError):
    """An inclusion proof that is malformed for its index and size, or does not check."""


class ConsistencyProofError(ProofError):
    """A consistency proof that is malformed for its sizes, or does not check."""


class RootMismatchError(ProofError):
    """A proof computes a root different from the one expected."""

    def __init__(self, message: str, *, expected: bytes, calculated: bytes) -> None:
        super().__init__(f"{message}: expected {expected.hex()}, calculated {calculated.hex()}")
        self.expected = expected
        self.calculated = calculated


class NoteError(VerificationError):
    """A C2SP signed note that is malformed or not signed by a trusted key."""


class NoteFormatError(NoteError):
    """A note whose text breaks the signed-note format."""


class KeyFormatError(NoteError):
    """A verifier or signer key string that breaks the format."""


class SignatureError(NoteError):
    """A signature line that does not verify under its key."""


class UnknownKeyError(NoteError):
    """A note with no signature by any of the keys the caller trusts."""


class CheckpointError(VerificationError):
    """A checkpoint body that breaks the C2SP tlog-checkpoint format."""
