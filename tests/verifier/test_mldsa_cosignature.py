"""ML-DSA-44 witness cosignatures (c2sp.org/tlog-cosignature, type 0x06): keys, the
``subtree/v1`` signed message built here from the spec's struct on its own, and the whole
path: a witness with an ML-DSA-44 key cosigns over HTTP, the service keeps the
cosignature, and ``lotledger-verify tlog-proof --witness`` checks it."""

from __future__ import annotations

import base64
import hashlib
import os
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA44PublicKey

from ledger import Ledger
from ledger.log.offline_proof import entry_tlog_proof
from ledger.log.witnessing import WitnessConfig, cosigned_checkpoint, load_witnesses
from ledger.log.witnessing import witness_checkpoint as submit
from tests.conftest import Events
from verifier.errors import KeyFormatError, SignatureError, UnknownKeyError
from verifier.note import (
    ALG_COSIGNATURE_MLDSA44,
    ALG_COSIGNATURE_V1,
    SignerKey,
    VerifierKey,
    add_signatures,
    cosign_checkpoint,
    parse_note,
    sign_note,
    verify_checkpoint,
    verify_cosignature,
)
from verifier.witness import Witness, serve

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
NAME = "witness.example/pq1"
SEED = bytes(range(32))
BODY = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
ROOT_HASH = base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")


def spec_message(name: str, timestamp: int, origin: str, size: int, root: bytes) -> bytes:
    """``cosigned_message`` exactly as the spec's TLS-style struct reads (written apart from
    ``verifier.note``): a 12-byte label, opaque<1..255> name, u64 timestamp, opaque<1..255>
    origin, u64 start (0 for a checkpoint), u64 end (the size), 32-byte hash."""
    label = b"subtree/v1\n\x00"
    assert len(label) == 12
    n, o = name.encode(), origin.encode()
    return (
        label
        + struct.pack("!B", len(n))
        + n
        + struct.pack("!Q", timestamp)
        + struct.pack("!B", len(o))
        + o
        + struct.pack("!QQ", 0, size)
        + root
    )


def signed(body: str, signer: SignerKey, timestamp: int) -> str:
    """A checkpoint note whose only signature is ``signer``'s cosignature (the log's own
    signature does not matter to these checks)."""
    log = SignerKey.generate(body.split("\n", 1)[0])
    return add_signatures(sign_note(body, log), cosign_checkpoint(body, signer, timestamp))


def test_keys_follow_the_spec() -> None:
    signer = SignerKey.from_seed(NAME, SEED, ALG_COSIGNATURE_MLDSA44)
    key = signer.verifier_key()
    assert len(key.public_key) == 1312
    assert key.key_id == hashlib.sha256(NAME.encode() + b"\n\x06" + key.public_key).digest()[:4]
    text = str(key)
    assert text.startswith(f"{NAME}+{key.key_id.hex()}+")
    assert base64.b64decode(text.split("+", 2)[2])[0] == 0x06
    assert VerifierKey.parse(text) == key
    assert SignerKey.parse(str(signer)).verifier_key() == key
    # The seed determines the key (FIPS 204 key generation from xi is deterministic).
    assert SignerKey.from_seed(NAME, SEED, ALG_COSIGNATURE_MLDSA44).verifier_key() == key
    # An Ed25519-sized key under type 0x06, or the reverse, is refused.
    with pytest.raises(KeyFormatError, match="ML-DSA-44 public key must be 1312 bytes"):
        VerifierKey.from_public_key(NAME, b"\x01" * 32, ALG_COSIGNATURE_MLDSA44)
    with pytest.raises(KeyFormatError, match="Ed25519 public key must be 32 bytes"):
        VerifierKey.from_public_key(NAME, key.public_key, ALG_COSIGNATURE_V1)


def test_the_signature_is_over_the_spec_message() -> None:
    signer = SignerKey.generate(NAME, ALG_COSIGNATURE_MLDSA44)
    key = signer.verifier_key()
    note = signed(BODY, signer, 1679315147)
    line = next(s for s in parse_note(note).signatures if s.name == NAME)
    assert line.key_id == key.key_id
    assert len(line.signature) == 8 + 2420
    assert int.from_bytes(line.signature[:8], "big") == 1679315147
    public = MLDSA44PublicKey.from_public_bytes(key.public_key)
    public.verify(
        line.signature[8:],
        spec_message(NAME, 1679315147, "example.com/behind-the-sofa", 20852163, ROOT_HASH),
    )
    # It commits to the cosigner's name, the time, the size and the root.
    for other in (
        spec_message(
            "witness.example/pq2", 1679315147, "example.com/behind-the-sofa", 20852163, ROOT_HASH
        ),
        spec_message(NAME, 1679315148, "example.com/behind-the-sofa", 20852163, ROOT_HASH),
        spec_message(NAME, 1679315147, "example.com/behind-the-sofa", 20852164, ROOT_HASH),
        spec_message(NAME, 1679315147, "example.com/other", 20852163, ROOT_HASH),
        spec_message(NAME, 1679315147, "example.com/behind-the-sofa", 20852163, bytes(32)),
    ):
        with pytest.raises(InvalidSignature):
            public.verify(line.signature[8:], other)
    assert verify_cosignature(note, key) == 1679315147


def test_changed_checkpoints_and_cosignatures_are_refused() -> None:
    signer = SignerKey.generate(NAME, ALG_COSIGNATURE_MLDSA44)
    key = signer.verifier_key()
    note = signed(BODY, signer, 1_700_000_000)
    for changed in (
        note.replace("\n20852163\n", "\n20852164\n"),
        note.replace("CsUYapGG", "CsUYapGH"),
    ):
        with pytest.raises(SignatureError):
            verify_cosignature(changed, key)
    # The timestamp inside the signature bytes is signed too.
    head, sig = note.rsplit(" ", 1)
    raw = bytearray(base64.b64decode(sig))
    raw[4 + 7] ^= 1
    with pytest.raises(SignatureError):
        verify_cosignature(f"{head} {base64.b64encode(bytes(raw)).decode()}\n", key)
    # Extension lines are not in the ML-DSA-44 message (the spec: no statement about them).
    extended = BODY + "extension line\n"
    cosigned = cosign_checkpoint(extended, signer, 5)
    plain = cosign_checkpoint(BODY, signer, 5)
    public = MLDSA44PublicKey.from_public_bytes(key.public_key)
    message = spec_message(NAME, 5, "example.com/behind-the-sofa", 20852163, ROOT_HASH)
    public.verify(cosigned.signature[8:], message)
    public.verify(plain.signature[8:], message)
    # Another witness's key (same name, other key) does not count.
    stranger = SignerKey.generate(NAME, ALG_COSIGNATURE_MLDSA44).verifier_key()
    with pytest.raises(UnknownKeyError):
        verify_cosignature(note, stranger)


@pytest.fixture
def pq_witness(tmp_path: Path, ledger: Ledger) -> Iterator[tuple[str, SignerKey]]:
    signer = SignerKey.generate(NAME, ALG_COSIGNATURE_MLDSA44)
    server = serve(Witness(tmp_path / "witness", signer, [ledger.verifier_key]), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", signer
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_an_ml_dsa_witness_cosigns_for_the_service(
    world: Ledger, pq_witness: tuple[str, SignerKey], tmp_path: Path
) -> None:
    url, signer = pq_witness
    key = signer.verifier_key()
    (config,) = load_witnesses(f"{url} {key}")
    assert config == WitnessConfig(url, key)
    ev = Events()
    world.append([ev.register(f"M{i}") for i in range(5)], actor="farm")
    assert submit(world, config) == 5
    world.append([ev.register(f"N{i}") for i in range(3)], actor="farm")
    assert submit(world, config) == 8  # with a consistency proof from 5
    note = cosigned_checkpoint(world)
    verify_checkpoint(note, world.verifier_key)
    assert verify_cosignature(note, key) > 0

    path = tmp_path / "entry-6.tlog-proof"
    path.write_text(entry_tlog_proof(world, 6))
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOTLEDGER_")}
    checked = subprocess.run(
        [str(BIN / "lotledger-verify"), "tlog-proof", str(path), "--key", str(world.verifier_key),
         "--witness", str(key)],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    assert f"cosigned by {NAME} (at " in checked.stdout


def test_witness_key_makes_ml_dsa_keys(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOTLEDGER_")}
    made = subprocess.run(
        [str(BIN / "lotledger-verify"), "witness-key", NAME, "--ml-dsa"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=60, check=True,
    )  # fmt: skip
    signer = SignerKey.parse(made.stdout.strip())
    assert signer.algorithm == ALG_COSIGNATURE_MLDSA44
    assert str(signer.verifier_key()) == made.stderr.strip()
