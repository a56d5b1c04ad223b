"""Offline proofs in the C2SP tlog-proof form: served by a real ``lotledger serve``, checked by
the real ``lotledger-verify tlog-proof``; a changed byte fails (exit 1), a wrong key or a
missing witness is not the trusted log or policy (exit 2)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ledger import Ledger, Settings
from ledger.log.witnessing import WitnessConfig, witness_checkpoint
from tests.api_fixtures import ApiClient, Keys, api_keys, client, serve  # noqa: F401 - fixtures
from tests.conftest import LETTUCE, Events
from verifier.errors import FormatError
from verifier.hashing import leaf_hash
from verifier.note import (
    ALG_COSIGNATURE_V1,
    SignerKey,
    VerifierKey,
    add_signatures,
    cosign_checkpoint,
    parse_note,
)
from verifier.proofs import inclusion_proof_length
from verifier.tlog_proof import HEADER, TlogProof, verify_tlog_proof
from verifier.witness import Witness
from verifier.witness import serve as serve_witness

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
SIZE = 11  # proofs of 1 to 4 hashes, a right edge that is not a perfect subtree


def verify(*args: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOTLEDGER_")}
    return subprocess.run(
        [str(BIN / "lotledger-verify"), "tlog-proof", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.fixture
def witness_key() -> SignerKey:
    return SignerKey.generate("witness.example/w1", ALG_COSIGNATURE_V1)


@pytest.fixture
def witness_url(tmp_path: Path, witness_key: SignerKey, world: Ledger) -> Iterator[str]:
    server = serve_witness(
        Witness(tmp_path / "witness", witness_key, [world.verifier_key]), "127.0.0.1", 0
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def mutate_base64(text: str, at: int) -> str:
    """``text`` with its character at ``at`` replaced by another base64 digit."""
    new = "B" if text[at] != "B" else "C"
    return text[:at] + new + text[at + 1 :]


def test_served_proofs_verify_offline_and_any_change_fails(
    world: Ledger,
    settings: Settings,
    api_keys: Keys,  # noqa: F811
    witness_key: SignerKey,
    witness_url: str,
    tmp_path: Path,
) -> None:
    ev = Events()
    events = [ev.register(f"P{i}", "7") for i in range(SIZE)]
    world.append(events[:4], actor="farm")
    world.append(events[4:], actor="farm")
    # A real witness cosigns the latest checkpoint; the service serves it with the proof.
    assert witness_checkpoint(world, WitnessConfig(witness_url, witness_key.verifier_key())) == (
        SIZE
    )
    key = str(world.verifier_key)
    wkey = str(witness_key.verifier_key())

    for base in serve(settings):
        regulator = {"Authorization": f"Bearer {api_keys.regulator}"}
        files: list[Path] = []
        for index in range(SIZE):
            answer = httpx.get(
                f"{base}/v1/log/tlog-proof", params={"index": index}, headers=regulator
            )
            assert answer.status_code == 200, answer.text
            assert answer.headers["content-type"].startswith("text/plain")
            assert f'filename="entry-{index}.tlog-proof"' in answer.headers["content-disposition"]
            path = tmp_path / f"entry-{index}.tlog-proof"
            path.write_bytes(answer.content)
            files.append(path)
        by_event = httpx.get(
            f"{base}/v1/events/tlog-proof?event_id={events[5]['event_id']}",
            headers={"Authorization": f"Bearer {api_keys.farm}"},
        )
        assert by_event.status_code == 200, by_event.text
        assert by_event.content == files[5].read_bytes()

    # The file is the spec's layout: header, extra (the leaf), index, hashes, blank, note.
    text = files[5].read_text()
    lines = text.split("\n")
    assert lines[0] == HEADER
    assert lines[1].startswith("extra ")
    assert lines[2] == "index 5"
    hashes = inclusion_proof_length(5, SIZE)
    assert lines[3 + hashes] == ""
    note = "\n".join(lines[4 + hashes :])
    assert note.startswith(f"{world.origin}\n{SIZE}\n")
    assert {sig.name for sig in parse_note(note).signatures} == {
        world.origin,
        witness_key.name,
    }

    for index, path in enumerate(files):
        checked = verify(path, "--key", key, "--witness", wkey)
        assert checked.returncode == 0, checked.stderr
        assert checked.stdout.startswith(
            f"VERIFIED entry {index} of log {world.origin}: included in the signed tree of "
            f"size {SIZE}, root "
        )
        assert f"cosigned by {witness_key.name} (at " in checked.stdout
        assert f"farm: registered 7 kg of 09506000134352/P{index} " in checked.stdout

    # Any changed byte: a proof hash, the leaf (extra), the root, the signatures, the index.
    def changed(line: int, at: int) -> str:
        lines = text.split("\n")
        lines[line] = mutate_base64(lines[line], at)
        return "\n".join(lines)

    note_start = 4 + hashes
    mutations = {
        "first proof hash": changed(3, 0),
        "last proof hash": changed(2 + hashes, 5),
        "leaf bytes": changed(1, len("extra ") + 40),
        "checkpoint root": changed(note_start + 2, 0),
        "log signature": changed(note_start + 4, len(f"— {world.origin} ") + 10),
        "witness cosignature": changed(note_start + 5, len(f"— {witness_key.name} ") + 20),
        "index": text.replace("\nindex 5\n", "\nindex 4\n"),  # same proof length, other leaf
        "checkpoint size": text.replace(f"\n{SIZE}\n", f"\n{SIZE + 1}\n"),
    }
    for what, body in mutations.items():
        assert body != text, what
        path = tmp_path / "changed.tlog-proof"
        path.write_text(body)
        checked = verify(path, "--key", key, "--witness", wkey)
        assert checked.returncode == 1, f"{what}: {checked.stdout} {checked.stderr}"
        assert checked.stderr.startswith("FAILED: "), what

    # Not the trusted log: another log's key, or another key under the same name: exit 2.
    other_name = SignerKey.generate("other.example/log").verifier_key()
    same_name = SignerKey.generate(world.origin).verifier_key()
    for wrong in (other_name, same_name):
        checked = verify(files[5], "--key", str(wrong))
        assert checked.returncode == 2, checked.stderr
        assert "not the log you trust" in checked.stderr
    # A witness the policy asks for that did not cosign: not enough trust, exit 2.
    stranger = str(SignerKey.generate("witness.example/w2", ALG_COSIGNATURE_V1).verifier_key())
    checked = verify(files[5], "--key", key, "--witness", wkey, "--witness", stranger)
    assert checked.returncode == 2
    assert "not cosigned as required" in checked.stderr
    assert "witness.example/w2" in checked.stderr
    checked = verify(
        files[5], "--key", key, "--witness", wkey, "--witness", stranger, "--quorum", "1"
    )
    assert checked.returncode == 0, checked.stderr
    # Not a tlog-proof at all: exit 2, not 1.
    (tmp_path / "garbage").write_text("hello\n\nworld\n")
    checked = verify(tmp_path / "garbage", "--key", key)
    assert checked.returncode == 2
    assert "c2sp.org/tlog-proof@v1" in checked.stderr


def test_a_proof_without_extra_takes_the_leaf_from_a_file(world: Ledger, tmp_path: Path) -> None:
    ev = Events()
    world.append([ev.register(f"Q{i}") for i in range(5)], actor="farm")
    size, root, note = world.latest_checkpoint()
    entry = world.entries(3, 4)[0]
    bare = TlogProof(3, tuple(world.inclusion_proof(3, size)), note)
    assert "extra" not in bare.encode()
    assert TlogProof.parse(bare.encode()) == bare
    (tmp_path / "p").write_text(bare.encode())
    (tmp_path / "leaf").write_bytes(entry.leaf_bytes)
    (tmp_path / "other").write_bytes(world.entries(2, 3)[0].leaf_bytes)
    key = str(world.verifier_key)
    assert verify(tmp_path / "p", "--key", key).returncode == 2  # no leaf to check
    checked = verify(tmp_path / "p", "--key", key, "--leaf", tmp_path / "leaf")
    assert checked.returncode == 0, checked.stderr
    assert f"root {root.hex()}" in checked.stdout
    assert verify(tmp_path / "p", "--key", key, "--leaf", tmp_path / "other").returncode == 1

    verified = verify_tlog_proof(bare, world.verifier_key, leaf=entry.leaf_bytes)
    assert (verified.index, verified.size, verified.root) == (3, size, root)
    assert leaf_hash(verified.leaf) == entry.leaf_hash
    assert verified.envelope is not None
    assert verified.envelope["seq"] == 3


def test_cosignatures_added_offline_are_checked(world: Ledger, tmp_path: Path) -> None:
    ev = Events()
    world.append([ev.register(f"R{i}") for i in range(3)], actor="farm")
    size, _root, note = world.latest_checkpoint()
    w1 = SignerKey.generate("witness.example/a", ALG_COSIGNATURE_V1)
    w2 = SignerKey.generate("witness.example/b", ALG_COSIGNATURE_V1)
    body = parse_note(note).text
    cosigned = add_signatures(
        note, cosign_checkpoint(body, w1, 1_700_000_000), cosign_checkpoint(body, w2, 1_700_000_1)
    )
    proof = TlogProof(
        1, tuple(world.inclusion_proof(1, size)), cosigned, world.entries(1, 2)[0].leaf_bytes
    )
    keys = [w1.verifier_key(), w2.verifier_key()]
    verified = verify_tlog_proof(proof, world.verifier_key, witnesses=keys)
    assert verified.cosigned_by == (
        ("witness.example/a", 1_700_000_000),
        ("witness.example/b", 1_700_000_1),
    )


@pytest.mark.parametrize(
    ("desc", "text", "needle"),
    [
        ("no header", "c2sp.org/tlog-proof@v2\nindex 0\n\n", "line 1"),
        ("no index", f"{HEADER}\nextra AA==\n\n", "index N"),
        ("leading zero", f"{HEADER}\nindex 01\n\n", "not a decimal"),
        ("negative", f"{HEADER}\nindex -1\n\n", "not a decimal"),
        ("bad extra", f"{HEADER}\nextra !!\nindex 0\n\n", "extra"),
        ("non-canonical base64", f"{HEADER}\nextra AB==\nindex 0\n\n", "canonical"),
        ("no blank line", f"{HEADER}\nindex 0\n", "blank line"),
        ("short hash", f"{HEADER}\nindex 0\nAAAA\n\n", "32 bytes"),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 25 else "",
)
def test_malformed_proofs_are_format_errors(desc: str, text: str, needle: str) -> None:
    with pytest.raises(FormatError, match=needle):
        TlogProof.parse(text)


def test_proofs_over_the_api_follow_the_visibility_rule(
    world: Ledger,
    client: ApiClient,  # noqa: F811
    api_keys: Keys,  # noqa: F811
) -> None:
    ev = Events()
    mine = ev.register("V1")
    answer = client.post("/v1/events", key=api_keys.farm, json={"events": [mine]})
    assert answer.status_code == 201
    path = f"/v1/events/tlog-proof?event_id={mine['event_id']}"
    expected = {
        "farm": 200,  # wrote it
        "regulator": 200,  # sees everything
        "store": 404,  # another organisation: as if there were no such event
        "admin": 403,  # the operator reads the log's contents through /v1/log
    }
    for who, status in expected.items():
        got = client.get(path, key=getattr(api_keys, who))
        assert got.status_code == status, (who, got.text)
    assert client.get(path).status_code == 401
    unknown = client.get(
        "/v1/events/tlog-proof?event_id=00000000-0000-4000-8000-000000000000", key=api_keys.farm
    )
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"

    log_path = "/v1/log/tlog-proof?index=0"
    for who, status in {"regulator": 200, "admin": 200, "farm": 403, "store": 403}.items():
        got = client.get(log_path, key=getattr(api_keys, who))
        assert got.status_code == status, (who, got.text)
    beyond = client.get("/v1/log/tlog-proof?index=1", key=api_keys.regulator)
    assert beyond.status_code == 404
    assert "covers entries 0..0" in beyond.json()["detail"]
    assert client.get("/v1/log/tlog-proof?index=-1", key=api_keys.regulator).status_code == 422

    proof = TlogProof.parse(client.get(log_path, key=api_keys.admin).text)
    verified = verify_tlog_proof(proof, VerifierKey.parse(client.get("/v1/log/key").text.strip()))
    assert verified.envelope is not None
    assert verified.envelope["event"]["event_id"] == mine["event_id"]


def test_a_bundles_entries_are_tlog_proofs(
    world: Ledger,
    client: ApiClient,  # noqa: F811
    api_keys: Keys,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A verified bundle writes each of its entries as a tlog-proof: same leaf, same proof,
    the bundle's checkpoint; each verifies alone, and equals what the log route serves."""
    ev = Events()
    events = [
        ev.register("B1"),
        ev.register("B2"),
        ev.ship("B1", "10", frm="farm-field-1", to="fresh-plant"),
    ]
    assert client.post("/v1/events", key=api_keys.farm, json={"events": events}).status_code == 201
    bundle = client.get(f"/v1/lots/{LETTUCE}/B1/bundle", key=api_keys.regulator)
    assert bundle.status_code == 200
    (tmp_path / "bundle.json").write_bytes(bundle.content)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOTLEDGER_")}
    key = str(world.verifier_key)
    done = subprocess.run(
        [str(BIN / "lotledger-verify"), "bundle", str(tmp_path / "bundle.json"), "--key", key,
         "--tlog-proofs", str(tmp_path / "proofs")],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith(
        "VERIFIED\nwrote 2 tlog-proofs to " + str(tmp_path / "proofs") + "\n"
    )
    written = sorted(p.name for p in (tmp_path / "proofs").iterdir())
    assert written == ["entry-0.tlog-proof", "entry-2.tlog-proof"]
    for name in written:
        seq = int(name.split("-")[1].split(".")[0])
        served = client.get(f"/v1/log/tlog-proof?index={seq}", key=api_keys.regulator)
        assert (tmp_path / "proofs" / name).read_text() == served.text  # no witnesses here
        checked = verify(tmp_path / "proofs" / name, "--key", key)
        assert checked.returncode == 0, checked.stderr
        assert f"VERIFIED entry {seq} of log " in checked.stdout
