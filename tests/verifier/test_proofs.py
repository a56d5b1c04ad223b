"""RFC 9162 proof verification against the reference vectors, their mutations and the oracle."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.oracle import consistency_proof, inclusion_path, leaf_hashes_of, mth
from verifier.compact import CompactRange
from verifier.errors import (
    ConsistencyProofError,
    InclusionProofError,
    RootMismatchError,
    VerificationError,
)
from verifier.hashing import EMPTY_ROOT
from verifier.proofs import (
    consistency_proof_length,
    inclusion_proof_length,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)

VECTORS = json.loads((Path(__file__).parent.parent / "vectors" / "rfc9162-merkle.json").read_text())
LEAF_HASHES = [bytes.fromhex(h) for h in VECTORS["leaf_hashes"]]
ROOTS = {int(size): bytes.fromhex(root) for size, root in VECTORS["roots"].items()}
# Size mutations reach one past the vectors: a ninth leaf gives a root for size 9.
ROOTS_EXTENDED = {**ROOTS, 9: mth([*LEAF_HASHES, hashlib.sha256(b"ninth").digest()])}
ZERO_HASH = bytes(32)

INCLUSION = VECTORS["inclusion"]
CONSISTENCY = VECTORS["consistency"]


def inclusion_id(case: dict[str, Any]) -> str:
    return f"leaf{case['leaf_index']}-of-{case['tree_size']}"


def consistency_id(case: dict[str, Any]) -> str:
    return f"{case['first_size']}-to-{case['second_size']}"


def flip_bit(data: bytes, bit: int = 0) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def proof_mutations(proof: list[bytes]) -> Iterator[tuple[str, list[bytes]]]:
    """Every element with one bit flipped, each element dropped, an element added."""
    for i in range(len(proof)):
        for bit in (0, 255):
            yield (
                f"element {i} bit {bit} flipped",
                [*proof[:i], flip_bit(proof[i], bit), *proof[i + 1 :]],
            )
        yield f"element {i} dropped", proof[:i] + proof[i + 1 :]
        yield f"element {i} duplicated", [*proof[: i + 1], proof[i], *proof[i + 1 :]]
    yield "zero hash appended", [*proof, ZERO_HASH]
    yield "zero hash prepended", [ZERO_HASH, *proof]


def test_vector_leaf_hashes_and_roots_match_oracle() -> None:
    entries = [bytes.fromhex(h) for h in VECTORS["leaf_inputs"]]
    assert leaf_hashes_of(entries) == LEAF_HASHES
    assert sorted(ROOTS) == list(range(9))
    for size, root in ROOTS.items():
        assert mth(LEAF_HASHES[:size]) == root, size


@pytest.mark.parametrize("size", range(9))
def test_compact_range_root_matches_vector(size: int) -> None:
    compact = CompactRange()
    for leaf in LEAF_HASHES[:size]:
        compact.append(leaf)
    assert compact.root() == ROOTS[size]


# --- inclusion ---------------------------------------------------------------------------


def _inclusion(case: dict[str, Any]) -> tuple[int, int, bytes, list[bytes], bytes]:
    return (
        case["leaf_index"],
        case["tree_size"],
        bytes.fromhex(case["leaf_hash"]),
        [bytes.fromhex(p) for p in case["proof"]],
        bytes.fromhex(case["root"]),
    )


@pytest.mark.parametrize("case", INCLUSION, ids=inclusion_id)
def test_inclusion_vector_verifies(case: dict[str, Any]) -> None:
    index, size, leaf, proof, root = _inclusion(case)
    assert leaf == LEAF_HASHES[index]
    assert root == ROOTS[size]
    assert proof == inclusion_path(index, LEAF_HASHES[:size])
    assert len(proof) == inclusion_proof_length(index, size)
    assert root_from_inclusion_proof(index, size, leaf, proof) == root
    verify_inclusion(index, size, leaf, proof, root)


def inclusion_mutations(
    index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes
) -> Iterator[tuple[str, Callable[[], None]]]:
    def call(i: int, n: int, lf: bytes, pr: list[bytes], rt: bytes) -> Callable[[], None]:
        return lambda: verify_inclusion(i, n, lf, pr, rt)

    yield "index - 1", call(index - 1, size, leaf, proof, root)
    yield "index + 1", call(index + 1, size, leaf, proof, root)
    # A changed size keeps the shape of some paths (leaf 0 of 3 and of 4 hash alike),
    # so the claim is "leaf in the tree of the new size", whose root is the new one.
    for new_size in (size - 1, size + 1):
        yield f"size {new_size}", call(index, new_size, leaf, proof, ROOTS_EXTENDED[new_size])
    for description, mutated in proof_mutations(proof):
        yield description, call(index, size, leaf, mutated, root)
    for other, other_root in ROOTS.items():
        if other != size:
            yield f"root of size {other}", call(index, size, leaf, proof, other_root)
    yield "leaf hash bit flipped", call(index, size, flip_bit(leaf), proof, root)
    yield "another leaf's hash", call(index, size, LEAF_HASHES[(index + 1) % 8], proof, root)
    yield "short leaf hash", call(index, size, leaf[:31], proof, root)
    yield "short root", call(index, size, leaf, proof, root[:31])


@pytest.mark.parametrize("case", INCLUSION, ids=inclusion_id)
def test_inclusion_vector_mutations_are_rejected(case: dict[str, Any]) -> None:
    args = _inclusion(case)
    verify_inclusion(*args)  # the unmutated proof passes, so each rejection means something
    count = 0
    for description, mutated in inclusion_mutations(*args):
        try:
            mutated()
        except VerificationError:
            count += 1
        else:
            pytest.fail(f"mutation accepted: {description}")
    assert count >= 8 + 4 * len(args[3])


@pytest.mark.parametrize(
    ("index", "size", "proof_length", "error"),
    [
        (-1, 4, 2, InclusionProofError),
        (4, 4, 2, InclusionProofError),
        (0, 0, 0, InclusionProofError),
        (0, 4, 1, InclusionProofError),
        (0, 4, 3, InclusionProofError),
    ],
)
def test_inclusion_preconditions(
    index: int, size: int, proof_length: int, error: type[Exception]
) -> None:
    with pytest.raises(error):
        verify_inclusion(index, size, LEAF_HASHES[0], [ZERO_HASH] * proof_length, ROOTS[4])


def test_inclusion_root_mismatch_carries_both_roots() -> None:
    index, size, leaf, proof, root = _inclusion(INCLUSION[-1])
    with pytest.raises(RootMismatchError) as caught:
        verify_inclusion(index, size, leaf, proof, ROOTS[7])
    assert caught.value.expected == ROOTS[7]
    assert caught.value.calculated == root


# --- consistency -------------------------------------------------------------------------


def _consistency(case: dict[str, Any]) -> tuple[int, int, bytes, bytes, list[bytes]]:
    return (
        case["first_size"],
        case["second_size"],
        bytes.fromhex(case["first_root"]),
        bytes.fromhex(case["second_root"]),
        [bytes.fromhex(p) for p in case["proof"]],
    )


@pytest.mark.parametrize("case", CONSISTENCY, ids=consistency_id)
def test_consistency_vector_verifies(case: dict[str, Any]) -> None:
    size1, size2, root1, root2, proof = _consistency(case)
    assert (root1, root2) == (ROOTS[size1], ROOTS[size2])
    assert proof == consistency_proof(size1, LEAF_HASHES[:size2])
    assert len(proof) == consistency_proof_length(size1, size2)
    verify_consistency(size1, size2, root1, root2, proof)


def consistency_mutations(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: list[bytes]
) -> Iterator[tuple[str, Callable[[], None]]]:
    def call(m: int, n: int, r1: bytes, r2: bytes, pr: list[bytes]) -> Callable[[], None]:
        return lambda: verify_consistency(m, n, r1, r2, pr)

    # As for inclusion, a changed size comes with the root of that size. Size 0 is
    # left out: the empty tree is a prefix of every tree, with an empty proof.
    for new_size in (size1 - 1, size1 + 1):
        if new_size > 0:
            yield (
                f"first size {new_size}",
                call(new_size, size2, ROOTS_EXTENDED[new_size], root2, proof),
            )
    for new_size in (size2 - 1, size2 + 1):
        yield (
            f"second size {new_size}",
            call(size1, new_size, root1, ROOTS_EXTENDED[new_size], proof),
        )
    for description, mutated in proof_mutations(proof):
        yield description, call(size1, size2, root1, root2, mutated)
    for other, other_root in ROOTS.items():
        if other_root != root1:
            yield f"first root of size {other}", call(size1, size2, other_root, root2, proof)
        if other_root != root2:
            yield f"second root of size {other}", call(size1, size2, root1, other_root, proof)
    if size1 != size2:
        yield "roots swapped", call(size1, size2, root2, root1, proof)
    yield "first root bit flipped", call(size1, size2, flip_bit(root1), root2, proof)
    yield "second root bit flipped", call(size1, size2, root1, flip_bit(root2), proof)


@pytest.mark.parametrize("case", CONSISTENCY, ids=consistency_id)
def test_consistency_vector_mutations_are_rejected(case: dict[str, Any]) -> None:
    args = _consistency(case)
    verify_consistency(*args)
    count = 0
    for description, mutated in consistency_mutations(*args):
        try:
            mutated()
        except VerificationError:
            count += 1
        else:
            pytest.fail(f"mutation accepted: {description}")
    assert count >= 18 + 4 * len(args[4])


def test_consistency_with_empty_tree() -> None:
    for size2 in range(9):
        verify_consistency(0, size2, EMPTY_ROOT, ROOTS[size2], [])
    with pytest.raises(ConsistencyProofError):
        verify_consistency(0, 3, EMPTY_ROOT, ROOTS[3], [LEAF_HASHES[0]])
    with pytest.raises(RootMismatchError):
        verify_consistency(0, 3, ROOTS[1], ROOTS[3], [])


@pytest.mark.parametrize(
    ("size1", "size2", "proof_length"),
    [(-1, 3, 0), (4, 3, 0), (3, 3, 1), (2, 4, 0), (2, 4, 2), (3, 7, 3), (3, 7, 5)],
)
def test_consistency_preconditions(size1: int, size2: int, proof_length: int) -> None:
    with pytest.raises(ConsistencyProofError):
        verify_consistency(size1, size2, ZERO_HASH, ZERO_HASH, [ZERO_HASH] * proof_length)


def test_consistency_equal_sizes_need_equal_roots() -> None:
    verify_consistency(5, 5, ROOTS[5], ROOTS[5], [])
    with pytest.raises(RootMismatchError) as caught:
        verify_consistency(5, 5, ROOTS[5], ROOTS[6], [])
    assert caught.value.expected == ROOTS[6]


def test_consistency_root_mismatch_carries_both_roots() -> None:
    size1, size2, root1, root2, proof = _consistency(CONSISTENCY[-2])  # 7 -> 8
    with pytest.raises(RootMismatchError) as caught:
        verify_consistency(size1, size2, root1, ROOTS[6], proof)
    assert caught.value.expected == ROOTS[6]
    assert caught.value.calculated == root2


# --- agreement with the oracle -----------------------------------------------------------

ORACLE_LEAVES = [hashlib.sha256(b"oracle leaf %d" % i).digest() for i in range(64)]


@pytest.mark.parametrize("size", range(1, 65))
def test_every_oracle_proof_verifies(size: int) -> None:
    leaves = ORACLE_LEAVES[:size]
    root = mth(leaves)
    compact = CompactRange()
    for leaf in leaves:
        compact.append(leaf)
    assert compact.root() == root
    for index in range(size):
        proof = inclusion_path(index, leaves)
        assert len(proof) == inclusion_proof_length(index, size)
        verify_inclusion(index, size, leaves[index], proof, root)
    for size1 in range(size + 1):
        proof = consistency_proof(size1, leaves)
        assert len(proof) == consistency_proof_length(size1, size)
        verify_consistency(size1, size, mth(leaves[:size1]), root, proof)
