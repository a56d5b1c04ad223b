"""The witness (c2sp.org/tlog-witness) and the service's side of witnessing."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger import Ledger
from ledger.log.witnessing import (
    WitnessConfig,
    WitnessingError,
    cosigned_checkpoint,
    load_witnesses,
    witness_checkpoint,
)
from tests.conftest import Events
from tests.log.test_audit import demo_log, rewrite_history, unlock
from verifier.errors import WitnessRefusal
from verifier.note import (
    ALG_COSIGNATURE_V1,
    SignerKey,
    sign_note,
    verify_checkpoint,
    verify_cosignature,
)
from verifier.witness import Witness, encode_add_checkpoint, parse_add_checkpoint, serve


@pytest.fixture
def witness_key() -> SignerKey:
    return SignerKey.generate("witness.example/w1", ALG_COSIGNATURE_V1)


@pytest.fixture
def witness(tmp_path: Path, witness_key: SignerKey, ledger: Ledger) -> Witness:
    return Witness(tmp_path / "witness", witness_key, [ledger.verifier_key])


def add(witness: Witness, ledger: Ledger, old: int) -> str:
    size, _root, note = ledger.latest_checkpoint()
    proof = ledger.consistency_proof(old, size) if 0 < old < size else []
    return witness.add_checkpoint(old, proof, note, now=1_700_000_000)


def test_witness_cosigns_a_growing_log(
    witness: Witness, witness_key: SignerKey, world: Ledger, ev: Events
) -> None:
    world.append([ev.register("A1"), ev.register("A2"), ev.register("A3")], actor="farm")
    line = add(witness, world, 0)
    note = world.latest_checkpoint()[2]
    cosigned = note + line
    assert verify_cosignature(cosigned, witness_key.verifier_key()) == 1_700_000_000
    assert witness.state(world.origin).size == 3
    world.append([ev.register(f"B{i}") for i in range(6)], actor="farm")
    add(witness, world, 3)
    assert witness.state(world.origin).size == 9
    add(witness, world, 9)  # the same checkpoint again is fine


def status_of(call: object) -> WitnessRefusal:
    with pytest.raises(WitnessRefusal) as caught:
        call()  # type: ignore[operator]
    return caught.value


def test_witness_refusals_carry_the_c2sp_status(
    witness: Witness, world: Ledger, ev: Events
) -> None:
    world.append([ev.register("A1"), ev.register("A2")], actor="farm")
    add(witness, world, 0)
    world.append([ev.register("A3"), ev.register("A4"), ev.register("A5")], actor="farm")
    size, _root, note = world.latest_checkpoint()
    proof = world.consistency_proof(2, size)

    stale = status_of(lambda: witness.add_checkpoint(0, [], note))
    assert (stale.status, stale.size) == (409, 2)
    assert status_of(lambda: witness.add_checkpoint(9, [], note)).status == 400
    bad = [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]
    assert status_of(lambda: witness.add_checkpoint(2, bad, note)).status == 422
    assert status_of(lambda: witness.add_checkpoint(2, proof[:-1], note)).status == 422
    impostor = SignerKey.generate(world.origin)
    forged = note.split("\n\n")[0] + "\n"

    assert (
        status_of(lambda: witness.add_checkpoint(2, proof, sign_note(forged, impostor))).status
        == 403
    )
    other = SignerKey.generate("other.example/log")
    unknown = sign_note(f"other.example/log\n5\n{note.split(chr(10))[2]}\n", other)
    assert status_of(lambda: witness.add_checkpoint(2, proof, unknown)).status == 404
    assert status_of(lambda: witness.add_checkpoint(2, proof, "not a note")).status == 403
    assert witness.state(world.origin).size == 2  # nothing was accepted
    witness.add_checkpoint(2, proof, note)
    assert witness.state(world.origin).size == 5


def test_witness_refuses_a_fork_at_the_same_size(
    witness: Witness, world: Ledger, ev: Events
) -> None:
    world.append([ev.register("A1"), ev.register("A2")], actor="farm")
    add(witness, world, 0)
    unlock(world)
    rewrite_history(world, 1, lambda event: event.update(quantity="7"))
    refusal = status_of(lambda: add(witness, world, 2))
    assert (refusal.status, refusal.size) == (409, 2)


def test_witness_refuses_rewritten_history(witness: Witness, world: Ledger, ev: Events) -> None:
    demo_log(world, ev)
    add(witness, world, 0)
    unlock(world)
    rewrite_history(world, 5, lambda event: event.update(quantity="3"))
    world.append([ev.register("L9")], actor="farm")
    refusal = status_of(lambda: add(witness, world, 17))
    assert refusal.status == 422
    assert "not consistent" in refusal.reason


def test_witness_refuses_a_rollback(witness: Witness, world: Ledger, ev: Events) -> None:
    world.append([ev.register("A1"), ev.register("A2")], actor="farm")
    old_note = world.latest_checkpoint()[2]
    world.append([ev.register("A3")], actor="farm")
    add(witness, world, 0)
    assert status_of(lambda: witness.add_checkpoint(3, [], old_note)).status == 400
    assert status_of(lambda: witness.add_checkpoint(2, [], old_note)).status == 409


def test_request_body_round_trip_and_malformed() -> None:
    body = encode_add_checkpoint(5, [bytes(32), bytes([1]) * 32], "o\n5\nAA==\n\n— o x\n")
    assert parse_add_checkpoint(body) == (5, [bytes(32), bytes([1]) * 32], "o\n5\nAA==\n\n— o x\n")
    for bad in [b"old x\n\nnote", b"old 5\nnotbase64!\n\nnote", b"old 05\n\nn", b"old 5\nnote"]:
        assert status_of(lambda b=bad: parse_add_checkpoint(b)).status == 400


@pytest.fixture
def served(witness: Witness) -> Iterator[str]:
    server = serve(witness, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_service_gets_cosignatures_over_http(
    served: str, witness_key: SignerKey, world: Ledger, ev: Events, tmp_path: Path
) -> None:
    config = WitnessConfig(served, witness_key.verifier_key())
    assert load_witnesses(f"{served} {witness_key.verifier_key()}") == [config]
    world.append([ev.register("A1"), ev.register("A2")], actor="farm")
    assert witness_checkpoint(world, config) == 2
    note = cosigned_checkpoint(world)
    verify_checkpoint(note, world.verifier_key)
    assert verify_cosignature(note, witness_key.verifier_key()) > 0

    world.append([ev.register("A3")], actor="farm")
    # A fresh database row state: the service forgot what it sent (409, then retry).
    other = Witness(tmp_path / "witness", witness_key, [world.verifier_key])
    assert other.state(world.origin).size == 2
    with world.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM log_cosignatures")
    assert witness_checkpoint(world, config) == 3
    verify_cosignature(cosigned_checkpoint(world), witness_key.verifier_key())

    # The HTTP status codes themselves.
    request = urllib.request.Request(f"{served}/add-checkpoint", data=b"old 0\n\nx", method="POST")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    assert caught.value.code == 403
    body = encode_add_checkpoint(0, [], world.latest_checkpoint()[2])
    request = urllib.request.Request(f"{served}/add-checkpoint", data=body, method="POST")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    assert caught.value.code == 409
    assert caught.value.headers["Content-Type"] == "text/x.tlog.size"
    assert caught.value.read() == b"3\n"


def test_service_reports_a_refusal(
    served: str, witness_key: SignerKey, world: Ledger, ev: Events
) -> None:
    config = WitnessConfig(served, witness_key.verifier_key())
    demo_log(world, ev)
    witness_checkpoint(world, config)
    unlock(world)
    rewrite_history(world, 5, lambda event: event.update(quantity="3"))
    world.append([ev.register("L9")], actor="farm")
    with pytest.raises(WitnessingError) as caught:
        witness_checkpoint(world, config)
    assert caught.value.status == 422
