"""The verifier's errors. Verification returns nothing or raises one of these.

VerificationError                 root: anything the verifier refuses
├── EncodingError                 bytes or values that are not what the format allows
│   ├── CanonicalizationError     not representable as RFC 8785 canonical JSON
│   └── FormatError               an export, bundle, state file or witness request
│                                 breaks its versioned format (names line or field)
├── ProofError                    an RFC 9162 proof does not check
│   ├── InclusionProofError
│   ├── ConsistencyProofError
│   └── RootMismatchError         carries expected and calculated roots
├── NoteError                     a C2SP signed note is malformed or unsigned
│   ├── NoteFormatError
│   ├── KeyFormatError            a verifier or signer key string is malformed
│   ├── SignatureError            a signature does not verify
│   └── UnknownKeyError           no trusted key signed the note
├── CheckpointError               a checkpoint body is malformed
├── EntryError                    one log entry fails a check: carries seq, check,
│   │                             expected and found
│   ├── ChainError                seq or prev link broken (changed, removed, swapped,
│   │                             inserted entries)
│   ├── TreeError                 a stored tree node or a checkpoint root disagrees
│   │                             with the entries
│   └── CheckpointMismatchError   a checkpoint in the log is not signed by the log's key
├── HistoryRewrittenError         the log no longer extends the history audited or
│                                 witnessed before (carries old and new size)
├── UnknownLogError               the log's origin or key is not the one the auditor
│                                 trusts (another deployment, or the wrong key given)
├── LotNotFoundError              a recall or bundle names a lot the entries never mention
├── WitnessRefusal                a witness refuses a checkpoint: carries the C2SP
│                                 tlog-witness HTTP status (and its size on 409)
└── WitnessQuorumError            fewer of the trusted witnesses cosigned a checkpoint
                                  than the policy asks (not tampering: not enough trust)
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


class FormatError(EncodingError):
    """An export, bundle, state file or witness request that breaks its versioned format."""


class EntryError(VerificationError):
    """One log entry fails a check. ``seq`` names it, ``check`` says which check failed."""

    def __init__(self, seq: int, check: str, detail: str, *, expected: str = "", found: str = ""):
        message = f"entry {seq}: {check}: {detail}"
        if expected or found:
            message += f" (expected {expected}, found {found})"
        super().__init__(message)
        self.seq = seq
        self.check = check
        self.detail = detail
        self.expected = expected
        self.found = found


class ChainError(EntryError):
    """The entry's seq or prev link is not what its position in the chain requires."""


class TreeError(EntryError):
    """A stored tree node or a checkpoint root disagrees with the entries' hashes."""


class CheckpointMismatchError(EntryError):
    """A checkpoint in the log is malformed or not signed by the log's key."""


class HistoryRewrittenError(VerificationError):
    """The log does not extend the history audited or witnessed before."""

    def __init__(self, message: str, *, old_size: int, new_size: int, first_entry: int | None):
        super().__init__(message)
        self.old_size = old_size
        self.new_size = new_size
        self.first_entry = first_entry


class UnknownLogError(VerificationError):
    """The log's origin or key is not the trusted one: another deployment, or a wrong key."""


class LotNotFoundError(VerificationError):
    """The entries never mention the lot asked about."""


class WitnessRefusal(VerificationError):
    """A witness refuses a checkpoint, with the c2sp.org/tlog-witness HTTP status."""

    def __init__(self, status: int, message: str, *, size: int | None = None):
        super().__init__(f"{status}: {message}")
        self.status = status
        self.reason = message
        self.size = size


class WitnessQuorumError(VerificationError):
    """Fewer of the trusted witnesses cosigned a checkpoint than the policy asks for."""
