"""RFC 9162 inclusion and consistency proof verification (sections 2.1.3.2 and 2.1.4.2).

Every function checks its preconditions (index and sizes in range, proof length
exactly what the sizes require, every hash ``HASH_SIZE`` bytes) before hashing,
then runs the RFC's algorithm. Verification returns ``None`` or raises:
``InclusionProofError`` / ``ConsistencyProofError`` for malformed input and
``RootMismatchError`` (with ``expected`` and ``calculated``) when a well-formed
proof leads to a different root. Building proofs is the ledger's job; the
verifier only checks them. Structure after transparency-dev/merkle
``proof/verify.go``.
"""

from __future__ import annotations

from collections.abc import Sequence

from verifier.errors import ConsistencyProofError, InclusionProofError, RootMismatchError
from verifier.hashing import EMPTY_ROOT, HASH_SIZE, node_hash

__all__ = [
    "consistency_proof_length",
    "inclusion_proof_length",
    "root_from_inclusion_proof",
    "verify_consistency",
    "verify_inclusion",
]


def _inner_and_border(index: int, size: int) -> tuple[int, int]:
    """Split the audit path of leaf ``index`` in a tree of ``size`` into two parts.

    ``inner``: levels below the point where the path to ``index`` and the path to
    the last leaf ``size - 1`` diverge; each holds a sibling hash. ``border``:
    above it, the path runs along the tree's right border, where a sibling exists
    only for each 1 bit of the remaining index (a perfect subtree on the left).
    """
    inner = (index ^ (size - 1)).bit_length()
    border = (index >> inner).bit_count()
    return inner, border


def inclusion_proof_length(index: int, size: int) -> int:
    """Number of hashes in the inclusion proof of leaf ``index``; needs ``0 <= index < size``."""
    if not 0 <= index < size:
        raise InclusionProofError(f"leaf index {index} is outside a tree of size {size}")
    inner, border = _inner_and_border(index, size)
    return inner + border


def consistency_proof_length(size1: int, size2: int) -> int:
    """Number of hashes in the consistency proof from ``size1`` to ``size2``.

    Needs ``0 <= size1 <= size2``.
    """
    if not 0 <= size1 <= size2:
        raise ConsistencyProofError(f"tree sizes must satisfy 0 <= {size1} <= {size2}")
    if size1 in (0, size2):
        return 0
    # The proof is the inclusion path of leaf size1 - 1, minus the levels inside the
    # largest perfect subtree ending at size1 (the verifier knows that subtree's hash
    # as the old root when size1 is a power of two; otherwise the proof starts with it).
    inner, border = _inner_and_border(size1 - 1, size2)
    shift = (size1 & -size1).bit_length() - 1  # trailing zero bits of size1
    seed = 0 if size1 == 1 << shift else 1
    return seed + inner - shift + border


def _check_hash(what: str, value: bytes, error: type[Exception]) -> None:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        length = len(value) if isinstance(value, bytes) else type(value).__name__
        raise error(f"{what} must be {HASH_SIZE} bytes, got {length}")


def root_from_inclusion_proof(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes]
) -> bytes:
    """The root that ``proof`` implies for ``leaf_hash`` at ``index`` in a tree of ``size``.

    Preconditions (``InclusionProofError`` otherwise): ``0 <= index < size``, the
    proof has exactly ``inclusion_proof_length(index, size)`` elements, and the
    leaf hash and every element are 32 bytes.
    """
    if not 0 <= index < size:
        raise InclusionProofError(f"leaf index {index} is outside a tree of size {size}")
    expected = inclusion_proof_length(index, size)
    if len(proof) != expected:
        raise InclusionProofError(
            f"inclusion proof for leaf {index} of {size} needs {expected} hashes, got {len(proof)}"
        )
    _check_hash("leaf hash", leaf_hash, InclusionProofError)
    for position, element in enumerate(proof):
        _check_hash(f"proof element {position}", element, InclusionProofError)

    # RFC 9162 section 2.1.3.2.
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:  # unreachable after the length check; kept as the RFC states it
            raise InclusionProofError("inclusion proof is longer than the path")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:  # unreachable after the length check
        raise InclusionProofError("inclusion proof is shorter than the path")
    return r


def verify_inclusion(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` with ``root``.

    Raises ``InclusionProofError`` for malformed input (see
    ``root_from_inclusion_proof``) and ``RootMismatchError`` when the proof leads
    to another root.
    """
    _check_hash("root", root, InclusionProofError)
    calculated = root_from_inclusion_proof(index, size, leaf_hash, proof)
    if calculated != root:
        raise RootMismatchError(
            f"inclusion proof for leaf {index} of {size} does not lead to the root",
            expected=root,
            calculated=calculated,
        )


def verify_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree (``size1``, ``root1``) is a prefix of the tree (``size2``, ``root2``).

    Preconditions (``ConsistencyProofError`` otherwise): ``0 <= size1 <= size2``,
    the proof has exactly ``consistency_proof_length(size1, size2)`` elements, and
    both roots and every element are 32 bytes. Equal sizes need an empty proof and
    equal roots. The empty tree is a prefix of every tree: ``size1 == 0`` needs an
    empty proof and ``root1`` equal to the empty root (SHA-256 of nothing).
    Raises ``RootMismatchError`` when a root differs from the one the proof implies.
    """
    if not 0 <= size1 <= size2:
        raise ConsistencyProofError(f"tree sizes must satisfy 0 <= {size1} <= {size2}")
    _check_hash("first root", root1, ConsistencyProofError)
    _check_hash("second root", root2, ConsistencyProofError)
    expected = consistency_proof_length(size1, size2)
    if len(proof) != expected:
        raise ConsistencyProofError(
            f"consistency proof from {size1} to {size2} needs {expected} hashes, got {len(proof)}"
        )
    for position, element in enumerate(proof):
        _check_hash(f"proof element {position}", element, ConsistencyProofError)

    if size1 == 0:
        if root1 != EMPTY_ROOT:
            raise RootMismatchError(
                "the root of the empty tree is SHA-256 of nothing",
                expected=root1,
                calculated=EMPTY_ROOT,
            )
        return
    if size1 == size2:
        if root1 != root2:
            raise RootMismatchError(
                f"trees of equal size {size1} must have equal roots",
                expected=root2,
                calculated=root1,
            )
        return

    # RFC 9162 section 2.1.4.2.
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # size1 is a power of two: the old root is a subtree
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:  # unreachable after the length check
            raise ConsistencyProofError("consistency proof is longer than the path")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:  # unreachable after the length check
        raise ConsistencyProofError("consistency proof is shorter than the path")
    if fr != root1:
        raise RootMismatchError(
            f"consistency proof from {size1} to {size2} does not lead to the first root",
            expected=root1,
            calculated=fr,
        )
    if sr != root2:
        raise RootMismatchError(
            f"consistency proof from {size1} to {size2} does not lead to the second root",
            expected=root2,
            calculated=sr,
        )
