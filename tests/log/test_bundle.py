"""Provenance bundles: built by the ledger, verified by the verifier, every mutation refused."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ledger import Ledger
from ledger.log.export import build_bundle
from tests.conftest import SALAD, TOMATO, Events
from tests.log.test_audit import LETTUCE, demo_log
from verifier.bundle import Bundle, render_timeline, verify_bundle
from verifier.errors import VerificationError
from verifier.note import Checkpoint, SignerKey, VerifierKey, sign_note, verify_checkpoint
from verifier.proofs import verify_consistency, verify_inclusion

VECTORS = Path(__file__).parent.parent / "vectors"


@pytest.fixture
def demo(world: Ledger, ev: Events) -> Ledger:
    return demo_log(world, ev)


# The seqs a trace of salad S1 finds in the demo log: its inputs' registrations, shipments
# and receipts, the transform, and everything after.
SALAD_SEQS = [0, 1, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15]


def bundle_of(ledger: Ledger, seqs: list[int] = SALAD_SEQS) -> dict[str, Any]:
    return build_bundle(ledger, seqs, (SALAD, "S1"))


def test_demo_bundle_verifies_and_renders(demo: Ledger) -> None:
    bundle = Bundle.from_json(json.dumps(bundle_of(demo)))
    provenance = verify_bundle(bundle, demo.verifier_key)
    assert [e.seq for e in provenance.entries] == SALAD_SEQS
    assert provenance.tree_size == 17
    timeline = render_timeline(provenance)
    assert "transformed 30 kg of 09506000134352/L1, 20 kg of 04006381333931/T1 into 50 kg" in (
        timeline
    )
    assert f"sold 5.25 kg of {SALAD}/S1 at store-1" in timeline
    assert timeline.count("[verified]") == len(SALAD_SEQS)


def test_bundle_for_every_demo_lot_verifies(demo: Ledger) -> None:
    for lot, seqs in [((LETTUCE, "L1"), [0, 3, 5, 7, 9]), ((TOMATO, "T1"), [1, 4, 6, 7])]:
        data = build_bundle(demo, seqs, lot)
        verify_bundle(Bundle.from_json(json.dumps(data).encode()), demo.verifier_key)


def _flip(text: str, bit: int = 0) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[bit // 8 % len(raw)] ^= 1 << (bit % 8)
    return base64.b64encode(bytes(raw)).decode()


Mutation = Callable[[dict[str, Any]], None]


def mutations(bundle: dict[str, Any]) -> list[tuple[str, Mutation]]:
    out: list[tuple[str, Mutation]] = []

    def add(name: str, fn: Mutation) -> None:
        out.append((name, fn))

    add("format", lambda b: b.update(format="lotledger-export"))
    add("version", lambda b: b.update(version=3))
    add("version 1 with a scope", lambda b: b.update(version=1))
    add("version as text", lambda b: b.update(version="2"))
    add("no scope", lambda b: b.pop("scope"))
    add("scope of nobody", lambda b: b.update(scope="visible to "))
    add("scope not a sentence", lambda b: b.update(scope="everything"))
    add("extra field", lambda b: b.update(extra=1))
    add("missing field", lambda b: b.pop("key_id"))
    add("origin", lambda b: b.update(origin="evil.example/log"))
    add("key id", lambda b: b.update(key_id="00000000"))
    add("lot not in the entries", lambda b: b.update(lot={"gtin": SALAD, "lot": "S2"}))
    add("no entries", lambda b: b.update(entries=[]))
    add("entries reordered", lambda b: b["entries"].reverse())
    add("entry repeated", lambda b: b["entries"].insert(1, copy.deepcopy(b["entries"][0])))
    add(
        "checkpoint body changed",
        lambda b: b.update(checkpoint=b["checkpoint"].replace("\n17\n", "\n18\n")),
    )
    add(
        "checkpoint signature bit",
        lambda b: b.update(checkpoint=b["checkpoint"][:-10] + "A" + b["checkpoint"][-9:]),
    )

    def resigned(b: dict[str, Any]) -> None:
        impostor = SignerKey.generate(b["origin"])
        body = b["checkpoint"].split("\n\n")[0] + "\n"
        b["checkpoint"] = sign_note(body, impostor)

    add("checkpoint re-signed by another key", resigned)
    for index, entry in enumerate(bundle["entries"]):
        seq = entry["seq"]
        add(
            f"entry {seq} seq+1",
            lambda b, i=index: b["entries"][i].update(seq=b["entries"][i]["seq"] + 1),
        )
        add(
            f"entry {seq} seq-1",
            lambda b, i=index: b["entries"][i].update(seq=b["entries"][i]["seq"] - 1),
        )
        add(
            f"entry {seq} leaf bit",
            lambda b, i=index: b["entries"][i].update(leaf=_flip(b["entries"][i]["leaf"], 200)),
        )
        add(f"entry {seq} proof dropped", lambda b, i=index: b["entries"][i]["proof"].pop())
        add(
            f"entry {seq} proof hash added",
            lambda b, i=index: b["entries"][i]["proof"].append(b["entries"][i]["proof"][0]),
        )
        for k in range(len(entry["proof"])):
            add(
                f"entry {seq} proof[{k}] bit",
                lambda b, i=index, k=k: b["entries"][i]["proof"].__setitem__(
                    k, _flip(b["entries"][i]["proof"][k], 77)
                ),
            )
    return out


def test_every_systematic_mutation_is_rejected(demo: Ledger) -> None:
    original = bundle_of(demo)
    verify_bundle(Bundle.from_json(json.dumps(original)), demo.verifier_key)
    cases = mutations(original)
    assert len(cases) > 80
    accepted = []
    for name, mutate in cases:
        mutated = copy.deepcopy(original)
        mutate(mutated)
        try:
            verify_bundle(Bundle.from_json(json.dumps(mutated)), demo.verifier_key)
        except VerificationError:
            continue
        accepted.append(name)
    assert accepted == []


def test_failures_name_the_entry_and_check(demo: Ledger) -> None:
    data = bundle_of(demo)
    data["entries"][3]["proof"][0] = _flip(data["entries"][3]["proof"][0])
    with pytest.raises(VerificationError) as caught:
        verify_bundle(Bundle.from_json(json.dumps(data)), demo.verifier_key)
    message = str(caught.value)
    assert message.startswith("entry 4: inclusion proof:")
    assert "expected" in message
    assert "calculated" in message


def test_wrong_key_is_refused(demo: Ledger) -> None:
    other = SignerKey.generate(demo.origin).verifier_key()
    with pytest.raises(VerificationError, match="key given"):
        verify_bundle(Bundle.from_json(json.dumps(bundle_of(demo))), other)


def test_bundle_against_a_pinned_checkpoint(demo: Ledger) -> None:
    note = demo.checkpoint_at(8)
    data = build_bundle(demo, [0, 3, 5, 7], (LETTUCE, "L1"), note=note)
    assert verify_bundle(Bundle.from_json(json.dumps(data)), demo.verifier_key).tree_size == 8


def test_verifier_checks_accept_the_shared_vectors() -> None:
    notes = json.loads((VECTORS / "signed-note.json").read_text())["checkpoint_8"]
    checkpoint = verify_checkpoint(notes["note"], VerifierKey.parse(notes["verifier_key"]))
    assert checkpoint == Checkpoint(notes["origin"], 8, bytes.fromhex(notes["root_hex"]))
    merkle = json.loads((VECTORS / "rfc9162-merkle.json").read_text())
    assert merkle["roots"]["8"] == notes["root_hex"]
    # Every inclusion and consistency proof of the shared tree checks, through the same
    # functions bundles and the audit use; those up to size 8 against the signed root.
    checked = 0
    for case in merkle["inclusion"]:
        root = bytes.fromhex(case["root"])
        if case["tree_size"] == 8:
            assert root == checkpoint.root_hash
        proof = [bytes.fromhex(h) for h in case["proof"]]
        verify_inclusion(
            case["leaf_index"], case["tree_size"], bytes.fromhex(case["leaf_hash"]), proof, root
        )
        checked += 1
    for case in merkle["consistency"]:
        verify_consistency(
            case["first_size"],
            case["second_size"],
            bytes.fromhex(case["first_root"]),
            bytes.fromhex(case["second_root"]),
            [bytes.fromhex(h) for h in case["proof"]],
        )
        checked += 1
    assert checked > 50
